"""The invariant Gram family of an imbalanced batch against explicit Gram matrices and a
per-pair loss written here: its PSD conditions, its variances and its reduced loss, for every
preset and both means."""

import itertools
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from ssem_symbolic.ssem import symmetric_loss
from ssem_symbolic.forms import reduced_loss
from ssem_symbolic.setting import check_sizes, family
from ssem_symbolic.vocab import c_sym, o_sym, v_sym
from ssem_symbolic.setting import ClassSizes
from ssem_symbolic.spec import PRESETS, LossSpec, alpha, k, m, p, tau


def _explicit(sizes, p_, point):
    """The M x M Gram matrix of the family at ``point`` (coordinate name -> value), built
    from index tuples (class, instance, view), and the class of every row."""
    fam = family("paper", ClassSizes(tuple(sizes)), p_)
    groups = fam.sizes.group_of
    idx = [(c, i, j) for c, kc in enumerate(sizes) for i in range(kc) for j in range(p_)]
    G = np.empty((len(idx), len(idx)))
    for a, (c1, i1, j1) in enumerate(idx):
        for b, (c2, i2, j2) in enumerate(idx):
            g1, g2 = groups[c1], groups[c2]
            if (c1, i1, j1) == (c2, i2, j2):
                G[a, b] = 1.0
            elif (c1, i1) == (c2, i2):
                G[a, b] = point[f"v[{g1}]"]
            elif c1 == c2:
                G[a, b] = point[f"s[{g1}]"]
            else:
                G[a, b] = point[f"o[{min(g1, g2)},{max(g1, g2)}]"]
    return G, np.array([c for c, _, _ in idx]), np.array([c * 1000 + i for c, i, _ in idx])


def _per_pair_loss(spec, G, cls, inst, a_, t_):
    """The loss written per ordered pair: per anchor a and term, -log softmax over the
    denominator pairs, averaged over the term's positives ('anchors': per anchor, then over
    anchors; 'pairs': over all positive pairs of the batch)."""
    M = len(G)

    def kind(a, b):
        if a == b:
            return "self"
        if inst[a] == inst[b]:
            return "view"
        return "class" if cls[a] == cls[b] else "other"
    total = 0.0
    for term, weight in (("sup", 1 - a_), ("self", a_)):
        if weight == 0:
            continue
        pos = spec.positives(term)
        per_anchor, pairs = [], []
        for a in range(M):
            den = [G[a, c] / t_ for c in range(M) if kind(a, c) in spec.denominator]
            lse = max(den) + math.log(sum(math.exp(d - max(den)) for d in den))
            losses = [lse - G[a, b] / t_ for b in range(M) if kind(a, b) in pos]
            per_anchor.append(sum(losses) / len(losses))
            pairs.extend(losses)
        total += weight * (np.mean(per_anchor) if spec.mean == "anchors" else np.mean(pairs))
    return total


def _random_point(fam, rng):
    """A feasible point of the family: random coordinates shrunk towards 0 until PSD."""
    while True:
        point = {c: rng.uniform(-0.4, 0.9) for c in fam.coords}
        for scale in np.linspace(1, 0, 11):
            q = {c: scale * v for c, v in point.items()}
            x = [q[c] for c in fam.coords]
            lam = [float(c.offset) + sum(float(a) * xi for a, xi in zip(c.normal, x))
                   for c in fam.linear]
            R = np.array([[float(v) for v in row] for row in fam.means_matrix(x)])
            if min(lam) > 0 and np.linalg.eigvalsh(R)[0] > 0:
                return q


SIZES = [(5, 3, 2), (4, 2), (3, 3, 2, 2), (2, 2, 2)]


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("p_", [1, 2, 3])
def test_psd_conditions_are_the_explicit_grams_eigenvalues(sizes, p_):
    fam = family("paper", ClassSizes(sizes), p_)
    rng = np.random.default_rng(sum(sizes) * 10 + p_)
    for _ in range(25):
        point = {c: rng.uniform(-0.6, 1.0) for c in fam.coords}
        x = [point[c] for c in fam.coords]
        G, _, _ = _explicit(sizes, p_, {**point, **{f"v[{g}]": point.get(f"v[{g}]", 1)
                                                    for g in range(3)}})
        lam = [float(c.offset) + sum(float(a) * xi for a, xi in zip(c.normal, x))
               for c in fam.linear]
        R = np.array([[float(v) for v in row] for row in fam.means_matrix(x)])
        ours = min([*lam, *np.linalg.eigvalsh(R)])
        assert (ours >= -1e-12) == (np.linalg.eigvalsh(G)[0] >= -1e-12)
        # each linear condition is an eigenvalue of G with its multiplicity
        eig = np.linalg.eigvalsh(G)
        for c, value in zip(fam.linear, lam):
            assert np.sum(np.isclose(eig, value, atol=1e-9)) >= c.multiplicity


