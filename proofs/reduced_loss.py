"""3. The reduced loss per convention: the counting identity, and the full loss on SSEM."""

from __future__ import annotations

import itertools

import sympy as sp

from ._core import Proof, per_convention, proposition
from ._defs import (CONVENTIONS, TYPES, alpha, beta, canon, counts_general, embeddings,
                    engine_symbols, k, m, p, pair_type, reduced_loss, same_rational_function,
                    split_log, tau, x_of, y_of)


@proposition("loss.counts", "Per anchor: 1 self, p - 1 view, (k - 1) p class, (m - 1) k p "
             "other pairs, M = m k p in all")
def counts(proof: Proof) -> None:
    n = counts_general()
    proof.symbolic("the counts add to M", sp.expand(sum(n.values()) - m * k * p) == 0)
    for m_, k_, p_ in itertools.product((2, 3), (2, 3), (1, 2, 3)):
        emb = embeddings(m_, k_, p_)
        want = {t: int(n[t].subs({m: m_, k: k_, p: p_})) for t in TYPES}
        ok = all({t: sum(pair_type(a, b) == t for b in emb) for t in TYPES} == want for a in emb)
        proof.symbolic(f"every anchor, counted, m={m_} k={k_} p={p_}", ok)
    from ssem_symbolic.spec import PRESETS, pair_counts
    e = {t: engine_symbols(sp.sympify(val)) for t, val in pair_counts().items()}
    proof.symbolic("the engine's pair_counts equal these",
                   all(sp.expand(e[t] - n[t]) == 0 for t in TYPES))
    proof.symbolic("the engine's presets are the spec's conventions", all(
        set(PRESETS[name].denominator) == set(conv["den"])
        and set(PRESETS[name].positives("sup")) == set(conv["sup"])
        and set(PRESETS[name].positives("self")) == set(conv["self"])
        and PRESETS[name].mean == conv["mean"] for name, conv in CONVENTIONS.items()))


def explicit_loss(name: str, m_: int, k_: int, p_: int, a, t, b) -> sp.Expr:
    """The loss of the SSEM batch from the spec's per-pair wording, every pair written out."""
    emb = embeddings(m_, k_, p_)
    g = {"self": sp.Integer(1), "view": sp.Integer(1), "class": x_of(b).subs(k, k_),
         "other": y_of(b).subs(m, m_)}
    s = [[g[pair_type(x, y)] for y in emb] for x in emb]
    M = len(emb)
    if name == "paper":
        logz = [sp.log(sum(sp.exp(s[cc][bb] / t) for cc in range(M))) for bb in range(M)]

        def ell(aa, bb):
            return s[aa][bb] / t - logz[bb]
        same_inst = [(x, y) for x in range(M) for y in range(M) if emb[x][:2] == emb[y][:2]]
        sup = [(x, y) for x in range(M) for y in range(M)
               if emb[x][0] == emb[y][0] and emb[x][:2] != emb[y][:2]]
        l_self = -sum(ell(x, y) for x, y in same_inst) / len(same_inst)
        l_sup = -sum(ell(x, y) for x, y in sup) / len(sup)
    else:
        logz = [sp.log(sum(sp.exp(s[aa][cc] / t) for cc in range(M) if cc != aa))
                for aa in range(M)]

        def per_anchor(pos):
            total = 0
            for aa in range(M):
                ps = [bb for bb in range(M) if bb != aa and pos(emb[aa], emb[bb])]
                total += -sum(s[aa][bb] / t - logz[aa] for bb in ps) / len(ps)
            return total / M
        l_self = per_anchor(lambda x, y: x[:2] == y[:2])
        if name == "supcon":
            l_sup = per_anchor(lambda x, y: x[0] == y[0])
        else:
            l_sup = per_anchor(lambda x, y: x[0] == y[0] and x[:2] != y[:2])
    return (1 - a) * l_sup + a * l_self


def _check(proof: Proof, name: str) -> None:
    from ssem_symbolic.ssem import derive

    mine = reduced_loss(name)
    engine = engine_symbols(derive(name).loss)
    d1, r1 = split_log(canon(mine))
    d2, r2 = split_log(canon(engine))
    proof.symbolic("general m, k, p: the engine's f(beta) has the same log-sum-exp argument "
                   "and the same rest as the count-weighted phi on SSEM",
                   same_rational_function(d1, d2) and same_rational_function(r1, r2))
    spots = ((2, 2, 2), (3, 2, 2), (2, 3, 3)) if name == "paper" else ((2, 2, 2), (2, 3, 2))
    for m_, k_, p_ in spots:
        a, t, b = sp.Rational(3, 10), sp.Rational(1, 2), sp.Rational(3, 5)
        full = explicit_loss(name, m_, k_, p_, a, t, b)
        at = {m: m_, k: k_, p: p_, alpha: a, tau: t, beta: b}
        diff = sp.nsimplify(sp.expand_log(sp.logcombine(full - engine.subs(at), force=True),
                                          force=True))
        claim = (f"alpha=3/10, tau=1/2, beta=3/5, m={m_} k={k_} p={p_}: the full per-pair "
                 "loss equals f(beta)")
        if sp.simplify(diff) == 0:
            proof.symbolic(claim + " (exact)", True)
        else:
            value = abs(sp.N(full - engine.subs(at), 60))
            proof.numeric(claim, value < sp.Float(10) ** -55, f"60 digits, |diff| = {value:.1e}")
    proof.argument("every anchor sees the same pair counts on SSEM, so 'pairs' and 'anchors' "
                   "means agree and the loss is phi(1, x(beta), y(beta))")


per_convention("loss.reduced", "{name}: the full loss on SSEM equals f(beta) = "
               "log sum_den n_t e^(g_t/tau) - [(1-alpha) <g>_sup + alpha <g>_self]/tau", _check)
