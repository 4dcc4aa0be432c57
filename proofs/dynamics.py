"""12. Dynamics: gradient flow, gradient descent and heavy-ball momentum on the product of
spheres keep the symmetric family, and the family's Gram matrices form a commutative algebra
in which each update is an exact map; Adam does not keep the family."""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from ._core import Proof, proposition
from ._defs import CONVENTIONS, embeddings, pair_type
from .symmetry import closure, group

BATCHES = ((3, 2, 2), (2, 3, 3), (2, 2, 1), (3, 3, 2))
TYPES = ("view", "class", "other")


def adjacency(m_: int, k_: int, p_: int) -> dict[str, sp.Matrix]:
    """A_t: 1 where the pair (a, b) has type t, exact integer matrices."""
    emb = embeddings(m_, k_, p_)
    return {t: sp.Matrix(len(emb), len(emb), lambda i, j: int(pair_type(emb[i], emb[j]) == t))
            for t in TYPES}


def _algebra(proof: Proof) -> None:
    for m_, k_, p_ in BATCHES:
        A = adjacency(m_, k_, p_)
        Id = sp.eye(m_ * k_ * p_)
        V, C, Ot = A["view"], A["class"], A["other"]
        rules = {  # the intersection numbers: every product a combination of Id, A_V, A_C, A_O
            "A_V^2 = (p-1) Id + (p-2) A_V": V * V == (p_ - 1) * Id + (p_ - 2) * V,
            "A_V A_C = (p-1) A_C": V * C == (p_ - 1) * C,
            "A_V A_O = (p-1) A_O": V * Ot == (p_ - 1) * Ot,
            "A_C^2 = (k-1) p (Id + A_V) + (k-2) p A_C":
                C * C == (k_ - 1) * p_ * (Id + V) + (k_ - 2) * p_ * C,
            "A_C A_O = (k-1) p A_O": C * Ot == (k_ - 1) * p_ * Ot,
            "A_O^2 = (m-1) k p (Id + A_V + A_C) + (m-2) k p A_O":
                Ot * Ot == (m_ - 1) * k_ * p_ * (Id + V + C) + (m_ - 2) * k_ * p_ * Ot,
            "the products commute": V * C == C * V and V * Ot == Ot * V and C * Ot == Ot * C,
        }
        for claim, holds in rules.items():
            proof.symbolic(f"{claim} on the {m_} x {k_} x {p_} batch", bool(holds))
        # the eigenvalue table: explicit eigenvectors of each eigenspace
        emb = embeddings(m_, k_, p_)
        vecs = {"ones": [1] * len(emb),
                "between": [1 if e[0] == 0 else (-1 if e[0] == 1 else 0) for e in emb],
                "within": [1 if e[:2] == (0, 0) else (-1 if e[:2] == (0, 1) else 0)
                           for e in emb] if k_ > 1 else None,
                "view": [1 if e == (0, 0, 0) else (-1 if e == (0, 0, 1) else 0)
                         for e in emb] if p_ > 1 else None}
        table = {"view": (-1, 0, 0), "within": (p_ - 1, -p_, 0),
                 "between": (p_ - 1, (k_ - 1) * p_, -k_ * p_),
                 "ones": (p_ - 1, (k_ - 1) * p_, (m_ - 1) * k_ * p_)}
        for space, u in vecs.items():
            if u is None:
                continue
            u = sp.Matrix(u)
            proof.symbolic(f"A_t u = theta_t({space}) u for t = V, C, O ({m_} x {k_} x {p_})",
                           all(A[t] * u == th * u for t, th in zip(TYPES, table[space])))
    proof.argument("G = I + v A_V + c A_C + o A_O and every polynomial in such matrices lie in "
                   "one commutative algebra with the eigenspaces view, within, between, ones; "
                   "A_t has zero diagonal, so an element's diagonal is its coefficient of I")


proposition("dynamics.algebra",
            "The symmetric family's Gram matrices span a commutative algebra (the pair types' "
            "adjacency matrices with the stated intersection numbers), with the eigenvalue "
            "table of the polyhedron")(_algebra)


