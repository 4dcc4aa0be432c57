"""13. The loss written with a temperature per pair type, or with hard negatives: the engine's
reduced loss is the per-pair loss of explicit batches; the first stays convex, the second is
not."""

from __future__ import annotations

import mpmath
import sympy as sp

from ._core import Proof, proposition
from ._defs import CONVENTIONS, embeddings, pair_type

SUPCON = CONVENTIONS["supcon"]
#: tau_t / tau per pair type (the self pair keeps tau)
RATIOS = {"view": sp.Integer(3), "class": sp.Integer(1), "other": sp.Rational(1, 2)}
BATCHES = ((2, 2, 2), (3, 2, 2), (2, 3, 2))
#: symmetric points (v, c, o) inside the polyhedron of every batch above
POINTS = ((sp.Rational(9, 10), sp.Rational(3, 10), sp.Rational(-1, 5)),
          (sp.Integer(1), sp.Rational(1, 2), sp.Rational(-1, 3)))


def _spec(**extra):
    from ssem_symbolic.spec import LossSpec

    return LossSpec("x", list(SUPCON["den"]), list(SUPCON["sup"]), list(SUPCON["self"]),
                    SUPCON["mean"], **extra)


def _value(expr: sp.Expr, **values) -> mpmath.mpf:
    """``expr`` at the named symbols' values (alpha, tau, the coordinates), 60 digits."""
    return mpmath.mpf(sp.N(expr.subs({s: values[s.name] for s in expr.free_symbols
                                      if s.name in values}), 60))


def _explicit(m_, k_, p_, point, a, t, logit, denominator) -> mpmath.mpf:
    """The supcon loss of the batch whose Gram entries are ``point`` by pair type, every pair
    written out: per anchor and term, the mean over its positives of log D - logit(a, b), D =
    ``denominator(anchor, positives of the term)``; means over anchors, (1 - a, a) weights."""
    emb = embeddings(m_, k_, p_)
    g = {"self": 1, "view": point[0], "class": point[1], "other": point[2]}
    total = mpmath.mpf(0)
    for term, w in (("sup", 1 - a), ("self", a)):
        per = []
        for x in emb:
            pos = [y for y in emb if y != x and pair_type(x, y) in SUPCON[term]]
            d = denominator(x, emb, g, set(SUPCON[term]))
            per.append(mpmath.fsum(mpmath.log(d) - logit(g[pair_type(x, y)], pair_type(x, y))
                                   for y in pos) / len(pos))
        total += mpmath.mpf(w) * mpmath.fsum(per) / len(per)
    return total


@proposition("temperatures.reduced", "A temperature per pair type (tau_t = r_t tau): the "
             "engine's reduced loss is the one-temperature loss at (r_v^-1 v, r_c^-1 c, "
             "r_o^-1 o), equals the per-pair loss of explicit batches, and stays convex in "
             "the Gram matrix")
def temperatures(proof: Proof) -> None:
    from ssem_symbolic.forms import reduced_loss
    from ssem_symbolic.setting import ClassSizes

    spec, plain = _spec(temperatures=RATIOS), _spec()
    proof.argument("each logit s_ab/(r_t tau) is linear in the Gram matrix, so every "
                   "log-sum-exp of them is convex in it and the loss is invariant under the "
                   "batch's symmetries: the symmetric reduction applies unchanged")
    for m_, k_, p_ in BATCHES:
        sizes = ClassSizes((k_,) * m_)
        mine, base = reduced_loss(spec, sizes, p_), reduced_loss(plain, sizes, p_)
        v, c, o = (sp.Symbol(n, real=True) for n in ("v[0]", "s[0]", "o[0,0]"))
        scaled = base.subs({v: v / RATIOS["view"], c: c / RATIOS["class"],
                            o: o / RATIOS["other"]}, simultaneous=True)
        proof.symbolic(f"m={m_} k={k_} p={p_}: phi_r(v, c, o) = phi(v/r_v, c/r_c, o/r_o)",
                       sp.simplify(mine - scaled) == 0)
        a, t = sp.Rational(3, 10), sp.Rational(1, 2)
        for point in POINTS:
            with mpmath.workdps(60):
                def logit(s, kind):
                    return mpmath.mpf(s) / (mpmath.mpf(RATIOS.get(kind, 1)) * mpmath.mpf(t))

                def denominator(x, emb, g, pos):
                    return mpmath.fsum(mpmath.exp(logit(g[pair_type(x, y)], pair_type(x, y)))
                                       for y in emb if y != x)
                full = _explicit(m_, k_, p_, point, a, t, logit, denominator)
                engine = _value(mine, alpha=a, tau=t, **{"v[0]": point[0], "s[0]": point[1],
                                                          "o[0,0]": point[2]})
                diff = abs(full - engine)
            proof.numeric(f"m={m_} k={k_} p={p_}, (v, c, o) = {tuple(map(str, point))}: the "
                          "per-pair loss equals the engine's", diff < mpmath.mpf(10) ** -50,
                          f"mpmath 60 digits, |diff| = {float(diff):.1e}")


