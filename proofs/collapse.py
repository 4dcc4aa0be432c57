"""5. The collapse condition: beta* = 1 iff f'(1) <= 0 iff alpha <= alpha_c(tau); the closed
forms of alpha_c and tau_c; alpha_c increasing in tau; its limits as tau -> 0 and oo."""

from __future__ import annotations

import mpmath
import sympy as sp

from ._core import Proof, per_convention
from ._defs import (alpha, beta, engine_symbols, k, m, p, positive_polynomial,
                    reduced_loss, same, tau)

r = sp.Symbol("r", positive=True)  # r = exp(-m/((m - 1) tau)) in (0, 1), increasing in tau
LOWER = {"paper": {m: 2, k: 2, p: 1}, "supcon": {m: 2, k: 2, p: 2},
         "supcon-split": {m: 2, k: 2, p: 2}}

#: docs/references.md, paper convention, p = 2: (m, k, tau) -> alpha_c to the digits given
REFERENCE = {(2, 2, 1): "0.6192", (3, 2, 0.5): "0.5679", (2, 3, 0.5): "0.3573",
             (10, 10, 0.1): "0.100", (10, 10, 0.5): "0.594", (10, 10, 1): "0.848"}


def slope_at_one(name: str) -> sp.Expr:
    """tau f'(1) as a rational function of r and alpha (exactly, by homogeneity)."""
    f1 = sp.diff(reduced_loss(name), beta).subs(beta, 1) * tau
    atoms = sorted(f1.atoms(sp.exp), key=sp.default_sort_key)
    scale = sp.Dummy(positive=True)
    names = {a: sp.Dummy(positive=True) for a in atoms}
    plain = f1.xreplace(names)
    homogeneous = sp.cancel(plain.xreplace({d: scale * d for d in names.values()}) - plain) == 0
    if not homogeneous:
        raise ArithmeticError("f'(1) is not homogeneous of degree 0 in its exponentials")
    # the exps at beta = 1: e^{1/tau} (values 1) and e^{-1/((m-1) tau)} = e^{1/tau} r
    value = {}
    for a in atoms:
        arg = sp.cancel(a.args[0] * tau)
        value[a] = sp.Integer(1) if arg == 1 else (
            r if sp.simplify(arg + 1 / (m - 1)) == 0 else None)
        if value[a] is None:
            raise ArithmeticError(f"unexpected exponential {a} at beta = 1")
    return sp.cancel(plain.xreplace({names[a]: value[a] for a in atoms}))


def derived_alpha_c(name: str) -> sp.Expr:
    g = slope_at_one(name)
    g0, g1 = g.subs(alpha, 0), g.subs(alpha, 1)
    return sp.factor(sp.cancel(g0 / (g0 - g1)))


def check_alpha_c(proof: Proof, name: str, claimed: sp.Expr) -> None:
    """The claimed alpha_c(r) (the engine's, or a test's) against the derivation."""
    g = slope_at_one(name)
    proof.symbolic("tau f'(1) is affine in alpha", sp.diff(g, alpha, 2) == 0)
    lo = LOWER[name]
    proof.symbolic("tau f'(1) increases with alpha (m, k, p at least their minimum, r in (0,1))",
                   positive_polynomial(sp.diff(g, alpha).subs(r, 1 / (1 + r)), {**lo, r: 0}))
    proof.argument("f is convex (convexity.*), so f' increases and beta* = 1 iff f'(1) <= 0 iff "
                   "alpha <= alpha_c, the root of the affine map alpha -> f'(1)")
    mine = derived_alpha_c(name)
    proof.symbolic(f"alpha_c(r) = {mine} equals the claim",
                   sp.cancel(sp.together(mine - claimed)) == 0)


def _alpha_c(proof: Proof, name: str) -> None:
    from ssem_symbolic.ssem import derive
    d = derive(name)
    check_alpha_c(proof, name, engine_symbols(d.alpha_c_r).subs(sp.Symbol("r", positive=True), r))
    mine = derived_alpha_c(name)
    lo = LOWER[name]
    dr = sp.diff(mine, r)
    proof.symbolic("d alpha_c / d r > 0 on the whole range (numerator and denominator "
                   "polynomials with nonnegative coefficients after shifting)",
                   positive_polynomial(dr.subs(r, 1 / (1 + r)), {**lo, r: 0}))
    proof.symbolic("dr/dtau = r m/((m - 1) tau^2) > 0, so alpha_c increases with tau",
                   positive_polynomial(sp.diff(sp.exp(-m / ((m - 1) * tau)), tau)
                                       / sp.exp(-m / ((m - 1) * tau)), {m: 2, tau: 0}))
    lim0, lim1 = sp.factor(mine.subs(r, 0)), sp.factor(mine.subs(r, 1))
    proof.symbolic(f"limits: alpha_c -> {lim0} as tau -> 0 (r -> 0), -> {lim1} as tau -> oo "
                   "(r -> 1), the engine's", sp.simplify(lim0 - engine_symbols(d.alpha_c_tau0)) == 0
                   and sp.simplify(lim1 - engine_symbols(d.alpha_c_tauinf)) == 0)
    # tau_c: invert the Moebius map r -> alpha_c(r)
    roots = sp.solve(sp.Eq(mine, alpha), r)
    proof.symbolic("alpha_c(r) = alpha has one root r(alpha)", len(roots) == 1)
    tau_c = m / ((m - 1) * sp.log(1 / roots[0]))
    proof.symbolic("tau_c = m/((m - 1) log(1/r(alpha))) equals the engine's tau_c",
                   same(tau_c, engine_symbols(d.tau_c)))
    if name == "paper":
        with mpmath.workdps(30):
            worst = 0
            for (m_, k_, t_), want in REFERENCE.items():
                rr = mpmath.exp(-mpmath.mpf(m_) / ((m_ - 1) * mpmath.mpf(t_)))
                got = sp.lambdify((r, m, k), mine, "mpmath")(rr, m_, k_)
                digits = len(want.split(".")[1])
                worst = max(worst, abs(float(got) - float(want)) - 0.5 * 10 ** -digits)
        proof.numeric("docs/references.md alpha_c values reproduced to the digits given",
                      worst <= 0,
                      "6 reference points, 30 digits")


per_convention("collapse", "{name}: beta* = 1 iff alpha <= alpha_c(tau) (closed form in "
               "r = e^(-m/((m-1) tau))); tau_c its inverse; alpha_c increasing in tau; limits",
               _alpha_c)
