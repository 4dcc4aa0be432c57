"""4. f is convex in beta: f'' is a variance of the pair-type slopes under softmax weights."""

from __future__ import annotations

import sympy as sp

from ._core import Proof, per_convention
from ._defs import (CONVENTIONS, beta, counts_general, engine_symbols, reduced_loss, same,
                    split_log, tau, x_of, y_of)


def _check(proof: Proof, name: str) -> None:
    conv = CONVENTIONS[name]
    n = counts_general()
    g = {"self": sp.Integer(1), "view": sp.Integer(1), "class": x_of(beta), "other": y_of(beta)}
    proof.symbolic("every Gram value is affine in beta", all(
        sp.diff(g[t], beta, 2) == 0 for t in g))
    f = reduced_loss(name)
    den, rest = split_log(f)
    proof.symbolic("the rest (the positives' pull) is affine in beta",
                   sp.simplify(sp.diff(rest, beta, 2)) == 0)
    w = {t: n[t] * sp.exp(g[t] / tau) for t in conv["den"]}
    total = sum(w.values())
    slope = {t: sp.diff(g[t], beta) / tau for t in w}
    mean = sum(w[t] * slope[t] for t in w) / total
    variance = sum(w[t] * (slope[t] - mean) ** 2 for t in w) / total
    second = sp.diff(sp.log(total), beta, 2)
    proof.symbolic("(log D)'' = sum_t q_t (g_t'/tau - mean)^2 with q_t = n_t e^{g_t/tau}/D",
                   same(second, variance))
    proof.symbolic("D as written is the log argument of f", same(total, den))
    proof.argument("q_t > 0 and squares are >= 0, so f'' = variance >= 0: f is convex")
    from ssem_symbolic.ssem import derive
    proof.symbolic("the engine's f'' equals this variance",
                   same(engine_symbols(derive(name).d2loss), variance))


per_convention("convexity", "{name}: f''(beta) = Var_q(g')/tau^2 >= 0, f is convex", _check)
