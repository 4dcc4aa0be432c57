"""The best configuration found in R^d where the relaxed optimum needs more dimensions.

The optimum over all unit embeddings (:mod:`ssem_symbolic.optimum`) needs the rank of its
Gram matrix (:func:`~ssem_symbolic.optimum.rank_needed`); a model with d-dimensional
embeddings below it cannot reach it, and the relaxed loss is then a lower bound. Any
configuration of R^d bounds the optimum there from above; two searches give one: a
symmetric candidate family (:func:`shared_simplex`) with one parameter, for balanced batches
of any size that fits, and L-BFGS over free unit embeddings for small batches.
"""

from __future__ import annotations

import numpy as np
import torch

from ._bruteforce import minimise_sizes
from ._losses import SupCLLoss


#: the largest batch (embeddings) whose best configuration in R^d is searched for by L-BFGS
MAX_SEARCH_EMBEDDINGS = 96
#: the largest batch (embeddings) on which the symmetric candidate family is evaluated
MAX_CANDIDATE_EMBEDDINGS = 4096


def _simplex(n: int) -> np.ndarray:
    """n unit vectors in R^(n-1) with pairwise cosine -1/(n-1) (n = 1: one point in R^0)."""
    if n == 1:
        return np.zeros((1, 0))
    centred = np.eye(n) - 1.0 / n
    u, s, _ = np.linalg.svd(centred)
    x = u[:, :n - 1] * np.sqrt(s[:n - 1])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def shared_simplex(m: int, k: int, p: int, rho: float, groups: int = 1) -> np.ndarray:
    """The symmetric candidate family in R^((m-1) + groups (k-1)), as (m k, p, d) unit vectors
    (class c's instances in rows c k .. c k + k - 1, the p views of an instance together).

    Instance i of class c is sqrt(rho) a_c + sqrt(1 - rho) b_i in the block of its group
    (class c is in group c mod ``groups``): the a_c are a regular simplex of m points (the class
    means, at norm sqrt(rho)), the b_i a regular simplex of k points (the deviations, shared by
    the classes of one group; the groups' blocks are orthogonal). Within-class variance 1 - rho;
    same-class cosine rho - (1 - rho)/(k - 1); two classes of one group have cosine
    -rho/(m - 1) + (1 - rho) for the same slot i and -rho/(m - 1) - (1 - rho)/(k - 1) otherwise,
    two classes of two groups -rho/(m - 1). ``groups`` = m is the relaxed optimum's own
    arrangement (every class its own deviations), of rank m k - 1.

    >>> z = shared_simplex(3, 2, 1, 0.5)
    >>> z.shape, bool(np.allclose((z[:, 0] ** 2).sum(1), 1))
    ((6, 1, 3), True)
    """
    a, b = _simplex(m), _simplex(k)
    width = k - 1
    z = np.zeros((m * k, p, (m - 1) + groups * width))
    for c in range(m):
        block = (m - 1) + (c % groups) * width
        for i in range(k):
            z[c * k + i, :, :m - 1] = np.sqrt(rho) * a[c]
            z[c * k + i, :, block:block + width] = np.sqrt(1.0 - rho) * b[i]
    return z


