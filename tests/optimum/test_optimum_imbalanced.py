"""The imbalanced global optimum against brute force over free unit vectors (the per-pair
loss, L-BFGS, float64, d = the number of embeddings, two seeds): per-class within-class
variance within 1e-3, the loss within 1e-6, and per-class collapse on both sides of every
per-class threshold, for every preset. A balanced size vector reproduces the balanced solver."""

import json

import pytest

from helpers.brute import best_of_seeds
from ssem_symbolic.loss._bruteforce import minimise_sizes
from ssem_symbolic.cli import main
from ssem_symbolic.optimum import optimum
from ssem_symbolic.optimum import regimes
from ssem_symbolic.setting import ClassSizes
from ssem_symbolic.spec import PRESETS
from ssem_symbolic.setting import Batch

TAU = "0.5"


def _brute(name, sizes, a, t=TAU, seeds=(0, 1)):
    return best_of_seeds(name, sizes, a, t, seeds=seeds)


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("sizes, a", [((5, 3, 2), "0.3"), ((4, 2), "0.6"),
                                      ((6, 6, 2, 2), "0.45"), ((20, 2), "0.2")])
def test_per_class_variances_and_loss_match_brute_force(name, sizes, a):
    opt = optimum(name, Batch(sizes, 2), a, TAU)
    assert opt.decided
    ref = _brute(name, sizes, a)
    assert opt.loss_value == pytest.approx(ref.loss, abs=1e-6)
    assert opt.loss_value <= ref.loss + 1e-9  # the global minimum: no embedding does better
    for c, measured in zip(opt.per_class, ref.per_class_within):
        assert c["within_class_variance"] == pytest.approx(measured, abs=1e-3)
        assert c["collapsed"] == (measured < 1e-6)


def _collapse_end(name, sizes, i, lo=0.05, hi=1.0, steps=9):
    """Where class i stops being collapsed along alpha (bisection on the solver to 2e-3)."""
    def collapsed(a):
        return optimum(name, Batch(sizes, 2), f"{a:.6f}", TAU).per_class[i]["collapsed"]
    assert collapsed(lo) and not collapsed(hi)
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if collapsed(mid) else (lo, mid)
    return (lo + hi) / 2


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PRESETS))
def test_per_class_collapse_matches_brute_force_on_both_sides_of_each_threshold(name):
    sizes = (5, 3, 2)
    ends = [_collapse_end(name, sizes, i) for i in range(3)]
    # the larger a class, the earlier it stops being collapsed (at tau = 0.5)
    assert ends[0] < ends[1] < ends[2]
    for i, end in enumerate(ends):
        for a, expect in ((end - 0.02, True), (end + 0.02, False)):
            ref = _brute(name, sizes, f"{a:.6f}", seeds=(0,))
            assert (ref.per_class_within[i] < 1e-6) is expect, (i, a, ref.per_class_within)


@pytest.mark.slow
def test_the_regime_scan_finds_the_per_class_thresholds():
    r = regimes("paper", Batch("5,3,2", 2), tau=TAU, tol=1e-6, points=11)
    ends = [r.threshold(i) for i in range(3)]
    for i, end in enumerate(ends):
        a = f"{end - 1e-4:.8f}", f"{end + 1e-4:.8f}"
        below, above = (optimum("paper", Batch("5,3,2", 2), x, TAU) for x in a)
        assert below.per_class[i]["collapsed"] and not above.per_class[i]["collapsed"]
        assert r.collapsed_at_ends[i] == (True, False) and r.collapse_changes[i] == (end,)
    assert len({round(e, 6) for e in ends}) == 3


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("a, t", [("0.1", "0.5"), ("0.7", "0.3"), ("0.4", "2")])
def test_a_balanced_size_vector_reproduces_the_balanced_optimum(name, a, t):
    balanced = optimum(name, Batch.balanced(3, 4, 2), a, t)
    imb = optimum(name, Batch((4, 4, 4), 2), a, t)
    assert imb.loss_value == balanced.loss_value
    assert imb.within_class_variance == balanced.within_class_variance
    assert all(c["collapsed"] == balanced.collapsed for c in imb.per_class)


def test_the_long_tailed_batch_of_100_classes_is_solved_and_reported_per_class():
    opt = optimum("supcon", Batch("10x10,90x2", 2), "0.5", "0.1")
    assert len(opt.per_class) == 100 and opt.decided
    by_size = {c["size"]: c["within_class_variance"] for c in opt.per_class}
    assert set(by_size) == {10, 2}
    # the weighted within-class variance is the mean over embeddings of the per-class ones
    total = sum(c["size"] * c["within_class_variance"] for c in opt.per_class) / 280
    assert opt.within_class_variance == pytest.approx(total, abs=1e-12)


