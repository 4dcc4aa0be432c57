"""The contrastive loss of a real batch, built from the same :class:`LossSpec` as the derivation.

For embeddings z of shape (N, p, d) (normalised to the unit sphere when ``normalize``), with
labels (N,), every ordered pair (a, b) of the M = N p embeddings gets a pair type. Per anchor a
the log-probability of b is ``s(a, b)/tau - logsumexp_{c in den(a)} s(a, c)/tau``; each term is
the mean of its negative over the term's positive pairs ("pairs") or per anchor, then over
anchors ("anchors"). ``L = (1 - alpha) L_sup + alpha L_self``.

Under ``paper`` the spec writes the denominator over the first index for a fixed second one;
as s is symmetric and the positive relations are symmetric this is the same row softmax.
"""

from __future__ import annotations

import torch

from .spec import PAIR_TYPES, LossSpec, get_spec


def pair_type_masks(labels: torch.Tensor, views: int) -> dict[str, torch.Tensor]:
    """Boolean (M, M) masks of each pair type for M = N * views embeddings (instance-major)."""
    n = labels.shape[0]
    inst = torch.arange(n, device=labels.device).repeat_interleave(views)
    lab = labels.repeat_interleave(views)
    eye = torch.eye(n * views, dtype=torch.bool, device=labels.device)
    same_inst = inst[:, None] == inst[None, :]
    same_lab = lab[:, None] == lab[None, :]
    return {
        "self": eye,
        "view": same_inst & ~eye,
        "class": same_lab & ~same_inst,
        "other": ~same_lab,
    }


class SupCLLoss(torch.nn.Module):
    """(1 - alpha) L_sup + alpha L_self in any loss convention; ``forward(z, labels)``."""

    def __init__(self, alpha: float, tau: float, loss: str | LossSpec = "paper",
                 normalize: bool = True) -> None:
        super().__init__()
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if not float(tau) > 0.0 or float(tau) == float("inf"):
            raise ValueError(f"tau must be a finite number > 0, got {tau}")
        self.alpha, self.tau = float(alpha), float(tau)
        self.spec = get_spec(loss)
        self.normalize = normalize
        self._masks: dict[tuple, dict[str, torch.Tensor]] = {}

    def _term_masks(self, labels: torch.Tensor, views: int) -> dict[str, torch.Tensor]:
        key = (tuple(labels.tolist()), views, str(labels.device))
        if key not in self._masks:
            types = pair_type_masks(labels, views)
            masks = {"den": _union(types, self.spec.denominator)}
            for term in ("sup", "self"):
                masks[term] = _union(types, self.spec.positives(term))
            self._masks = {key: masks}  # one pattern kept: training reuses it every step
        return self._masks[key]

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if z.dim() != 3 or labels.dim() != 1 or labels.shape[0] != z.shape[0]:
            raise ValueError("expected z of shape (N, p, d) and labels of shape (N,)")
        n, views, d = z.shape
        flat = z.reshape(n * views, d)
        if self.normalize:
            flat = torch.nn.functional.normalize(flat, dim=-1)
        masks = self._term_masks(labels, views)
        logits = (flat @ flat.T) / self.tau
        logits = logits.masked_fill(~masks["den"], float("-inf"))
        logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        total = flat.new_zeros(())
        for term, weight in (("sup", 1.0 - self.alpha), ("self", self.alpha)):
            if weight == 0.0:
                continue
            pos = masks[term]
            counts = pos.sum(dim=1)
            if bool((counts == 0).any()):
                raise ValueError(
                    f"the {term} term of {self.spec.name!r} has an anchor without positives "
                    "(a class with a single instance, or a single view)"
                )
            contrib = torch.where(pos, logp, torch.zeros_like(logp)).sum(dim=1)
            if self.spec.mean == "pairs":
                value = -contrib.sum() / counts.sum()
            else:
                value = -(contrib / counts).mean()
            total = total + weight * value
        return total


def _union(types: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    out = torch.zeros_like(types[PAIR_TYPES[0]])
    for name in names:
        out = out | types[name]
    return out