@proposition("hard_negatives.reduced", "Hard negatives (weights e^(beta s/tau), mean 1): the "
             "engine's reduced loss equals the per-pair loss of explicit batches, and it is "
             "not convex (a midpoint above its chord)")
def hard_negatives(proof: Proof) -> None:
    from ssem_symbolic.optimum._hard import reduced

    beta = sp.Integer(2)
    spec = _spec(hard_negatives=beta)
    a, t = sp.Rational(3, 10), sp.Rational(1, 2)
    for m_, k_, p_ in BATCHES:
        _, phi = reduced(spec, m_, k_, p_)
        for point in POINTS:
            with mpmath.workdps(60):
                def logit(s, kind):
                    return mpmath.mpf(s) / mpmath.mpf(t)

                def denominator(x, emb, g, pos):
                    den = [y for y in emb if y != x]
                    inside = [y for y in den if pair_type(x, y) in pos]
                    negs = [g[pair_type(x, y)] for y in den if pair_type(x, y) not in pos]
                    imp = [mpmath.exp(mpmath.mpf(beta) * logit(s, "")) for s in negs]
                    hard = mpmath.fsum(i * mpmath.exp(logit(s, "")) for i, s in zip(imp, negs))
                    return (mpmath.fsum(mpmath.exp(logit(g[pair_type(x, y)], ""))
                                        for y in inside)
                            + hard / (mpmath.fsum(imp) / len(imp)))
                full = _explicit(m_, k_, p_, point, a, t, logit, denominator)
                engine = _value(phi, alpha=a, tau=t, view=point[0], **{"class": point[1]},
                                other=point[2])
                diff = abs(full - engine)
            proof.numeric(f"m={m_} k={k_} p={p_}, (v, c, o) = {tuple(map(str, point))}: the "
                          "per-pair loss equals the engine's", diff < mpmath.mpf(10) ** -50,
                          f"mpmath 60 digits, |diff| = {float(diff):.1e}")
    _, phi = reduced(spec, 3, 2, 2)
    x = (sp.Integer(1), sp.Integer(1), sp.Rational(-1, 2))  # complete class collapse
    y = (sp.Integer(1), sp.Rational(1, 2), sp.Rational(-1, 4))  # a spread point of P

    def at(point):
        return _value(phi, alpha=1, tau=t, view=point[0], other=point[2],
                      **{"class": point[1]})
    with mpmath.workdps(60):
        gap = at(tuple((p + q) / 2 for p, q in zip(x, y))) - (at(x) + at(y)) / 2
    proof.numeric("m=3 k=2 p=2, alpha = 1, tau = 1/2, beta = 2: phi at the midpoint of class "
                  "collapse (1, 1, -1/2) and (1, 1/2, -1/4) lies above the chord, so phi is "
                  "not convex", gap > mpmath.mpf(10) ** -6,
                  f"mpmath 60 digits, midpoint minus chord = {float(gap):.3g}")
