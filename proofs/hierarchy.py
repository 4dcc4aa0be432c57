"""14. A hierarchy of labels (S superclasses of m classes, k instances, p views): the symmetric
Gram matrix's spectrum is the engine's five eigenvalues, with their multiplicities (so its PSD
conditions are the engine's polyhedron), and the engine's reduced loss of a spec summed over
label levels is the per-pair loss of explicit batches."""

from __future__ import annotations

import itertools

import mpmath
import sympy as sp

from ._core import Proof, proposition
from ._defs import CONVENTIONS

#: explicit hierarchies (S, m, k, p): one view, one instance per class, several of each
SHAPES = ((2, 2, 2, 2), (3, 2, 1, 2), (2, 3, 2, 1), (2, 2, 3, 2))
v, c, u, o = sp.symbols("v c u o", real=True)


def _embeddings(S, m_, k_, p_) -> list[tuple[int, int, int, int]]:
    """(superclass, class in it, instance, view) of every embedding."""
    return list(itertools.product(range(S), range(m_), range(k_), range(p_)))


def _level(a: tuple, b: tuple) -> str:
    """The smallest level two embeddings share: self, view, class, superclass or other."""
    if a == b:
        return "self"
    if a[:3] == b[:3]:
        return "view"
    if a[:2] == b[:2]:
        return "class"
    return "superclass" if a[0] == b[0] else "other"


def _contrasts(emb: list) -> dict[str, list[sp.Matrix]]:
    """Nested contrasts: per group, the indicator of one child minus the next one's (views of
    an instance, instances of a class, classes of a superclass, superclasses), and all-ones."""
    M = len(emb)

    def indicator(prefix):
        return sp.Matrix([1 if e[:len(prefix)] == prefix else 0 for e in emb])
    out: dict[str, list] = {"view": [], "within-class": [], "within-superclass": [],
                            "between-superclass": [], "all-ones": [sp.ones(M, 1)]}
    names = {4: "view", 3: "within-class", 2: "within-superclass", 1: "between-superclass"}
    for depth, name in names.items():
        parents = sorted({e[:depth - 1] for e in emb})
        for parent in parents:
            kids = sorted({e[:depth] for e in emb if e[:depth - 1] == parent})
            out[name] += [indicator(a) - indicator(b) for a, b in zip(kids, kids[1:])]
    return out


@proposition("hierarchy.polyhedron", "A hierarchy's symmetric Gram matrix G(v, c, u, o) has "
             "exactly the engine's five eigenvalues (view, within-class, within-superclass, "
             "between-superclass, all-ones) with the engine's multiplicities, so it is PSD iff "
             "the engine's polyhedron's conditions hold")
def polyhedron(proof: Proof) -> None:
    from ssem_symbolic.setting import hierarchy_eigenvalues, u_sym
    from ssem_symbolic.vocab import c_sym, o_sym, v_sym

    for S, m_, k_, p_ in SHAPES:
        emb = _embeddings(S, m_, k_, p_)
        value = {"self": 1, "view": v, "class": c, "superclass": u, "other": o}
        G = sp.Matrix(len(emb), len(emb), lambda i, j: value[_level(emb[i], emb[j])])
        vectors = _contrasts(emb)
        engine = {name: (ev.subs({v_sym: v, c_sym: c, u_sym: u, o_sym: o}), mult)
                  for name, ev, mult in hierarchy_eigenvalues(S, m_, k_, p_)}
        for name, vecs in vectors.items():
            ev, mult = engine[name]
            holds = len(vecs) == mult and all(
                sp.expand(G * x - ev * x) == sp.zeros(len(emb), 1) for x in vecs)
            proof.symbolic(f"S={S} m={m_} k={k_} p={p_}: every {name} contrast is an "
                           f"eigenvector with eigenvalue {ev}, {mult} of them", holds)
        basis = sp.Matrix.hstack(*[x for vecs in vectors.values() for x in vecs])
        proof.symbolic(f"S={S} m={m_} k={k_} p={p_}: the {len(emb)} contrasts span R^M",
                       basis.shape[1] == len(emb) and basis.rank() == len(emb))