def symmetric_candidate(spec, batch, alpha, tau, d: int, *, points: int = 41) -> dict | None:
    """The best member of the :func:`shared_simplex` family that R^d holds, for a balanced
    ``batch`` (m classes of k, p views) with m - 1 + k - 1 <= d: the most groups of shared
    deviations that fit (and one group), each at its best rho (a grid of ``points``, then golden
    section to 1e-10). The loss is SupCLLoss's (float64, the spec's scale included) on the
    explicit embeddings: a configuration of R^d, so an upper bound on the optimum there.
    None where the family does not apply (unequal sizes, d too small, a batch over
    :data:`MAX_CANDIDATE_EMBEDDINGS` embeddings).
    """
    if not batch.is_balanced or batch.size > MAX_CANDIDATE_EMBEDDINGS:
        return None
    m, k, p = batch.shape
    if k < 2 or (m - 1) + (k - 1) > d:
        return None
    from ..forms import golden

    crit = SupCLLoss(alpha, tau, spec, normalize=False)
    labels = torch.arange(m).repeat_interleave(k)
    most = min(m, (d - (m - 1)) // (k - 1))
    best = None
    for groups in sorted({1, most}):
        def loss(rho: float, groups=groups) -> float:
            z = torch.from_numpy(shared_simplex(m, k, p, rho, groups))
            with torch.no_grad():
                return float(crit(z, labels))
        grid = np.linspace(0.0, 1.0, points)
        values = [loss(float(r)) for r in grid]
        i = int(np.argmin(values))
        rho, value = golden(loss, float(grid[max(i - 1, 0)]),
                            float(grid[min(i + 1, points - 1)]), tol=1e-10)
        if values[i] < value:  # the minimum at an end of the range
            rho, value = float(grid[i]), values[i]
        if best is None or value < best["loss_value"]:
            best = {"loss_value": value, "rho": rho, "groups": groups,
                    "within_class_variance_per_class": [1.0 - rho] * m,
                    "method": f"symmetric candidate in R^{d}: class simplex with the "
                              f"instances' simplex shared by {-(-m // groups)} classes "
                              f"per block ({groups} block{'s' if groups > 1 else ''}), "
                              "views together, rho optimised (a configuration of R^d, not "
                              "proven optimal)"}
    return best


def best_in_dim(spec, batch, alpha, tau, d: int, *, seeds: int = 5, rtol: float = 1e-9,
                steps: int = 20) -> dict:
    """The best configuration found in R^d for ``batch`` (a :class:`~ssem_symbolic.setting.
    Batch`) at (alpha, tau), from two searches where they apply:

    * the symmetric candidate family (:func:`symmetric_candidate`: balanced batches with
      m - 1 + k - 1 <= d, up to :data:`MAX_CANDIDATE_EMBEDDINGS` embeddings);
    * L-BFGS over free unit embeddings (:func:`~ssem_symbolic.loss.minimise_sizes`) from
      ``seeds`` random starts, each stopped once 500 iterations change the loss by at most
      ``rtol`` (relative) or after ``steps`` such calls (up to :data:`MAX_SEARCH_EMBEDDINGS`
      embeddings).

    The lower loss wins, and ``method`` says which it is. It is a configuration found, not a
    proven optimum: its loss bounds the optimum in R^d from above, as the relaxed optimum
    bounds it from below. Returns ``loss_value`` (SupCLLoss's value, the spec's scale
    included), ``within_class_variance_per_class``, ``method`` (in words) and ``searched``
    (each search's loss); where neither applies, only ``method``, saying why.
    """
    found = []
    candidate = symmetric_candidate(spec, batch, alpha, tau, d)
    if candidate is not None:
        found.append(candidate)
    if batch.size <= MAX_SEARCH_EMBEDDINGS:
        runs = [minimise_sizes(spec, batch.sizes.sizes, batch.views, alpha, tau, d=d, seed=s,
                               steps=steps, rtol=rtol) for s in range(seeds)]
        run = min(runs, key=lambda r: r.loss)
        found.append({"loss_value": run.loss,
                      "within_class_variance_per_class": list(run.per_class_within),
                      "method": f"L-BFGS over free unit embeddings in R^{d}, the best of "
                                f"{seeds} seeds (a configuration found, not proven optimal; "
                                f"each run stopped at a relative change of {rtol:g} per 500 "
                                "iterations)"})
    if not found:
        return {"method": "not computed: the symmetric candidate family needs a balanced "
                          "batch with m - 1 + k - 1 <= d (and at most "
                          f"{MAX_CANDIDATE_EMBEDDINGS} embeddings), and L-BFGS runs on "
                          f"batches of at most {MAX_SEARCH_EMBEDDINGS} embeddings"}
    best = min(found, key=lambda f: f["loss_value"])
    return {**best, "searched": {("symmetric candidate" if f is candidate else "L-BFGS"):
                                 f["loss_value"] for f in found}}
