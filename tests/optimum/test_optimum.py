"""The global optimum over all unit embeddings, and its regimes, against independent references:
brute force over free unit vectors (the per-pair loss, L-BFGS, several seeds), the explicit
M x M Gram matrix, and today's SSEM path where SSEM holds."""

import json

import mpmath
import numpy as np
import pytest

from ssem_symbolic.loss._bruteforce import minimise

from ssem_symbolic.setting import Batch
from ssem_symbolic.cli import main
from ssem_symbolic.ssem import alpha_c_value, loss_value, optimal_beta, tau_c_value
from ssem_symbolic.optimum import optimum, regimes
from ssem_symbolic.setting import polyhedron, variances


def _explicit_gram(m, k, p, v, c, o):
    """The M x M Gram matrix with one value per pair type, from index tuples."""
    idx = [(cl, i, j) for cl in range(m) for i in range(k) for j in range(p)]
    G = np.empty((len(idx), len(idx)))
    for a, (c1, i1, j1) in enumerate(idx):
        for b, (c2, i2, j2) in enumerate(idx):
            G[a, b] = (1.0 if (c1, i1, j1) == (c2, i2, j2) else v if (c1, i1) == (c2, i2)
                       else c if c1 == c2 else o)
    return G, np.array([cl for cl, _, _ in idx])


@pytest.mark.parametrize("batch", [(3, 4, 2), (2, 3, 3), (4, 2, 1)])
def test_polyhedron_eigenvalues_and_variances_match_the_explicit_gram(batch):
    m, k, p = batch
    v, c, o = 0.3, 0.2, -0.1
    G, labels = _explicit_gram(m, k, p, v, c, o)
    P = polyhedron(m, k, p)
    x = [v, c, o] if p > 1 else [c, o]
    expected = sorted(np.repeat([float(e) for e in P.eigenvalues(x)], P.multiplicity))
    assert np.allclose(sorted(np.linalg.eigvalsh(G)), expected, atol=1e-12)
    # the variances from class means of the Gram (mean of a block = ||class mean||^2)
    cls = [np.mean(G[np.ix_(labels == q, labels == q)]) for q in range(m)]
    within = 1 - np.mean(cls)
    total = 1 - np.mean(G)
    var = variances(v if p > 1 else 1, c, o, m, k, p)
    assert float(var["within"]) == pytest.approx(within, abs=1e-12)
    assert float(var["between"]) == pytest.approx(total - within, abs=1e-12)


_SSEM_POINTS = [("paper", "0.5", "0.5"), ("paper", "0.05", "0.5"), ("paper", "1", "2"),
                ("supcon", "0.2", "0.1"), ("supcon", "0.7", "1"), ("supcon-split", "0.5", "0.3"),
                ("paper", "0.3", "1e-8"), ("supcon", "0.4", "1e6")]


@pytest.mark.parametrize("loss,a,t", _SSEM_POINTS)
def test_on_the_ssem_face_the_ssem_results_are_reproduced(loss, a, t):
    opt = optimum(loss, Batch.balanced(3, 4, 2), a, t)
    b = optimal_beta(loss, 3, 4, 2, a, t)
    assert "view" in opt.active and "all-ones" in opt.active
    assert opt.view == 1.0
    assert opt.within_class_variance == pytest.approx(float(1 - b), abs=1e-12)
    assert opt.between_class_variance == pytest.approx(float(b), abs=1e-12)
    assert opt.class_ == pytest.approx(float((4 * b - 1) / 3), abs=1e-12)
    assert opt.other == pytest.approx(float(-b / 2), abs=1e-12)
    assert opt.loss_value == pytest.approx(float(loss_value(loss, 3, 4, 2, a, t, b)),
                                           rel=1e-12)
    assert opt.collapsed == (b == 1)


def _brute(loss, m, k, p, a, t, seeds=(0, 1)):
    return min((minimise(loss, m, k, p, a, t, seed=s) for s in seeds), key=lambda r: r.loss)


def _gram_means(res, p):
    z = res.z.reshape(-1, res.z.shape[-1])
    G = z @ z.T
    labels = np.repeat(res.labels, p)
    inst = np.repeat(np.arange(len(res.labels)), p)
    same_inst = inst[:, None] == inst[None, :]
    same_cls = labels[:, None] == labels[None, :]
    return G[same_cls & ~same_inst].mean(), G[~same_cls].mean()


# both sides of every boundary: supcon-split at tau = 0.3 (views apart | collapse | spread),
# paper and supcon below and above alpha_c, alpha = 0 and 1, and a custom spec file
_BRUTE = [("supcon-split", 0.0, 0.3), ("supcon-split", 0.05, 0.3), ("supcon-split", 0.14, 0.3),
          ("supcon-split", 0.4, 0.3), ("supcon-split", 0.0, 0.5), ("supcon-split", 1.0, 0.3),
          ("paper", 0.0, 0.3), ("paper", 0.1, 0.3), ("paper", 0.5, 0.3), ("paper", 1.0, 0.5),
          ("paper", 0.3, 1.0), ("paper", 0.8, 1.0),
          ("supcon", 0.0, 0.5), ("supcon", 0.1, 0.5), ("supcon", 0.5, 0.5), ("supcon", 1.0, 1.0),
          ("supcon", 0.2, 1.0), ("supcon", 0.8, 1.0),
          ("examples/specs/dcl.toml", 0.3, 0.5), ("examples/specs/views-then-class.toml", 0.2, 0.5)]


