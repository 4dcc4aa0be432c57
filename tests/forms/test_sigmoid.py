"""The pairwise sigmoid form (SigLIP style) through the spec, the torch loss, the reduced loss,
beta*, the threshold, the global optimum, the CLI and the harness, each against a reference
written here: per-pair loops, a dense scan of f, finite differences, free unit vectors."""

import json
from pathlib import Path

import mpmath
import pytest
import sympy as sp
import torch

from helpers.brute import beta_by_scan, check_f_on_ssem_vectors, check_imbalanced
from helpers.references import loss_of_embeddings
from ssem_symbolic.loss._bruteforce import minimise
from ssem_symbolic.cli import main
from ssem_symbolic.ssem import alpha_c_value, collapse_rule, collapses, loss_value, optimal_beta
from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import LossSpec, UnsupportedConvention
from ssem_symbolic.spec import load_spec, to_toml

FILE = Path(__file__).parents[2] / "examples" / "specs" / "supervised-sigmoid.toml"
SIG = load_spec(FILE)
BIASED = LossSpec("b", ["view", "class", "other"], ["view", "class"], ["view"], "pairs",
                  form="sigmoid", bias="-1/2")


@pytest.mark.parametrize("spec", [SIG, BIASED], ids=["file", "biased-pairs"])
@pytest.mark.parametrize("alpha, tau, views", [(0.0, 0.5, 2), (0.4, 0.1, 2), (1.0, 1.0, 3)])
def test_the_torch_loss_is_the_per_pair_reference(spec, alpha, tau, views):
    gen = torch.Generator().manual_seed(6)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(len(labels), views, 5, generator=gen, dtype=torch.float64)
    got = float(SupCLLoss(alpha, tau, spec)(z, labels))
    assert got == pytest.approx(loss_of_embeddings(z, labels, alpha, tau, spec), rel=1e-12)
    # configurations batched along a leading dim equal one by one
    from ssem_symbolic.loss import supcl_loss

    zz = torch.stack([z, z.flip(0)])
    both = supcl_loss(zz, labels, torch.tensor([alpha, 0.5], dtype=torch.float64),
                      torch.tensor([tau, 0.3], dtype=torch.float64), spec)
    assert float(both[0]) == pytest.approx(got, rel=1e-12)
    assert float(both[1]) == pytest.approx(float(SupCLLoss(0.5, 0.3, spec)(z.flip(0), labels)),
                                           rel=1e-12)
    # tiled, 3 rows at a time: the same value and gradients (in z and tau), and the same
    # Hessian-vector product (the double backward goes through the untiled sums)
    def both(chunk):
        zz = z.clone().requires_grad_()
        t = torch.tensor(tau, dtype=torch.float64, requires_grad=True)
        value = supcl_loss(zz, labels, alpha, t, spec, chunk_size=chunk)
        gz, gt = torch.autograd.grad(value, (zz, t), create_graph=True)
        hv, = torch.autograd.grad((gz * z).sum(), zz)
        return value, gz, gt, hv
    for untiled, tiled in zip(both(None), both(3)):
        assert torch.allclose(untiled, tiled, rtol=0, atol=1e-10)
    # the closed-form backward against autograd through the batched path (a leading dim)
    zz = z.clone().requires_grad_()
    g_batched, = torch.autograd.grad(supcl_loss(zz[None], labels, alpha, tau, spec).sum(), zz)
    assert torch.allclose(both(None)[1], g_batched, rtol=0, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("spec", [SIG, BIASED], ids=["file", "biased-pairs"])
def test_f_beta_star_and_the_thresholds(spec):
    check_f_on_ssem_vectors(spec, 0.3, 0.4, betas=(0.2, 0.8, 1.0), seed=7)
    for a, t in (("0.2", "0.5"), ("0.6", "0.5"), ("0.9", "0.2")):
        best = beta_by_scan(spec, 3, 4, 2, a, t)
        assert abs(float(optimal_beta(spec, 3, 4, 2, a, t)) - best) <= 1 / 2000
        # collapse iff f'(1) <= 0 (a backward difference here, 40 digits)
        with mpmath.workdps(40):
            h = mpmath.mpf(10) ** -15
            slope = (loss_value(spec, 3, 4, 2, a, t, 1, digits=40)
                     - loss_value(spec, 3, 4, 2, a, t, 1 - h, digits=40)) / h
        assert collapses(spec, 3, 4, 2, a, t) == bool(slope <= 0)
    a_c = float(alpha_c_value(spec, 3, 4, 2, 0.5))
    assert collapses(spec, 3, 4, 2, a_c - 1e-9, 0.5)
    assert not collapses(spec, 3, 4, 2, a_c + 1e-9, 0.5)
    rule = collapse_rule(spec, 3, 4, 2, 0.6)
    t_c = float(rule.tau_c)
    assert rule.kind == "tau>="
    assert collapses(spec, 3, 4, 2, 0.6, t_c * (1 + 1e-9))
    assert not collapses(spec, 3, 4, 2, 0.6, t_c * (1 - 1e-9))


@pytest.mark.parametrize("alpha, tau", [(0.2, 0.5), (0.7, 0.3)])
def test_the_global_optimum_against_free_unit_vectors(alpha, tau):
    for spec in (SIG, BIASED):
        opt = optimum(spec, Batch.balanced(3, 2, 2), alpha, tau)
        run = minimise(spec, 3, 2, 2, alpha, tau, seed=4)
        assert run.loss == pytest.approx(opt.loss_value, abs=1e-7)
        assert run.variances["within"] == pytest.approx(opt.within_class_variance, abs=1e-4)


def test_the_spec_and_its_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(to_toml(BIASED))
    assert load_spec(path) == BIASED and BIASED.key().endswith("sigmoid:-1/2")
    assert SIG != LossSpec("x", ["view", "class", "other"], ["view", "class"], ["view"],
                           "anchors")
    with pytest.raises(UnsupportedConvention, match="needs form = 'sigmoid'"):
        LossSpec("x", ["view", "class", "other"], ["view"], ["view"], "anchors", bias=1)
    with pytest.raises(UnsupportedConvention, match="must lie among the pairs"):
        LossSpec("x", ["class", "other"], ["view", "class"], ["view"], "anchors",
                 form="sigmoid")
    with pytest.raises(UnsupportedConvention, match="form must be"):
        LossSpec("x", ["view", "class", "other"], ["view"], ["view"], "anchors", form="hinge")


@pytest.mark.slow
def test_the_file_through_the_cli(capsys, tmp_path):
    batch = ["--classes", "3", "--per-class", "4"]

    def run(*argv):
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err
    code, out, _ = run("threshold", "--loss", str(FILE), *batch, "--tau", "0.5", "--json")
    assert code == 0
    assert json.loads(out)["alpha_c"] == pytest.approx(float(alpha_c_value(SIG, 3, 4, 2, 0.5)))
    code, out, _ = run("optimum", "--loss", str(FILE), *batch, "--alpha", "0.6", "--tau", "0.5",
                       "--json")
    assert code == 0 and json.loads(out)["beta"] == pytest.approx(
        float(optimal_beta(SIG, 3, 4, 2, 0.6, 0.5)), abs=1e-9)
    assert run("regimes", "--loss", str(FILE), *batch, "--tau", "0.5")[0] == 0
    code, out, _ = run("formula", "--loss", str(FILE))
    assert code == 0 and "alpha_c(tau) =" in out
    code, out, _ = run("spec", "show", str(FILE))
    assert code == 0 and "softplus" in out
    # the grid layers (phase, guide, export): tests/test_sigmoid_grid.py; crosscheck here
    code, _, err = run("crosscheck", "--tiny", "--loss", str(FILE), "--out", str(tmp_path / "cc"))
    assert code == 0, err
    lines = [json.loads(x) for x in (tmp_path / "cc" / "results.jsonl").read_text().splitlines()]
    free = [r for r in lines if r["kind"] == "point" and r["config"]["trainer"] == "free"]
    assert free and all(r["verdict"] == "agrees" for r in free)
    assert all(r["config"]["spec"]["form"] == "sigmoid" for r in lines if r["kind"] == "point")
    assert (tmp_path / "cc" / "report.md").exists()


@pytest.mark.slow
def test_trained_free_embeddings_agree():
    from ssem_symbolic.harness.crosscheck import record
    from ssem_symbolic.harness.train import TrainConfig, train_free_batched

    configs = [TrainConfig("free", SIG, a, 0.5, 3, 4, 2, 24, 1500) for a in (0.2, 0.7)]
    z, labels = train_free_batched(configs)
    for i, c in enumerate(configs):
        rec = record(c, z[i], labels)
        assert rec["verdict"] == "agrees", rec["note"]


@pytest.mark.parametrize("sizes, alpha", [((4, 2), "0.3"), ((3, 2, 2), "0.6")])
def test_the_imbalanced_optimum_against_free_unit_vectors(sizes, alpha):
    """Unequal class sizes: each size group's anchors weight the pairs they see; the solver's
    loss and per-class within-class variances against L-BFGS on free unit vectors."""
    from ssem_symbolic.forms import reduced_loss
    from ssem_symbolic.setting import family
    from ssem_symbolic.setting import ClassSizes

    for spec in (SIG, BIASED):
        opt = check_imbalanced(spec, sizes, alpha, "0.5", loss_abs=1e-8, variance_abs=1e-4)
    # the symbolic reduced loss of the family, at the solver's point, is its loss
    groups = ClassSizes(sizes)
    phi = reduced_loss(BIASED, groups, 2)
    coords = family(BIASED, groups, 2).coords
    names = {s.name: s for s in phi.free_symbols}
    at = {names[c]: v for c, v in zip(coords, opt.exact_point) if c in names}
    at |= {names["alpha"]: sp.Rational(alpha), names["tau"]: sp.Rational(1, 2)}
    assert float(phi.subs(at)) == pytest.approx(opt.loss_value, abs=1e-12)
