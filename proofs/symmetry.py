"""7. Symmetry reduction: why the optimum over all unit embeddings lies in SSEM (paper,
supcon), and a point where it does not (supcon-split)."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import sympy as sp

from ._core import Proof, per_convention, proposition
from ._defs import CONVENTIONS, alpha, c, embeddings, k, m, o, p, pair_type, phi, tau, v


def symmetric_eigenvalues(m_=m, k_=k, p_=p):
    """(value, multiplicity) of the M x M Gram with values 1, v, c, o per pair type."""
    return [(1 - v, m_ * k_ * (p_ - 1)), (1 + (p_ - 1) * v - p_ * c, m_ * (k_ - 1)),
            (1 + (p_ - 1) * v + (k_ - 1) * p_ * c - k_ * p_ * o, m_ - 1),
            (1 + (p_ - 1) * v + (k_ - 1) * p_ * c + (m_ - 1) * k_ * p_ * o, 1)]


def per_pair_loss(name: str, gram: np.ndarray, emb, a: float, t: float) -> float:
    """The spec's per-pair loss of a Gram matrix (float64), written here from section 2."""
    conv = CONVENTIONS[name]
    M = len(emb)
    types = [[pair_type(x, y) for y in emb] for x in emb]
    total = 0.0
    for term, weight in (("sup", 1 - a), ("self", a)):
        num, cnt, per_anchor = 0.0, 0, []
        for i in range(M):
            den = [gram[i, j] / t for j in range(M) if types[i][j] in conv["den"]]
            lse = np.logaddexp.reduce(den)
            pos = [gram[i, j] / t - lse for j in range(M) if types[i][j] in conv[term]]
            num += -sum(pos)
            cnt += len(pos)
            per_anchor.append(-sum(pos) / len(pos))
        total += weight * (num / cnt if conv["mean"] == "pairs" else float(np.mean(per_anchor)))
    return total


def group(m_, k_, p_):
    """Generators of the symmetry group: views within an instance, instances within a class,
    classes; as permutations of the embedding indices."""
    emb = embeddings(m_, k_, p_)
    index = {e: i for i, e in enumerate(emb)}
    gens = []
    for cls, inst in itertools.product(range(m_), range(k_)):
        if p_ > 1:
            gens.append([index[(e[0], e[1], (e[2] + 1) % p_) if e[:2] == (cls, inst) else e]
                         for e in emb])
    for cls in range(m_):
        gens.append([index[(e[0], (e[1] + 1) % k_, e[2]) if e[0] == cls else e] for e in emb])
        gens.append([index[(e[0], 1 - e[1] if e[1] < 2 else e[1], e[2]) if e[0] == cls else e]
                     for e in emb])
    gens.append([index[((e[0] + 1) % m_, e[1], e[2])] for e in emb])
    gens.append([index[(1 - e[0] if e[0] < 2 else e[0], e[1], e[2])] for e in emb])
    return emb, gens


def closure(gens):
    seen = {tuple(range(len(gens[0])))}
    frontier = list(seen)
    while frontier:
        nxt = []
        for g in frontier:
            for h in gens:
                comp = tuple(g[i] for i in h)
                if comp not in seen:
                    seen.add(comp)
                    nxt.append(comp)
        frontier = nxt
    return seen


