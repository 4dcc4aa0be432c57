"""A temperature per pair type (the spec's ``temperatures``: tau_t = ratio x tau): the exact
optimum, its regimes and thresholds against brute force over free unit vectors on a per-pair
loss written in the tests (tests/helpers/references.py), and the refusals of the layers that
take one temperature."""

import json

import pytest
import torch

from helpers.cli import exit_status
from helpers.references import batch_loss, free_minimum, kinds_of, torch_batch_loss
from ssem_symbolic.cli import main
from ssem_symbolic.optimum import optimum, regimes, threshold
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import LossSpec, UnsupportedConvention, load_spec

SUPCON = dict(denominator=["view", "class", "other"], sup=["view", "class"], self_=["view"],
              mean="anchors")


def _spec(**temperatures) -> LossSpec:
    return LossSpec("t", **SUPCON, temperatures=temperatures)



def _brute(spec, sizes, p, alpha, tau, seeds=(0, 1)):
    """The best L-BFGS run over free unit vectors: (loss, mean similarity per pair type,
    within-class variance per class)."""
    inst = [i for i in range(sum(sizes)) for _ in range(p)]
    labels = [c for c, k in enumerate(sizes) for _ in range(k * p)]
    kinds = kinds_of(inst, labels)
    loss, X = free_minimum(lambda S: torch_batch_loss(spec, kinds, S, alpha, tau), len(inst),
                           seeds)
    S = X @ X.T
    sims = {t: float(S[torch.tensor([[x == t for x in row] for row in kinds])].mean())
            for t in ("view", "class", "other")}
    lab = torch.tensor(labels)
    return loss, sims, [float(1 - X[lab == c].mean(0).norm() ** 2) for c in range(len(sizes))]


def test_the_field_is_data_canonical_and_read_from_a_file(tmp_path):
    spec = _spec(other="0.5", view=1)
    assert [(t, str(r)) for t, r in spec.temperatures] == [("other", "1/2")]
    assert spec.key().endswith("|temperatures:other=1/2") and spec != _spec()
    assert spec.canonical()["temperatures"] == {"other": "1/2"}
    assert spec.logit_factor("other") == 2 and spec.logit_factor("class") == 1
    path = tmp_path / "sharp.toml"
    path.write_text('mean = "anchors"\ndenominator = ["view", "class", "other"]\n'
                    'sup = ["view", "class"]\nself = ["view"]\ntemperatures = { other = "1/2" }\n')
    assert load_spec(path) == spec
    assert "temperatures" not in LossSpec("u", **SUPCON).key()


@pytest.mark.parametrize("temps, message", [
    ({"self": 2}, "self pair"), ({"neighbour": 2}, "take the pair types"),
    ({"other": 0}, "> 0"), ({"other": "x"}, "must be a number"),
    ({"other": 1e5}, "outside 1e-3 .. 1e3")])
def test_bad_temperatures_are_one_line_refusals(temps, message):
    with pytest.raises(UnsupportedConvention, match=message):
        _spec(**temps)
    with pytest.raises(UnsupportedConvention, match="never sees"):
        LossSpec("d", ["view", "class"], ["class"], ["view"], "anchors",
                 temperatures={"other": 2})
    with pytest.raises(UnsupportedConvention, match="softmax form"):
        LossSpec("s", ["view", "class", "other"], ["view", "class"], ["view"], "anchors",
                 form="sigmoid", temperatures={"other": 2})


