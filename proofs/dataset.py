"""10. The dataset-level optimum: what mini-batch training minimises.

A dataset has C classes of n instances with p views; its embeddings have one Gram matrix G.
A sampler is a law on batches (sets of instances, each with all its views). Training minimises
the expected batch loss E_b[L_b(G[b])], G[b] the principal submatrix of the batch. Written
here from the definitions: the laws of the class-balanced sampler (m classes, then k instances
of each), of the uniform one (every B-subset equally likely, which is also "all subsets") and
of a fixed partition, enumerated batch by batch; the per-pair loss with anchors that have no
positive dropped from a term's mean (a term with none adds 0). Then:

* convexity: each batch's loss is convex in G[b], which is linear in G, and the law's
  weights are nonnegative;
* invariance: each law is invariant under the dataset's symmetries (all of them for the
  balanced and uniform samplers, the partition's stabiliser for a fixed partition), so the
  group average of any G (symmetric, unit diagonal, PSD) has no larger expected loss; the
  optimum lies in the symmetric family of the dataset, (v, c, o) over the polyhedron of
  (C, n, p);
* the engine's expected loss on that family is the enumerated one;
* a fixed partition's optimum is batch by batch, and Cho et al.'s all-subsets optimum is the
  simplex.
"""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

import mpmath
import sympy as sp

from ._core import Proof, proposition
from ._defs import CONVENTIONS
from .imbalanced import per_pair_loss
from ssem_symbolic.setting import Dataset


def instances(C: int, n: int) -> list[tuple[int, int]]:
    return [(c, i) for c in range(C) for i in range(n)]


def law(kind: str, C: int, n: int, **kw) -> Counter:
    """The sampler's law: batch (a sorted tuple of instances) -> probability, by enumeration."""
    out: Counter = Counter()
    if kind == "balanced":
        m_, k_ = kw["m"], kw["k"]
        for chosen in itertools.combinations(range(C), m_):
            for picks in itertools.product(itertools.combinations(range(n), k_), repeat=m_):
                out[tuple(sorted((c, i) for c, pick in zip(chosen, picks) for i in pick))] += 1
    elif kind == "uniform":
        for b in itertools.combinations(instances(C, n), kw["B"]):
            out[b] += 1
    else:  # a fixed partition, each batch equally often
        for b in kw["batches"]:
            out[tuple(sorted(b))] += 1
    total = sum(out.values())
    return Counter({b: Fraction(w, total) for b, w in out.items()})


def batch_loss(name: str, gram, batch, p_: int, a, t):
    """The per-pair loss of one batch (mpmath; :func:`proofs.imbalanced.per_pair_loss`:
    anchors without a positive in a term are dropped from its mean, a term with none adds
    0), the Gram entries given by ``gram(x, y)``."""
    emb = [(c, i, j) for c, i in batch for j in range(p_)]
    return per_pair_loss(name, [[gram(x, y) for y in emb] for x in emb], emb, a, t)


def expected_loss(name, weights, gram, p_, a, t):
    return mpmath.fsum(mpmath.mpf(w.numerator) / w.denominator * batch_loss(name, gram, b, p_,
                                                                            a, t)
                       for b, w in weights.items())


def _symmetric(v, c_, o):
    def gram(x, y):
        if x == y:
            return mpmath.mpf(1)
        if x[:2] == y[:2]:
            return v
        return c_ if x[0] == y[0] else o
    return gram


SAMPLERS = (("balanced", 3, 3, dict(m=2, k=2)), ("uniform", 3, 2, dict(B=3)),
            ("uniform", 2, 3, dict(B=4)))


@proposition("dataset.convexity", "Under every sampler the expected batch loss is a convex "
             "function of the dataset's Gram matrix: a combination with nonnegative weights "
             "(summing to 1) of batch losses, each convex in its principal submatrix")