def kkt(name: str, m_: int, k_: int, p_: int, a: float, t: float, digits: int = 50):
    """Multipliers at the SSEM point of min phi over symmetric PSD Grams, and the residual.

    Active constraints: view eigenvalue 1 - v = 0 and all-ones eigenvalue = 0 (always on
    SSEM), the within-class eigenvalue when beta* = 1. Stationarity grad phi =
    sum mu_i grad lambda_i, solved by least squares; beta* is the engine's (the CLI's) output.
    """
    from ssem_symbolic.ssem import optimal_beta

    f = phi(name).subs({m: m_, k: k_, p: p_})
    lams = [lam.subs({m: m_, k: k_, p: p_}) for lam, _ in symmetric_eigenvalues()]
    with mpmath.workdps(digits):
        b = optimal_beta(name, m_, k_, p_, a, t, digits=digits)
        point = {v: 1, c: (k_ * b - 1) / (k_ - 1), o: -b / (m_ - 1)}
        active = [0, 3] + ([1] if b == 1 else [])
        grad = [sp.lambdify((v, c, o, alpha, tau), sp.diff(f, s), "mpmath")(
            point[v], point[c], point[o], mpmath.mpf(repr(a)), mpmath.mpf(repr(t)))
            for s in (v, c, o)]  # alpha and tau as the decimals they print as (the CLI's reading)
        cols = [[mpmath.mpf(float(sp.diff(lams[i], s))) for s in (v, c, o)] for i in active]
        A = mpmath.matrix([[cols[j][r] for j in range(len(active))] for r in range(3)])
        y = mpmath.matrix(grad)
        mu = mpmath.lu_solve(A.T * A, A.T * y)
        residual = mpmath.norm(A * mu - y)
        return [mu[i] for i in range(len(active))], residual


GRID = [(m_, k_, p_, a / 10, t) for m_, k_, p_ in ((2, 2, 2), (3, 4, 2), (5, 3, 3))
        for a in range(11) for t in (0.05, 0.2, 0.5, 1.0, 3.0)]


def _reduction(proof: Proof, name: str) -> None:
    _symmetric_reduction(proof, name)
    _ssem_kkt(proof, name)


def _symmetric_reduction(proof: Proof, name: str) -> None:
    """(a)-(c): convex in G, invariant, averaged to one value per pair type; the polyhedron."""
    # (a) convexity in the Gram matrix: the Hessian of log-sum-exp is diag(q) - q q^T, PSD
    qs, ws = sp.symbols("q0:3", positive=True), sp.symbols("w0:3", real=True)
    s = sum(qs)
    quad = sum(q * w**2 for q, w in zip(qs, ws)) / s - (sum(q * w for q, w in zip(qs, ws)) / s) ** 2
    var = sum(q * (w - sum(q2 * w2 for q2, w2 in zip(qs, ws)) / s) ** 2 for q, w in zip(qs, ws)) / s
    proof.symbolic("w^T (diag(q) - q q^T) w = Var_q(w) >= 0: each per-anchor log-sum-exp is "
                   "convex in the Gram entries, the pull is linear: L(G) is convex",
                   sp.cancel(sp.together(quad - var)) == 0)
    # (b) invariance: the group maps pair types to pair types
    for m_, k_, p_ in ((2, 2, 2), (3, 2, 2), (2, 3, 1)):
        emb, gens = group(m_, k_, p_)
        ok = all(pair_type(emb[g[i]], emb[g[j]]) == pair_type(emb[i], emb[j])
                 for g in gens for i in range(len(emb)) for j in range(len(emb)))
        proof.symbolic(f"m={m_} k={k_} p={p_}: every generator preserves every pair type", ok)
    rng = np.random.default_rng(0)
    emb, gens = group(2, 3, 2)
    worst = 0.0
    for _ in range(3):
        z = rng.normal(size=(len(emb), 5))
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        gram = z @ z.T
        base = per_pair_loss(name, gram, emb, 0.4, 0.5)
        for g in gens:
            perm = np.array(g)
            worst = max(worst, abs(per_pair_loss(name, gram[np.ix_(perm, perm)], emb, 0.4, 0.5)
                                   - base))
    proof.numeric("so L(P G P^T) = L(G): the per-pair loss of random Grams under every generator",
                  worst < 1e-12, f"3 random Grams, m=2 k=3 p=2, float64, max diff {worst:.1e}")
    # (c) the group average of a Gram has one value per pair type
    emb, gens = group(2, 2, 2)
    elements = closure(gens)
    n = len(emb)
    gsym = sp.Matrix(n, n, lambda i, j: sp.Integer(1) if i == j else
                     sp.Symbol(f"g{min(i, j)}_{max(i, j)}"))
    avg = sum((sp.Matrix(n, n, lambda i, j, e=e: gsym[e[i], e[j]]) for e in elements),
              sp.zeros(n, n)) / len(elements)
    by_type: dict = {}
    for i in range(n):
        for j in range(n):
            by_type.setdefault(pair_type(emb[i], emb[j]), set()).add(sp.expand(avg[i, j]))
    proof.symbolic(f"m=2 k=2 p=2: averaging a generic Gram over the {len(elements)}-element "
                   "group leaves one value per pair type",
                   len(elements) == 128 and all(len(vals) == 1 for vals in by_type.values()))
    proof.argument("the average is PSD with unit diagonal (a convex combination of such) and, "
                   "by convexity and invariance, no worse: some optimum has one value per type")
    # the symmetric Grams: eigenvalues with multiplicities
    for m_, k_, p_ in ((2, 2, 2), (3, 2, 2), (2, 2, 3)):
        emb = embeddings(m_, k_, p_)
        val = {"self": 1, "view": v, "class": c, "other": o}
        G = sp.Matrix(len(emb), len(emb), lambda i, j: val[pair_type(emb[i], emb[j])])
        want: dict = {}
        for lam, mult in symmetric_eigenvalues(m_, k_, p_):
            if mult:
                want[sp.expand(lam)] = want.get(sp.expand(lam), 0) + mult
        proof.symbolic(f"m={m_} k={k_} p={p_}: symmetric Gram eigenvalues (view, within, "
                       "between, all-ones)", {sp.expand(x): y for x, y in G.eigenvals().items()}
                       == want)