@pytest.mark.parametrize("sizes", SIZES)
def test_class_mean_norms_and_merges_match_the_explicit_gram(sizes):
    fam = family("paper", ClassSizes(sizes), 2)
    point = _random_point(fam, np.random.default_rng(7))
    x = [point[c] for c in fam.coords]
    G, cls, _ = _explicit(sizes, 2, point)
    for c in range(len(sizes)):
        block = G[np.ix_(cls == c, cls == c)]
        assert fam.class_mean_sq(x, fam.sizes.group_of[c]) == pytest.approx(block.mean(),
                                                                           abs=1e-12)
    # R is the Gram matrix of the size groups' mean embeddings
    R = np.array([[float(v) for v in row] for row in fam.means_matrix(x)])
    for g, h in itertools.product(range(len(fam.sizes.groups)), repeat=2):
        rows = np.isin(cls, fam.sizes.members(g))
        cols = np.isin(cls, fam.sizes.members(h))
        assert R[g, h] == pytest.approx(G[np.ix_(rows, cols)].mean(), abs=1e-12)


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("sizes", SIZES[:3])
def test_reduced_loss_equals_the_per_pair_loss(name, sizes):
    spec = PRESETS[name]
    fam = family(spec, ClassSizes(sizes), 2)
    phi = reduced_loss(spec, ClassSizes(sizes), 2)
    rng = np.random.default_rng(len(sizes))
    for a_, t_ in ((0.3, 0.5), (0.0, 0.2), (1.0, 2.0)):
        point = _random_point(fam, rng)
        G, cls, inst = _explicit(sizes, 2, point)
        subs = {sp.Symbol(c, real=True): sp.Float(v, 30) for c, v in point.items()}
        ours = float(phi.subs(subs).subs({alpha: a_, tau: t_}))
        assert ours == pytest.approx(_per_pair_loss(spec, G, cls, inst, a_, t_), abs=1e-12)


def test_the_pairs_mean_differs_from_the_anchors_mean_on_an_imbalanced_batch():
    anchors = LossSpec("a", ["view", "class", "other"], ["class"], ["view"], "anchors")
    pairs = LossSpec("b", ["view", "class", "other"], ["class"], ["view"], "pairs")
    sizes = ClassSizes((4, 2))
    point = {"v[0]": 0.5, "s[0]": 0.3, "v[1]": 0.4, "s[1]": 0.6, "o[0,1]": -0.2}
    subs = {sp.Symbol(c, real=True): v for c, v in point.items()}
    values = [float(reduced_loss(s, sizes, 2).subs(subs).subs({alpha: 0, tau: 1}))
              for s in (anchors, pairs)]
    assert abs(values[0] - values[1]) > 1e-3


@pytest.mark.parametrize("name", list(PRESETS))
def test_one_size_group_is_the_balanced_reduced_loss_exactly(name):
    phi = reduced_loss(name, ClassSizes((4, 4, 4)), 2)
    balanced = symmetric_loss(name).subs({m: 3, k: 4, p: 2})
    subs = {sp.Symbol("v[0]", real=True): v_sym, sp.Symbol("s[0]", real=True): c_sym,
            sp.Symbol("o[0,0]", real=True): o_sym}
    assert sp.simplify(sp.expand_log(phi.subs(subs) - balanced, force=True)) == 0


def test_sizes_below_what_a_term_needs_are_one_line_errors():
    with pytest.raises(ValueError, match="class size 1"):
        check_sizes(PRESETS["paper"], ClassSizes((3, 1)), 2)
    # supcon's supervised positives include the views: a singleton class is fine with p = 2
    check_sizes(PRESETS["supcon"], ClassSizes((3, 1)), 2)
    with pytest.raises(ValueError, match="another view .p >= 2. or another instance"):
        check_sizes(PRESETS["supcon"], ClassSizes((3, 1)), 1)


def test_the_family_is_exact():
    fam = family("paper", ClassSizes((5, 3, 2)), 2)
    assert all(isinstance(v, sp.Rational) for c in fam.linear for v in c.normal)
    assert fam.means[0][0][0] == sp.Rational(1, 10)
    with mpmath.workdps(50):
        assert fam.class_mean_sq([sp.Integer(1)] * len(fam.coords), 0) == 1