def _spec(**extra):
    from ssem_symbolic.spec import LossSpec

    d = CONVENTIONS["supcon"]
    return LossSpec("levels", list(d["den"]), list(d["sup"]), list(d["self"]), d["mean"],
                    **extra)


#: lambda per level, and symmetric points (v, c, u, o) inside every polyhedron above
LEVELS = {"class": sp.Integer(1), "superclass": sp.Rational(1, 2)}
POINTS = ((sp.Rational(9, 10), sp.Rational(1, 2), sp.Rational(1, 10), sp.Rational(-1, 5)),
          (sp.Integer(1), sp.Integer(1), sp.Rational(1, 3), sp.Rational(-1, 4)))


def _explicit(emb, point, a, t) -> mpmath.mpf:
    """The supcon loss summed over levels, every pair written out: (1 - a) sum_l lambda_l
    L_sup(l) + a L_self, L_T(l) the mean over anchors of the mean over the anchor's positives
    of log sum_{y != x} e^{s_xy/t} - s_xb/t, the positives of L_sup(l) being the anchor's other
    views and the embeddings that share its level-l label."""
    g = {"self": 1, "view": point[0], "class": point[1], "superclass": point[2],
         "other": point[3]}
    shares = {"class": ("view", "class"), "superclass": ("view", "class", "superclass")}
    s = {(x, y): mpmath.mpf(g[_level(x, y)]) / t for x in emb for y in emb}
    logden = {x: mpmath.log(mpmath.fsum(mpmath.exp(s[x, y]) for y in emb if y != x))
              for x in emb}

    def term(types):
        per = []
        for x in emb:
            pos = [y for y in emb if _level(x, y) in types]
            per.append(mpmath.fsum(logden[x] - s[x, y] for y in pos) / len(pos))
        return mpmath.fsum(per) / len(per)
    total = mpmath.mpf(a) * term(("view",))
    for level, lam in LEVELS.items():
        total += (1 - mpmath.mpf(a)) * mpmath.mpf(lam) * term(shares[level])
    return total


@proposition("hierarchy.reduced", "A loss summed over label levels (supcon's pairs, lambda "
             "1 for classes and 1/2 for superclasses): the engine's reduced loss on a "
             "hierarchy's symmetric family equals the per-pair loss of explicit batches")
def reduced(proof: Proof) -> None:
    from ssem_symbolic.optimum._hierarchy import hierarchy_objective
    from ssem_symbolic.setting import Hierarchy, hierarchy_polyhedron

    spec = _spec(levels=LEVELS)
    proof.argument("each level's term is a log-sum-exp of logits linear in G minus a linear "
                   "pull, so the loss stays convex in G and invariant under the hierarchy's "
                   "permutations: the symmetric reduction applies")
    a, t = sp.Rational(3, 10), sp.Rational(1, 2)
    for shape in SHAPES[:2] + SHAPES[3:]:  # p >= 2: the self term has a positive
        h = Hierarchy(*shape)
        emb = _embeddings(*shape)
        coords = {"view": 0, "class": 1, "superclass": 2, "other": 3}
        for point in POINTS:
            P = hierarchy_polyhedron(*shape)
            if "class" not in P.coords and point[1] != 1:
                continue  # one instance per class: c is not a coordinate (c = 1)
            with mpmath.workdps(60):
                phi = hierarchy_objective(spec, h, a)(t, mpmath)
                x = [mpmath.mpf(point[coords[name]]) for name in P.coords]
                engine = phi.parts(x)[0] / mpmath.mpf(t)
                diff = abs(_explicit(emb, point, a, t) - engine)
            proof.numeric(f"S, m, k, p = {shape}, (v, c, u, o) = {tuple(map(str, point))}: the "
                          "per-pair loss equals the engine's", diff < mpmath.mpf(10) ** -50,
                          f"mpmath 60 digits, |diff| = {float(diff):.1e}")