def _ssem_kkt(proof: Proof, name: str) -> None:
    # (d) on that polyhedron, the SSEM point at beta* satisfies KKT: a global minimiser
    worst_mu, worst_res = mpmath.inf, mpmath.mpf(0)
    for m_, k_, p_, a, t in GRID:
        mus, res = kkt(name, m_, k_, p_, a, t)
        worst_mu, worst_res = min(worst_mu, min(mus)), max(worst_res, res)
    proof.numeric("views equal and centroid 0 are optimal: KKT multipliers of the active "
                  "constraints are >= 0 at SSEM(beta*) and stationarity holds",
                  worst_mu >= 0 and worst_res < mpmath.mpf(10) ** -30,
                  f"{len(GRID)} points (3 batches x 11 alphas x 5 taus from 0.05), mpmath 50 "
                  f"digits, min multiplier {mpmath.nstr(worst_mu, 3)}, max residual "
                  f"{mpmath.nstr(worst_res, 3)}")
    proof.argument("phi is convex on the polyhedron of PSD symmetric Grams, so a KKT point is "
                   "a global minimiser; SSEM realises it for d >= mk - 1 (ssem.dimension): the "
                   "optimum over all unit embeddings lies in SSEM")


per_convention("symmetry", "{name}: for d >= mk - 1 a global minimiser over unit embeddings "
               "is SSEM at beta*", _reduction, names=("paper", "supcon"))


per_convention("reduction", "{name}: the optimum over all unit embeddings (d >= mkp - 1) is the "
               "minimum of phi(v, c, o) over the polyhedron of four eigenvalues >= 0",
               _symmetric_reduction, names=("supcon-split",))


@proposition("symmetry.supcon-split.fails",
             "supcon-split: SSEM is not optimal at m=3, k=2, p=2, alpha=0, tau=0.3 (views "
             "move apart)")
def split_fails(proof: Proof) -> None:
    mus, res = kkt("supcon-split", 3, 2, 2, 0.0, 0.3)
    proof.numeric("the view multiplier is negative at SSEM(beta*): not a KKT point, so a "
                  "symmetric Gram with v < 1 (realisable for d >= mkp - 1) does better",
                  mus[0] < 0 and res < mpmath.mpf(10) ** -30,
                  f"mpmath 50 digits, multipliers {[mpmath.nstr(x, 3) for x in mus]}")
