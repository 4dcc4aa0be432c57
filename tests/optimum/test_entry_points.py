"""One entry point per operation, over every setting: a balanced batch (the polyhedral fast
path), unequal class sizes (the size-group solver) and a dataset (its sampler's solver).

The balanced fast path and the size-group solver are two independent solvers of the same
problem on a batch of equal sizes: they must agree."""

from __future__ import annotations

import pytest

import ssem_symbolic as ss
from ssem_symbolic.optimum import optimum
from ssem_symbolic.optimum._imbalanced import _family_optimum
from ssem_symbolic.setting import ClassSizes
from ssem_symbolic.spec import get_spec
from ssem_symbolic.vocab import exact
from ssem_symbolic.setting import Batch, Dataset, balanced, uniform
from ssem_symbolic.ssem import alpha_c_value, tau_c_value

SIGMOID = "supervised-sigmoid"  # a shipped example spec, by name


@pytest.mark.parametrize("loss, alpha, tau", [
    ("spread", "0.9", "0.5"),  # the class means coincide: merged (the shortcut said no)
    ("paper", "0.3", "0.5"), ("paper", "0.05", "0.5"), ("supcon", "0.9", "0.2"),
    ("supcon-split", "0", "0.3"), ("supcon-split", "0.14", "0.3"), (SIGMOID, "0.3", "0.5"),
    ("dcl", "0.5", "0.5"),
])
def test_the_fast_path_agrees_with_the_size_group_solver_on_equal_sizes(loss, alpha, tau):
    fast = ss.optimum(loss, Batch.balanced(3, 4, 2), alpha, tau)
    general = _family_optimum(get_spec(loss), ClassSizes((4, 4, 4)), 2, exact(alpha), exact(tau),
                              30)  # the size-group solver itself, not its balanced shortcut
    assert fast.collapsed == general.collapsed
    assert fast.loss_value == pytest.approx(general.loss_value, abs=1e-9)
    for key in ("within_class_variance", "between_class_variance"):
        assert getattr(fast, key) == pytest.approx(getattr(general, key), abs=1e-9)
    assert len(fast.per_class) == len(general.per_class) == 3
    for a, b in zip(fast.per_class, general.per_class):
        assert a["size"] == b["size"] == 4 and a["collapsed"] == b["collapsed"]
        for key in ("within_class_variance", "view_similarity", "class_similarity"):
            assert a[key] == pytest.approx(b[key], abs=1e-9)
    assert fast.merged == general.merged


def test_the_same_batch_written_three_ways_is_one_setting():
    want = ss.optimum("paper", Batch.balanced(3, 4), "0.3", "0.5")
    for batch in (Batch((4, 4, 4)), Batch("3x4"), Batch("4,4,4", views=2)):
        assert ss.optimum("paper", batch, "0.3", "0.5") == want


def test_threshold_on_every_setting():
    th = ss.threshold("paper", Batch.balanced(3, 4), tau="0.5")
    assert th.as_dict() == {"alpha_c": float(alpha_c_value("paper", 3, 4, 2, "0.5"))}
    assert th.collapse_when == "alpha <= alpha_c"
    th = ss.threshold("supcon", Batch.balanced(10, 10), alpha="0.3")
    assert th.tau_c == float(tau_c_value("supcon", 10, 10, 2, "0.3"))
    # a dataset under a balanced sampler: its own number on top, one batch's beside it
    data = ss.threshold("paper", Dataset(3, 8, 2, balanced(3, 2)), tau="0.5").as_dict()
    assert set(data) == {"alpha_c", "per_batch"}
    assert data["per_batch"] == {"alpha_c": float(alpha_c_value("paper", 3, 2, 2, "0.5"))}
    below = ss.optimum("paper", Dataset(3, 8, 2, balanced(3, 2)),
                       f"{data['alpha_c'] - 1e-6:.9f}", "0.5")
    above = ss.optimum("paper", Dataset(3, 8, 2, balanced(3, 2)),
                       f"{data['alpha_c'] + 1e-6:.9f}", "0.5")
    assert below.collapsed and not above.collapsed


@pytest.mark.slow
def test_threshold_per_class_and_for_uniform_batches():
    th = ss.threshold("paper", Batch((5, 3, 2)), tau="0.5").as_dict()
    assert th["class_sizes"] == [5, 3, 2]
    first = th["alpha_c_per_class"][0]  # the largest class spreads first
    assert first < th["alpha_c_per_class"][1] < th["alpha_c_per_class"][2]
    assert not ss.optimum("paper", Batch((5, 3, 2)), f"{first + 1e-6:.9f}",
                          "0.5").per_class[0]["collapsed"]
    assert ss.optimum("paper", Batch((5, 3, 2)), f"{first - 1e-6:.9f}",
                      "0.5").per_class[0]["collapsed"]
    u = ss.threshold("supcon", Dataset(3, 8, 2, uniform(5)), tau="0.5").as_dict()
    assert u["per_batch"] is None  # no one batch stands for a uniform sampler


def test_settings_are_objects_checked_once():
    with pytest.raises(TypeError, match="a setting is a Batch, a Dataset, a Hierarchy or Paired"):
        ss.optimum("paper", (3, 4, 2), "0.3", "0.5")
    for both in ({"tau": "0.5", "alpha": "0.3"}, {}):
        with pytest.raises(ValueError, match="exactly one of tau"):
            ss.threshold("paper", Batch.balanced(3, 4), **both)
    with pytest.raises(ValueError, match="give tau"):
        ss.threshold("paper", Batch((5, 3, 2)), alpha="0.3")


@pytest.mark.slow
def test_regimes_on_a_batch_and_a_balanced_merge():
    r = ss.regimes("supcon-split", Batch.balanced(3, 4), tau="0.3")
    assert [round(b.at, 6) for b in r.boundaries] == [0.117939, 0.161546]
    # spread at alpha = 0.9: the class-conditional term pulls every class mean to the centroid;
    # the three means coincide, whichever path answers (the balanced shortcut of the
    # size-group solver used to say they did not, as it required collapse too)
    opt = ss.optimum("spread", Batch.balanced(3, 4), "0.9", "0.5")
    assert "between-class" in opt.active and opt.merged == ((0, 1, 2),)
    assert optimum("spread", Batch((4, 4, 4), 2), "0.9", "0.5").merged == ((0, 1, 2),)
