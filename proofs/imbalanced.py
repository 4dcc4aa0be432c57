"""9. Imbalanced batches: the invariant Gram family of a size vector, its PSD conditions, and
its reduced loss under both means.

The family is written here from the definitions: class c has k_c instances of p views; a Gram
matrix invariant under permuting views, instances within a class and classes of equal size has
one value per pair type and size group (v_g, s_g, o_gh). Its eigen-directions are contrasts
(views of an instance, instances of a class, classes of one size) and the span of the size
groups' indicator vectors, where G acts as p-weighted sums: so G is PSD iff the contrast
eigenvalues are >= 0 and the group-mean Gram matrix R is PSD. The engine's family
(:mod:`ssem_symbolic.setting`) is then compared, and its reduced loss with the per-pair loss
of explicit batches.
"""

from __future__ import annotations

import itertools

import mpmath
import sympy as sp

from ._core import Proof, proposition
from ._defs import CONVENTIONS, alpha, pair_type, tau

#: explicit batches: (sizes, p)
BATCHES = (((3, 2), 2), ((2, 2, 1), 2), ((3, 1, 1), 1), ((2, 1), 3))


def _groups(sizes):
    order = sorted(set(sizes), reverse=True)
    return order, [order.index(s) for s in sizes]


def _symbols(sizes, p_):
    order, _ = _groups(sizes)
    G = len(order)
    sym = {}
    for g in range(G):
        sym[f"v[{g}]"] = sp.Symbol(f"v[{g}]", real=True) if p_ >= 2 else sp.Integer(1)
        sym[f"s[{g}]"] = sp.Symbol(f"s[{g}]", real=True)
        for h in range(g, G):
            sym[f"o[{g},{h}]"] = sp.Symbol(f"o[{g},{h}]", real=True)
    return sym


def explicit_gram(sizes, p_):
    """The symbolic M x M Gram matrix of the family, from (class, instance, view) tuples."""
    _, group = _groups(sizes)
    sym = _symbols(sizes, p_)
    emb = [(cl, i, j) for cl, kc in enumerate(sizes) for i in range(kc) for j in range(p_)]

    def entry(x, y):
        g, h = group[x[0]], group[y[0]]
        if x == y:
            return sp.Integer(1)
        if x[:2] == y[:2]:
            return sym[f"v[{g}]"]
        if x[0] == y[0]:
            return sym[f"s[{g}]"]
        return sym[f"o[{min(g, h)},{max(g, h)}]"]
    return sp.Matrix(len(emb), len(emb), lambda a, b: entry(emb[a], emb[b])), emb, sym


@proposition("imbalanced.psd", "The invariant Gram family of a size vector is PSD iff "
             "1 - v_g >= 0, 1 + (p-1) v_g - p s_g >= 0, a_g - p K_g o_gg >= 0 (classes of one "
             "size) and the group-mean Gram matrix R >= 0; the engine's family is this one")
def psd(proof: Proof) -> None:
    from ssem_symbolic.setting import family
    from ssem_symbolic.setting import ClassSizes

    for sizes, p_ in BATCHES:
        Gm, emb, sym = explicit_gram(sizes, p_)
        order, group = _groups(sizes)
        M = len(emb)
        # contrast eigenvectors: each is an eigenvector with the stated eigenvalue, exactly
        found = 0
        for cl, kc in enumerate(sizes):
            g = group[cl]
            v_, s_ = sym[f"v[{g}]"], sym[f"s[{g}]"]
            K = order[g]
            for i in range(kc):
                for j in range(1, p_):  # views of instance i: e_(i,0) - e_(i,j)
                    u = sp.zeros(M, 1)
                    u[emb.index((cl, i, 0))], u[emb.index((cl, i, j))] = 1, -1
                    ok = sp.expand(Gm * u - (1 - v_) * u) == sp.zeros(M, 1)
                    proof.symbolic(f"sizes {sizes}, p={p_}: view contrast of class {cl}", ok)
                    found += 1
            for i in range(1, kc):  # instances of class cl: sum over views of i=0 minus i
                u = sp.zeros(M, 1)
                for j in range(p_):
                    u[emb.index((cl, 0, j))], u[emb.index((cl, i, j))] = 1, -1
                lam = 1 + (p_ - 1) * v_ - p_ * s_
                ok = sp.expand(Gm * u - lam * u) == sp.zeros(M, 1)
                proof.symbolic(f"sizes {sizes}, p={p_}: instance contrast of class {cl}", ok)
                found += 1
            del K
        for g, K in enumerate(order):  # classes of one size: class c0 minus class c
            members = [cl for cl in range(len(sizes)) if group[cl] == g]
            for cl in members[1:]:
                u = sp.zeros(M, 1)
                for idx, x in enumerate(emb):
                    u[idx] = 1 if x[0] == members[0] else -1 if x[0] == cl else 0
                a = 1 + (p_ - 1) * sym[f"v[{g}]"] + (K - 1) * p_ * sym[f"s[{g}]"]
                lam = a - p_ * K * sym[f"o[{g},{g}]"]
                ok = sp.expand(Gm * u - lam * u) == sp.zeros(M, 1)
                proof.symbolic(f"sizes {sizes}, p={p_}: between-class contrast in size {K}", ok)
                found += 1
        # the rest: the span of the size groups' indicators, where G acts through R
        ind = [sp.Matrix([1 if group[x[0]] == g else 0 for x in emb]) for g in range(len(order))]
        n = [sum(1 for x in emb if group[x[0]] == g) for g in range(len(order))]
        proof.symbolic(f"sizes {sizes}, p={p_}: the contrasts and indicators span R^M",
                       found + len(order) == M)
        R = sp.Matrix(len(order), len(order),
                      lambda g, h: (ind[g].T * Gm * ind[h])[0] / (n[g] * n[h]))
        invariant = all(sp.expand(Gm * ind[h] - sum((ind[g] * (R[g, h] * n[h]) * 1
                                                     for g in range(len(order))),
                                                    sp.zeros(M, 1))) == sp.zeros(M, 1)
                        for h in range(len(order)))
        proof.symbolic(f"sizes {sizes}, p={p_}: G maps the indicator span into itself, as "
                       "the group-mean Gram matrix R (R_gh = mean of G over group g x group h)",
                       invariant)
        # the engine's conditions are these
        fam = family("paper", ClassSizes(sizes), p_)
        x = [sym[c] for c in fam.coords]
        Re = sp.Matrix(fam.means_matrix(x))
        proof.symbolic(f"sizes {sizes}, p={p_}: the engine's R is this R",
                       sp.expand(Re - R) == sp.zeros(len(order), len(order)))
        ours = {c.name: sp.expand(c.offset + sum(a * xi for a, xi in zip(c.normal, x)))
                for c in fam.linear}
        want = {}
        for g, K in enumerate(order):
            v_, s_ = sym[f"v[{g}]"], sym[f"s[{g}]"]
            count = sum(1 for cl in group if cl == g)
            if p_ >= 2:
                want[f"view[{g}]"] = 1 - v_
            if K >= 2:
                want[f"within-class[{g}]"] = 1 + (p_ - 1) * v_ - p_ * s_
            if count >= 2:
                want[f"between-class[{g}]"] = (1 + (p_ - 1) * v_ + (K - 1) * p_ * s_
                                               - p_ * K * sym[f"o[{g},{g}]"])
        proof.symbolic(f"sizes {sizes}, p={p_}: the engine's linear conditions are these",
                       set(ours) == set(want)
                       and all(sp.expand(ours[k_] - want[k_]) == 0 for k_ in want))
    proof.argument("G is symmetric and each eigen-space found is invariant, so its spectrum is "
                   "the contrast eigenvalues with R's: PSD iff all are >= 0")


