"""Brute-force minimisation of a loss over free unit vectors (torch, float64, L-BFGS).

No formula enters: z = V / ||V|| row-wise for free V of shape (m k, p, d), minimised by
L-BFGS with a strong-Wolfe line search from a random start. The reference that every
derived threshold is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._losses import SupCLLoss
from ..setting import measured_variances
from ..spec import LossSpec
from ..setting import takes_convention


@dataclass(frozen=True)
class BruteForceResult:
    loss: float
    z: np.ndarray  #: (m k, p, d) unit vectors
    labels: np.ndarray
    variances: dict[str, float]
    view_similarity: float  #: mean cosine between views of one instance
    #: per class c: 1 - ||mean of its embeddings||^2, in label order
    per_class_within: tuple[float, ...] = ()


@takes_convention
def minimise(convention: str | LossSpec, m: int, k: int, p: int, alpha: float, tau: float,
             d: int | None = None, seed: int = 0, steps: int = 60) -> BruteForceResult:
    """Minimise the loss over (m k p) free unit vectors in R^d (default d = m k p)."""
    return minimise_sizes(convention, [k] * m, p, alpha, tau, d=d, seed=seed, steps=steps)


def minimise_sizes(convention: str | LossSpec, sizes, p: int, alpha: float, tau: float,
                   d: int | None = None, seed: int = 0, steps: int = 60,
                   rtol: float = 1e-15) -> BruteForceResult:
    """Minimise the loss over free unit vectors of a batch with ``sizes[c]`` instances in
    class c (p views each) in R^d (default d = the number of embeddings): up to ``steps``
    L-BFGS calls of 500 iterations each, stopping once a call changes the loss by at most
    ``rtol`` (relative)."""
    sizes = [int(s) for s in sizes]
    n = sum(sizes)
    d = n * p if d is None else d
    gen = torch.Generator().manual_seed(seed)
    labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    v = torch.randn(n, p, d, generator=gen, dtype=torch.float64).requires_grad_(True)
    crit = SupCLLoss(alpha, tau, convention, normalize=True)
    opt = torch.optim.LBFGS([v], lr=1.0, max_iter=500, history_size=50,
                            tolerance_grad=1e-14, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        value = crit(v, labels)
        value.backward()
        return value

    for _ in range(steps):
        before = float(crit(v.detach(), labels))
        opt.step(closure)
        after = float(crit(v.detach(), labels))
        if abs(before - after) <= rtol * max(1.0, abs(after)):
            break
    with torch.no_grad():
        z = torch.nn.functional.normalize(v, dim=-1)
        value = float(crit(z, labels))
        views = (z @ z.transpose(1, 2))
        off = views.sum(dim=(1, 2)) - views.diagonal(dim1=1, dim2=2).sum(dim=1)
        view_sim = float(off.mean() / (p * (p - 1))) if p > 1 else 1.0
    zn = z.numpy()
    lab = labels.numpy()
    per_class = tuple(1.0 - float(np.sum(zn[lab == c].reshape(-1, d).mean(axis=0) ** 2))
                      for c in range(len(sizes)))
    return BruteForceResult(value, zn, lab, measured_variances(zn, lab), view_sim, per_class)
