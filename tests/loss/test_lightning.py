"""The Lightning callback runs the monitor on training_step's outputs and logs its numbers."""

import warnings

import pytest
import torch

import pytorch_lightning as pl  # the [lightning] extra; the test extra installs it

from ssem_symbolic.loss import CollapseMonitor, SupCLLoss
from ssem_symbolic.loss.lightning import CollapseMonitorCallback

torch.set_num_threads(1)


class FreeEmbeddings(pl.LightningModule):
    def __init__(self, criterion):
        super().__init__()
        self.z = torch.nn.Parameter(torch.randn(12, 2, 8, generator=torch.Generator()
                                                .manual_seed(0)))
        self.criterion = criterion
        self.labels = torch.arange(3).repeat_interleave(4)

    def training_step(self, batch, batch_idx):
        loss = self.criterion(self.z, self.labels)
        return {"loss": loss, "features": self.z.detach(), "labels": self.labels}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.zeros(4, 1), batch_size=1)


def test_the_callback_monitors_and_logs_every_step():
    criterion = SupCLLoss(0.3, 0.5, "supcon")
    callback = CollapseMonitorCallback(CollapseMonitor(criterion))
    trainer = pl.Trainer(max_steps=3, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[callback], accelerator="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(FreeEmbeddings(criterion))
    assert callback.last is not None and callback.last["floor"] is not None
    logged = trainer.callback_metrics
    assert {"ssem/gap", "ssem/within", "ssem/effective_rank", "ssem/predicted_within"} <= \
        set(logged)
    assert float(logged["ssem/gap"]) == pytest.approx(callback.last["gap"], rel=1e-6)


def test_a_training_step_without_features_is_a_clear_error():
    criterion = SupCLLoss(0.3, 0.5, "supcon")

    class LossOnly(FreeEmbeddings):
        def training_step(self, batch, batch_idx):
            return self.criterion(self.z, self.labels)

    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[CollapseMonitorCallback(CollapseMonitor(criterion))],
                         accelerator="cpu")
    with pytest.raises(ValueError, match="needs training_step to return a dict"):
        trainer.fit(LossOnly(criterion))
