"""The collapse monitor as a PyTorch Lightning callback (``pip install ssem-symbolic[lightning]``;
importing this module needs ``pytorch_lightning``, nothing else in the package does).

Your ``training_step`` returns a dict with ``loss`` and, beside it, the step's ``features``
(N, p, d) and ``labels`` (N,)::

    def training_step(self, batch, batch_idx):
        x, labels = batch
        z = self(x)
        loss = self.criterion(z, labels)
        return {"loss": loss, "features": z.detach(), "labels": labels}

    trainer = pl.Trainer(callbacks=[CollapseMonitorCallback(CollapseMonitor(criterion,
                                                                           dataset=data))])

Every ``every_n_steps`` training steps the callback calls the monitor and logs ``ssem/gap``,
``ssem/batch_gap``, ``ssem/within``, ``ssem/effective_rank`` and, with a prediction,
``ssem/predicted_within`` (through ``LightningModule.log``, so any logger receives them). It
keeps the last report (``last``) and warns once per new verdict on rank zero.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_warn

from ._monitor import CollapseMonitor


class CollapseMonitorCallback(pl.Callback):
    """Run a :class:`~ssem_symbolic.loss.CollapseMonitor` on the training steps' outputs."""

    def __init__(self, monitor: CollapseMonitor, every_n_steps: int = 1,
                 features_key: str = "features", labels_key: str = "labels") -> None:
        if not isinstance(monitor, CollapseMonitor):
            raise ValueError("CollapseMonitorCallback takes a CollapseMonitor")
        if isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int) or \
                every_n_steps < 1:
            raise ValueError(f"every_n_steps must be a positive integer, got {every_n_steps!r}")
        self.monitor, self.every = monitor, every_n_steps
        self.features_key, self.labels_key = features_key, labels_key
        self.last: dict | None = None
        self._said: set = set()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every:
            return
        if not isinstance(outputs, dict) or self.features_key not in outputs or \
                self.labels_key not in outputs:
            raise ValueError(f"CollapseMonitorCallback needs training_step to return a dict "
                             f"with {self.features_key!r} and {self.labels_key!r} beside 'loss'")
        report = self.monitor(outputs[self.features_key].detach(), outputs[self.labels_key],
                              loss=outputs.get("loss"))
        self.last = report
        metrics = {"ssem/within": report["within"],
                   "ssem/effective_rank": report["effective_rank"]}
        for key in ("gap", "batch_gap"):
            if report[key] is not None:
                metrics[f"ssem/{key}"] = report[key]
        pred = report["prediction"] or {}
        if pred.get("within") is not None:
            metrics["ssem/predicted_within"] = pred["within"]
        pl_module.log_dict(metrics, on_step=True, on_epoch=False, prog_bar=False)
        for verdict in report["verdicts"]:
            head = verdict.split(":")[0]
            if head not in self._said:
                self._said.add(head)
                rank_zero_warn(f"ssem: {verdict}")
