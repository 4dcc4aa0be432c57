"""6. beta* is non-increasing in alpha: implicit differentiation of f'(beta*) = 0."""

from __future__ import annotations

import sympy as sp

from ._core import Proof, per_convention
from ._defs import CONVENTIONS, alpha, beta, k, m, positive_polynomial, reduced_loss, x_of, y_of
from .collapse import LOWER


def _check(proof: Proof, name: str) -> None:
    f = reduced_loss(name)
    cross = sp.simplify(sp.diff(f, beta, alpha))
    proof.symbolic("d^2 f / d beta d alpha does not depend on beta or alpha",
                   not ({beta, alpha} & cross.free_symbols))
    tau = next(s for s in cross.free_symbols if s.name == "tau")
    proof.symbolic(f"d^2 f / d beta d alpha = {sp.factor(cross)} > 0",
                   positive_polynomial(cross, {**LOWER[name], tau: 0}))
    slopes = sp.cancel(sp.diff(x_of(beta), beta) - sp.diff(y_of(beta), beta))
    proof.symbolic("the class and other pairs (both in every denominator) have different "
                   "slopes: x' - y' = k/(k-1) + 1/(m-1) > 0, so f'' = Var_q(g') > 0",
                   positive_polynomial(slopes, {m: 2, k: 2}) and
                   {"class", "other"} <= set(CONVENTIONS[name]["den"]))
    proof.argument("implicit function theorem on f'(beta*) = 0 inside (0, 1): d beta*/d alpha "
                   "= -(d^2 f/d beta d alpha)/f'' < 0; below alpha_c beta* = 1, and beta* is "
                   "continuous at alpha_c: beta* is non-increasing in alpha")
    from ssem_symbolic.ssem import optimal_beta
    grid = [(m_, k_, p_, t) for m_, k_, p_ in ((2, 2, 2), (3, 4, 2), (5, 3, 3))
            for t in (0.05, 0.3, 1.0, 5.0)]
    ok = True
    for m_, k_, p_, t in grid:
        bs = [optimal_beta(name, m_, k_, p_, a / 20, t, digits=30) for a in range(21)]
        ok &= all(b2 <= b1 for b1, b2 in zip(bs, bs[1:])) and bs[-1] < bs[0]
    proof.numeric("the engine's beta* is non-increasing along alpha", ok,
                  "21 alphas x 4 taus x 3 batches, mpmath 30 digits")



per_convention("monotone", "{name}: beta* is non-increasing in alpha", _check)
