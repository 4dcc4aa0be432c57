"""The dimension an optimum needs: the rank of its Gram matrix.

A symmetric Gram matrix of a balanced m x k x p batch has the eigen-directions view (multiplicity
m k (p - 1)), within-class (m (k - 1)), between-class (m - 1) and all-ones (1); an active
direction has eigenvalue 0. So the rank of the optimum, the least embedding dimension d that
realises it, is the sum of the multiplicities of the inactive directions, in closed form per
regime. For unequal class sizes the local directions of each size group count the same way and
the size groups' mean matrix adds its rank. Below that rank the relaxed optimum is not
reachable in R^d: its loss is a lower bound there.

>>> rank_formula(("all-ones", "view"))  # views together, instances apart: N - 1
k*m - 1
>>> rank_formula(("all-ones", "view", "within-class"))  # class collapse: a simplex of m
m - 1
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..setting import Batch, Dataset, family
from ..spec import LossSpec, get_spec
from ..spec import k as k_sym, m as m_sym, p as p_sym

#: the multiplicity of each eigen-direction of a balanced batch's symmetric Gram matrix
MULTIPLICITY = {"view": m_sym * k_sym * (p_sym - 1), "within-class": m_sym * (k_sym - 1),
                "between-class": m_sym - 1, "all-ones": sp.Integer(1)}


def rank_formula(active) -> sp.Expr:
    """The rank of a balanced batch's optimum whose active directions are ``active``, in
    m, k, p: the multiplicities of the others."""
    unknown = set(active) - set(MULTIPLICITY)
    if unknown:
        raise ValueError(f"unknown direction(s) {sorted(unknown)}; the directions are "
                         f"{', '.join(MULTIPLICITY)}")
    return sp.expand(sum((mult for name, mult in MULTIPLICITY.items() if name not in active),
                         sp.Integer(0)))


def rank_needed(spec: LossSpec | str, setting: Batch | Dataset, opt) -> int | None:
    """The rank of the optimum ``opt`` of ``setting`` (as :func:`~ssem_symbolic.optimum.
    optimum` returns it): the least d that realises it. None where it is not a number: a
    dataset of infinitely many instances per class with a direction left free, or a fixed
    partition (the similarities across batches are not fixed)."""
    spec = get_spec(spec)
    if isinstance(setting, Dataset):
        if not opt.symmetric:
            return None
        if setting.instances is None:
            free = set(MULTIPLICITY) - set(opt.active)
            if free & {"view", "within-class"}:
                return None
            return setting.classes - ("all-ones" in opt.active)
        m_, k_ = setting.classes, setting.instances
        return int(rank_formula(opt.active).subs({m_sym: m_, k_sym: k_,
                                                   p_sym: setting.views}))
    if setting.is_balanced:
        m_, k_, p_ = setting.shape
        return int(rank_formula(opt.active).subs({m_sym: m_, k_sym: k_, p_sym: p_}))
    fam = family(spec, setting.sizes, setting.views)
    point = [float(x) for x in opt.exact_point]
    tol = 1e-9
    rank = sum(c.multiplicity for c in fam.linear
               if float(c.offset) + sum(float(a) * x for a, x in zip(c.normal, point)) > tol)
    R = np.array([[float(v) for v in row] for row in fam.means_matrix(point)])
    rank += int((np.linalg.eigvalsh(R) > tol * max(1.0, float(np.abs(R).max()))).sum())
    return rank
