"""A collapse monitor cheap enough for every training step: O(M d), no (M, M) matrix.

For unit embeddings z (N, p, d) with labels (N,): the total, within- and between-class
variance (the reference implementation's definitions: total = 1 - ||mean||^2, within = mean
over classes of 1 - ||class mean||^2), each class's within-class variance, the mean similarity
of an instance's views, and how far the class centres are from a regular simplex (the RMS
deviation of their normalised, centred Gram matrix from 1 and -1/(m-1)). Given alpha and the
temperature it adds the toolkit's prediction for the batch geometry (m classes x k instances
x p views, balanced) and a verdict.
"""

from __future__ import annotations

import functools

import torch

from ..spec import LossSpec, get_spec


def collapse_monitor(z: torch.Tensor, labels, *, alpha: float | None = None,
                     temperature: float | None = None,
                     convention: str | LossSpec = "paper") -> dict:
    """Statistics of a batch (see the module docstring), and with ``alpha`` and
    ``temperature`` the prediction and a verdict.

    >>> from ssem_symbolic.setting import realise
    >>> z, y = realise(3, 4, 1.0, views=2)  # SSEM at beta = 1: collapsed classes
    >>> out = collapse_monitor(torch.from_numpy(z), torch.from_numpy(y))
    >>> round(out["within"], 12), round(out["simplex_distance"], 12)
    (0.0, 0.0)
    """
    z = torch.as_tensor(z)
    if z.dim() != 3:
        raise ValueError(f"expected z of shape (N, p, d), got {tuple(z.shape)}")
    labels = torch.as_tensor(labels, device=z.device)
    if labels.shape != (z.shape[0],):
        raise ValueError(f"expected labels of shape ({z.shape[0]},), got {tuple(labels.shape)}")
    if not z.is_floating_point() or z.numel() == 0:
        raise ValueError("z must be a non-empty floating-point tensor")
    if alpha is not None and not 0 <= float(alpha) <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if temperature is not None and not 0 < float(temperature) < float("inf"):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    norms = torch.linalg.vector_norm(z.detach().double(), dim=-1)
    if not bool(torch.isfinite(norms).all()):
        raise ValueError("z contains NaN or inf")
    if bool((norms == 0).any()):
        raise ValueError("a row of z is all zeros (or too small to normalise)")
    n, p, _ = z.shape
    x = z.detach().double() / norms[..., None]
    classes, cls, sizes = torch.unique(labels, return_inverse=True, return_counts=True)
    inst = x.sum(1)  # (N, d): per-instance sums of the views
    sums = inst.new_zeros(len(classes), x.shape[-1]).index_add_(0, cls, inst)
    means = sums / (sizes[:, None] * p)
    mean = inst.sum(0) / (n * p)
    total = 1.0 - float(mean @ mean)
    per_class = 1.0 - (means * means).sum(1)
    within = float(per_class.mean())
    out = {"total": total, "within": within, "between": total - within,
           "per_class_within": {int(c): float(v) for c, v in zip(classes, per_class)},
           "view_similarity": (float(((inst * inst).sum(1) - p).mean() / (p * (p - 1)))
                               if p > 1 else None),
           "simplex_distance": _simplex_distance(means - mean)}
    if alpha is not None and temperature is not None:
        out |= _prediction(get_spec(convention), len(classes), sizes, p, alpha, temperature,
                           within)
    return out


def _simplex_distance(centres: torch.Tensor) -> float:
    """RMS over pairs of classes of (cos(centre_a, centre_b) + 1/(m - 1)): 0 on a regular
    simplex, whatever the radius."""
    m = centres.shape[0]
    if m < 2:
        return 0.0
    unit = torch.nn.functional.normalize(centres, dim=-1)
    gram = unit @ unit.T  # (m, m): small, m classes
    off = ~torch.eye(m, dtype=torch.bool, device=gram.device)
    return float(((gram[off] + 1.0 / (m - 1)) ** 2).mean().sqrt())


def _prediction(spec, m, sizes, p, alpha, temperature, within) -> dict:
    if m < 2 or bool((sizes < 2).any()):
        return {"verdict": "no prediction: the batch needs at least 2 classes of at least 2 "
                           "instances each, and holds "
                           f"{m} class{'es' if m != 1 else ''} of sizes {sizes.tolist()}"}
    if bool((sizes != sizes[0]).any()):
        return {"verdict": "no prediction: the batch is imbalanced, and the predictions here "
                           "assume k instances in every class"}
    k = int(sizes[0])
    beta, collapsed, established = _predict(spec, m, k, p, float(alpha), float(temperature))
    note = "" if established else " (SSEM validity not established for this convention)"
    if collapsed:
        verdict = ("heading for class collapse: the optimum at this (alpha, temperature) "
                   "collapses every class (within-class variance 0)" + note)
    else:
        verdict = (f"the optimum keeps within-class variance {1 - beta:.4g}; measured "
                   f"{within:.4g}" + note)
    return {"predicted_within": 1.0 - beta, "predicted_collapse": collapsed,
            "verdict": verdict}


@functools.lru_cache(maxsize=256)
def _predict(spec: LossSpec, m: int, k: int, p: int, alpha: float, temperature: float):
    from ..ssem import optimal_beta
    from ..optimum import established

    beta = optimal_beta(spec, m, k, p, alpha, temperature)
    return float(beta), bool(beta == 1), established(spec)
