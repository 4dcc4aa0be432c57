"""8. The global optimum off SSEM: the faces of the symmetric polyhedron that hold it, and the
boundaries where the regime changes, for supcon-split (two boundaries at small tau) and the
presets (one: the SSEM threshold).

Everything here starts from ``_defs.phi`` (the per-anchor loss written from the spec) and the
eigenvalues of the symmetric Gram (section 7); the engine's boundaries are then compared.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from ._core import Proof, proposition
from ._defs import alpha, c, k, m, o, p, phi, tau, v
from .symmetry import symmetric_eigenvalues

BATCH = (3, 4, 2)


def _face_split(name: str, m_: int, k_: int, p_: int) -> tuple[sp.Expr, dict]:
    """phi on the face {within-class = 0, all-ones = 0}, as a function of v alone."""
    lams = [lam.subs({m: m_, k: k_, p: p_}) for lam, _ in symmetric_eigenvalues()]
    sol = sp.solve([lams[1], lams[3]], [c, o], dict=True)[0]
    return phi(name).subs({m: m_, k: k_, p: p_}).subs(sol), sol


def view_boundary(name: str = "supcon-split", m_: int = 3, k_: int = 4, p_: int = 2) -> sp.Expr:
    """alpha where ``view`` enters the face {within-class, all-ones}: d phi_face/dv = 0 at
    v = 1 (the face minimiser reaches the view constraint). phi is affine in alpha, so this is
    a closed form in tau."""
    f, _ = _face_split(name, m_, k_, p_)
    slope = sp.diff(f, v).subs(v, 1)
    (root,) = sp.solve(sp.Eq(slope, 0), alpha)
    return sp.simplify(root)


def check_view_boundary(proof: Proof, name: str, at: float, t: str, m_: int = 3, k_: int = 4,
                        p_: int = 2) -> None:
    """At alpha = ``at`` the views rejoin (slope 0 at v = 1); the face minimiser has v < 1
    below it and would pass v = 1 above it (so the view constraint is active there)."""
    f, _ = _face_split(name, m_, k_, p_)
    slope = sp.lambdify((alpha, tau), sp.diff(f, v).subs(v, 1), "mpmath")
    with mpmath.workdps(50):
        tt = mpmath.mpf(t)
        at_mp = mpmath.mpf(at)
        value = slope(at_mp, tt)
        below, above = slope(at_mp - mpmath.mpf("1e-6"), tt), slope(at_mp + mpmath.mpf("1e-6"),
                                                                      tt)
    proof.numeric(f"{name} at tau = {t}: d phi_face/dv (v = 1) vanishes at alpha = {at:.10f} "
                  "and changes sign there (positive below: the views apart; negative above: "
                  "v = 1 active)", abs(value) < 1e-9 and below > 0 > above,
                  f"mpmath 50 digits, slope {mpmath.nstr(value, 3)}")


def within_multiplier(name: str, m_: int, k_: int, p_: int, a, t) -> mpmath.mpf:
    """The KKT multiplier of ``within-class`` at the collapsed vertex (v = c = 1, centroid 0),
    from grad phi = sum mu_i grad lambda_i over view, within-class and all-ones."""
    lams = [lam.subs({m: m_, k: k_, p: p_}) for lam, _ in symmetric_eigenvalues()]
    f = phi(name).subs({m: m_, k: k_, p: p_})
    point = {v: 1, c: 1, o: sp.Rational(-1, m_ - 1)}
    A = sp.Matrix([[sp.diff(lams[i], s) for i in (0, 1, 3)] for s in (v, c, o)])
    with mpmath.workdps(50):
        grad = mpmath.matrix([sp.lambdify((alpha, tau), sp.diff(f, s).subs(point), "mpmath")(
            mpmath.mpf(a), mpmath.mpf(t)) for s in (v, c, o)])
        mu = mpmath.lu_solve(mpmath.matrix(A.tolist()), grad)
        return mu[1]


@proposition("global.supcon-split.boundaries",
             "supcon-split, m=3 k=4 p=2, tau=0.3: the engine's two boundaries along alpha are "
             "where view enters (closed form) and where within-class leaves (alpha_c)")
def split_boundaries(proof: Proof) -> None:
    from ssem_symbolic.ssem import alpha_c_value
    from ssem_symbolic.setting import Batch
    from ssem_symbolic.optimum import regimes

    closed = view_boundary()
    proof.argument(f"on the face within-class = all-ones = 0, phi is convex in v and affine in "
                   f"alpha; the views rejoin where its slope at v = 1 vanishes: alpha = {closed}")
    found = regimes("supcon-split", Batch.balanced(*BATCH), tau="0.3")
    proof.symbolic("the engine finds exactly two boundaries at tau = 0.3",
                   len(found.boundaries) == 2)
    first, second = found.boundaries
    proof.symbolic("the first: view enters ([all-ones, within-class] -> + view)",
                   set(first.above) - set(first.below) == {"view"})
    value = float(closed.subs(tau, sp.Rational(3, 10)))
    proof.numeric("it equals the closed form (to the engine's 1e-10)",
                  abs(first.at - value) < 1e-10,
                  f"|{first.at:.12f} - {value:.12f}|, float64")
    check_view_boundary(proof, "supcon-split", first.at, "0.3")
    proof.symbolic("the second: within-class leaves", set(second.below) - set(second.above)
                   == {"within-class"})
    mu = within_multiplier("supcon-split", *BATCH, second.at, "0.3")
    a_c = float(alpha_c_value("supcon-split", *BATCH, "0.3"))
    proof.numeric("there the within-class multiplier at the collapsed vertex is 0, and the "
                  "point is alpha_c(0.3)", abs(mu) < 1e-9 and abs(second.at - a_c) < 1e-10,
                  f"mpmath 50 digits, multiplier {mpmath.nstr(mu, 3)}")


@proposition("global.presets.one-boundary",
             "paper and supcon, m=3 k=4 p=2, tau in {0.3, 1}: exactly one boundary along "
             "alpha, where within-class leaves at alpha_c")
def presets_one(proof: Proof) -> None:
    from ssem_symbolic.ssem import alpha_c_value
    from ssem_symbolic.optimum import regimes
    from ssem_symbolic.setting import Batch

    for name in ("paper", "supcon"):
        for t in ("0.3", "1"):
            found = regimes(name, Batch.balanced(*BATCH), tau=t)
            ok = len(found.boundaries) == 1 and set(found.boundaries[0].below) - set(
                found.boundaries[0].above) == {"within-class"}
            proof.symbolic(f"{name}, tau = {t}: one boundary, within-class leaves", ok)
            at = found.boundaries[0].at
            mu = within_multiplier(name, *BATCH, at, t)
            proof.numeric(f"{name}, tau = {t}: the within-class multiplier vanishes there, at "
                          "alpha_c", abs(mu) < 1e-9 and abs(
                              at - float(alpha_c_value(name, *BATCH, t))) < 1e-10,
                          f"mpmath 50 digits, multiplier {mpmath.nstr(mu, 3)}")
