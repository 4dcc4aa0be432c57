"""Hard-negative weighting (Robinson et al. 2021): the best symmetric point found by branch
and bound, against brute force over free unit vectors on the authors' per-pair loss (written in
tests/helpers/references.py); SupCLLoss against the same reference."""

import json

import pytest
import torch

from helpers.cli import exit_status
from helpers.references import (free_minimum, from_embeddings, hard_negative_loss, kinds_of,
                                torch_hard_negative_loss)
from ssem_symbolic.cli import main
from ssem_symbolic.loss import SupCLLoss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import LossSpec, UnsupportedConvention, load_spec

PAIRS = dict(denominator=["view", "class", "other"], sup=["view", "class"], self_=["view"],
             mean="anchors")


def _spec(beta=1, **kw) -> LossSpec:
    return LossSpec("hcl", **{**PAIRS, **kw}, hard_negatives=beta)



def _brute(spec, m, k, p, alpha, tau, seeds=(0, 1)):
    """The best L-BFGS run over free unit vectors on the per-pair loss: (loss, within)."""
    inst = [i for i in range(m * k) for _ in range(p)]
    kinds = kinds_of(inst, [i // k for i in inst])
    loss, X = free_minimum(lambda S: torch_hard_negative_loss(spec, kinds, S, alpha, tau),
                           len(inst), seeds)
    return loss, float(1 - (X.reshape(m, k * p, -1).mean(1).norm(dim=-1) ** 2).mean())


def test_the_field_is_data_and_refuses_what_it_cannot_take(tmp_path):
    spec = _spec("1/2")
    assert str(spec.hard_negatives) == "1/2" and spec.key().endswith("|hard_negatives:1/2")
    assert spec.canonical()["hard_negatives"] == "1/2" and spec != _spec(0)
    assert "hard_negatives" not in _spec(0).key()
    path = tmp_path / "h.toml"
    path.write_text('mean = "anchors"\ndenominator = ["view", "class", "other"]\n'
                    'sup = ["view", "class"]\nself = ["view"]\nhard_negatives = "1/2"\n')
    assert load_spec(path) == spec
    for kw, message in ((dict(beta=-1), r"\[0, 100\]"), (dict(beta="x"), "must be a number"),
                        (dict(form="sigmoid"), "softmax form"),
                        (dict(pair_weights={"denominator": {"other": 2}}), "unweighted")):
        with pytest.raises(UnsupportedConvention, match=message):
            _spec(**kw)


def test_the_torch_reference_is_the_per_pair_reference():
    inst = [i for i in range(6) for _ in range(2)]
    kinds = kinds_of(inst, [i // 2 for i in inst])
    X = torch.nn.functional.normalize(torch.randn(12, 9, dtype=torch.float64,
                                                  generator=torch.Generator().manual_seed(2)),
                                      dim=1)
    S = X @ X.T
    spec = _spec(2)
    assert float(torch_hard_negative_loss(spec, kinds, S, 0.3, 0.4)) == pytest.approx(
        hard_negative_loss(spec, kinds, S.tolist(), 0.3, 0.4), abs=1e-12)


@pytest.mark.parametrize("beta", [0, 1, 3])
def test_supcl_loss_is_the_authors_loss(beta):
    """Value (1e-12) on unequal classes, and gradient (1e-10) against autograd through the
    per-pair reference; beta = 0 is the plain softmax form."""
    spec = _spec(beta)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(7, 2, 5, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(beta)).requires_grad_(True)
    kinds, sims = from_embeddings(z.detach(), labels)
    for alpha, tau in ((0.0, 0.5), (0.4, 0.2), (1.0, 1.0)):
        got = float(SupCLLoss(alpha, tau, spec)(z, labels).detach())
        assert got == pytest.approx(hard_negative_loss(spec, kinds, sims, alpha, tau), abs=1e-12)
    (g,) = torch.autograd.grad(SupCLLoss(0.4, 0.3, spec)(z, labels), z)
    x = torch.nn.functional.normalize(z.reshape(14, 5), dim=-1)
    (want,) = torch.autograd.grad(torch_hard_negative_loss(spec, kinds, x @ x.T, 0.4, 0.3), z)
    assert torch.allclose(g, want, rtol=0, atol=1e-10)


#: (alpha, tau, beta) on a 3 x 2 x 2 batch: ten points, collapsed and spread, beta 1 to 3
POINTS = [("0", "0.5", "3"), ("0.3", "0.5", "1"), ("0.5", "0.3", "2"), ("0.8", "0.5", "1"),
          ("1", "0.5", "1"), ("0.2", "1", "1"), ("0.6", "1", "2"), ("0.1", "0.3", "1"),
          ("0.4", "0.7", "3"), ("0.9", "0.3", "1")]


@pytest.mark.slow
@pytest.mark.parametrize("alpha, tau, beta", POINTS)
def test_no_brute_force_run_beats_the_best_point_and_the_bound_is_below_it(alpha, tau, beta):
    torch.set_num_threads(1)
    spec = _spec(beta)
    opt = optimum(spec, Batch.balanced(3, 2, 2), alpha, tau)
    loss, within = _brute(spec, 3, 2, 2, float(alpha), float(tau))
    assert opt.search.verdict == "best found"
    assert opt.search.lower_bound <= opt.loss_value + 1e-12
    assert loss >= opt.loss_value - 1e-9  # no run beats the reported point
    assert loss == pytest.approx(opt.loss_value, abs=1e-6)  # and the runs reach it
    lo, hi = opt.ranges.get("within_class_variance", (opt.within_class_variance,) * 2)
    assert lo - 1e-3 <= within <= hi + 1e-3


def test_one_point_in_the_fast_tier():
    torch.set_num_threads(1)
    spec = _spec(1)
    opt = optimum(spec, Batch.balanced(3, 2, 2), "0.3", "0.5")
    loss, within = _brute(spec, 3, 2, 2, 0.3, 0.5, seeds=(0,))
    assert loss == pytest.approx(opt.loss_value, abs=1e-6) and opt.search.polished
    assert within == pytest.approx(opt.within_class_variance, abs=1e-3)
    assert opt.as_dict()["verdict"] == "best found"
    plain = optimum(_spec(0), Batch.balanced(3, 2, 2), "0.3", "0.5")
    assert plain.as_dict()["verdict"] == "certified" and plain.search is None
    assert abs(plain.within_class_variance - opt.within_class_variance) > 0.01


def test_the_cli_says_best_found_and_refuses_the_rest_in_one_line(capsys):
    batch = ["--loss", "examples/data/hcl.toml", "--classes", "3", "--per-class", "2"]
    assert main(["optimum", *batch, "--alpha", "0.3", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "best found" and out["search"]["lower_bound"] <= out["loss_value"]
    assert main(["optimum", *batch, "--alpha", "0.3", "--tau", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "best found" in text and "Over all embeddings nothing is certified" in text
    for argv in (["threshold", *batch, "--tau", "0.5"], ["regimes", *batch, "--tau", "0.5"],
                 ["guide", *batch, "--tau", "0.5"], ["formula", "--loss", batch[1]],
                 ["optimum", "--loss", batch[1], "--class-sizes", "3,2", "--alpha", "0.3",
                  "--tau", "0.5"]):
        rc = exit_status(argv)
        err = capsys.readouterr().err
        assert rc != 0 and "hard negatives" in err and len(err.strip().splitlines()) == 1, argv


def test_supcl_loss_takes_each_terms_own_denominator():
    """A denominator per term (the self term's negatives: class mates only): the per-pair
    value, to 1e-12; tiled mode refuses in one line."""
    spec = LossSpec("hcl-split", {"sup": ["view", "class", "other"], "self": ["view", "class"]},
                    ["view", "class"], ["view"], "anchors", hard_negatives=2)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    z = torch.randn(7, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    kinds, sims = from_embeddings(z, labels)
    got = float(SupCLLoss(0.4, 0.3, spec)(z, labels))
    assert got == pytest.approx(hard_negative_loss(spec, kinds, sims, 0.4, 0.3), abs=1e-12)
    with pytest.raises(ValueError, match="tiled mode"):
        SupCLLoss(0.4, 0.3, spec, chunk_size=4)(z, labels)
