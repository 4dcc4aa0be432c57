"""The symmetric Gram polyhedron of a balanced batch, and what an optimum on it reports.

Every supported convention is convex in the Gram matrix G and invariant under permuting views
within an instance, instances within a class, and classes; averaging over that group keeps G
feasible and does not raise the loss. So its minimum over all unit embeddings (d >= m k p - 1)
is the minimum of phi(v, c, o) over Gram matrices with one value per pair type, a polyhedron:

    P = {(v, c, o) : lambda_i(v, c, o) >= 0},  i in DIRECTIONS,

with the four eigenvalues of :func:`~ssem_symbolic.setting.symmetric_gram_eigenvalues`
(``view`` is absent when p = 1). A *regime* is the set of directions whose eigenvalue is 0 at
the optimum (its active constraints). Class collapse is ``view`` and ``within-class`` both active.

On a point of P (the reporting vocabulary):

* ||class mean||^2 = (1 + (p - 1) v + (k - 1) p c) / (k p), ||mean||^2 = lambda_all-ones / (m k p);
* within-class variance = 1 - ||class mean||^2, total = 1 - ||mean||^2, between = total - within.

>>> from ssem_symbolic.vocab import v_sym, c_sym, o_sym
>>> variances(v_sym, c_sym, o_sym, 3, 4, 2)["within"]
-3*c/4 - v/8 + 7/8
>>> DIRECTIONS
('view', 'within-class', 'between-class', 'all-ones')
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from ._model import symmetric_gram_eigenvalues
from ..vocab import TABLE, c_sym, o_sym, v_sym

#: the eigen-directions of a symmetric Gram matrix, in nesting order (the constraint names)
DIRECTIONS: tuple[str, ...] = ("view", "within-class", "between-class", "all-ones")
#: the pair types that are coordinates of P, with their symbols
COORDINATES: dict[str, sp.Symbol] = {t.name: t.gram for t in TABLE if t.gram.is_Symbol}


@dataclass(frozen=True)
class Polyhedron:
    """P for one batch, exact: ``coords`` (pair types), and per direction the constraint
    lambda_i(x) = ``offset[i]`` + ``normal[i]`` . x >= 0 with its multiplicity."""

    m: int
    k: int
    p: int
    coords: tuple[str, ...]
    names: tuple[str, ...]
    normal: tuple[tuple[sp.Rational, ...], ...]
    offset: tuple[sp.Rational, ...]
    multiplicity: tuple[int, ...]

    def eigenvalues(self, x) -> list:
        """lambda_i at a point x (any number type), in the order of ``names``."""
        return [b + sum(a * xi for a, xi in zip(row, x)) for row, b in zip(self.normal,
                                                                            self.offset)]

    def gram(self, x) -> dict:
        """The Gram value of every pair type at x (self = 1)."""
        out = {t.name: 1 for t in TABLE}
        out.update(dict(zip(self.coords, x)))
        if "view" not in self.coords:
            out["view"] = 1
        return out


@functools.lru_cache(maxsize=None)
def polyhedron(m_: int, k_: int, p_: int) -> Polyhedron:
    """The symmetric Gram polyhedron of an m x k x p batch (see module docstring).

    >>> P = polyhedron(3, 4, 2)
    >>> P.names, P.coords
    (('view', 'within-class', 'between-class', 'all-ones'), ('view', 'class', 'other'))
    >>> P.eigenvalues([1, 1, sp.Rational(-1, 2)])  # SSEM at beta = 1: view, within, all-ones 0
    [0, 0, 12, 0]
    """
    coords = tuple(t for t in COORDINATES if not (t == "view" and p_ == 1))
    names, normal, offset, mult = [], [], [], []
    for name, ev, count in symmetric_gram_eigenvalues(m_=m_, k_=k_, p_=p_):
        if count == 0:
            continue
        names.append(name)
        normal.append(tuple(sp.Rational(sp.diff(ev, COORDINATES[t])) for t in coords))
        offset.append(sp.Rational(ev.subs({s: 0 for s in COORDINATES.values()})))
        mult.append(int(count))
    return Polyhedron(m_, k_, p_, coords, tuple(names), tuple(normal), tuple(offset),
                      tuple(mult))


def variances(v, c, o, m_: int, k_: int, p_: int) -> dict:
    """Within-class, between-class and total variance at the symmetric point (v, c, o).

    On SSEM (v = 1, c = (k beta - 1)/(k - 1), o = -beta/(m - 1)) they are 1 - beta, beta, 1.
    ``k_ = None``: the limit of infinitely many instances per class (||class mean||^2 = c).
    """
    if k_ is None:  # infinitely many instances per class (a dataset's n -> oo limit)
        class_mean_sq, mean_sq = c, (c + (m_ - 1) * o) / m_
    else:
        n = k_ * p_  # v, c, o are SymPy or mpmath numbers: divisions stay exact or precise
        class_mean_sq = (1 + (p_ - 1) * v + (k_ - 1) * p_ * c) / n
        mean_sq = (1 + (p_ - 1) * v + (k_ - 1) * p_ * c + (m_ - 1) * n * o) / (m_ * n)
    within = 1 - class_mean_sq
    total = 1 - mean_sq
    return {"within": within, "between": total - within, "total": total}


def eigen_variances(P: Polyhedron, lam) -> dict:
    """Within- and between-class variance from the eigenvalues (``lam`` in ``P.names``
    order): within = ((k-1) lambda_within + k(p-1) lambda_view)/(kp), between =
    (m-1) lambda_between/(mkp); both >= 0 on P, and exactly 0 where their directions are
    active. In the n -> oo limit (k None): within = (lambda_within + (p-1) lambda_view)/p
    and between = (m-1) lambda_between/m, lambda_between = c - o there. Equal to
    :func:`variances` at the same point:

    >>> P = polyhedron(3, 4, 2)
    >>> x = [sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(-1, 5)]
    >>> eigen_variances(P, P.eigenvalues(x)) == {k: v for k, v in variances(*x, 3, 4, 2).items()
    ...                                          if k != "total"}
    True
    """
    ev = dict(zip(P.names, lam))
    view = ev.get("view", 0)
    if P.k is None:
        return {"within": (ev["within-class"] + (P.p - 1) * view) / P.p,
                "between": (P.m - 1) * ev["between-class"] / P.m}
    kp = P.k * P.p
    return {"within": ((P.k - 1) * ev["within-class"] + P.k * (P.p - 1) * view) / kp,
            "between": (P.m - 1) * ev["between-class"] / (P.m * kp)}


def limit_polyhedron(m_: int, p_: int) -> Polyhedron:
    """The n -> oo limit of the polyhedron of m classes x n instances x p views: the
    between-class and all-ones conditions divided by n p become c - o >= 0 and
    c + (m - 1) o >= 0 (``k`` is None, multiplicities 0: unbounded).

    >>> limit_polyhedron(3, 2).eigenvalues([1, 1, sp.Rational(-1, 2)])
    [0, 0, 3/2, 0]
    """
    finite = polyhedron(m_, 2, p_)
    coords = finite.coords
    rows = {"view": ({"view": -1}, 1), "within-class": ({"view": p_ - 1, "class": -p_}, 1),
            "between-class": ({"class": 1, "other": -1}, 0),
            "all-ones": ({"class": 1, "other": m_ - 1}, 0)}
    names = tuple(n for n in finite.names)
    normal = tuple(tuple(sp.Rational(rows[n][0].get(c, 0)) for c in coords) for n in names)
    offset = tuple(sp.Rational(rows[n][1]) for n in names)
    return Polyhedron(m_, None, p_, coords, names, normal, offset, (0,) * len(names))


def dataset_polyhedron(m_: int, n_: int | None, p_: int) -> Polyhedron:
    """The symmetric polyhedron of a dataset of m classes x n instances x p views:
    :func:`polyhedron`, or :func:`limit_polyhedron` in the limit n -> oo (``n_`` None)."""
    return limit_polyhedron(m_, p_) if n_ is None else polyhedron(m_, n_, p_)


def collapsed(active, p_: int) -> bool:
    """Class collapse: every class is one point (``within-class`` and ``view`` active)."""
    return "within-class" in active and ("view" in active or p_ == 1)


def sorted_names(active) -> list[str]:
    """Active-constraint names as reported: sorted alphabetically."""
    return sorted(active)


__all__ = ["COORDINATES", "DIRECTIONS", "Polyhedron", "collapsed", "dataset_polyhedron",
           "eigen_variances",
           "polyhedron", "sorted_names", "variances", "v_sym", "c_sym", "o_sym"]
