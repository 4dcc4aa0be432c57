"""A denominator per term (Chen et al. 2022's spread loss: SupCon plus a class-conditional
InfoNCE term) through the spec, the torch loss, the derivation and the global optimum, each
against a reference written here: per-pair loops, a dense scan of f, free unit vectors."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch

from helpers.brute import beta_by_scan, check_f_on_ssem_vectors, check_imbalanced
from ssem_symbolic.loss._bruteforce import minimise
from ssem_symbolic.ssem import alpha_c_value, collapses, derive, loss_value, optimal_beta
from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.setting._model import realise
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import PRESETS, LossSpec, UnsupportedConvention
from ssem_symbolic.spec import SpecFileError, load_spec, to_toml
from ssem_symbolic.optimum import certify_ssem

SPREAD = LossSpec("spread", {"sup": ["view", "class", "other"], "self": ["view", "class"]},
                  ["view", "class"], ["view"], "anchors")


def reference(z, labels, alpha, tau):
    """(1 - alpha) SupCon + alpha class-conditional InfoNCE, by loops over pairs: the SupCon
    denominator is every c != a, the class-conditional one every c != a of a's class."""
    n, views, _ = z.shape
    flat = torch.nn.functional.normalize(z.reshape(n * views, -1), dim=-1).tolist()
    inst = [i for i in range(n) for _ in range(views)]
    lab = [int(labels[i]) for i in inst]
    M = len(flat)
    s = [[sum(x * y for x, y in zip(flat[i], flat[j])) for j in range(M)] for i in range(M)]

    def term(positive, in_denominator):
        total = 0.0
        for a in range(M):
            den = math.log(sum(math.exp(s[a][c] / tau) for c in range(M)
                               if c != a and in_denominator(a, c)))
            ps = [b for b in range(M) if b != a and positive(a, b)]
            total += -sum(s[a][b] / tau - den for b in ps) / len(ps)
        return total / M
    sup = term(lambda a, b: lab[a] == lab[b], lambda a, c: True)
    cnce = term(lambda a, b: inst[a] == inst[b], lambda a, c: lab[a] == lab[c])
    return (1 - alpha) * sup + alpha * cnce


def test_the_spec_is_canonical_and_reads_from_a_file(tmp_path):
    same = LossSpec("x", {"sup": ["other", "class", "view"], "self": ["view", "class"]},
                    ["class", "view"], ["view"], "anchors")
    assert SPREAD == same and SPREAD.per_term and SPREAD.key() != PRESETS["supcon"].key()
    assert SPREAD.denominator_of("self") == ("view", "class")
    # equal denominators per term are one shared denominator: the preset itself
    shared = LossSpec("y", {"sup": ["view", "class", "other"], "self": ["view", "class",
                                                                       "other"]},
                      ["view", "class"], ["view"], "anchors")
    assert shared == PRESETS["supcon"] and not shared.per_term
    path = tmp_path / "spread.toml"
    path.write_text(to_toml(SPREAD))
    assert load_spec(path) == SPREAD
    path.write_text('mean = "anchors"\nsup = ["view"]\nself = ["view"]\n'
                    'denominator = { sup = ["view", "other"] }\n')
    with pytest.raises(UnsupportedConvention, match="exactly the keys sup, self"):
        load_spec(path)
    path.write_text('mean = "anchors"\nsup = ["view"]\nself = ["view"]\ndenominator = 3\n')
    with pytest.raises(SpecFileError, match="'denominator' must be a list of pair types, or"):
        load_spec(path)


@pytest.mark.parametrize("alpha, tau, views", [(0.0, 0.5, 2), (0.3, 0.1, 2), (1.0, 1.0, 3),
                                               (0.6, 0.05, 2)])
