"""The migration block of the training-loss page (docs/how-to/training-loss.md), executed:
its own asserts compare with pytorch-metric-learning, and its SupContrast line is checked here
against SupContrast's SupConLoss (contrast_mode "all"), transcribed from its published code."""

import re
from pathlib import Path

import torch

PAGE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "training-loss.md"


def _block() -> str:
    text = PAGE.read_text()
    return re.search(r"<!-- migration -->\n```python\n(.*?)```", text, re.S).group(1)


def supcontrast(features, labels, temperature=0.1, base_temperature=0.07):
    """SupContrast's SupConLoss, contrast_mode="all": views stacked view-major, every row an
    anchor, log-softmax over all rows but itself, mean over the anchor's positives, times
    -(temperature / base_temperature), mean over anchors."""
    bsz, views, _ = features.shape
    mask = torch.eq(labels[:, None], labels[None, :]).double().repeat(views, views)
    rows = torch.cat(torch.unbind(features, dim=1), dim=0).double()
    logits = rows @ rows.T / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values
    not_self = 1 - torch.eye(bsz * views, dtype=torch.float64)
    mask = mask * not_self
    log_prob = logits - torch.log((torch.exp(logits) * not_self).sum(1, keepdim=True))
    mean_pos = (mask * log_prob).sum(1) / mask.sum(1)
    return (-(temperature / base_temperature) * mean_pos).mean()


def test_the_migration_block_runs_and_matches():
    torch.manual_seed(0)
    scope: dict = {}
    exec(compile(_block(), "the migration block", "exec"), scope)  # its asserts: PML
    want = supcontrast(scope["features"], scope["labels"])
    assert abs(float(scope["supcontrast_value"]) - float(want)) < 1e-5


def test_paper_is_not_supcon():
    from ssem_symbolic import SupCLLoss

    torch.manual_seed(1)
    z, y = torch.randn(8, 2, 16, dtype=torch.float64), torch.arange(8) % 4
    assert abs(float(SupCLLoss(0.0, 0.1, "paper")(z, y))
               - float(SupCLLoss(0.0, 0.1, "supcon")(z, y))) > 0.1