def gram_gradient(name: str, X: np.ndarray, emb, a: float, t: float) -> np.ndarray:
    """dL/dG of the per-pair loss (section 2), for the softmax conventions: per anchor and
    term, (1/tau) (softmax over the denominator - 1/|P| on the positives), weighted by the
    term's mean."""
    conv = CONVENTIONS[name]
    G = X @ X.T
    M = len(emb)
    types = [[pair_type(x, y) for y in emb] for x in emb]
    out = np.zeros((M, M))
    for term, weight in (("sup", 1 - a), ("self", a)):
        rows, count = [], 0
        for i in range(M):
            den = np.array([types[i][j] in conv["den"] for j in range(M)])
            pos = np.array([types[i][j] in conv[term] for j in range(M)])
            z = np.where(den, G[i] / t, -np.inf)
            soft = np.exp(z - z.max())
            soft /= soft.sum()
            rows.append((soft, pos))
            count += pos.sum()
        for i, (soft, pos) in enumerate(rows):
            scale = (pos.sum() / count) if conv["mean"] == "pairs" else 1 / M
            out[i] += weight * scale * (soft * pos.sum() - pos) / (pos.sum() * t)
    return out


def riemannian(name, X, emb, a, t) -> np.ndarray:
    gam = gram_gradient(name, X, emb, a, t)
    grad = (gam + gam.T) @ X
    return grad - np.sum(grad * X, axis=1, keepdims=True) * X  # the tangent part


def spread(X: np.ndarray, emb) -> float:
    """The largest spread of the Gram values within one pair type."""
    G = X @ X.T
    vals: dict = {t: [] for t in TYPES}
    for (i, a), (j, b) in itertools.product(enumerate(emb), repeat=2):
        if i != j:
            vals[pair_type(a, b)].append(G[i, j])
    return max(np.ptp(v) for v in vals.values() if v)


def symmetric_start(m_, k_, p_, v, c, o, seed=0):
    emb = embeddings(m_, k_, p_)
    G = np.array([[{"self": 1.0, "view": v, "class": c, "other": o}[pair_type(x, y)]
                   for y in emb] for x in emb])
    w, U = np.linalg.eigh(G)
    X = U * np.sqrt(np.clip(w, 0, None))
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(emb), len(emb))))
    X = X @ Q  # a random rotation: no coordinate is special
    return emb, X / np.linalg.norm(X, axis=1, keepdims=True)


def _invariance(proof: Proof) -> None:
    for m_, k_, p_ in ((2, 2, 2), (3, 2, 1)):
        emb, gens = group(m_, k_, p_)
        elements = closure(gens)
        for t in TYPES:
            pairs = [(i, j) for i, j in itertools.product(range(len(emb)), repeat=2)
                     if pair_type(emb[i], emb[j]) == t]
            if not pairs:
                continue
            first = pairs[0]
            orbit = {(g[first[0]], g[first[1]]) for g in elements}
            proof.symbolic(f"the symmetry group ({len(elements)} elements) is transitive on "
                           f"the {t} pairs of a {m_} x {k_} x {p_} batch",
                           orbit == set(pairs))
    proof.argument("so at a Gram matrix fixed by the group the loss's gradient in G, equivariant "
                   "under the group, is constant on each pair type: dL/dG = gbar_I I + sum_t "
                   "gbar_t A_t; the rows' Riemannian gradient is 2 H X with H in the algebra; "
                   "gradient descent gives (I - 2 lr H) G (I - 2 lr H), in the algebra with a "
                   "constant diagonal, which the normalisation divides out; the flow is its "
                   "derivative in lr; heavy ball keeps its buffer B X with B in the algebra")
    for name in ("paper", "supcon", "supcon-split"):
        emb, X = symmetric_start(3, 2, 2, 0.6, 0.3, 0.05)
        buf = np.zeros_like(X)
        worst = 0.0
        for _ in range(20):  # gradient descent and heavy ball, per-pair gradients
            T = riemannian(name, X, emb, 0.4, 0.5)
            buf = 0.8 * buf + T
            X = X - 0.3 * buf
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            worst = max(worst, spread(X, emb))
        proof.numeric(f"{name}: heavy-ball steps from a symmetric start keep every pair type's "
                      "Gram values equal", worst < 1e-12,
                      f"20 steps, lr 0.3, beta 0.8, 3 x 2 x 2, float64, spread {worst:.1e}")
        emb, X = symmetric_start(3, 2, 2, 0.6, 0.3, 0.05)
        g = riemannian(name, X, emb, 0.4, 0.5)
        step = g / (np.abs(g) + 1e-8)  # Adam's first step: m / (sqrt(v) + eps), m = g, v = g^2
        Y = X - 0.01 * step
        Y /= np.linalg.norm(Y, axis=1, keepdims=True)
        proof.numeric(f"{name}: one Adam step leaves the symmetric family (it is not "
                      "rotation-equivariant)", spread(Y, emb) > 1e-4,
                      f"lr 0.01 from a randomly rotated symmetric start, spread "
                      f"{spread(Y, emb):.1e}")