def convexity(proof: Proof) -> None:
    partition = [[(0, 0), (1, 0)], [(0, 1), (2, 0)], [(1, 1), (2, 1)]]
    for kind, C, n, kw in SAMPLERS + (("fixed", 3, 2, dict(batches=partition)),):
        w = law(kind, C, n, **kw)
        proof.symbolic(f"{kind} {kw if kind != 'fixed' else 'partition'} on {C} x {n}: "
                       f"{len(w)} batches, weights >= 0 summing to 1",
                       all(x >= 0 for x in w.values()) and sum(w.values()) == 1)
    proof.argument("each batch loss is a sum of log-sum-exp of entries of G[b] minus linear "
                   "terms (symmetry.convexity), convex in G[b]; G -> G[b] is linear; a "
                   "nonnegative combination of convex functions is convex")
    # and numerically: the midpoint inequality along segments of Gram matrices
    rng = [mpmath.mpf(x) / 10 for x in (-3, 1, 4, 7, 9)]
    holds = []
    with mpmath.workdps(30):
        a, t = mpmath.mpf("0.4"), mpmath.mpf("0.5")
        for kind, C, n, kw in SAMPLERS[:2]:
            w = law(kind, C, n, **kw)
            for name in CONVENTIONS:
                g0 = _symmetric(rng[4], rng[2], rng[0])
                g1 = _symmetric(rng[3], rng[1], rng[1])

                def mid(x, y):
                    return (g0(x, y) + g1(x, y)) / 2
                f0, f1 = (expected_loss(name, w, g, 2, a, t) for g in (g0, g1))
                fm = expected_loss(name, w, mid, 2, a, t)
                holds.append(fm <= (f0 + f1) / 2 + mpmath.mpf(10) ** -25)
    proof.numeric(f"the midpoint inequality holds on {len(holds)} segments (two samplers, "
                  "three conventions)", all(holds), "mpmath 30 digits")


@proposition("dataset.invariance", "The balanced and uniform laws are invariant under every "
             "symmetry of the dataset (permuting classes, instances within a class); a fixed "
             "partition's law only under the permutations that map its batches to batches")
def invariance(proof: Proof) -> None:
    def moved(w, perm):
        return Counter({tuple(sorted(perm[x] for x in b)): p_ for b, p_ in w.items()})

    for kind, C, n, kw in SAMPLERS:
        w = law(kind, C, n, **kw)
        items = instances(C, n)
        swap_classes = {(c, i): ((1 - c) if c < 2 else c, i) for c, i in items}
        swap_inst = {(c, i): (c, (1 - i) if (c == 0 and i < 2) else i) for c, i in items}
        proof.symbolic(f"{kind} on {C} x {n}: invariant under swapping classes 0 and 1",
                       moved(w, swap_classes) == w)
        proof.symbolic(f"{kind} on {C} x {n}: invariant under swapping two instances of "
                       "class 0", moved(w, swap_inst) == w)
    partition = [[(0, 0), (1, 0)], [(0, 1), (1, 1)]]
    w = law("fixed", 2, 2, batches=partition)
    swap_batches = {(c, i): (c, 1 - i) for c, i in instances(2, 2)}
    swap_one = {(0, 0): (0, 1), (0, 1): (0, 0), (1, 0): (1, 0), (1, 1): (1, 1)}
    proof.symbolic("fixed partition on 2 x 2: invariant under exchanging its two batches",
                   moved(w, swap_batches) == w)
    proof.symbolic("fixed partition on 2 x 2: not invariant under swapping two instances of "
                   "class 0 alone (the symmetry group is smaller)", moved(w, swap_one) != w)
    proof.argument("with convexity: for a symmetry g the expected loss at g.G equals that at "
                   "G; the group average of G is feasible (symmetric, unit diagonal, PSD) and, "
                   "by Jensen, no worse: the optimum lies in the invariant family, one value per "
                   "pair type (v, c, o) for the balanced and uniform samplers, on the symmetric "
                   "polyhedron of (C, n, p) (symmetry.polyhedron)")


@proposition("dataset.engine", "The engine's expected loss on the symmetric family is the "
             "enumerated mean over the sampler's batches of the per-pair loss, for every "
             "convention (balanced: the batch's phi; uniform: the class-count mixture, with "
             "the pairs mean and dropped anchors as means of ratios)")