def test_the_torch_reference_is_the_per_pair_reference():
    """helpers.references: the torch loss with a temperature per pair type equals the plain
    per-pair one (each pair's logit s_ab / (ratio x tau)) to 1e-12."""
    inst = [i for i in range(6) for _ in range(2)]
    kinds = kinds_of(inst, [i // 2 for i in inst])
    X = torch.nn.functional.normalize(torch.randn(12, 12, dtype=torch.float64,
                                                  generator=torch.Generator().manual_seed(1)),
                                      dim=1)
    S = X @ X.T
    spec = _spec(other="1/2", view=3)
    assert float(torch_batch_loss(spec, kinds, S, 0.3, 0.4)) == pytest.approx(
        batch_loss(spec, kinds, S.tolist(), 0.3, 0.4), abs=1e-12)
    assert batch_loss(spec, kinds, S.tolist(), 0.3, 0.4) != pytest.approx(
        batch_loss(_spec(), kinds, S.tolist(), 0.3, 0.4), abs=1e-3)


#: (temperatures, tau, alpha): both sides of each alpha_c (other 1/2 at tau 1: 0.464;
#: class 2, other 1/2: 0.941; view 1/2: 0.642), ten points
POINTS = [({"other": "1/2"}, "1", a) for a in ("0.2", "0.4", "0.5", "0.7", "1")] + \
         [({"class": "2", "other": "1/2"}, "1", a) for a in ("0.5", "0.9", "0.98")] + \
         [({"view": "1/2"}, "1", a) for a in ("0.6", "0.7")]


@pytest.mark.slow
@pytest.mark.parametrize("temps, tau, alpha", POINTS)
def test_the_optimum_against_brute_force(temps, tau, alpha):
    """3 x 2 x 2: the exact optimum's loss (1e-6), similarities per pair type (1e-3) and
    within-class variance (1e-3) against the best of two L-BFGS runs over free unit vectors,
    which never goes below it."""
    torch.set_num_threads(1)
    spec = _spec(**temps)
    opt = optimum(spec, Batch.balanced(3, 2, 2), alpha, tau)
    loss, sims, within = _brute(spec, (2, 2, 2), 2, float(alpha), float(tau))
    assert loss >= opt.loss_value - 1e-9 and loss == pytest.approx(opt.loss_value, abs=1e-6)
    for t, want in (("view", opt.view), ("class", opt.class_), ("other", opt.other)):
        assert sims[t] == pytest.approx(want, abs=1e-3), t
    assert sum(within) / 3 == pytest.approx(opt.within_class_variance, abs=1e-3)


def test_one_point_against_brute_force_in_the_fast_tier():
    torch.set_num_threads(1)
    spec = _spec(other="1/2")
    opt = optimum(spec, Batch.balanced(3, 2, 2), "0.7", "1")
    loss, sims, _ = _brute(spec, (2, 2, 2), 2, 0.7, 1.0, seeds=(0,))
    assert loss == pytest.approx(opt.loss_value, abs=1e-6)
    assert sims["class"] == pytest.approx(opt.class_, abs=1e-3)
    plain = optimum(_spec(), Batch.balanced(3, 2, 2), "0.7", "1")
    assert abs(plain.class_ - opt.class_) > 0.01  # the field changes the answer


@pytest.mark.slow
def test_unequal_sizes_against_brute_force():
    """Sizes (3, 2), p = 2, other pairs at tau / 2: each class's within-class variance (1e-3)
    and the loss (1e-6) of the size-group solver."""
    torch.set_num_threads(1)
    spec = _spec(other="1/2")
    for alpha in ("0.3", "0.8"):
        opt = optimum(spec, Batch((3, 2), 2), alpha, "1")
        loss, _, within = _brute(spec, (3, 2), 2, float(alpha), 1.0)
        assert loss >= opt.loss_value - 1e-9 and loss == pytest.approx(opt.loss_value, abs=1e-6)
        for w, c in zip(within, opt.per_class):
            assert w == pytest.approx(c["within_class_variance"], abs=1e-3)


@pytest.mark.slow
def test_the_threshold_is_where_the_optimum_stops_collapsing():
    """No closed form on SSEM: alpha_c is bisected on the optimum's collapse. It matches the
    regime scan's boundary, and the optimum just below it collapses, just above it does not;
    tau_c at alpha = 0.3 is a change of collapse along tau, checked the same way."""
    spec = _spec(other="1/2")
    batch = Batch.balanced(3, 2, 2)
    th = threshold(spec, batch, tau="1")
    assert th.collapse_when == "alpha <= alpha_c"
    (b,) = regimes(spec, batch, tau="1").boundaries
    assert th.alpha_c == pytest.approx(b.at, abs=1e-9)
    assert optimum(spec, batch, repr(th.alpha_c - 1e-6), "1").collapsed
    assert not optimum(spec, batch, repr(th.alpha_c + 1e-6), "1").collapsed
    tc = threshold(spec, batch, alpha="0.3")
    assert tc.collapse_when == "tau >= tau_c"
    assert optimum(spec, batch, "0.3", repr(tc.tau_c * 1.001)).collapsed
    assert not optimum(spec, batch, "0.3", repr(tc.tau_c * 0.999)).collapsed


@pytest.mark.slow
def test_both_sides_of_the_threshold_by_brute_force():
    torch.set_num_threads(1)
    spec = _spec(other="1/2")
    a_c = threshold(spec, Batch.balanced(3, 2, 2), tau="1").alpha_c
    for alpha, collapsed in ((a_c - 0.03, True), (a_c + 0.03, False)):
        _, _, within = _brute(spec, (2, 2, 2), 2, alpha, 1.0)
        assert (max(within) < 1e-4) is collapsed


@pytest.mark.slow
def test_cli_takes_the_field_where_it_can_and_refuses_in_one_line(tmp_path, capsys):
    path = tmp_path / "sharp.toml"
    path.write_text('name = "sharp-other"\nmean = "anchors"\n'
                    'denominator = ["view", "class", "other"]\nsup = ["view", "class"]\n'
                    'self = ["view"]\ntemperatures = { other = "1/2" }\n')
    batch = ["--loss", str(path), "--classes", "3", "--per-class", "2"]
    assert main(["threshold", *batch, "--tau", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alpha_c"] == pytest.approx(
        threshold(load_spec(path), Batch.balanced(3, 2, 2), tau="1").alpha_c, abs=1e-12)
    assert main(["threshold", *batch, "--tau", "1"]) == 0
    assert "no closed form on SSEM" in capsys.readouterr().out
    assert main(["optimum", *batch, "--alpha", "0.7", "--tau", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["class_similarity"] == pytest.approx(
        optimum(load_spec(path), Batch.balanced(3, 2, 2), "0.7", "1").class_, abs=1e-12)
    for argv in (["guide", *batch, "--tau", "1"],
                 ["phase", *batch, "--alpha-grid", "0:1:3", "--tau-grid", "0.5:1:3",
                  "--out", str(tmp_path / "p.npz")],
                 ["formula", "--loss", str(path)]):
        rc = exit_status(argv)
        err = capsys.readouterr().err
        assert rc != 0 and "temperature per pair type" in err, argv
        assert len(err.strip().splitlines()) == 1, argv
    assert not (tmp_path / "p.npz").exists()


def test_the_reduced_loss_of_the_dynamics_takes_the_temperatures():
    """forms.reduced_loss (what ssem dynamics differentiates) at a symmetric Gram matrix
    equals the per-pair loss there, with other pairs at tau / 2."""
    import sympy as sp

    from ssem_symbolic.forms import reduced_loss
    from ssem_symbolic.setting import ClassSizes

    spec = _spec(other="1/2", view=3)
    phi = reduced_loss(spec, ClassSizes((2, 2, 2)), 2)
    v, c, o, alpha, tau = 0.9, 0.3, -0.2, 0.4, 0.7
    at = {sp.Symbol("v[0]", real=True): v, sp.Symbol("s[0]", real=True): c,
          sp.Symbol("o[0,0]", real=True): o}
    value = float(phi.subs({s_: at[s_] for s_ in phi.free_symbols if s_ in at}).subs(
        {s_: alpha for s_ in phi.free_symbols if s_.name == "alpha"}).subs(
        {s_: tau for s_ in phi.free_symbols if s_.name == "tau"}))
    inst = [i for i in range(6) for _ in range(2)]
    kinds = kinds_of(inst, [i // 2 for i in inst])
    sims = [[{"self": 1.0, "view": v, "class": c, "other": o}[t] for t in row] for row in kinds]
    assert value == pytest.approx(batch_loss(spec, kinds, sims, alpha, tau), abs=1e-12)
