"""Closed forms at the collapsed vertex of an imbalanced batch.

When every class is collapsed (v_g = s_g = 1) the point is fixed up to the class-mean
similarities o_gh. Given those, the KKT multipliers of ``view[g]`` and ``within-class[g]`` and
the dual of the class-mean inequality solve a *linear* system whose right-hand side is the
gradient of tau phi at the vertex: closed forms in tau, affine in alpha. The vertex is the
optimum iff every multiplier is >= 0 (and the dual is PSD), so each multiplier's root in alpha
ends the region where every class is collapsed; the first of them met along alpha is a
boundary of the engine's regimes (``within-class[k]``: the classes of size k spread; ``view[k]``:
their views split). Later per-class boundaries lie off the vertex: the engine finds them.

For two classes the class means are antipodal (o = -1) and everything is exact:

>>> roots = vertex_roots("paper", (3, 2), 2)
>>> roots["within-class[k=3]"]
5*(3*exp(4/tau) + 14*exp(2/tau) + 13)/(39*exp(4/tau) + 86*exp(2/tau) + 45)

For more than two classes pass the engine's class-mean similarities o* as ``means``.
"""

from __future__ import annotations

import sympy as sp

from ..forms import reduced_loss
from ..setting import family
from ..setting import ClassSizes
from ..spec import alpha, get_spec, tau


def collapsed_point(fam, means: dict | None = None) -> dict:
    """The collapsed vertex: v_g = s_g = 1 and the class-mean similarities ``means``
    (coordinate name -> value); for two classes o = -1 by default."""
    point = {}
    for c in fam.coords:
        if c.startswith(("v[", "s[")):
            point[c] = sp.Integer(1)
    others = [c for c in fam.coords if c.startswith("o[")]
    if means is None:
        if fam.sizes.classes != 2:
            raise ValueError("give the class-mean similarities (more than two classes)")
        means = {others[0]: sp.Integer(-1)}
    missing = set(others) - set(means)
    if missing:
        raise ValueError(f"missing class-mean similarities: {sorted(missing)}")
    return point | {c: sp.nsimplify(means[c]) if isinstance(means[c], float) else means[c]
                    for c in others}


def collapse_multipliers(convention, sizes, p_: int = 2, means: dict | None = None) -> dict:
    """The KKT multipliers at the collapsed vertex, as expressions in alpha and tau: per
    ``view[g]`` and ``within-class[g]``, and ``means`` (the dual of the class-mean matrix along
    its null space, when the means are dependent), from the stationarity equations (exact when
    the class-mean similarities are). A ValueError when the equations do not determine them."""
    spec = get_spec(convention)
    sizes = sizes if isinstance(sizes, ClassSizes) else ClassSizes(tuple(sizes))
    fam = family(spec, sizes, p_)
    sym = [sp.Symbol(c, real=True) for c in fam.coords]
    point = collapsed_point(fam, means)
    subs = {s: point[c] for s, c in zip(sym, fam.coords)}
    phi = reduced_loss(spec, sizes, p_)
    grad = [sp.simplify(sp.diff(tau * phi, s).subs(subs)) for s in sym]
    x = [point[c] for c in fam.coords]
    actives = [c for c in fam.linear
               if sp.simplify(c.offset + sum(a * xi for a, xi in zip(c.normal, x))) == 0]
    R = sp.Matrix(fam.means_matrix(x))
    null = R.nullspace()
    mus = sp.symbols(f"mu0:{len(actives)}")
    ws = sp.symbols(f"w0:{len(null) * (len(null) + 1) // 2}")
    Q = sp.Matrix.hstack(*null) if null else sp.zeros(R.rows, 0)
    W = sp.zeros(len(null), len(null))
    for w, (a, b) in zip(ws, [(a, b) for a in range(len(null)) for b in range(a, len(null))]):
        W[a, b] = W[b, a] = w
    Z = Q * W * Q.T
    _, Rj = fam.means
    eqs = []
    for j in range(len(sym)):
        dual = sum(Z[a, b] * Rj[j][a][b] for a in range(R.rows) for b in range(R.rows))
        eqs.append(sp.Eq(grad[j], sum(m * c.normal[j] for m, c in zip(mus, actives)) + dual))
    sol = sp.solve(eqs, [*mus, *ws], dict=True)
    if len(sol) != 1 or set(sol[0]) != {*mus, *ws}:
        raise ValueError("the stationarity equations do not determine the multipliers here")
    out = {f"{c.name.split('[')[0]}[k={sizes.groups[c.group][0]}]": sp.simplify(sol[0][m])
           for m, c in zip(mus, actives)}
    if ws:
        out["means"] = [sp.simplify(sol[0][w]) for w in ws]
    return out


def vertex_roots(convention, sizes, p_: int = 2, means: dict | None = None) -> dict:
    """Per multiplier of the collapsed vertex (``view[k=K]``, ``within-class[k=K]``): the
    alpha where it vanishes, a closed form in tau (it is affine in alpha; the root may lie
    outside [0, 1]); None where it does not depend on alpha."""
    sizes = sizes if isinstance(sizes, ClassSizes) else ClassSizes(tuple(sizes))
    out = {}
    for name, mu in collapse_multipliers(convention, sizes, p_, means).items():
        if name == "means":
            continue
        if not mu.has(alpha):
            out[name] = None
            continue
        a = sp.Symbol("a")  # any real root, also outside [0, 1]
        (root,) = sp.solve(sp.Eq(mu.subs(alpha, a), 0), a)
        out[name] = sp.simplify(root)
    return out


__all__ = ["collapse_multipliers", "collapsed_point", "vertex_roots"]
