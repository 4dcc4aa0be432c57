"""15. Paired modalities (m classes x k image-text pairs): the symmetric Gram matrix's spectrum
is the engine's (a 2 x 2 modality block per nested contrast), the engine's reduced loss of a
cross-modal spec (CLIP's softmax, SigLIP's sigmoid) is the per-pair loss of explicit batches,
and Lee, Chang and Sohn's double-constant model is the engine's face where between-class- and
all-ones+ vanish."""

from __future__ import annotations

import itertools

import mpmath
import sympy as sp

from ._core import Proof, proposition

#: explicit batches (m, k): pairs without labels, and with
SHAPES = ((4, 1), (5, 1), (3, 2), (2, 3))
NAMES = ("view", "class", "other", "class[intra]", "other[intra]")


def _embeddings(m_, k_) -> list[tuple[int, int, int]]:
    """(class, instance, modality) of every embedding: modality 0 an image, 1 a text."""
    return list(itertools.product(range(m_), range(k_), range(2)))


def _kind(a: tuple, b: tuple) -> str:
    """The coordinate of a pair: self, view (one instance), class or other, across the
    modalities or within one ([intra])."""
    if a == b:
        return "self"
    if a[:2] == b[:2]:
        return "view"
    level = "class" if a[0] == b[0] else "other"
    return level if a[2] != b[2] else f"{level}[intra]"


def _vectors(emb: list, sign: int, depth: int) -> list[sp.Matrix]:
    """Contrasts of the children of each group at ``depth`` (2: instances of a class, 1:
    classes, 0: the whole batch as one), each child's image indicator plus ``sign`` times its
    text indicator."""
    def indicator(prefix):
        return sp.Matrix([(1 if e[2] == 0 else sign) if e[:len(prefix)] == prefix else 0
                          for e in emb])
    if depth == 0:
        return [indicator(())]
    out = []
    for parent in sorted({e[:depth - 1] for e in emb}):
        kids = sorted({e[:depth] for e in emb if e[:depth - 1] == parent})
        out += [indicator(a) - indicator(b) for a, b in zip(kids, kids[1:])]
    return out


@proposition("paired.polyhedron", "The symmetric Gram matrix of m classes x k image-text "
             "pairs has exactly the engine's eigenvalues (alpha +- beta of the modality block "
             "of each nested contrast) with the engine's multiplicities, so it is PSD iff the "
             "engine's polyhedron's conditions hold")
def polyhedron(proof: Proof) -> None:
    from ssem_symbolic.setting import paired_eigenvalues

    symbols = {n: sp.Symbol(n, real=True) for n in NAMES}
    for m_, k_ in SHAPES:
        emb = _embeddings(m_, k_)
        value = {"self": 1} | symbols
        if k_ == 1:
            value |= {"class": 1, "class[intra]": 1}
        G = sp.Matrix(len(emb), len(emb), lambda i, j: value[_kind(emb[i], emb[j])])
        x = {n: s for n, s in symbols.items() if k_ >= 2 or "class" not in n}
        engine = {name: (ev, mult) for name, ev, mult in paired_eigenvalues(m_, k_, x)}
        depths = {"within-class": 2, "between-class": 1, "all-ones": 0}
        basis = []
        for name, (ev, mult) in engine.items():
            vecs = _vectors(emb, 1 if name.endswith("+") else -1, depths[name[:-1]])
            basis += vecs
            holds = len(vecs) == mult and all(
                sp.expand(G * v - ev * v) == sp.zeros(len(emb), 1) for v in vecs)
            proof.symbolic(f"m={m_} k={k_}: every {name} contrast is an eigenvector with "
                           f"eigenvalue {ev}, {mult} of them", holds)
        B = sp.Matrix.hstack(*basis)
        proof.symbolic(f"m={m_} k={k_}: the {len(emb)} contrasts span R^M",
                       B.shape[1] == len(emb) and B.rank() == len(emb))


def _specs():
    from ssem_symbolic.spec import LossSpec

    pairs = dict(denominator=["view", "class", "other"], sup=["view", "class"],
                 self_=["view"], mean="anchors")
    return {"clip": LossSpec("clip", **pairs, contrast="cross-modal"),
            "siglip": LossSpec("siglip", **pairs, form="sigmoid", bias=sp.Rational(-3, 2),
                               contrast="cross-modal")}


#: points (a, c_x, o_x, c_i, o_i) inside every polyhedron above
POINTS = ((sp.Rational(9, 10), sp.Rational(1, 2), sp.Rational(-1, 5), sp.Rational(2, 5),
           sp.Rational(-1, 6)),
          (sp.Integer(1), sp.Rational(1, 3), sp.Rational(-1, 4), sp.Rational(1, 3),
           sp.Rational(-1, 4)))


