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

>>> from ssem_symbolic.setting import balanced
>>> opt = dataset_optimum("paper", 10, 5000, 2, balanced(10, 8), "0.9", "0.5")
>>> round(opt.within_class_variance, 4)
0.5802
"""

from __future__ import annotations

from ..setting import Sampler, dataset_polyhedron, mixture, polyhedron
from ..spec import TERMS, LossSpec, check_setting, get_spec
from ..vocab import check_tau, exact
from ._balanced import (TAU_RANGE, TAU_SCAN, batch_objective, flag_change, global_optimum,
                        minimum, regimes_of, symmetric_objective)
from ._result import Optimum, Regimes
from ._solver import check_temperatures


def uniform_objective(spec: LossSpec, P, mix, alpha_, batch: int):
    """tau times the expected batch loss under the uniform sampler on the symmetric family,
    as a factory (tau, lib) -> objective: per term, the mixture
    (:mod:`~ssem_symbolic.setting`) over the anchor's class count j of its mean per-positive
    loss, one kind of anchor per j (:func:`~ssem_symbolic.optimum._balanced.
    symmetric_objective`)."""
    return symmetric_objective(spec, P, uniform_kinds(mix, batch), alpha_)


def uniform_kinds(mix, batch: int) -> list:
    """The uniform sampler's kinds of anchor (:func:`~ssem_symbolic.optimum._balanced.
    symmetric_objective`): one per class count j of the anchor's batch, (j, batch, each term's
    weight of such anchors in the mixture ``mix``)."""
    counts = sorted(set().union(*(mix.coef[term] for term in TERMS)))
    return [(j, batch, {term: mix.coef[term].get(j, 0) for term in TERMS}) for j in counts]


def symmetric_family(spec: LossSpec, setting) -> tuple | None:
    """(P, kinds) of a setting whose optimum lies in a symmetric family (a balanced batch, a
    dataset under a balanced or uniform sampler): its polyhedron and its kinds of anchor
    (:func:`~ssem_symbolic.optimum.symmetric_objective`); None for the others."""
    from ..setting import Batch, Dataset

    ones = dict.fromkeys(TERMS, 1)
    if isinstance(setting, Batch):
        if not setting.is_balanced:
            return None
        m_, k_, p_ = setting.shape
        return polyhedron(m_, k_, p_), [(k_, m_ * k_, ones)]
    if not isinstance(setting, Dataset) or setting.sampler.kind == "fixed-partition":
        return None
    smp = setting.sampler
    if smp.kind == "balanced":
        return setting.polyhedron, [(smp.k, smp.m * smp.k, ones)]
    mix = mixture(spec, setting.classes, setting.instances, setting.views, smp.batch)
    return setting.polyhedron, uniform_kinds(mix, smp.batch)


def dataset_objective(convention, data, alpha_, tau_):
    """The expected batch loss of a sampler whose batches vary in composition (``uniform``,
    ``all-subsets``) on the dataset's symmetric family: ``(coords, objective)``, coords the
    dataset polyhedron's (view, class, other) and ``objective.parts(x, hessian)`` giving tau
    times the loss, its gradient and Hessian in float64 (a mixture over the anchor's class
    count, exact in its weights)."""
    spec = get_spec(convention)
    smp = data.sampler
    if not smp.composition_varies:
        raise ValueError(f"dataset_objective covers the uniform and all-subsets samplers, got "
                         f"{smp.kind}")
    smp.check(data.classes, data.instances)
    check_setting(spec, 2, 2, data.views, alpha=alpha_, tau=tau_)
    P = data.polyhedron
    make = uniform_objective(spec, P, mixture(spec, data.classes, data.instances, data.views,
                                               smp.batch), alpha_, smp.batch)
    import numpy as np

    return P.coords, make(float(exact(tau_)), np)


#: the temperatures the uniform sampler's mixture solver covers (paper, 10 classes, B = 128:
#: about 20 s at 0.01, 1 s at 0.03); the other samplers take the batch solver's TAU_RANGE
UNIFORM_TAU_RANGE = ("0.01", "1e4")


def dataset_optimum(convention, classes: int, instances: int, p_: int, sampler: Sampler,
                    alpha_, tau_, digits: int = 30, max_digits: int = 1000) -> Optimum:
    """The minimum of the expected batch loss over the unit embeddings of a whole dataset
    (C = ``classes``, n = ``instances`` per class, p views), with its variances, similarities,
    active constraints (directions of the dataset polyhedron) and loss, read as
    :class:`~ssem_symbolic.optimum.Optimum`. alpha and tau are read exactly.
    ``instances=None``: the limit n -> oo (:func:`~ssem_symbolic.setting.limit_polyhedron`),
    which the results at large n approach as 1/n. A sign still undecided at ``max_digits``
    (an exactly vanishing multiplier, as at alpha = 1) is reported with ``decided=False``."""
    spec = get_spec(convention)
    sampler.check(classes, instances)
    lo, hi = UNIFORM_TAU_RANGE if sampler.composition_varies else TAU_RANGE
    if not exact(lo) <= check_tau(tau_) <= exact(hi):
        raise ValueError(f"the dataset-level solver under this sampler covers tau in [{lo}, "
                         f"{hi}], got {tau_}")
    check_temperatures(spec, exact(tau_), (lo, hi))
    if sampler.kind == "fixed-partition":
        return _partition_optimum(spec, classes, instances, p_, sampler, alpha_, tau_, digits)
    if sampler.composition_varies:
        return _uniform_optimum(spec, classes, instances, p_, sampler.batch, alpha_, tau_,
                                digits, max_digits)
    m_, k_ = sampler.m, sampler.k
    check_setting(spec, m_, k_, p_, alpha=alpha_, tau=tau_)
    if instances is not None and (classes, instances) == (m_, k_):
        return global_optimum(spec, m_, k_, p_, alpha_, tau_, digits=digits)
    P = dataset_polyhedron(classes, instances, p_)
    return minimum(P, batch_objective(spec, P, m_, k_, alpha_), exact(tau_), digits,
                   max_digits=max_digits)


def _partition_optimum(spec, classes, instances, p_, sampler, alpha_, tau_, digits):
    """The dataset-level optimum under a fixed partition into disjoint batches.

    The expected loss is the mean of the batches' losses, and no batch sees a pair of
    instances from two batches. The dataset's Gram matrix with every batch's block at that
    batch's own optimum and zeros across blocks is positive semidefinite with a unit diagonal,
    so the minimum is reached batch by batch: each block is its batch's optimum, and the
    similarities across batches are not fixed by the loss (any values that keep the Gram
    matrix positive semidefinite). The optimum is unique only where one batch covers the
    whole dataset."""
    from collections import Counter

    from ._imbalanced import imbalanced_optimum

    shapes = Counter(tuple(sorted(Counter(c for c, _ in b).values(), reverse=True))
                     for b in sampler.batches)
    blocks, total = [], 0.0
    for sizes, count in sorted(shapes.items(), key=lambda kv: (-len(kv[0]), kv[0])):
        if len(set(sizes)) == 1:
            opt = global_optimum(spec, len(sizes), sizes[0], p_, alpha_, tau_, digits=digits)
        else:
            opt = imbalanced_optimum(spec, sizes, p_, alpha_, tau_, digits=digits)
        blocks.append((sizes, count, opt))
        total += count * opt.loss_value
    covered = sum(len(b) for b in sampler.batches)
    uncovered = None if instances is None else classes * instances - covered
    return Optimum(total / len(sampler.batches), blocks=tuple(blocks), uncovered=uncovered,
                   unique=sum(count for _, count, _ in blocks) == 1 and uncovered == 0)


def _uniform_optimum(spec, classes, instances, p_, batch, alpha_, tau_, digits, max_digits):
    check_setting(spec, 2, 2, p_, alpha=alpha_, tau=tau_)
    P = dataset_polyhedron(classes, instances, p_)
    make = uniform_objective(spec, P, mixture(spec, classes, instances, p_, batch), alpha_,
                              batch)
    return minimum(P, make, exact(tau_), digits, max_digits=max_digits)


def dataset_alpha_c(convention, classes: int, instances: int, p_: int, sampler: Sampler,
                    tau_, tol: float = 1e-10) -> float | None:
    """The dataset-level alpha_c(tau): where ``within-class`` leaves the active set of the
    dataset-level optimum along alpha (every class stops being one point, up to its views),
    by bisection to ``tol`` between the first and the last alpha of the scan that differ.
    None when it is active at every alpha in [0, 1] or at none."""
    def collapsed(a) -> bool:  # the active set only: no need to decide every sign to the end
        return "within-class" in dataset_optimum(convention, classes, instances, p_, sampler,
                                                 a, tau_, max_digits=120).active
    change = flag_change(collapsed, tol, "dataset alpha_c: bisection")
    return None if change is None else change[0]


def dataset_regimes(convention, classes: int, instances: int | None, p_: int,
                    sampler: Sampler, *, tau=None, alpha=None, tol: float = 1e-10,
                    tau_range=TAU_SCAN, points: int = 41) -> Regimes:
    """The regimes of the dataset-level optimum along alpha in [0, 1] at fixed ``tau``, or
    along tau at fixed ``alpha``, as :func:`~ssem_symbolic.optimum.regimes` gives them for a
    batch (the same scan: a grid, then bisection to ``tol``). A fixed partition's regimes are
    its batches' (:func:`~ssem_symbolic.optimum.regimes` on each)."""
    spec = get_spec(convention)
    sampler.check(classes, instances)
    if sampler.kind == "fixed-partition":
        raise ValueError("a fixed partition's regimes are those of its batches: scan each "
                         "batch with regimes")
    def solve(a, t):  # the active set is what a scan needs: no sign decided to 1000 digits
        return dataset_optimum(spec, classes, instances, p_, sampler, a, t, max_digits=120)

    return regimes_of(solve, tau=tau, alpha=alpha, tol=tol, tau_range=tau_range,
                      points=points)


def dataset_tau_c(convention, classes: int, instances: int | None, p_: int, sampler: Sampler,
                  alpha_, tol: float = 1e-8, tau_range=TAU_SCAN) -> dict:
    """The dataset-level tau_c(alpha): where the dataset's classes start or stop being
    collapsed along tau in ``tau_range`` (a scan of :func:`dataset_regimes`, then bisection to
    ``tol`` relative). Returns ``{"tau_c": [tau, ...], "collapsed_at": [bool at the range's
    low end, at its high end], "range": tau_range}``; what lies outside the range is not
    claimed."""
    r = dataset_regimes(convention, classes, instances, p_, sampler, alpha=alpha_, tol=tol,
                        tau_range=tau_range)
    changes = [b.at for b in r.boundaries
               if ("within-class" in b.below) != ("within-class" in b.above)]
    return {"tau_c": changes, "collapsed_at": [r.regimes[0]["collapsed"],
                                               r.regimes[-1]["collapsed"]],
            "range": [float(exact(v)) for v in tau_range]}
