"""8. Peers as special cases: alpha = 0 (class collapse; Graf et al.) and alpha = 1 (the
all-instance simplex; Cho et al.), with the values of docs/references.md."""

from __future__ import annotations

import mpmath
import sympy as sp

from ._core import Proof, proposition
from ._defs import BATCHES, alpha, beta, equal_in_tau, k, m, p, reduced_loss, same, tau

R = sp.exp(-m / ((m - 1) * tau))


def _value(expr, **at) -> float:
    subs = {sym: sp.Rational(str(at[sym.name])) for sym in (m, k, p, tau) if sym.name in at}
    return float(sp.N(expr.subs(subs), 30))


@proposition("peers.alpha0.paper", "paper, alpha = 0: class collapse, L* = log(k p) + "
             "log(1 + (m-1) e^(-m/((m-1) tau))); spec values (2,2,1) 1.51322237, "
             "(3,2,0.5) 1.48121732")
def alpha0_paper(proof: Proof) -> None:
    from .collapse import derived_alpha_c, r
    a_c = derived_alpha_c("paper")
    proof.symbolic("alpha_c(r) - 1/k >= 0 for r in (0, 1): alpha = 0 < 1/k <= alpha_c, so "
                   "beta* = 1", _positive_on_unit(sp.cancel(a_c - 1 / k), r))
    f1 = reduced_loss("paper").subs({alpha: 0, beta: 1})
    claim = sp.log(k * p) + sp.log(1 + (m - 1) * R)
    _exact(proof, "f(1) at alpha = 0 equals the closed form", f1, claim)
    vals = {(2, 2, 1): 1.51322237, (3, 2, 0.5): 1.48121732}
    worst = max(abs(_value(claim, m=a, k=b, p=2, tau=t) - want) for (a, b, t), want in vals.items())
    proof.numeric("docs/references.md values", worst < 5e-9, f"30 digits, max error {worst:.1e}")
    _engine_point(proof, "paper", 2, 2, 2, 0.0, 1.0, (1, 1), vals[(2, 2, 1)])


@proposition("peers.graf", "supcon, alpha = 0 (Graf et al. 2021): class collapse with "
             "L* = log(P - 1 + (M - P) e^(-m/((m-1) tau))), P = p k; one view: m=3, k=4, tau=1 "
             "gives 1.5654947")
def graf(proof: Proof) -> None:
    from .collapse import derived_alpha_c, r
    a_c = derived_alpha_c("supcon")
    proof.symbolic("alpha_c(r) > 0 for r in (0, 1): alpha = 0 collapses", _positive_on_unit(a_c, r))
    f1 = reduced_loss("supcon").subs({alpha: 0, beta: 1})
    P, M = p * k, m * k * p
    claim = sp.log(P - 1 + (M - P) * R)
    _exact(proof, "f(1) at alpha = 0 equals Graf's per-anchor optimum", f1, claim,
           p_min=2)
    got = _value(claim, m=3, k=4, p=1, tau=1)
    proof.numeric("Graf's full-batch value (p = 1)", abs(got - 1.5654947) < 5e-8,
                  f"30 digits: {got:.9f}")
    _engine_point(proof, "supcon", 3, 4, 1, 0.0, 1.0, (1, 1), 1.5654947)


@proposition("peers.alpha1.cho", "paper, alpha = 1: beta* = (m-1)/(mk-1) (the all-instance "
             "simplex), L* = log p + log(1 + (mk-1) e^(-mk/((mk-1) tau))); 2 (L* - log p) is "
             "Cho et al.'s two-view InfoNCE optimum (N = mk = 4, tau = 1: 1.16531531)")
def alpha1(proof: Proof) -> None:
    f = reduced_loss("paper").subs(alpha, 1)
    b_s = (m - 1) / (m * k - 1)
    proof.symbolic("f'(beta) at alpha = 1 vanishes at beta = (m-1)/(mk-1)",
                   same(sp.diff(f, beta).subs(beta, b_s), sp.Integer(0)))
    proof.argument("f is convex, so this stationary point in (0, 1) is beta*")
    N = m * k
    claim = sp.log(p) + sp.log(1 + (N - 1) * sp.exp(-N / ((N - 1) * tau)))
    _exact(proof, "f(beta*) equals the closed form", f.subs(beta, b_s), claim)
    vals = {(2, 2, 1): 1.27580483, (3, 2, 0.5): 1.06718338}
    worst = max(abs(_value(claim, m=a, k=b, p=2, tau=t) - want) for (a, b, t), want in vals.items())
    proof.numeric("docs/references.md values", worst < 5e-9, f"30 digits, max error {worst:.1e}")
    cho = 2 * (claim - sp.log(p))
    got = _value(cho, m=2, k=2, p=2, tau=1)
    proof.numeric("Cho et al.'s value", abs(got - 1.16531531) < 5e-9, f"30 digits: {got:.9f}")
    _engine_point(proof, "paper", 2, 2, 2, 1.0, 1.0, (1, 3), vals[(2, 2, 1)])


def _exact(proof: Proof, claim: str, lhs: sp.Expr, rhs: sp.Expr, p_min: int = 1) -> None:
    """Exactly in tau (equal_in_tau), for every batch of BATCHES."""
    sizes = [b for b in BATCHES if b[2] >= p_min]
    ok = all(equal_in_tau(lhs.subs({m: a, k: b, p: c}), rhs.subs({m: a, k: b, p: c}))
             for a, b, c in sizes)
    proof.symbolic(f"{claim}: exact identity in tau for {len(sizes)} batches m in (2, 3, 5), "
                   "k in (2, 3, 4), p up to 3", ok)


def _positive_on_unit(expr: sp.Expr, r: sp.Symbol) -> bool:
    from ._defs import positive_polynomial
    return positive_polynomial(expr.subs(r, 1 / (1 + r)), {m: 2, k: 2, p: 1, r: 0})


def _engine_point(proof: Proof, name, m_, k_, p_, a, t, want_beta, want_loss) -> None:
    from ssem_symbolic.ssem import loss_value, optimal_beta
    with mpmath.workdps(40):
        b = optimal_beta(name, m_, k_, p_, a, t)
        want = mpmath.mpf(want_beta[0]) / want_beta[1]  # (numerator, denominator), exact
        value = loss_value(name, m_, k_, p_, a, t, b)
        ok = abs(b - want) < mpmath.mpf(10) ** -25 and abs(value - want_loss) < 5e-8
    proof.numeric(f"the engine (as `ssem optimum`) gives beta* = {mpmath.nstr(b, 12)} and "
                  f"L* = {mpmath.nstr(value, 12)}", ok,
                  f"m={m_} k={k_} p={p_} alpha={a} tau={t}, 30 digits")