def _explicit(name: str, bias, emb, point, a, t) -> mpmath.mpf:
    """The loss with every pair written out: an anchor sees the other modality's embeddings
    only; its positives in the self-supervised term are its matched one, in the supervised
    term also its class mates'. CLIP: per term the mean over anchors of the mean over its
    positives of log sum_seen e^{s/t} - s/t; SigLIP: the mean over anchors of the sum over
    the pairs it sees of log(1 + e^{-y (s/t + bias)}). Weights 1 - a and a."""
    g = dict(zip(NAMES, point)) | {"self": 1}
    s = {(x, y): mpmath.mpf(g[_kind(x, y)]) / t for x in emb for y in emb}
    positives = {"sup": ("view", "class"), "self": ("view",)}
    total = mpmath.mpf(0)
    for term, w in (("sup", 1 - a), ("self", a)):
        per = []
        for x in emb:
            seen = [y for y in emb if y[2] != x[2]]
            pos = [y for y in seen if _kind(x, y) in positives[term]]
            if name == "clip":
                lse = mpmath.log(mpmath.fsum(mpmath.exp(s[x, y]) for y in seen))
                per.append(mpmath.fsum(lse - s[x, y] for y in pos) / len(pos))
            else:
                per.append(mpmath.fsum(
                    mpmath.log(1 + mpmath.exp(-(1 if y in pos else -1)
                                              * (s[x, y] + mpmath.mpf(bias))))
                    for y in seen))
        total += mpmath.mpf(w) * mpmath.fsum(per) / len(per)
    return total


@proposition("paired.reduced", "Across modalities (CLIP's symmetric InfoNCE, SigLIP's "
             "pairwise sigmoid with a bias): the engine's reduced loss on the pairs' symmetric "
             "family equals the per-pair loss of explicit batches")
def reduced(proof: Proof) -> None:
    from ssem_symbolic.optimum._paired import paired_objective
    from ssem_symbolic.setting import Paired, paired_polyhedron

    proof.argument("every logit is linear in G and each term a log-sum-exp or a softplus of "
                   "them, so the loss is convex in G and invariant under permuting instances "
                   "of a class, classes and the two modalities: the symmetric reduction "
                   "applies, the within-modality entries entering only through the PSD "
                   "conditions")
    a, t = sp.Rational(3, 10), sp.Rational(1, 2)
    for name, spec in _specs().items():
        for m_, k_ in ((4, 1), (3, 2)):
            P = paired_polyhedron(m_, k_)
            emb = _embeddings(m_, k_)
            for point in POINTS:
                if k_ == 1 and (point[1] != point[3]):
                    continue  # no class coordinates: only points with c_x = c_i apply
                full_point = point if k_ >= 2 else (point[0], 1, point[2], 1, point[4])
                with mpmath.workdps(60):
                    phi = paired_objective(spec, Paired(m_, k_), a)(t, mpmath)
                    x = [mpmath.mpf(dict(zip(NAMES, full_point))[c]) for c in P.coords]
                    engine = phi.parts(x)[0] / mpmath.mpf(t)
                    diff = abs(_explicit(name, spec.bias, emb, full_point, a, t) - engine)
                proof.numeric(f"{name}, m={m_} k={k_}, point {tuple(map(str, full_point))}: "
                              "the per-pair loss equals the engine's",
                              diff < mpmath.mpf(10) ** -50,
                              f"mpmath 60 digits, |diff| = {float(diff):.1e}")


@proposition("paired.ccem", "Lee, Chang and Sohn's double-constant model (u_i = (w_i, d), "
             "v_i = (w_i, -d), normalised, w a simplex ETF of N points) is, for N pairs "
             "without labels, the engine's face where between-class- and all-ones+ vanish: "
             "every delta gives a point of it, and every point of it with a > -1 is one delta")
def ccem(proof: Proof) -> None:
    from ssem_symbolic.setting import paired_eigenvalues

    d = sp.Symbol("delta", nonnegative=True)
    for N in (4, 6, 10):
        D = 1 + d ** 2
        point = {"view": (1 - d ** 2) / D, "other": (-sp.Rational(1, N - 1) - d ** 2) / D,
                 "other[intra]": (-sp.Rational(1, N - 1) + d ** 2) / D}
        ev = {name: sp.simplify(e) for name, e, _ in paired_eigenvalues(N, 1, point)}
        proof.symbolic(f"N={N}: the model's Gram entries make between-class- and all-ones+ "
                       "vanish for every delta",
                       ev["between-class-"] == 0 and ev["all-ones+"] == 0)
        a = sp.Symbol("a", real=True)
        x = {"view": a, "other": sp.Symbol("o", real=True),
             "other[intra]": sp.Symbol("oi", real=True)}
        face = [e for name, e, _ in paired_eigenvalues(N, 1, x)
                if name in ("between-class-", "all-ones+")]
        sol = sp.solve(face, [x["other"], x["other[intra]"]], dict=True)[0]
        delta_of_a = sp.sqrt((1 - a) / (1 + a))  # a = (1 - d^2)/(1 + d^2)
        back = {n: sp.simplify(v.subs(d, delta_of_a)) for n, v in point.items()}
        holds = all(sp.simplify(back[n] - sol[x[n]]) == 0 for n in ("other", "other[intra]"))
        proof.symbolic(f"N={N}: on that face o and o_intra are the model's at delta = "
                       "sqrt((1 - a)/(1 + a))", holds)
