"""Measurement errors for the cross-check's verdicts, each measured, none picked.

* Free embeddings and the Gaussian MLP (the evaluation batch is the training batch): Newton
  finishes the descent of the batch's own loss, and the error left is measured from the
  residual gradient and the loss's float64 resolution (:mod:`.refine`).
* The digits network (held-out data): the sampling error of each quantity over the
  evaluation instances, by a grouped jackknife (:func:`jackknife`).
* Mini-batch training (a sampler's random batches): the noise of stochastic gradients at the
  end of training, the spread and drift of each quantity over the last steps (:func:`noise`).

A verdict's tolerance is max(:data:`FLOOR`, 3 sigma) (:func:`tolerances`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .refine import FLOOR

#: jackknife groups over the evaluation instances
GROUPS = 10
#: the share of the steps at the end of mini-batch training whose spread is measured
LAST = 0.1


def tolerances(sigma: dict[str, float]) -> dict[str, float]:
    """max(FLOOR, 3 sigma) per quantity: FLOOR (sqrt of the float64 epsilon) is the precision
    to which any minimiser is located in float64."""
    return {name: max(FLOOR, 3.0 * s) for name, s in sigma.items()}


def jackknife(z: torch.Tensor, labels: torch.Tensor, quantities: Callable) -> dict[str, float]:
    """Sampling error of each of ``quantities(labels)`` (a function of unit embeddings
    (N, p, d)) over the N evaluation instances: a grouped jackknife, :data:`GROUPS` groups
    dealt round-robin within each class (so every class stays in every subset),
    sigma^2 = (G - 1)/G sum_g (theta_(g) - mean)^2.

    >>> z = torch.nn.functional.normalize(torch.ones(4, 1, 3, dtype=torch.float64), dim=-1)
    >>> from ssem_symbolic.harness.refine import quantities
    >>> jackknife(z, torch.tensor([0, 0, 1, 1]), quantities)["within"]
    0.0
    """
    rank = torch.zeros_like(labels)
    for c in labels.unique():
        idx = (labels == c).nonzero().flatten()
        rank[idx] = torch.arange(idx.numel(), device=labels.device)
    groups = min(GROUPS, int(torch.bincount(labels).min()))
    if groups < 2:
        return {}
    group = rank % groups
    thetas: dict[str, list[float]] = {}
    with torch.no_grad():
        for g in range(groups):
            keep = group != g
            for name, v in quantities(labels[keep])(z[keep].double()).items():
                thetas.setdefault(name, []).append(float(v))
    out = {}
    for name, vals in thetas.items():
        t = torch.tensor(vals, dtype=torch.float64)
        out[name] = float(((groups - 1) / groups * ((t - t.mean()) ** 2).sum()).sqrt())
    return out


def noise(trace: list[dict[str, float]]) -> dict[str, float]:
    """The error of a quantity at the end of mini-batch training from its values over the
    last steps (``trace``, one dict per step): their standard deviation (the stochastic
    gradients' noise) and the drift between the two halves (a descent not finished), in root
    sum of squares.

    >>> noise([{"within": 0.1}, {"within": 0.1}, {"within": 0.1}, {"within": 0.1}])
    {'within': 0.0}
    """
    if len(trace) < 4:
        raise ValueError("noise() needs the quantities of at least 4 steps")
    out = {}
    half = len(trace) // 2
    for name in trace[0]:
        t = torch.tensor([row[name] for row in trace], dtype=torch.float64)
        drift = float(t[half:].mean() - t[:half].mean())
        out[name] = float((t.var(unbiased=True) + drift ** 2).sqrt())
    return out