def test_cli_optimum_reports_per_class_and_merged(capsys):
    assert main(["optimum", "--loss", "paper", "--class-sizes", "5,3,2", "--alpha", "0.3",
                 "--tau", TAU, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["size"] for c in out["per_class"]] == [5, 3, 2]
    assert set(out["per_class"][0]) >= {"size", "within_class_variance", "view_similarity",
                                        "collapsed"}
    assert out["merged"] == []
    # the count x size form is the same batch
    assert main(["optimum", "--loss", "paper", "--class-sizes", "1x5,1x3,1x2", "--alpha", "0.3",
                 "--tau", TAU, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == out


def test_cli_balanced_class_sizes_are_the_balanced_batch(capsys):
    assert main(["optimum", "--loss", "paper", "--class-sizes", "3x4", "--alpha", "0.3",
                 "--tau", TAU, "--json"]) == 0
    sizes = json.loads(capsys.readouterr().out)
    assert main(["optimum", "--loss", "paper", "--classes", "3", "--per-class", "4",
                 "--alpha", "0.3", "--tau", TAU, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == sizes


@pytest.mark.parametrize("argv, words", [
    (["--class-sizes", "5,3,0"], ">= 1"),
    (["--class-sizes", "5,1"], "class size 1"),
    (["--class-sizes", "5,x"], "not a size"),
    (["--class-sizes", ""], "empty"),
    (["--class-sizes", "10001x2"], "at most 10000"),
    (["--class-sizes", "5,3", "--classes", "2"], "not both"),
])
def test_cli_bad_sizes_are_one_line_errors(capsys, argv, words):
    try:
        status = main(["optimum", "--loss", "paper", "--alpha", "0.3", "--tau", TAU, *argv])
    except SystemExit as exc:  # argument errors leave through the parser
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2 and words in err and err.count("\n") == 1


@pytest.mark.slow
def test_threshold_json_gives_alpha_c_per_class(capsys):
    assert main(["threshold", "--loss", "supcon", "--class-sizes", "4,2", "--tau", TAU,
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ends = out["alpha_c_per_class"]
    assert len(ends) == 2
    for i, end in enumerate(ends):
        if end is None:
            continue
        below = optimum("supcon", Batch((4, 2), 2), f"{end - 1e-4:.8f}", TAU)
        above = optimum("supcon", Batch((4, 2), 2), f"{end + 1e-4:.8f}", TAU)
        assert below.per_class[i]["collapsed"] and not above.per_class[i]["collapsed"]


def test_sizes_type_accepts_a_class_sizes_object():
    a = optimum("paper", Batch(ClassSizes((4, 2)), 2), "0.5", TAU)
    b = optimum("paper", Batch("4,2", 2), "0.5", TAU)
    assert a.loss_value == b.loss_value


def test_minority_classes_merge_at_alpha_0_and_brute_force_agrees():
    """supcon at alpha = 0, one class of 12 and three of 2: at tau = 5 the three minority
    class means coincide (and sit opposite the majority's); at tau = 2 they do not."""
    import numpy as np


    for t, merges in (("5", True), ("2", False)):
        opt = optimum("supcon", Batch("1x12,3x2", 2), 0, t)
        assert bool(opt.merged) is merges
        if merges:
            assert opt.merged == ((1, 2, 3),)
            assert "between-class[k=2]" in opt.active
        ref = minimise_sizes("supcon", [12, 2, 2, 2], 2, 0.0, float(t), seed=0)
        mus = [ref.z[ref.labels == c].reshape(-1, ref.z.shape[-1]).mean(0) for c in range(4)]
        gap = max(np.linalg.norm(mus[i] - mus[j]) for i in range(1, 4) for j in range(i + 1, 4))
        assert bool(gap < 1e-4) is merges, gap
        assert opt.loss_value == pytest.approx(ref.loss, abs=1e-6)


def test_a_loss_flat_along_a_coordinate_is_solved_not_crashed():
    """dcl on class sizes 3,3,2,2 with three views: the view similarities enter only the pull,
    so the Hessian on the flat hyperplane is singular; this crashed inside mpmath's LU (an
    internal error) before. Now the KKT candidates decide, and brute force agrees."""
    from helpers.brute import best_of_seeds
    from ssem_symbolic.optimum import optimum
    from ssem_symbolic.setting import Batch

    opt = optimum("dcl", Batch((3, 3, 2, 2), 3), "0.5", "0.3")
    ref = best_of_seeds("dcl", (3, 3, 2, 2), 0.5, 0.3, p=3)
    assert opt.loss_value == pytest.approx(ref.loss, abs=1e-6)
    assert opt.loss_value <= ref.loss + 1e-8
