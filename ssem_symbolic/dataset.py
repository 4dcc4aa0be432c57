"""The dataset-level optimum under a class-balanced sampler: what mini-batch training converges
to when it draws m of the dataset's C classes and k of each class's n instances.

A dataset of C classes x n instances x p views has one embedding per view. The objective of
training is the expected batch loss. With a class-balanced sampler every batch of a symmetric
dataset Gram matrix (one value per pair type: v, c, o) sees the same values, so the objective
is the batch's phi_{m,k,p}(v, c, o), but the feasible set is the symmetric polyhedron of the
*dataset*, (C, n, p): more instances per class than a batch holds must fit on the sphere
together. The expected loss is convex in the dataset's Gram matrix and invariant under its
symmetries, so its optimum over all unit embeddings is this one. With C = m and n = k it is the
batch-level optimum.

>>> opt = dataset_optimum("paper", 10, 5000, 2, balanced(10, 8), "0.9", "0.5")
>>> round(opt.within_class_variance, 4)
0.5802
"""

from __future__ import annotations

from dataclasses import dataclass

from .optimum import GlobalOptimum, _barrier, _candidates, _Problem, _setup, _solve
from .optimum import global_optimum
from .polyhedron import limit_polyhedron, polyhedron
from .reading import exact
from .spec import check_setting, get_spec


@dataclass(frozen=True)
class Sampler:
    """How training draws a batch from the dataset. ``balanced``: m of the C classes
    uniformly, then k of the n instances of each."""

    kind: str
    m: int
    k: int

    def check(self, classes: int, instances: int) -> None:
        if self.kind != "balanced":
            raise ValueError(f"unknown sampler {self.kind!r}: use balanced")
        if not 2 <= self.m <= classes:
            raise ValueError(f"the sampler draws m = {self.m} classes of the dataset's "
                             f"{classes}: need 2 <= m <= C")
        if not 2 <= self.k <= (self.k if instances is None else instances):
            raise ValueError(f"the sampler draws k = {self.k} instances of each class's "
                             f"{instances}: need 2 <= k <= n")


def balanced(m: int, k: int) -> Sampler:
    """The class-balanced sampler: m classes, k instances of each, per batch."""
    return Sampler("balanced", m, k)


def dataset_optimum(convention, classes: int, instances: int, p_: int, sampler: Sampler,
                    alpha_, tau_, digits: int = 30) -> GlobalOptimum:
    """The minimum of the expected batch loss over the unit embeddings of a whole dataset
    (C = ``classes``, n = ``instances`` per class, p views), with its variances, similarities,
    active constraints (directions of the dataset polyhedron) and loss, read as
    :class:`~ssem_symbolic.optimum.GlobalOptimum`. alpha and tau are read exactly.
    ``instances=None``: the limit n -> oo (:func:`~ssem_symbolic.polyhedron.limit_polyhedron`),
    which the results at large n approach as 1/n."""
    spec = get_spec(convention)
    sampler.check(classes, instances)
    m_, k_ = sampler.m, sampler.k
    check_setting(spec, m_, k_, p_, alpha=alpha_, tau=tau_)
    if instances is not None and (classes, instances) == (m_, k_):
        return global_optimum(spec, m_, k_, p_, alpha_, tau_, digits=digits)
    batch, w, lse = _setup(spec, m_, k_, p_, alpha_, tau_)
    P = limit_polyhedron(classes, p_) if instances is None else polyhedron(classes, instances, p_)
    pr = _Problem(P, batch.den, batch.n, batch.index)
    t = exact(tau_)
    x0, lam0, mu0 = _barrier(pr, w, lse, t)
    return _solve(pr, w, lse, t, x0, _candidates(lam0, mu0), digits)


def dataset_alpha_c(convention, classes: int, instances: int, p_: int, sampler: Sampler,
                    tau_, tol: float = 1e-10) -> float | None:
    """The dataset-level alpha_c(tau): where ``within-class`` leaves the active set of the
    dataset-level optimum along alpha (every class stops being one point, up to its views),
    by bisection to ``tol`` between the first and the last alpha of the scan that differ.
    None when it is active at every alpha in [0, 1] or at none."""
    def collapsed(a) -> bool:
        return "within-class" in dataset_optimum(convention, classes, instances, p_, sampler,
                                                 a, tau_).active
    lo, hi = exact(0), exact(1)
    at_lo, at_hi = collapsed(lo), collapsed(hi)
    if at_lo == at_hi:
        return None
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if collapsed(mid) == at_lo:
            lo = mid
        else:
            hi = mid
    return float((lo + hi) / 2)
