"""The guide: thresholds, the alpha (or tau) for a target variance, warnings, the CLI."""

import json

import pytest

from ssem_symbolic.cli import main

from ssem_symbolic.setting import Batch
from ssem_symbolic.ssem import alpha_c_value, optimal_beta, tau_c_value
from ssem_symbolic.cli import guide_lines, guide_warnings
from ssem_symbolic.report import balanced_batch, guide
from ssem_symbolic.setting import Dataset


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("tau, target", [(0.5, 0.1), (0.1, 0.3), (1.0, 0.05)])
def test_recommended_alpha_gives_the_target_variance(loss, tau, target):
    g = guide(loss, Batch.balanced(10, 8, 2), tau=tau, target_within=target)
    assert g["alpha_c"] == pytest.approx(float(alpha_c_value(loss, 10, 8, 2, tau)), rel=1e-12)
    within = 1 - float(optimal_beta(loss, 10, 8, 2, g["alpha"], tau))
    assert within == pytest.approx(target, abs=1e-6)
    assert g["alpha"] > g["alpha_c"]


def test_recommended_taus_give_the_target_variance():
    g = guide("supcon", Batch.balanced(32, 8, 2), alpha=0.5, target_within=0.2)
    assert len(g["tau_solutions"]) == 2  # not monotone in tau: two temperatures
    for t in g["tau_solutions"]:
        assert 1 - float(optimal_beta("supcon", 32, 8, 2, 0.5, t)) == pytest.approx(0.2, abs=1e-6)
    assert g["tau_c"] == pytest.approx(float(tau_c_value("supcon", 32, 8, 2, 0.5)), rel=1e-12)


def test_warnings():
    """The guide returns its warnings as data (a kind and its numbers); the CLI words them."""
    g = guide("paper", Batch.balanced(3, 4, 2), tau=0.5)
    assert {"kind": "every_tau_collapses_below", "alpha": "1/4"} in g["warnings"]
    assert any("1/4" in w and "every temperature" in w for w in guide_warnings(g))
    g = guide("paper", Batch.balanced(3, 4, 2), alpha=0.6)
    (w,) = [w for w in g["warnings"] if w["kind"] == "not_monotone_in_tau"]
    assert w["alpha"] == 0.6 and 0 < w["peak"] < 1 and 1e-3 < w["near_tau"] < 100
    assert any("not monotone in tau" in w for w in guide_warnings(g))
    g = guide("supcon-split", Batch.balanced(3, 4, 2), tau=0.5)
    assert any("not the optimum" in w for w in guide_warnings(g))
    g = guide("supcon", Batch.balanced(3, 4, 2), tau=0.5)
    assert not any(w["kind"] == "every_tau_collapses_below" for w in g["warnings"])


def test_the_guide_carries_no_words():
    """Every value of a guide's result is a number, a list, a kind or a name: no sentences."""
    for g in (guide("paper", Batch.balanced(3, 4, 2), tau=0.5, target_within=0.1),
              guide("supcon", Batch.balanced(3, 4, 2), alpha=0.5, target_within=0.2)):
        texts = [v for f in g["findings"] + g["warnings"] for v in f.values()
                 if isinstance(v, str)]
        assert all(" " not in t for t in texts), texts
        assert len(guide_lines(g)) == len(g["findings"]) >= 2


def test_out_of_reach_and_bad_input():
    with pytest.raises(ValueError, match="out of reach"):
        guide("paper", Batch.balanced(3, 4, 2), tau=0.5, target_within=0.95)
    with pytest.raises(ValueError):
        guide("paper", Batch.balanced(3, 4, 2), tau=0.5, alpha=0.3)
    with pytest.raises(ValueError, match="multiple"):
        balanced_batch(250, 32)
    assert balanced_batch(256, 32) == (32, 8)