proposition("dynamics.invariance",
            "Gradient flow, gradient descent and heavy-ball momentum on the product of spheres "
            "(every row renormalised) keep the symmetric family; Adam does not")(_invariance)


def _engine(proof: Proof) -> None:
    from ssem_symbolic.dynamics import Dynamics

    for name in ("paper", "supcon", "supcon-split"):
        emb, X = symmetric_start(3, 2, 2, 0.6, 0.3, 0.05)
        dyn = Dynamics(name, 3, 2, 2, "0.4", "0.5")
        x = np.array([0.6, 0.3, 0.05])
        worst = 0.0
        for _ in range(20):
            X = X - 0.3 * riemannian(name, X, emb, 0.4, 0.5)
            X /= np.linalg.norm(X, axis=1, keepdims=True)
            x = dyn.gd_step(x, 0.3)
            G = X @ X.T
            measured = [G[0, 1], G[0, 2], G[0, -1]]  # view, class, other partners of row 0
            worst = max(worst, float(np.abs(np.array(measured) - x).max()))
        proof.numeric(f"{name}: the engine's reduced map equals gradient descent on explicit "
                      "embeddings with the per-pair gradient", worst < 1e-12,
                      f"20 steps, lr 0.3, 3 x 2 x 2, float64, error {worst:.1e}")


proposition("dynamics.engine",
            "The engine's reduced gradient-descent map is the explicit update's, step by "
            "step")(_engine)


def _slowing(proof: Proof) -> None:
    from ssem_symbolic.dynamics import slowing_prefactor
    from ssem_symbolic.ssem import alpha_c_value

    proof.argument("Below alpha_c the optimum is the class-collapse vertex x_v (v = c = 1, "
                   "class means a centred simplex) for every alpha, and the loss is linear in "
                   "alpha, so h_within(x_v; alpha) is linear in alpha and vanishes at alpha_c: "
                   "the within-class direction relaxes at A (alpha_c - alpha) exactly, A = 4 "
                   "|d h_within / d alpha|.")
    m_, k_, p_, t = 3, 2, 2, 0.5
    for name in ("paper", "supcon"):
        A = float(slowing_prefactor(name, m_, k_, p_, "1/2"))
        a_c = float(alpha_c_value(name, m_, k_, p_, "1/2"))
        rates = []
        eps = 1e-7  # gamma_within, a hair off the vertex: the rate's error is O(eps)
        for delta in (0.05, 0.1):
            a = a_c - delta
            emb, X = symmetric_start(m_, k_, p_, 1.0, 1 - eps / p_, -1 / (m_ - 1))
            T = riemannian(name, X, emb, a, t)
            dG = -(T @ X.T + X @ T.T)  # the flow's dG/dt
            same = [(i, j) for i, x in enumerate(emb) for j, y in enumerate(emb)
                    if i != j and pair_type(x, y) == "class"]
            dc = float(np.mean([dG[i, j] for i, j in same]))
            rates.append(p_ * dc / eps)  # gamma_within = p (1 - c): its decay rate
        worst = max(abs(r / (d * A) - 1) for r, d in zip(rates, (0.05, 0.1)))
        proof.numeric(f"{name}: the within-class relaxation rate from the per-pair gradient on "
                      f"explicit embeddings equals A (alpha_c - alpha), A = "
                      f"{slowing_prefactor(name, m_, k_, p_, '1/2')}", worst < 1e-5,
                      f"3 x 2 x 2, tau 1/2, alpha_c - 0.05 and - 0.1, float64, relative error "
                      f"{worst:.1e}")


proposition("dynamics.slowing",
            "Below alpha_c the within-class relaxation rate is A (alpha_c - alpha) exactly, "
            "with A = 4 |d h_within / d alpha| at the class-collapse vertex")(_slowing)
