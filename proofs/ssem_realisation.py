"""1. SSEM realisation: Gram entries, eigenvalues, PSD and rank, centroid, dimension."""

from __future__ import annotations

import numpy as np
import sympy as sp

from ._core import Proof, proposition
from ._defs import beta, embeddings, k, m, p, pair_type, ssem_vectors, x_of, y_of

SMALL = ((2, 2), (3, 2), (2, 3))


def gram_of(m_, k_, p_):
    """The M x M Gram matrix of the explicit SSEM vectors, every view a copy."""
    zs = ssem_vectors(m_, k_)
    emb = embeddings(m_, k_, p_)
    return sp.Matrix(len(emb), len(emb), lambda i, j: sp.simplify(
        (zs[emb[i][0] * k_ + emb[i][1]].T * zs[emb[j][0] * k_ + emb[j][1]])[0]))


@proposition("ssem.gram", "SSEM Gram entries: self = view = 1, class = (k beta - 1)/(k - 1), "
             "other = -beta/(m - 1)")
def gram_entries(proof: Proof) -> None:
    # general m, k: z.z' = beta mu.mu' + (1 - beta) w.w' (the blocks are orthogonal)
    proof.symbolic("class: beta + (1 - beta)(-1/(k-1)) = x(beta)",
                   sp.simplify(beta + (1 - beta) * (-1 / (k - 1)) - x_of(beta)) == 0)
    proof.symbolic("other: beta (-1/(m-1)) = y(beta)",
                   sp.simplify(beta * (-1 / (m - 1)) - y_of(beta)) == 0)
    for m_, k_ in SMALL:  # the explicit vectors, written out
        G = gram_of(m_, k_, 2)
        emb = embeddings(m_, k_, 2)
        want = {"self": 1, "view": 1, "class": x_of(beta).subs(k, k_),
                "other": y_of(beta).subs(m, m_)}
        ok = all(sp.simplify(G[i, j] - want[pair_type(emb[i], emb[j])]) == 0
                 for i in range(len(emb)) for j in range(len(emb)))
        proof.symbolic(f"explicit simplex vectors, m={m_}, k={k_}, p=2: every entry", ok)
    from ssem_symbolic.setting import gram_entries as engine
    from ._defs import engine_symbols
    e = {t: engine_symbols(sp.sympify(x)) for t, x in engine().items()}
    proof.symbolic("the engine's gram_entries equal these",
                   e["self"] == 1 and e["view"] == 1
                   and sp.simplify(e["class"] - x_of(beta)) == 0
                   and sp.simplify(e["other"] - y_of(beta)) == 0)


def _eigen_formulas(x, y, m_=m, k_=k, p_=p):
    """(value, multiplicity) of G = A (x) J_p with
    A = I_m (x) ((1-x) I_k + x J_k) + y (J_m - I_m) (x) J_k."""
    return [(p_ * (1 - x), m_ * (k_ - 1)), (p_ * (1 + (k_ - 1) * x - k_ * y), m_ - 1),
            (p_ * (1 + (k_ - 1) * x + (m_ - 1) * k_ * y), 1), (sp.Integer(0), m_ * k_ * (p_ - 1))]


@proposition("ssem.eigen", "Block Gram eigenvalues: within-class p k (1-beta)/(k-1) x m(k-1), "
             "between-class p k m beta/(m-1) x (m-1), all-ones 0 x 1, views 0 x mk(p-1); "
             "PSD on [0, 1], rank mk - 1 for 0 < beta < 1")
