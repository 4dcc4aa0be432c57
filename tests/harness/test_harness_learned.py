"""Free embeddings that learn tau with Adam (CLIP's logit scale, clamped), judged against the
joint optimum over the embeddings and tau."""

import pytest
import torch

from ssem_symbolic.harness.crosscheck import record, refine_group
from ssem_symbolic.harness.sweep import default_plan, execute
from ssem_symbolic.harness.train import TrainConfig, train_free_learned
from ssem_symbolic.spec import PRESETS
from ssem_symbolic.ssem import alpha_c_value


def _configs(alphas, steps=1500):
    return [TrainConfig("free", "paper", a, 0.5, 3, 2, 2, 12, steps, clamp=0.1) for a in alphas]


def test_a_learned_tau_is_part_of_the_key_and_record_only_when_set():
    plain = TrainConfig("free", "paper", 0.3, 0.5, 3, 2, 2, 12, 100)
    learned = TrainConfig("free", "paper", 0.3, 0.5, 3, 2, 2, 12, 100, clamp=0.1)
    assert "clamp" not in plain.key() and "clamp" not in plain.as_record()
    assert "clamp=0.1" in learned.key() and learned.as_record()["clamp"] == 0.1
    assert plain.group() != learned.group()  # they never train in one tensor program
    for bad in (dict(clamp=0.0), dict(clamp=0.1, trainer="gaussian")):
        with pytest.raises(ValueError, match="learnable temperature"):
            TrainConfig(bad.pop("trainer", "free"), "paper", 0.3, 0.5, clamp=bad["clamp"])


@pytest.mark.slow
def test_free_runs_that_learn_tau_agree_with_the_joint_optimum():
    """paper, 3 x 2 x 2, clamp 0.1, on both sides of alpha_c(0.1) = 0.5: Adam leaves tau above
    the clamp (the loss is nearly flat in tau there); the finish (Newton at the trainer's tau
    and at the clamp, the lower loss kept) lands on the clamp, where the within-class variance
    and the view similarity agree with the joint optimum and the loss is not below it."""
    torch.set_num_threads(1)
    recs = execute("free", _configs([0.4, 0.6]), "cpu", True)
    for rec, collapsed in zip(recs, (True, False)):
        meas, pred = rec["measured"], rec["predicted"]
        assert rec["verdict"] == "agrees", rec["note"]
        assert pred["model"] == "global-learned-tau" and pred["at_clamp"] and pred["tau"] == 0.1
        assert meas["tau"] == 0.1 and meas["trainer_tau"] > 0.1
        assert meas["loss_gap"] >= -meas["resolution"]
        assert (pred["regime"] == "collapse") is collapsed
        assert "from" in rec["note"] and "where the trainer left it" in rec["note"]


def test_a_learned_tau_away_from_the_prediction_is_not_judged():
    """Newton's finish at tau = 0.3 (not the predicted tau* = 0.1) is above the joint minimum:
    the record says it is not judged, rather than comparing geometries at two temperatures."""
    torch.set_num_threads(1)
    configs = _configs([0.6], steps=300)
    z, labels, _ = train_free_learned(configs)
    refined = refine_group(configs, z, labels, [0.3])
    rec = record(configs[0], z[0], labels, refined=refined[0], tau=0.3)
    assert rec["verdict"] == "unconverged" and "not the predicted tau* = 0.1" in rec["note"]
    assert rec["measured"]["loss_gap"] > 0
    with pytest.raises(ValueError, match="learned tau"):
        record(configs[0], z[0], labels)


@pytest.mark.slow
def test_the_quick_plan_straddles_alpha_c_at_the_clamp_with_learned_runs():
    plan = default_plan(tuple(PRESETS.values()), "quick")
    learned = [c for c in plan.points if c.clamp is not None]
    a_c = float(alpha_c_value("paper", 3, 4, 2, "0.1"))
    assert [c.loss.name for c in learned] == ["paper", "paper"]
    assert [c.alpha for c in learned] == [round(a_c - 0.1, 4), round(a_c + 0.1, 4)]
    assert all(c.clamp == 0.1 and c.tau == 0.5 for c in learned)
    assert not [c for c in default_plan(tuple(PRESETS.values()), "tiny").points
                if c.clamp is not None]