@pytest.mark.slow
@pytest.mark.parametrize("loss,a,t", _BRUTE)
def test_global_optimum_against_brute_force(loss, a, t):
    m, k, p = 2, 3, 2
    opt = optimum(loss, Batch.balanced(m, k, p), str(a), str(t))
    bf = _brute(loss, m, k, p, a, t)
    assert bf.loss == pytest.approx(opt.loss_value, abs=1e-6)
    assert bf.view_similarity == pytest.approx(opt.view, abs=1e-3)
    cls, other = _gram_means(bf, p)
    assert cls == pytest.approx(opt.class_, abs=1e-3)
    assert other == pytest.approx(opt.other, abs=1e-3)
    assert bf.variances["within"] == pytest.approx(opt.within_class_variance, abs=1e-3)
    assert bf.variances["between"] == pytest.approx(opt.between_class_variance, abs=1e-3)


def test_supcon_split_leaves_ssem_where_trained_embeddings_did():
    # the quick cross-check's off-model point: trained free embeddings reached v = 0.5627 and
    # within-class variance 0.2186 (m, k, p = 3, 4, 2); brute force confirms it below
    opt = optimum("supcon-split", Batch.balanced(3, 4, 2), "0", "0.3")
    assert opt.active == ("all-ones", "within-class") and not opt.collapsed
    bf = _brute("supcon-split", 3, 4, 2, 0.0, 0.3, seeds=(0,))
    assert opt.view == pytest.approx(bf.view_similarity, abs=1e-3)
    assert opt.within_class_variance == pytest.approx(bf.variances["within"], abs=1e-3)
    assert opt.loss_value == pytest.approx(bf.loss, abs=1e-6)
    assert opt.multipliers["within-class"] > 0 and opt.multipliers["all-ones"] > 0
    assert all(s > 0 for s in opt.slacks.values())


@pytest.mark.parametrize("loss", ["paper", "supcon"])
@pytest.mark.parametrize("tau", ["0.3", "1"])
def test_presets_have_exactly_one_boundary_the_ssem_threshold(loss, tau):
    r = regimes(loss, Batch.balanced(3, 4, 2), tau=tau)
    assert len(r.boundaries) == 1
    (b,) = r.boundaries
    assert b.at == pytest.approx(float(alpha_c_value(loss, 3, 4, 2, tau)), abs=1e-9)
    assert set(b.below) - set(b.above) == {"within-class"}  # within-class leaves
    assert r.regimes[0]["collapsed"] and not r.regimes[1]["collapsed"]


@pytest.mark.slow
def test_supcon_split_has_two_boundaries_at_small_tau_and_one_at_large():
    for tau in ("0.1", "0.3"):
        r = regimes("supcon-split", Batch.balanced(3, 4, 2), tau=tau)
        assert len(r.boundaries) == 2, r.as_dict()
        view, within = r.boundaries
        assert set(view.above) - set(view.below) == {"view"}  # views rejoin
        assert set(within.below) - set(within.above) == {"within-class"}  # collapse ends
        assert within.at == pytest.approx(float(alpha_c_value("supcon-split", 3, 4, 2, tau)),
                                          abs=1e-9)
        assert view.at < within.at
    assert len(regimes("supcon-split", Batch.balanced(3, 4, 2), tau="1").boundaries) == 1


def test_the_view_boundary_is_located_to_1e_10():
    # on each side, 2e-10 away, the regime is the one reported
    r = regimes("supcon-split", Batch.balanced(3, 4, 2), tau="0.3")
    b = r.boundaries[0]
    with mpmath.workdps(30):
        lo = mpmath.nstr(mpmath.mpf(b.at) - mpmath.mpf("2e-10"), 20)
        hi = mpmath.nstr(mpmath.mpf(b.at) + mpmath.mpf("2e-10"), 20)
    assert optimum("supcon-split", Batch.balanced(3, 4, 2), lo, "0.3").active == b.below
    assert optimum("supcon-split", Batch.balanced(3, 4, 2), hi, "0.3").active == b.above


def test_boundary_along_tau_is_tau_c():
    r = regimes("paper", Batch.balanced(3, 4, 2), alpha="0.3")
    (b,) = r.boundaries
    assert b.at == pytest.approx(float(tau_c_value("paper", 3, 4, 2, "0.3")), rel=1e-9)
    assert "within-class" in b.above and "within-class" not in b.below