def per_pair_loss(name, Gm, emb, a, t):
    """The spec's per-pair loss of a Gram matrix (mpmath), from the conventions' wording; an
    anchor without a positive in a term is dropped from its mean, and a term with no positive
    adds 0 (as pytorch-metric-learning)."""
    conv = CONVENTIONS[name]
    M = len(emb)
    total = mpmath.mpf(0)
    for term, weight in (("sup", 1 - a), ("self", a)):
        losses, per_anchor = [], []
        for i in range(M):
            lse = mpmath.log(mpmath.fsum(mpmath.exp(Gm[i][j] / t) for j in range(M)
                                         if pair_type(emb[i], emb[j]) in conv["den"]))
            mine = [lse - Gm[i][j] / t for j in range(M)
                    if pair_type(emb[i], emb[j]) in conv[term]]
            if mine:
                losses.extend(mine)
                per_anchor.append(mpmath.fsum(mine) / len(mine))
        chosen = losses if conv["mean"] == "pairs" else per_anchor
        if chosen:
            total += weight * mpmath.fsum(chosen) / len(chosen)
    return total


@proposition("imbalanced.reduced_loss", "The engine's reduced loss of a size vector equals the "
             "per-pair loss of every Gram matrix in the family, under each convention's mean")
def reduced(proof: Proof) -> None:
    from ssem_symbolic.forms import reduced_loss
    from ssem_symbolic.setting import check_sizes
    from ssem_symbolic.setting import ClassSizes
    from ssem_symbolic.spec import PRESETS

    points = [{"v": sp.Rational(1, 2), "s": sp.Rational(1, 3), "o": sp.Rational(-1, 5)},
              {"v": sp.Rational(9, 10), "s": sp.Rational(-1, 10), "o": sp.Rational(1, 7)}]
    for (sizes, p_), name in itertools.product(BATCHES + (((2, 2, 3), 2),), CONVENTIONS):
        try:  # a term needs a positive for every anchor (a size-1 class has no class pair)
            check_sizes(PRESETS[name], ClassSizes(sizes), p_)
        except ValueError:
            continue
        Gm, emb, sym = explicit_gram(sizes, p_)
        phi = reduced_loss(name, ClassSizes(sizes), p_)
        for i, pt in enumerate(points):
            subs = {s: pt[str(s)[0]] + sp.Rational(j, 50)
                    for j, s in enumerate(sorted(Gm.free_symbols, key=str))}
            with mpmath.workdps(50):
                a, t = mpmath.mpf("0.3"), mpmath.mpf("0.7")
                G = [[mpmath.mpf(sp.Rational(Gm[r, q].subs(subs)).p)
                      / int(sp.Rational(Gm[r, q].subs(subs)).q) for q in range(len(emb))]
                     for r in range(len(emb))]
                want = per_pair_loss(name, G, emb, a, t)
                got = sp.N(phi.subs({**{sp.Symbol(str(s), real=True): val
                                        for s, val in subs.items()},
                                     alpha: sp.Rational(3, 10), tau: sp.Rational(7, 10)}), 50)
                ok = abs(mpmath.mpf(str(got)) - want) < mpmath.mpf(10) ** -40
            proof.numeric(f"{name}, sizes {sizes}, p={p_}, point {i}: reduced = per-pair", ok,
                          "mpmath, 50 digits, alpha = 0.3, tau = 0.7")