def test_cli_json_keys(capsys):
    assert main(["guide", "--loss", "paper", "--classes", "3", "--per-class", "4", "--tau",
                 "0.5", "--target-within", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"alpha_c", "alpha"}
    assert main(["guide", "--loss", "paper", "--batch-size", "32", "--num-classes", "4",
                 "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alpha_c"] == pytest.approx(float(alpha_c_value("paper", 4, 8, 2, 0.5)))
    assert "alpha" not in out
    assert main(["guide", "--loss", "paper", "--classes", "3", "--per-class", "4", "--alpha",
                 "0.6", "--target-within", "0.1", "--json"]) == 0
    assert "tau" in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("argv", [
    ["--classes", "3", "--tau", "0.5"],
    ["--batch-size", "12", "--num-classes", "0", "--tau", "0.5"],
    ["--classes", "3", "--per-class", "4", "--batch-size", "8", "--num-classes", "2", "--tau", "1"],
    ["--classes", "3", "--per-class", "4", "--tau", "0.5", "--target-within", "1.5"],
    ["--classes", "3", "--per-class", "4", "--tau", "-1"],
])
def test_cli_bad_input_one_line(argv, capsys):
    assert main(["guide", "--loss", "paper", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ssem: error:") and "\n" not in err


def test_zero_target_at_fixed_alpha_is_every_tau_from_tau_c(capsys):
    out = guide("paper", Batch.balanced(3, 4, 2), alpha=0.5, target_within=0)
    t_c = float(tau_c_value("paper", 3, 4, 2, 0.5))
    assert out["tau"] == t_c and out["tau_solutions"] == [t_c]
    assert round(t_c, 4) == 0.7708
    assert "Every tau >= 0.770848" in " ".join(guide_lines(out))
    below = guide("paper", Batch.balanced(3, 4, 2), alpha=0.2, target_within=0)  # below 1/k
    assert below["tau"] == 0.0



def test_a_target_no_double_alpha_reaches_is_refused_not_answered():
    # at tau = 1e-4 (paper, 3 x 4) the variance is O(tau) below alpha = 1 and 0.818 at 1
    with pytest.raises(ValueError, match="adjacent doubles"):
        guide("paper", Batch.balanced(3, 4, 2), tau=1e-4, target_within=0.1)
    a = guide("paper", Batch.balanced(3, 4, 2), tau=0.5, target_within=0.1)["alpha"]
    assert abs(float(1 - optimal_beta("paper", 3, 4, 2, a, 0.5)) - 0.1) < 1e-7


def test_world_size_multiplies_the_per_rank_batch(capsys):
    argv = ["guide", "--loss", "supcon", "--num-classes", "32", "--alpha", "0.5", "--json"]
    assert main([*argv, "--batch-size", "64", "--world-size", "4"]) == 0
    gathered = json.loads(capsys.readouterr().out)
    assert main([*argv, "--batch-size", "256"]) == 0
    assert gathered == json.loads(capsys.readouterr().out)  # 4 ranks x 64 = one batch of 256
    assert main(["guide", "--loss", "paper", "--classes", "3", "--per-class", "4", "--tau", "1",
                 "--world-size", "2"]) == 2
    assert "--world-size goes with --batch-size" in capsys.readouterr().err


@pytest.mark.slow
def test_guide_with_class_sizes_gives_per_class_alpha_and_the_target_alpha(capsys):
    """The per-class ends and the alpha for a size-weighted target, checked against the
    imbalanced optimum on both sides."""
    import json

    from ssem_symbolic.cli import main
    from ssem_symbolic.optimum import optimum

    assert main(["guide", "--loss", "supcon", "--class-sizes", "4,2", "--tau", "0.5",
                 "--target-within", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for i, end in enumerate(out["alpha_c_per_class"]):
        below = optimum("supcon", Batch((4, 2), 2), f"{end - 1e-6:.9f}", "0.5")
        above = optimum("supcon", Batch((4, 2), 2), f"{end + 1e-6:.9f}", "0.5")
        assert below.per_class[i]["collapsed"] and not above.per_class[i]["collapsed"]
    got = optimum("supcon", Batch((4, 2), 2), f"{out['alpha']:.10f}", "0.5")
    # the size-weighted variance, recomputed from the per-class ones
    weighted = sum(c["size"] * c["within_class_variance"] for c in got.per_class) / 6
    assert abs(weighted - 0.2) < 1e-7


def test_tau_alpha_and_the_target_are_keywords_only():
    now = guide("paper", Batch.balanced(3, 4, 2), tau=0.5, target_within=0.1)
    assert 0 < now["alpha"] <= 1
    with pytest.raises(TypeError):
        guide("paper", Batch.balanced(3, 4, 2), 0.5, None, 0.1)
    with pytest.raises(TypeError):
        guide("supcon", Batch((3, 2)), 0.5, 0.5)


@pytest.mark.slow
def test_the_guide_answers_every_question_for_uniformly_drawn_batches(capsys):
    """Batch 30 from 4 classes (not a multiple: an ordinary DataLoader) at alpha, and a target
    within-class variance at tau: the answers, checked against the dataset-level optimum of the
    uniform sampler at the alpha and tau they give."""
    from ssem_symbolic.optimum import optimum
    from ssem_symbolic.setting import uniform

    assert main(["guide", "--loss", "paper", "--batch-size", "30", "--num-classes", "4",
                 "--tau", "0.5", "--target-within", "0.3", "--json"]) == 0
    a = json.loads(capsys.readouterr().out)["alpha_for_target"]
    got = optimum("paper", Dataset(4, None, 2, uniform(30)), a, "0.5").within_class_variance
    assert got == pytest.approx(0.3, abs=1e-4)
    assert main(["guide", "--loss", "paper", "--batch-size", "30", "--num-classes", "4",
                 "--alpha", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (t_c,) = out["tau_c"]
    below = optimum("paper", Dataset(4, None, 2, uniform(30)), "0.5", t_c * 0.99)
    above = optimum("paper", Dataset(4, None, 2, uniform(30)), "0.5", t_c * 1.01)
    assert below.collapsed != above.collapsed


def test_the_guide_is_one_result_type_whose_json_is_a_copy():
    """guide() returns a Guide (the same type for every setting, as guide() wraps every
    family's values once): its values by key, findings and warnings as records (a kind, no
    prose), and as_dict() a deep copy (changing it leaves the guide)."""
    from ssem_symbolic.report import Guide

    for setting in (Batch.balanced(3, 4, 2), Batch.balanced(2, 2, 2)):
        g = guide("paper", setting, tau=0.5)
        assert isinstance(g, Guide)
        d = g.as_dict()
        assert dict(g) == d and all(isinstance(f["kind"], str) for f in g.findings)
        d["findings"].append({"kind": "x"})
        d["loss"] = "other"
        assert g["loss"] == "paper" and {"kind": "x"} not in g.findings
