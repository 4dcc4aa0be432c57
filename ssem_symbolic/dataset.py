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

import math
from dataclasses import dataclass

import sympy as sp

from .optimum import GlobalOptimum, _barrier, _candidates, _Problem, _setup, _solve
from .optimum import global_optimum
from .polyhedron import limit_polyhedron, polyhedron
from .reading import exact
from .spec import TERMS, LossSpec, check_setting, get_spec
from .spec import alpha as alpha_sym


@dataclass(frozen=True)
class Sampler:
    """How training draws a batch from the dataset. ``balanced``: m of the C classes
    uniformly, then k of the n instances of each. ``uniform``: ``batch`` instances uniformly
    from all C n."""

    kind: str
    m: int = 0
    k: int = 0
    batch: int = 0

    def check(self, classes: int, instances: int) -> None:
        if self.kind == "uniform":
            total = None if instances is None else classes * instances
            if not 2 <= self.batch <= (self.batch if total is None else total):
                raise ValueError(f"the sampler draws B = {self.batch} of the dataset's "
                                 f"{total} instances: need 2 <= B <= C n")
            return
        if self.kind != "balanced":
            raise ValueError(f"unknown sampler {self.kind!r}: use balanced or uniform")
        if not 2 <= self.m <= classes:
            raise ValueError(f"the sampler draws m = {self.m} classes of the dataset's "
                             f"{classes}: need 2 <= m <= C")
        if not 2 <= self.k <= (self.k if instances is None else instances):
            raise ValueError(f"the sampler draws k = {self.k} instances of each class's "
                             f"{instances}: need 2 <= k <= n")


def balanced(m: int, k: int) -> Sampler:
    """The class-balanced sampler: m classes, k instances of each, per batch."""
    return Sampler("balanced", m, k)


def uniform(batch: int) -> Sampler:
    """The uniform sampler: B instances uniformly from the whole dataset."""
    return Sampler("uniform", batch=batch)


#: components of the uniform sampler's mixture below this probability are dropped; the loss
#: then moves by at most this times max_j |loss of an anchor with j class mates| (about
#: 2/tau + log(B p)), far below the working precision
DROP = sp.Rational(1, 10**60)


def class_count_law(classes: int, instances: int | None, batch: int) -> dict[int, sp.Rational]:
    """P(j): the chance that an anchor of a uniform batch of B has j instances of its class in
    the batch (itself included), exact: j - 1 is hypergeometric (B - 1 draws from the other
    C n - 1 instances, n - 1 of them its class mates); binomial with rate 1/C as n -> oo.

    >>> class_count_law(3, 2, 2)
    {1: 4/5, 2: 1/5}
    """
    out = {}
    for j in range(1, batch + 1):
        if instances is None:
            prob = sp.binomial(batch - 1, j - 1) * sp.Rational(1, classes) ** (j - 1) * (
                1 - sp.Rational(1, classes)) ** (batch - j)
        else:
            if j > instances:
                break
            prob = sp.Rational(math.comb(instances - 1, j - 1)
                               * math.comb(classes * instances - instances, batch - j),
                               math.comb(classes * instances - 1, batch - 1))
        if prob >= DROP:
            out[j] = prob
    return out


def _uniform_objective(spec: LossSpec, P, p_: int, batch: int, law: dict, alpha_):
    """tau times the expected batch loss under the uniform sampler on the symmetric family:
    a mixture over the anchor's class count j of per-anchor losses (the ``anchors`` mean is
    linear in them). Returns a factory (tau, lib) -> objective with ``parts`` and ``tau``."""
    from types import SimpleNamespace

    from .optimum_imbalanced import _Objective

    if spec.mean != "anchors":
        raise ValueError(f"{spec.name!r} takes one mean over the batch's positive pairs: under "
                         "a uniform sampler that is a ratio of random sums, not supported yet "
                         "(use a balanced sampler)")
    idx = {c: i for i, c in enumerate(P.coords)}
    a = exact(alpha_)
    partners, weights = [], []
    for j, prob in law.items():
        part = {"self": [(1, None)], "view": [(p_ - 1, idx["view"])] if p_ >= 2 else [],
                "class": [((j - 1) * p_, idx["class"])] if j >= 2 else [],
                "other": [((batch - j) * p_, idx["other"])] if batch > j else []}
        L, pull = sp.Integer(0), {}
        for term in TERMS:
            W = spec.weight(term).subs(alpha_sym, a)
            pos = [(c, i) for t in spec.positives(term) for c, i in part[t]]
            total = sum(c for c, _ in pos)
            if W == 0:
                continue
            if total == 0:
                raise ValueError(f"under a uniform sampler an anchor can be alone of its class "
                                 f"in the batch, and the {term} term of {spec.name!r} then has no "
                                 "positive (the convention drops it from the mean: a ratio, not "
                                 "supported yet); use a balanced sampler")
            L += prob * W
            for c, i in pos:
                pull[i] = pull.get(i, 0) + prob * W * sp.Rational(c, total)
        partners.append(part)
        weights.append((L, pull))
    fam = SimpleNamespace(coords=P.coords, spec=spec, partners=partners)
    return lambda t, lib: _Objective(fam, weights, t, lib)


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
    if sampler.kind == "uniform":
        return _uniform_optimum(spec, classes, instances, p_, sampler.batch, alpha_, tau_,
                                digits)
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


def _uniform_optimum(spec, classes, instances, p_, batch, alpha_, tau_, digits):
    check_setting(spec, 2, 2, p_, alpha=alpha_, tau=tau_)
    P = limit_polyhedron(classes, p_) if instances is None else polyhedron(classes, instances, p_)
    make = _uniform_objective(spec, P, p_, batch, class_count_law(classes, instances, batch),
                              alpha_)
    pr = _Problem(P, tuple(spec.denominator), {}, {c: i for i, c in enumerate(P.coords)})
    t = exact(tau_)
    x0, lam0, mu0 = _barrier(pr, None, None, t, objective=make)
    return _solve(pr, None, None, t, x0, _candidates(lam0, mu0), digits, objective=make)


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