@pytest.mark.slow
@pytest.mark.parametrize("a,t", [("0", "0.005"), ("0.05", "0.001")])
def test_off_ssem_at_small_tau_against_the_face_equation(a, t):
    # independent: the root of d phi/dv on the face within-class = all-ones = 0, phi written
    # from the spec in proofs/_defs.py, at 1200 digits
    import sympy as sp

    from proofs._defs import alpha, tau, v
    from proofs.global_optimum import _face_split

    opt = optimum("supcon-split", Batch.balanced(3, 4, 2), a, t)
    assert opt.active == ("all-ones", "within-class")
    f, _ = _face_split("supcon-split", 3, 4, 2)
    slope = sp.lambdify((v, alpha, tau), sp.diff(f, v), "mpmath")
    with mpmath.workdps(1200):
        root = mpmath.findroot(lambda x: slope(x, mpmath.mpf(a), mpmath.mpf(t)),
                               mpmath.mpf(opt.view))
    assert opt.view == pytest.approx(float(root), abs=1e-12)


def test_out_of_range_and_bad_calls_are_one_line_errors():
    with pytest.raises(ValueError, match="off-SSEM solver covers tau"):
        optimum("supcon-split", Batch.balanced(3, 4, 2), "0", "0.0005")
    with pytest.raises(ValueError, match="exactly one"):
        regimes("paper", Batch.balanced(3, 4, 2))
    with pytest.raises(ValueError, match="alpha must lie"):
        optimum("paper", Batch.balanced(3, 4, 2), "1.5", "0.5")


def test_cli_regimes_json(capsys):
    assert main(["regimes", "--loss", "supcon-split", "--classes", "3", "--per-class", "4",
                 "--tau", "0.3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"boundaries", "regimes", "tau"}
    assert [sorted(b) for b in out["boundaries"]] == [["above", "alpha", "below"]] * 2
    assert out["regimes"][1]["collapsed"] is True and len(out["regimes"]) == 3
    assert main(["regimes", "--loss", "paper", "--classes", "3", "--per-class", "4",
                 "--alpha", "0.3"]) == 0
    assert "1 boundary along tau" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["regimes", "--loss", "paper", "--classes", "3", "--per-class", "4",
              "--alpha", "0.3", "--tau", "0.5"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


# a grid per preset on a 2 x 2 x 2 batch (with the points above: >= 20 per preset)
_GRID = [(loss, a, t) for loss in ("paper", "supcon", "supcon-split")
         for a in (0.1, 0.3, 0.5, 0.7, 0.9) for t in (0.5, 1.0, 2.0)]


@pytest.mark.parametrize("loss,a,t", _GRID)
def test_global_optimum_against_brute_force_grid(loss, a, t):
    opt = optimum(loss, Batch.balanced(2, 2, 2), str(a), str(t))
    bf = _brute(loss, 2, 2, 2, a, t, seeds=(0,))
    assert bf.loss == pytest.approx(opt.loss_value, abs=1e-6)
    assert bf.view_similarity == pytest.approx(opt.view, abs=1e-3)
    assert bf.variances["within"] == pytest.approx(opt.within_class_variance, abs=1e-3)
    assert bf.variances["between"] == pytest.approx(opt.between_class_variance, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
def test_brute_force_on_both_sides_of_every_boundary(loss):
    m, k, p, t = 2, 3, 2, "0.3"
    found = regimes(loss, Batch.balanced(m, k, p), tau=t)
    assert found.boundaries
    edges = [0.0] + [b.at for b in found.boundaries] + [1.0]
    for i, b in enumerate(found.boundaries):  # halfway to the next boundary at most
        for side, off in (("below", -min(0.04, (edges[i + 1] - edges[i]) / 2)),
                          ("above", min(0.04, (edges[i + 2] - edges[i + 1]) / 2))):
            a = round(b.at + off, 6)
            opt = optimum(loss, Batch.balanced(m, k, p), str(a), t)
            assert opt.active == getattr(b, side), (loss, b, side)
            bf = _brute(loss, m, k, p, a, float(t), seeds=(0,))
            assert bf.loss == pytest.approx(opt.loss_value, abs=1e-6), (loss, a)
            assert bf.view_similarity == pytest.approx(opt.view, abs=1e-3), (loss, a)
            assert bf.variances["within"] == pytest.approx(opt.within_class_variance,
                                                           abs=1e-3), (loss, a)


def test_one_view_has_no_view_direction():
    r = regimes("paper", Batch.balanced(3, 4, 1), tau="0.5")
    (b,) = r.boundaries
    assert b.below == ("all-ones", "within-class") and b.above == ("all-ones",)
    assert b.at == pytest.approx(float(alpha_c_value("paper", 3, 4, 1, "0.5")), abs=1e-9)
    opt = optimum("paper", Batch.balanced(3, 4, 1), "0.2", "0.5")
    assert opt.view is None and opt.collapsed and opt.as_dict()["view_similarity"] is None