def engine(proof: Proof) -> None:
    import numpy as np

    from ssem_symbolic.optimum import batch_objective, uniform_objective
    from ssem_symbolic.setting import mixture
    from ssem_symbolic.setting import polyhedron
    from ssem_symbolic.spec import PRESETS

    points = [(sp.Rational(9, 10), sp.Rational(2, 5), sp.Rational(-1, 5)),
              (sp.Rational(1, 2), sp.Rational(1, 10), sp.Rational(1, 20))]
    worst, count = 0.0, 0
    for kind, C, n, kw in SAMPLERS:
        w = law(kind, C, n, **kw)
        for name in CONVENTIONS:
            spec = PRESETS[name]
            if kind == "balanced":
                phi = batch_objective(spec, polyhedron(kw["m"], kw["k"], 2), kw["m"], kw["k"],
                                      "0.3")(0.5, np)
            else:
                phi = uniform_objective(spec, polyhedron(C, n, 2),
                                        mixture(spec, C, n, 2, kw["B"]), "0.3", kw["B"])(0.5, np)
            for v, c_, o in points:
                with mpmath.workdps(30):
                    want = expected_loss(name, w, _symmetric(mpmath.mpf(v), mpmath.mpf(c_),
                                                             mpmath.mpf(o)), 2,
                                         mpmath.mpf("0.3"), mpmath.mpf("0.5"))
                got = phi.parts(np.array([float(v), float(c_), float(o)]))[0] / 0.5
                worst, count = max(worst, abs(got - float(want))), count + 1
    proof.numeric(f"the engine's expected loss is the enumerated one at {count} (sampler, "
                  f"convention, point) cases, largest difference {worst:.1e}", worst < 1e-12,
                  "float64 engine against mpmath enumeration at 30 digits, 1e-12")


@proposition("dataset.partition", "Under a fixed partition into disjoint batches the optimum "
             "is batch by batch (Cho et al.: with B = 2 of N = 8 two-view instances the pair "
             "in a batch is antipodal), while all C(8, 2) batches give the full-batch simplex, "
             "similarity -1/7")
def partition(proof: Proof) -> None:
    from ssem_symbolic.optimum import optimum
    from ssem_symbolic.setting import balanced, fixed_partition

    # block-diagonal: PSD blocks with unit diagonals make a PSD unit-diagonal matrix
    A = sp.Matrix([[1, -1], [-1, 1]])
    blocks = sp.diag(A, A, A, A)
    proof.symbolic("four antipodal 2 x 2 blocks form a PSD Gram matrix with unit diagonal",
                   all(ev >= 0 for ev in blocks.eigenvals()) and all(
                       blocks[i, i] == 1 for i in range(8)))
    proof.argument("the loss of the partition is the mean of its batches' losses, each seeing "
                   "only its own block: each term is minimised alone, and the direct sum of the "
                   "minimisers is feasible, so the minimum is the mean of the batches' minima")
    # Cho's case, collapsed views (an instance = a class of two one-view members): the loss of
    # one batch of instances a, b is f(G_ab) = log(1 + 2 e^{(G_ab - 1)/t}) per anchor
    g, t = sp.symbols("g t", real=True)
    f = sp.log(1 + 2 * sp.exp((g - 1) / t))
    f2 = sp.simplify(sp.diff(f, g, 2) * (1 + 2 * sp.exp((g - 1) / t)) ** 2 * t ** 2)
    proof.symbolic("f'' (1 + 2 e^{(g-1)/t})^2 t^2 = 2 e^{(g-1)/t} > 0: f is strictly convex",
                   sp.simplify(f2 - 2 * sp.exp((g - 1) / t)) == 0)
    proof.symbolic("f' = 2 e^{(g-1)/t} / (t (1 + 2 e^{(g-1)/t})) > 0: f is increasing",
                   sp.simplify(sp.diff(f, g) - 2 * sp.exp((g - 1) / t)
                               / (t * (1 + 2 * sp.exp((g - 1) / t)))) == 0)
    proof.argument("all subsets: the mean over the 28 pairs of f(G_ab) >= f(mean G_ab) "
                   "(Jensen), and sum_ab G_ab = (|sum_a mu_a|^2 - 8)/2 >= -4 gives mean >= "
                   "-1/7; equality iff every G_ab = -1/7, the simplex. One batch alone: f is "
                   "increasing, so G_ab = -1")
    every = optimum("supcon-split", Dataset(8, 2, 1, balanced(2, 2)), 0, 1)
    proof.numeric("the engine's all-subsets optimum: G_ab = -1/7",
                  abs(every.other + 1 / 7) < 1e-15 and every.collapsed, "float64, 1e-15")
    part = optimum("supcon-split", Dataset(8, 2, 1, fixed_partition(
        [[(2 * b, 0), (2 * b, 1), (2 * b + 1, 0), (2 * b + 1, 1)] for b in range(4)])), 0, 1)
    [(_, count, block)] = part.blocks
    proof.numeric("the engine's partition optimum: 4 batches, G_ab = -1 within each",
                  count == 4 and abs(block.other + 1) < 1e-15 and not part.unique,
                  "float64, 1e-15")