def test_the_torch_loss_is_the_per_pair_reference(alpha, tau, views):
    gen = torch.Generator().manual_seed(3)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(len(labels), views, 5, generator=gen, dtype=torch.float64)
    expected = reference(z, labels, alpha, tau)
    assert float(SupCLLoss(alpha, tau, SPREAD)(z, labels)) == pytest.approx(expected,
                                                                            rel=1e-12)
    tiled = SupCLLoss(alpha, tau, SPREAD, chunk_size=4)
    zt = z.clone().requires_grad_()
    tiled(zt, labels).backward()
    zu = z.clone().requires_grad_()
    SupCLLoss(alpha, tau, SPREAD)(zu, labels).backward()
    assert float(tiled(z, labels)) == pytest.approx(expected, rel=1e-12)
    assert torch.allclose(zt.grad, zu.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_f_is_the_loss_of_ssem_vectors_and_beta_star_its_minimum():
    for b in (0.2, 0.7, 1.0):
        z, labels = realise(3, 4, b, d=15, views=2, seed=5)
        got = float(SupCLLoss(0.4, 0.3, SPREAD)(torch.from_numpy(z), torch.from_numpy(labels)))
        assert got == pytest.approx(float(loss_value(SPREAD, 3, 4, 2, 0.4, 0.3, b)), abs=1e-11)
    for a, t in (("0.05", "0.5"), ("0.3", "0.5"), ("0.6", "0.2"), ("0.9", "2")):
        with mpmath.workdps(30):
            grid = [mpmath.mpf(i) / 4000 for i in range(4001)]
            values = [loss_value(SPREAD, 3, 4, 2, a, t, x) for x in grid]
            best = grid[min(range(len(grid)), key=values.__getitem__)]
        assert abs(float(optimal_beta(SPREAD, 3, 4, 2, a, t)) - float(best)) <= 1 / 4000


def test_the_threshold_and_its_side():
    d = derive(SPREAD)
    assert int(d.alpha_side) == 1 and d.alpha_c_tau0 == 0
    assert d.alpha_c_tauinf == sp.Rational(1, 2)
    a_c = alpha_c_value(SPREAD, 3, 4, 2, 0.5)
    # f'(1) changes sign at alpha_c: collapse just below, not just above
    assert collapses(SPREAD, 3, 4, 2, float(a_c) - 1e-9, 0.5)
    assert not collapses(SPREAD, 3, 4, 2, float(a_c) + 1e-9, 0.5)
    h = mpmath.mpf(10) ** -12
    for a, sign in ((a_c - 1e-6, -1), (a_c + 1e-6, 1)):
        slope = (loss_value(SPREAD, 3, 4, 2, a, "0.5", 1)
                 - loss_value(SPREAD, 3, 4, 2, a, "0.5", 1 - h)) / h
        assert mpmath.sign(slope) == sign


@pytest.mark.parametrize("alpha, tau", [(0.05, 0.5), (0.3, 0.5), (0.8, 0.3)])
def test_the_global_optimum_against_free_unit_vectors(alpha, tau):
    opt = optimum(SPREAD, Batch.balanced(3, 2, 2), alpha, tau)
    run = minimise(SPREAD, 3, 2, 2, alpha, tau, seed=2)
    assert run.loss == pytest.approx(opt.loss_value, abs=1e-7)
    assert run.variances["within"] == pytest.approx(opt.within_class_variance, abs=1e-4)
    cert = certify_ssem(SPREAD, 3, 2, 2, alpha, tau)
    if cert.valid:  # SSEM at beta* is then the minimum
        assert opt.loss_value == pytest.approx(
            float(loss_value(SPREAD, 3, 2, 2, alpha, tau, cert.beta)), abs=1e-12)


#: both denominators hold other classes (DCL on the supervised term only): f'(1) times the
#: two denominators is quadratic in r = exp(-m/((m-1) tau))
DCL_SUP = LossSpec("dcl-sup", {"sup": ["class", "other"], "self": ["view", "class", "other"]},
                   ["view", "class"], ["view"], "anchors")
#: ... and one whose collapse region along tau is an interval at small alpha
INTERVAL = LossSpec("interval", {"sup": ["class", "other"], "self": ["other"]},
                    ["view", "class"], ["view"], "anchors")


def _slope_at_one(spec, alpha, tau):
    """f'(1) by a backward difference of f at 40 digits (f itself: against the torch loss)."""
    with mpmath.workdps(40):
        h = mpmath.mpf(10) ** -15
        return (loss_value(spec, 3, 4, 2, alpha, tau, 1, digits=40)
                - loss_value(spec, 3, 4, 2, alpha, tau, 1 - h, digits=40)) / h


@pytest.mark.slow
def test_a_quadratic_collapse_margin_derives():
    """The threshold where f'(1) is quadratic in r: f against the per-pair torch loss on SSEM
    vectors, alpha_c and tau_c against the sign of f'(1) from differences of f, beta* against
    a dense scan of f, the kernels' tau_c against the exact rule."""
    from ssem_symbolic.ssem import collapse_rule
    from ssem_symbolic.grid import kernels

    for b in (0.3, 1.0):
        z, labels = realise(3, 4, b, d=15, views=2, seed=2)
        got = float(SupCLLoss(0.4, 0.5, DCL_SUP)(torch.from_numpy(z), torch.from_numpy(labels)))
        assert got == pytest.approx(float(loss_value(DCL_SUP, 3, 4, 2, 0.4, 0.5, b)), abs=1e-11)
    for tau in ("0.5", "2"):
        a_c = alpha_c_value(DCL_SUP, 3, 4, 2, tau)
        assert _slope_at_one(DCL_SUP, a_c - mpmath.mpf("1e-6"), tau) < 0
        assert _slope_at_one(DCL_SUP, a_c + mpmath.mpf("1e-6"), tau) > 0
        assert collapses(DCL_SUP, 3, 4, 2, a_c - mpmath.mpf("1e-9"), tau)
        assert not collapses(DCL_SUP, 3, 4, 2, a_c + mpmath.mpf("1e-9"), tau)
    rule = collapse_rule(DCL_SUP, 3, 4, 2, "0.3")
    assert rule.kind == "tau>="
    assert _slope_at_one(DCL_SUP, "0.3", rule.tau_c * (1 + mpmath.mpf("1e-6"))) < 0
    assert _slope_at_one(DCL_SUP, "0.3", rule.tau_c * (1 - mpmath.mpf("1e-6"))) > 0
    K = kernels(DCL_SUP)
    assert float(K.tau_c(torch.tensor([0.3], dtype=torch.float64), 3, 4, 2)[0]) == \
        pytest.approx(float(rule.tau_c), rel=1e-10)
    assert abs(float(optimal_beta(DCL_SUP, 3, 4, 2, "0.5", "0.5"))
               - beta_by_scan(DCL_SUP, 3, 4, 2, "0.5", "0.5")) <= 1 / 2000
    # the exported module (math only) scans for the same tau_c
    from ssem_symbolic.report import export

    module: dict = {}
    exec(export(DCL_SUP, "python"), module)  # noqa: S102  (our own generated module)
    t_c, side = module["tau_c"](0.3, 3, 4, 2)
    assert side == "tau>=" and t_c == pytest.approx(float(rule.tau_c), rel=1e-12)


def test_an_interval_of_tau_is_refused_in_one_line_and_marked_in_the_kernels():
    """Where N = c0 + c1 r + c2 r^2 changes sign twice in (0, 1), collapse holds on an
    interval of tau: the rule refuses it in one line naming both ends, tau = m/((1-m) log r)
    at the roots 1/3 and 2/3 of 2 - 9 r + 9 r^2; the scan of the kernels marks it NaN. A zero
    root (c0 = 0, as for INTERVAL at alpha = 0.1) is no sign change."""
    from ssem_symbolic.forms._softmax import _quadratic_rule
    from ssem_symbolic.ssem import collapse_rule
    from ssem_symbolic.grid._sigmoid import scan_tau_boundary

    R = sp.Rational
    with pytest.raises(UnsupportedConvention, match="inside the interval of tau") as err:
        _quadratic_rule(INTERVAL, 3, R(2), R(-9), R(9), "0.1", 30)
    assert "\n" not in str(err.value)
    ends = [3 / (-2 * math.log(x)) for x in (1 / 3, 2 / 3)]
    assert f"[{ends[0]:.6g}, {ends[1]:.6g}]" in str(err.value)
    with pytest.raises(UnsupportedConvention, match="outside the interval"):
        _quadratic_rule(INTERVAL, 3, R(-2), R(9), R(-9), "0.1", 30)
    rule = collapse_rule(INTERVAL, 3, 4, 2, "0.1")
    assert rule.kind == "tau>="
    assert _slope_at_one(INTERVAL, "0.1", rule.tau_c * (1 + mpmath.mpf("1e-6"))) < 0
    assert _slope_at_one(INTERVAL, "0.1", rule.tau_c * (1 - mpmath.mpf("1e-6"))) > 0

    def margin(alpha_, tau_, m_, k_, p_):  # collapse for tau in [0.1, 1]
        return (tau_ - 0.1) * (1.0 - tau_) * -torch.ones_like(alpha_)
    tau_c, side = scan_tau_boundary(margin, torch.tensor([0.5], dtype=torch.float64), 3, 4, 2,
                                    torch.float64)
    assert math.isnan(float(tau_c[0])) and float(side[0]) == 0


def test_what_is_not_supported_says_why_in_one_line():
    flat = LossSpec("flat", ["view", "class", "other"], ["view"], ["view"], "anchors")
    with pytest.raises(UnsupportedConvention, match="does not depend on alpha") as err:
        derive(flat)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("sizes, alpha", [((4, 2), "0.3"), ((3, 2, 2), "0.6")])
def test_the_imbalanced_optimum_against_free_unit_vectors(sizes, alpha):
    """Unequal class sizes: a log-sum-exp per term and size group; the loss and the per-class
    within-class variances of the solver against L-BFGS on free unit vectors."""
    check_imbalanced(SPREAD, sizes, alpha, "0.5", loss_abs=1e-7, variance_abs=1e-3)


@pytest.mark.slow
def test_the_cross_check_agrees_on_trained_free_embeddings():
    from ssem_symbolic.harness.crosscheck import record
    from ssem_symbolic.harness.train import TrainConfig, train_free_batched

    configs = [TrainConfig("free", SPREAD, a, 0.5, 3, 4, 2, 24, 1500) for a in (0.05, 0.4)]
    z, labels = train_free_batched(configs)
    for i, c in enumerate(configs):
        rec = record(c, z[i], labels)
        assert rec["verdict"] == "agrees", rec["note"]
    assert np.isclose(rec["predicted"]["predicted_within"],
                      1 - float(optimal_beta(SPREAD, 3, 4, 2, 0.4, 0.5)), atol=1e-12)


@pytest.mark.slow
def test_the_spread_file_through_every_subcommand(capsys, tmp_path):
    """examples/specs/spread.toml through the CLI: threshold and optimum on both sides of
    alpha_c, regimes, formula, spec show, guide, export, phase (npz and PNG) and crosscheck."""
    import json
    from pathlib import Path

    from ssem_symbolic.cli import main

    spec = str(Path(__file__).parents[2] / "examples" / "specs" / "spread.toml")
    batch = ["--classes", "3", "--per-class", "4"]

    def run(*argv):
        assert main(list(argv)) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    a_c = json.loads(run("threshold", "--loss", spec, *batch, "--tau", "0.5", "--json"))
    assert a_c["alpha_c"] == pytest.approx(float(alpha_c_value(SPREAD, 3, 4, 2, 0.5)))
    for delta, collapsed in ((-1e-6, True), (1e-6, False)):
        out = json.loads(run("optimum", "--loss", spec, *batch, "--alpha",
                             repr(a_c["alpha_c"] + delta), "--tau", "0.5", "--json"))
        assert out["collapsed"] is collapsed
    assert "class collapse" in run("regimes", "--loss", spec, *batch, "--tau", "0.5")
    assert "alpha_c(tau) =" in run("formula", "--loss", spec)
    assert "den_self = view + class" in run("spec", "show", spec)
    assert "collapse" in run("guide", "--loss", spec, *batch, "--tau", "0.5",
                             "--target-within", "0.1")
    run("export", "--loss", spec, "--format", "json", "--out", str(tmp_path / "s.json"))
    assert json.loads((tmp_path / "s.json").read_text())["loss"] == "spread"
    run("phase", "--loss", spec, *batch, "--alpha-grid", "0:1:11", "--tau-grid", "0.1:2:7",
        "--out", str(tmp_path / "m.npz"))
    npz = np.load(tmp_path / "m.npz")
    assert (tmp_path / "m.png").exists() and npz["beta"][0, -1] == 1.0  # alpha 0 collapses
    out = tmp_path / "cc"
    result = json.loads(run("crosscheck", "--tiny", "--loss", spec, "--json", "--out",
                            str(out)))
    assert result["verdicts"].get("agrees", 0) > 0 and "disagrees" not in result["verdicts"]


#: each term weighs its own denominator: the supervised one counts other classes twice, the
#: class-conditional self-supervised one its class pairs by 1/2
PER_TERM_WEIGHTS = LossSpec(
    "spread-weighted", {"sup": ["view", "class", "other"], "self": ["view", "class"]},
    ["view", "class"], ["view"], "anchors",
    pair_weights={"denominator": {"sup": {"other": 2}, "self": {"class": "1/2"}}})
#: one set of types, weighed differently by the two terms: two denominators all the same
SAME_TYPES = LossSpec(
    "half-class-in-sup", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
    pair_weights={"denominator": {"sup": {"class": "1/2"}}})


def test_per_term_denominator_weights_are_canonical_and_read_from_a_file(tmp_path):
    from ssem_symbolic.spec import PRESETS

    assert PER_TERM_WEIGHTS.den_weight("sup", "other") == 2
    assert PER_TERM_WEIGHTS.den_weight("self", "class") == sp.Rational(1, 2)
    assert PER_TERM_WEIGHTS.den_weight("sup", "class") == 1
    assert len(SAME_TYPES.denominators()) == 2  # same types, different weights
    with pytest.raises(ValueError, match="den_weight"):
        SAME_TYPES.pair_weight("denominator", "class")
    # per-term weights that agree wherever both terms hold the type are the shared form
    shared = LossSpec("s", SPREAD.denominator, SPREAD.sup, SPREAD.self_, "anchors",
                      pair_weights={"denominator": {"class": "1/2"}})
    same = LossSpec("t", SPREAD.denominator, SPREAD.sup, SPREAD.self_, "anchors",
                    pair_weights={"denominator": {"sup": {"class": "1/2"},
                                                  "self": {"class": "1/2"}}})
    assert same == shared and same.pair_weights == (("denominator", "class", sp.Rational(1, 2)),)
    # a zero removes the type from that term's denominator only
    cut = LossSpec("c", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
                   pair_weights={"denominator": {"self": {"other": 0}}})
    assert cut.denominator_of("self") == ("view", "class")
    assert cut.denominator_of("sup") == ("view", "class", "other")
    assert SAME_TYPES != PRESETS["supcon"] and SAME_TYPES.key() != PER_TERM_WEIGHTS.key()
    for spec in (PER_TERM_WEIGHTS, SAME_TYPES):
        path = tmp_path / f"{spec.name}.toml"
        path.write_text(to_toml(spec))
        assert load_spec(path) == spec
    with pytest.raises(UnsupportedConvention, match="not in the self denominator"):
        LossSpec("b", SPREAD.denominator, SPREAD.sup, SPREAD.self_, "anchors",
                 pair_weights={"denominator": {"self": {"other": 2}}})
    with pytest.raises(UnsupportedConvention, match="keys sup and self"):
        LossSpec("b", SPREAD.denominator, SPREAD.sup, SPREAD.self_, "anchors",
                 pair_weights={"denominator": {"both": {"other": 2}}})


@pytest.mark.parametrize("spec", [PER_TERM_WEIGHTS, SAME_TYPES], ids=lambda s: s.name)
@pytest.mark.parametrize("alpha, tau", [(0.3, 0.5), (0.8, 0.1)])
def test_per_term_denominator_weights_torch_loss_is_the_per_pair_reference(spec, alpha, tau):
    from helpers.references import loss_of_embeddings

    gen = torch.Generator().manual_seed(6)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(len(labels), 2, 5, generator=gen, dtype=torch.float64)
    want = loss_of_embeddings(z, labels, alpha, tau, spec)
    assert float(SupCLLoss(alpha, tau, spec)(z, labels)) == pytest.approx(want, rel=1e-12)
    assert float(SupCLLoss(alpha, tau, spec, chunk_size=3)(z, labels)) == pytest.approx(
        want, rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("spec", [PER_TERM_WEIGHTS, SAME_TYPES], ids=lambda s: s.name)
def test_per_term_denominator_weights_f_beta_star_threshold_and_optimum(spec):
    check_f_on_ssem_vectors(spec, 0.4, 0.3)
    derive(spec)
    for a, t in (("0.1", "0.5"), ("0.5", "0.3"), ("0.9", "0.2")):
        b = float(optimal_beta(spec, 3, 4, 2, a, t))
        assert abs(b - beta_by_scan(spec, 3, 4, 2, a, t)) <= 1 / 2000
        assert collapses(spec, 3, 4, 2, a, t) == (b == 1.0)
    for alpha, tau in ((0.1, 0.5), (0.7, 0.3)):
        opt = optimum(spec, Batch.balanced(3, 2, 2), alpha, tau)
        run = minimise(spec, 3, 2, 2, alpha, tau, seed=2)
        assert run.loss == pytest.approx(opt.loss_value, abs=1e-7)
        assert run.variances["within"] == pytest.approx(opt.within_class_variance, abs=1e-4)
        cert = certify_ssem(spec, 3, 2, 2, alpha, tau)
        if cert.valid:
            assert opt.loss_value == pytest.approx(
                float(loss_value(spec, 3, 2, 2, alpha, tau, cert.beta)), abs=1e-12)


@pytest.mark.parametrize("spec", [PER_TERM_WEIGHTS, SAME_TYPES], ids=lambda s: s.name)
def test_per_term_denominator_weights_imbalanced_against_free_unit_vectors(spec):
    check_imbalanced(spec, (4, 2), "0.4", "0.5", loss_abs=1e-7, variance_abs=1e-3)
