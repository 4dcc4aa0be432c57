"""The faces of the symmetric Gram polyhedron, symbolically: stationarity, KKT multipliers and
the condition for a face to hold the optimum (:mod:`~ssem_symbolic.setting`).

A face is a set S of active directions (eigenvalues held at 0). Its point x* is the optimum iff

    d phi/dx = sum_{i in S} mu_i d lambda_i/dx,   lambda_i = 0 (i in S),   mu_i >= 0,
    lambda_j >= 0 (j not in S)

(:func:`face_equations` writes these out; they are implicit in general). A regime boundary is
where a multiplier reaches 0 (its direction leaves) or a slack reaches 0 (one enters).

At the **collapsed vertex** V (v = c = 1, o = -1/(m - 1): every class one point, the class
means a simplex) the point is known, so its multipliers are closed forms, affine in alpha
(:func:`vertex_multipliers`). Class collapse at (alpha, tau) is exactly
mu_view >= 0, mu_within >= 0 and mu_all-ones >= 0 there, and each boundary of the collapse
region is a root alpha_i(tau) of one of them (:func:`collapse_boundaries`). The within-class
root is the SSEM threshold alpha_c(tau); the view root is where the views of an instance
split off a collapsed class (supcon-split, below alpha_c at small tau).

>>> b = collapse_boundaries("supcon-split")
>>> sp.limit(b["view"].subs({m: 3, k: 4, p: 2}), tau, 0, "+")
1/7
"""

from __future__ import annotations

import functools

import sympy as sp

from ._api import symmetric_loss
from ..setting import symmetric_gram_eigenvalues
from ..vocab import c_sym, o_sym, v_sym
from ..spec import LossSpec, alpha, get_spec, k, m, p, tau  # noqa: F401  (k, p, tau: doctest)
from ..setting import takes_convention

#: the collapsed vertex: views and classes one point, class means a regular simplex
VERTEX = {v_sym: sp.Integer(1), c_sym: sp.Integer(1), o_sym: -1 / (m - 1)}
_COORDS = (v_sym, c_sym, o_sym)


def _normals() -> dict[str, list[sp.Expr]]:
    return {name: [sp.diff(ev, x) for x in _COORDS]
            for name, ev, _ in symmetric_gram_eigenvalues()}


@takes_convention
def face_equations(convention: str | LossSpec, active: tuple[str, ...]) -> list[sp.Eq]:
    """The KKT system of the face ``active`` (direction names), symbolic in v, c, o, the
    multipliers mu_<direction>, alpha, tau, m, k, p: stationarity per coordinate, then
    lambda_i = 0 per active direction.

    >>> eqs = face_equations("paper", ("view", "all-ones"))
    >>> len(eqs), eqs[-1].rhs
    (5, 0)
    """
    phi = symmetric_loss(get_spec(convention))
    normals = _normals()
    eig = {name: ev for name, ev, _ in symmetric_gram_eigenvalues()}
    unknown = set(active) - set(normals)
    if unknown:
        raise ValueError(f"unknown direction(s) {sorted(unknown)}; use {', '.join(normals)}")
    mus = {name: sp.Symbol(f"mu_{name.replace('-', '_')}") for name in active}
    out = [sp.Eq(sp.diff(phi, x), sum(mus[n] * normals[n][j] for n in active))
           for j, x in enumerate(_COORDS)]
    return out + [sp.Eq(eig[n], 0) for n in active]


@functools.lru_cache(maxsize=None)
def _vertex(spec: LossSpec) -> dict[str, sp.Expr]:
    phi = symmetric_loss(spec)
    grad = sp.Matrix([sp.diff(phi, x).subs(VERTEX) for x in _COORDS])
    normals = _normals()
    names = ("view", "within-class", "all-ones")
    A = sp.Matrix([[normals[n][j] for n in names] for j in range(3)])
    mu = A.LUsolve(grad)
    return {n: sp.factor(sp.cancel(sp.powsimp(sp.expand(mu[i])))) for i, n in enumerate(names)}


@takes_convention
def vertex_multipliers(convention: str | LossSpec) -> dict[str, sp.Expr]:
    """KKT multipliers of phi at the collapsed vertex, per active direction (view,
    within-class, all-ones), closed forms in alpha, tau, m, k, p (p >= 2)."""
    return dict(_vertex(get_spec(convention)))


@takes_convention
def collapse_boundaries(convention: str | LossSpec) -> dict[str, sp.Expr | None]:
    """Per direction active at the collapsed vertex: the alpha(tau) where its multiplier
    vanishes (None when the multiplier does not depend on alpha). Collapse holds where all
    three multipliers are >= 0."""
    out: dict[str, sp.Expr | None] = {}
    for name, mu in vertex_multipliers(convention).items():
        num = sp.numer(sp.together(mu))
        a1, a0 = sp.Poly(sp.expand(num), alpha).all_coeffs() if sp.degree(num, alpha) == 1 \
            else (0, num)
        out[name] = None if a1 == 0 else sp.factor(sp.cancel(-a0 / a1))
    return out