def eigen(proof: Proof) -> None:
    xs, ys = sp.symbols("x y")
    for m_, k_, p_ in ((2, 2, 2), (3, 2, 2), (2, 3, 1), (2, 2, 3)):
        emb = embeddings(m_, k_, p_)
        val = {"self": 1, "view": 1, "class": xs, "other": ys}
        G = sp.Matrix(len(emb), len(emb), lambda i, j: val[pair_type(emb[i], emb[j])])
        got = G.eigenvals()
        want: dict = {}
        for lam, mult in _eigen_formulas(xs, ys, m_, k_, p_):
            lam = sp.expand(lam)
            if mult:
                want[lam] = want.get(lam, 0) + mult
        proof.symbolic(f"m={m_}, k={k_}, p={p_}: eigenvalues with multiplicities, any x, y",
                       {sp.expand(a): b for a, b in got.items()} == want)
    lams = [sp.factor(sp.simplify(lam.subs({xs: x_of(beta), ys: y_of(beta)})))
            for lam, _ in _eigen_formulas(xs, ys)]
    proof.symbolic("within-class = p k (1 - beta)/(k - 1)",
                   sp.simplify(lams[0] - p * k * (1 - beta) / (k - 1)) == 0)
    proof.symbolic("between-class = p k m beta/(m - 1)",
                   sp.simplify(lams[1] - p * k * m * beta / (m - 1)) == 0)
    proof.symbolic("all-ones = 0", sp.simplify(lams[2]) == 0)
    proof.symbolic("multiplicities add to M = mkp",
                   sp.expand(sum(mu for _, mu in _eigen_formulas(xs, ys)) - m * k * p) == 0)
    proof.symbolic("rank for 0 < beta < 1: m(k-1) + (m-1) = mk - 1",
                   sp.expand(m * (k - 1) + (m - 1) - (m * k - 1)) == 0)
    from ssem_symbolic.setting._model import ssem_eigenvalues
    from ._defs import engine_symbols
    eng = [(engine_symbols(sp.sympify(lam)), engine_symbols(sp.sympify(mult)))
           for _, lam, mult in ssem_eigenvalues()]
    mine = [(lam, mu) for lam, (_, mu) in zip(lams, _eigen_formulas(xs, ys))]
    proof.symbolic("the engine's ssem_eigenvalues equal these (as a multiset)",
                   _same_multiset(eng, mine))


def _same_multiset(a, b) -> bool:
    def canon(pairs):
        acc: dict = {}
        for lam, mu in pairs:
            key = sp.srepr(sp.factor(sp.simplify(sp.sympify(lam))))
            acc[key] = sp.expand(acc.get(key, 0) + sp.sympify(mu))
        return {key: val for key, val in acc.items() if val != 0}
    return canon(a) == canon(b)


@proposition("ssem.centroid", "The SSEM centroid is 0 for every beta")
def centroid(proof: Proof) -> None:
    # |sum z|^2 = sum of all Gram entries = M (1 + (p-1) + (k-1)p x + (m-1)kp y)
    total = m * k * p * (1 + (p - 1) + (k - 1) * p * x_of(beta) + (m - 1) * k * p * y_of(beta))
    proof.symbolic("sum over all pairs of z_a.z_b = 0", sp.simplify(total) == 0)
    for m_, k_ in SMALL:
        zs = ssem_vectors(m_, k_)
        s = sum(zs[1:], zs[0])
        proof.symbolic(f"explicit vectors m={m_}, k={k_}: sum = 0",
                       all(sp.simplify(e) == 0 for e in s))


@proposition("ssem.dimension", "SSEM needs d >= mk - 1 and is realisable in d = mk - 1")
def dimension(proof: Proof) -> None:
    proof.symbolic("rank mk - 1 (ssem.eigen) bounds d from below; the construction uses "
                   "(m - 1) + m (k - 1) = mk - 1 dimensions (mu simplex, one w simplex per class)",
                   sp.expand((m - 1) + m * (k - 1) - (m * k - 1)) == 0)
    from ssem_symbolic.setting._model import realise
    worst = 0.0
    for m_, k_, b in ((2, 2, 0.3), (3, 4, 0.7), (5, 3, 0.5), (4, 4, 1.0)):
        z, labels = realise(m_, k_, b, d=m_ * k_ - 1, views=2, seed=1)
        flat = z.reshape(-1, z.shape[-1])
        gram = flat @ flat.T
        emb = embeddings(m_, k_, 2)
        want = {"self": 1, "view": 1, "class": (k_ * b - 1) / (k_ - 1), "other": -b / (m_ - 1)}
        target = np.array([[want[pair_type(a, c)] for c in emb] for a in emb])
        worst = max(worst, float(np.abs(gram - target).max()))
    proof.numeric("the engine's realise() in d = mk - 1 has the SSEM Gram", worst < 1e-12,
                  f"4 batches up to 5x3, float64, max error {worst:.1e}")
