"""Weights per pair type inside the denominators and the positives: the spec, the torch loss
against per-pair loops (tests/helpers/references.py), f against the torch loss on SSEM
vectors, the global optimum against free unit vectors, with equal and unequal class sizes."""


import pytest
import torch

from helpers.brute import beta_by_scan, check_f_on_ssem_vectors, check_imbalanced
from helpers.references import loss_of_embeddings
from ssem_symbolic.loss._bruteforce import minimise
from ssem_symbolic.ssem import collapses, derive, optimal_beta
from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import PRESETS, LossSpec, UnsupportedConvention
from ssem_symbolic.spec import load_spec, to_toml

WEIGHTED = LossSpec("weighted", ["view", "class", "other"], ["view", "class"], ["view"],
                    "anchors", pair_weights={"denominator": {"class": "1/2", "other": 2},
                                             "sup": {"view": 3}})


def test_the_spec_canonical_form_and_file(tmp_path):
    assert WEIGHTED.pair_weight("denominator", "class") == sp_rational(1, 2)
    assert WEIGHTED.pair_weight("denominator", "view") == 1
    assert WEIGHTED.key() != PRESETS["supcon"].key()
    # weights of 1 are the default; a weight of 0 removes the type from its place
    same = LossSpec("s", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
                    pair_weights={"sup": {"view": 0, "class": 1}})
    assert same == PRESETS["supcon-split"]
    path = tmp_path / "w.toml"
    path.write_text(to_toml(WEIGHTED))
    assert load_spec(path) == WEIGHTED
    for bad, match in (({"denominator": {"class": -1}}, "negative"),
                       ({"self": {"class": 2}}, "not in the self positives"),
                       ({"numerator": {"class": 2}}, "unknown place")):
        with pytest.raises(UnsupportedConvention, match=match):
            LossSpec("b", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
                     pair_weights=bad)


def sp_rational(p, q):
    import sympy as sp

    return sp.Rational(p, q)


@pytest.mark.parametrize("alpha, tau", [(0.0, 0.5), (0.4, 0.1), (1.0, 1.0), (0.7, 0.05)])
def test_the_torch_loss_is_the_per_pair_reference(alpha, tau):
    gen = torch.Generator().manual_seed(4)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(len(labels), 2, 5, generator=gen, dtype=torch.float64)
    expected = loss_of_embeddings(z, labels, alpha, tau, WEIGHTED)
    assert float(SupCLLoss(alpha, tau, WEIGHTED)(z, labels)) == pytest.approx(expected,
                                                                              rel=1e-12)
    zt, zu = z.clone().requires_grad_(), z.clone().requires_grad_()
    tiled = SupCLLoss(alpha, tau, WEIGHTED, chunk_size=3)(zt, labels)
    tiled.backward()
    SupCLLoss(alpha, tau, WEIGHTED)(zu, labels).backward()
    assert float(tiled.detach()) == pytest.approx(expected, rel=1e-12)
    assert torch.allclose(zt.grad, zu.grad, rtol=1e-10, atol=1e-12)
    # second derivatives (Newton's Hessian-vector products) through the weighted denominator
    y = z.clone().requires_grad_()
    (g,) = torch.autograd.grad(SupCLLoss(alpha, tau, WEIGHTED)(y, labels), y,
                               create_graph=True)
    v = torch.randn(z.shape, generator=gen, dtype=torch.float64)
    (hv,) = torch.autograd.grad((g * v).sum(), y)
    h = 1e-6
    gp = _grad(z + h * v, labels, alpha, tau)
    gm = _grad(z - h * v, labels, alpha, tau)
    assert torch.allclose(hv, (gp - gm) / (2 * h), rtol=1e-5, atol=1e-7)


def _grad(z, labels, alpha, tau):
    y = z.clone().requires_grad_()
    SupCLLoss(alpha, tau, WEIGHTED)(y, labels).backward()
    return y.grad


def test_f_beta_star_and_the_threshold():
    check_f_on_ssem_vectors(WEIGHTED, 0.4, 0.3, betas=(0.1, 0.6, 1.0), seed=2)
    assert int(derive(WEIGHTED).alpha_side) == 1
    for a, t in (("0.1", "0.5"), ("0.5", "0.5"), ("0.8", "0.2")):
        b = float(optimal_beta(WEIGHTED, 3, 4, 2, a, t))
        assert abs(b - beta_by_scan(WEIGHTED, 3, 4, 2, a, t)) <= 1 / 2000
        assert collapses(WEIGHTED, 3, 4, 2, a, t) == (b == 1.0)


@pytest.mark.parametrize("alpha, tau", [(0.1, 0.5), (0.5, 0.3)])
def test_the_global_optimum_against_free_unit_vectors(alpha, tau):
    opt = optimum(WEIGHTED, Batch.balanced(3, 2, 2), alpha, tau)
    run = minimise(WEIGHTED, 3, 2, 2, alpha, tau, seed=3)
    assert run.loss == pytest.approx(opt.loss_value, abs=1e-7)
    assert run.variances["within"] == pytest.approx(opt.within_class_variance, abs=1e-4)


@pytest.mark.parametrize("mean", ["anchors", "pairs"])
@pytest.mark.parametrize("sizes, alpha", [((4, 2), "0.3"), ((3, 2, 2), "0.6")])
def test_the_imbalanced_optimum_against_free_unit_vectors(mean, sizes, alpha):
    """Unequal class sizes: the weights scale the counts in each group's denominator, among
    its positives and (pairs mean) in its share of the term; against L-BFGS on free unit
    vectors of the per-pair loss."""
    spec = LossSpec(WEIGHTED.name, WEIGHTED.denominator, WEIGHTED.sup, WEIGHTED.self_, mean,
                    pair_weights={"denominator": {"class": "1/2", "other": 2},
                                  "sup": {"view": 3}})
    check_imbalanced(spec, sizes, alpha, "0.5", loss_abs=1e-7, variance_abs=1e-3)
