"""The adversarial report of December 2026, reproduction by reproduction: each input gets its
expected behaviour (an answer checked against an independent reference, or a one-line error
with a non-zero exit), never a traceback, a hang, NaN or a half-written file. Numbers in the
test names are the report's defect numbers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ssem_symbolic.cli import EXIT_BAD_INPUT, EXIT_OUTPUT, main
from ssem_symbolic.setting import Batch

ROOT = Path(__file__).resolve().parents[1]
SIGMOID = (ROOT / "examples" / "specs" / "supervised-sigmoid.toml").read_text()
SUPCON_LIKE = ('denominator = ["view", "class", "other"]\nsup = ["view", "class"]\n'
               'self = ["view"]\nmean = "anchors"\n')


def one_line_error(capsys, argv, status=EXIT_BAD_INPUT, words=""):
    assert main(argv) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and words in err, err
    return err


def test_02_a_regime_scan_through_small_tau_answers(capsys):
    """views-then-class at alpha = 1 along tau: the face Newton stalled at the working
    precision's noise on a face flat as e^{-2/tau} and the scan ended in 'no face'. The
    boundary is where the views of an instance join: checked on both sides."""
    from ssem_symbolic.optimum import optimum
    from ssem_symbolic.setting import Batch

    spec = str(ROOT / "examples" / "specs" / "views-then-class.toml")
    assert main(["regimes", "--loss", spec, "--classes", "3", "--per-class", "4",
                 "--alpha", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (b,) = out["boundaries"]
    below = optimum(spec, Batch.balanced(3, 4, 2), "1", f"{b['tau'] * 0.999:.12g}")
    above = optimum(spec, Batch.balanced(3, 4, 2), "1", f"{b['tau'] * 1.001:.12g}")
    assert "view" not in below.active and "view" in above.active and above.collapsed


@pytest.mark.parametrize("dataset", ["1:5", "10:1"])
def test_03_a_degenerate_dataset_is_one_line(capsys, dataset):
    one_line_error(capsys, ["optimum", "--loss", "paper", "--dataset", dataset, "--sampler",
                            "uniform:4", "--alpha", "0.5", "--tau", "0.5"], words="n >= 2")


@pytest.mark.parametrize("bias", ["30", "1000"])
def test_04_a_large_sigmoid_bias_answers_threshold(tmp_path, capsys, bias):
    """The face solver's precision now grows with |bias| (phi's curvature scales by
    e^{-|bias|}): the SSEM check at the threshold is decided, on SSEM."""
    path = tmp_path / "b.toml"
    path.write_text(SIGMOID.replace("bias = 0", f"bias = {bias}"))
    assert main(["threshold", "--loss", str(path), "--classes", "3", "--per-class", "4",
                 "--tau", "0.5"]) == 0
    assert "lies on SSEM" in capsys.readouterr().out


@pytest.mark.parametrize("weights", [
    'weights = { sup = ["1e300", "-1e300"], self = [0, "1e300"] }',
    'pair_weights = { denominator = { class = 1e308 } }',
    'pair_weights = { denominator = { class = "1e99999999" } }',
    'pair_weights = { denominator = { class = "1e-400" } }'])
def test_05_16_25_extreme_weights_are_refused_at_once(tmp_path, capsys, weights):
    path = tmp_path / "w.toml"
    path.write_text(SUPCON_LIKE + weights + "\n")
    one_line_error(capsys, ["threshold", "--loss", str(path), "--classes", "3", "--per-class",
                            "4", "--tau", "0.5"])


def test_07_a_closed_stdout_is_exit_3():
    done = subprocess.run(f"{sys.executable} -m ssem_symbolic formula --loss paper >&-",
                          shell=True, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == EXIT_OUTPUT and "cannot write standard output" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("suffix, text", [
    (".json", '{"denominator": ' + "[" * 100000 + "]" * 100000 + "}"),
    (".toml", "denominator = " + "[" * 100000 + "]" * 100000)])
def test_08_deep_nesting_is_not_valid(tmp_path, capsys, suffix, text):
    path = tmp_path / f"deep{suffix}"
    path.write_text(text)
    one_line_error(capsys, ["spec", "show", str(path)], words="nested too deeply")


def test_09_18_non_regular_spec_files_are_refused(tmp_path, capsys):
    one_line_error(capsys, ["spec", "show", "/dev/zero"], words="not a regular file")
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)  # no writer: reading it would block forever
    one_line_error(capsys, ["threshold", "--loss", str(fifo), "--classes", "3", "--per-class",
                            "4", "--tau", "0.5"], words="not a regular file")


def test_10_28_collapse_monitor_validates_and_declines():
    from ssem_symbolic.setting._model import realise
    from ssem_symbolic.loss._monitor import collapse_monitor

    out = collapse_monitor(torch.randn(4, 2, 3), torch.zeros(4, dtype=torch.long), alpha=0.1,
                           temperature=0.5)
    assert out["verdict"].startswith("no prediction")
    out = collapse_monitor(torch.randn(4, 2, 3), torch.arange(4), alpha=0.1, temperature=0.5)
    assert out["verdict"].startswith("no prediction")
    z, y = realise(3, 4, 1.0, views=2)
    with pytest.raises(ValueError, match="alpha must lie in"):
        collapse_monitor(torch.from_numpy(z), torch.from_numpy(y), alpha=2.0, temperature=0.5)
    bad = torch.from_numpy(z).clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        collapse_monitor(bad, torch.from_numpy(y))
    bad[0, 0] = 0.0
    with pytest.raises(ValueError, match="all zeros"):
        collapse_monitor(bad, torch.from_numpy(y))


def test_12_meta_labels_are_a_value_error():
    from ssem_symbolic import SupCLLoss

    with pytest.raises(ValueError, match="meta device"):
        SupCLLoss(0.3, 0.5, "supcon")(torch.randn(4, 2, 3), torch.zeros(4, device="meta",
                                                                         dtype=torch.long))


def test_17_an_unreachable_ray_address_is_one_line(tmp_path, capsys):
    one_line_error(capsys, ["crosscheck", "--tiny", "--loss", "paper", "--executor", "ray",
                            "--address", "127.0.0.1:1", "--out", str(tmp_path / "x")],
                   words="cannot reach the Ray cluster")


@pytest.mark.slow
def test_19_imbalanced_guide_along_tau_says_where_classes_collapse(capsys):
    """Under the presets classes collapse at large tau: the per-class tau_c is where each
    class turns collapsed (it was null, 'never', the opposite of the truth), checked against
    the imbalanced optimum on both sides."""
    from ssem_symbolic.optimum import optimum

    assert main(["guide", "--loss", "paper", "--class-sizes", "3,2", "--alpha", "0.4",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for i, t_c in enumerate(out["tau_c_per_class"]):
        assert out["collapsed_at_range_ends_per_class"][i] == [False, True]
        below = optimum("paper", Batch((3, 2), 2), "0.4", f"{t_c * 0.99:.10g}")
        above = optimum("paper", Batch((3, 2), 2), "0.4", f"{t_c * 1.01:.10g}")
        assert not below.per_class[i]["collapsed"] and above.per_class[i]["collapsed"]


def test_20_exported_python_parses_whatever_the_name(tmp_path, capsys):
    import ast

    path = tmp_path / "q.toml"
    path.write_text('name = "x\\"\\"\\"y\\\\"\n' + SUPCON_LIKE)
    out = tmp_path / "q.py"
    assert main(["export", "--loss", str(path), "--format", "python", "--out", str(out)]) == 0
    tree = ast.parse(out.read_text())
    assert 'x"""y\\' in ast.get_docstring(tree)


def test_21_a_symlink_loop_at_out_is_refused(tmp_path, capsys):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    one_line_error(capsys, ["export", "--loss", "paper", "--format", "json", "--out",
                            str(loop)], status=EXIT_OUTPUT, words="symlink loop")
    assert loop.is_symlink()


def test_22_json_duplicate_keys_are_refused(tmp_path, capsys):
    path = tmp_path / "d.json"
    path.write_text('{"denominator": ["view","class","other"], "sup": ["view"], '
                    '"sup": ["view","class"], "self": ["view"], "mean": "anchors"}')
    one_line_error(capsys, ["spec", "show", str(path)], words="duplicate key 'sup'")


def test_23_json_output_has_no_infinity(tmp_path, capsys):
    path = tmp_path / "b.toml"
    path.write_text(SIGMOID.replace("bias = 0", 'bias = "1e400"'))
    status = main(["optimum", "--loss", str(path), "--classes", "3", "--per-class", "4",
                   "--alpha", "0.3", "--tau", "0.5", "--json"])
    out = capsys.readouterr().out
    if status == 0:  # valid JSON (Python's parser refuses Infinity when told to)
        json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))
    else:
        assert status == EXIT_BAD_INPUT and out == ""


@pytest.mark.parametrize("tau, dtype", [(1e-310, torch.float64), (1e-40, torch.float32)])
@pytest.mark.parametrize("convention", ["paper", "supcon", str(ROOT / "examples" / "specs"
                                                                 / "supervised-sigmoid.toml")])
def test_24_temperatures_that_overflow_are_a_value_error(convention, tau, dtype):
    from ssem_symbolic import SupCLLoss

    with pytest.raises(ValueError, match="out of range"):
        SupCLLoss(0.3, tau, convention)(torch.randn(4, 2, 3, dtype=dtype),
                                        torch.tensor([0, 0, 1, 1]))


def test_26_tiny_rows_are_normalised_and_underflow_is_named():
    """A row of norm 1e-20 is scaled to unit length (the loss equals that of the same row at
    norm 1, which is the per-pair reference's reading); subnormal rows are named as such."""
    from ssem_symbolic import SupCLLoss

    gen = torch.Generator().manual_seed(3)
    z = torch.randn(4, 2, 3, dtype=torch.float64, generator=gen)
    loss = SupCLLoss(0.3, 0.5, "supcon")
    labels = torch.tensor([0, 0, 1, 1])
    small = z.clone()
    small[0, 0] *= 1e-20 / small[0, 0].norm()
    assert float(loss(small, labels)) == pytest.approx(float(loss(z, labels)), abs=1e-13)
    with pytest.raises(ValueError, match="underflows"):
        loss(torch.full((4, 2, 3), 1e-320, dtype=torch.float64), labels)


def test_27_an_empty_denominator_in_training_is_an_error_not_minus_inf():
    from ssem_symbolic import SupCLLoss

    with pytest.raises(ValueError, match="not finite"):
        SupCLLoss(1.0, 0.5, str(ROOT / "examples" / "specs" / "dcl.toml"))(
            torch.randn(1, 2, 3), torch.tensor([0]))


def test_29_a_failed_phase_write_keeps_the_old_pair(tmp_path, monkeypatch):
    """Files written together land together: a failure while the PNG is written leaves the
    old .npz and the old PNG, never a new map beside an old picture."""
    from ssem_symbolic.report import _phase as phase

    npz, png = tmp_path / "m.npz", tmp_path / "m.png"
    argv = ["phase", "--loss", "paper", "--classes", "3", "--per-class", "4", "--alpha-grid",
            "0:1:3", "--tau-grid", "0.2:2:3", "--out", str(npz)]
    assert main(argv) == 0
    before = npz.read_bytes(), png.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error")
    import ssem_symbolic.report as report

    monkeypatch.setattr(phase, "save_png", broken)
    monkeypatch.setattr(report, "save_png", broken)  # the CLI reads the package's name
    assert main(argv[:-6] + ["--alpha-grid", "0:1:4", "--tau-grid", "0.2:2:4", "--out",
                             str(npz)]) != 0
    assert (npz.read_bytes(), png.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "m.png"]


def test_30_a_file_may_not_take_a_presets_name(tmp_path, capsys):
    path = tmp_path / "fake.toml"
    path.write_text('name = "paper"\n' + SUPCON_LIKE)
    one_line_error(capsys, ["threshold", "--loss", str(path), "--classes", "3", "--per-class",
                            "4", "--tau", "0.5"], words="preset name 'paper'")
    same = tmp_path / "same.toml"  # the preset's own content under its name is the preset
    same.write_text('name = "paper"\n' + (ROOT / "examples" / "specs" / "paper.toml")
                    .read_text().split("\n", 1)[1])
    assert main(["threshold", "--loss", str(same), "--classes", "3", "--per-class", "4",
                 "--tau", "0.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["alpha_c"] == pytest.approx(0.3518766, abs=1e-7)



def test_13_two_size_groups_of_many_classes_answer(capsys):
    """5000 classes of 2 and 5000 of 3: a two-group problem (it did not finish in 600 s);
    every class of a size group reports the same geometry, as the symmetry demands."""
    assert main(["optimum", "--loss", "paper", "--class-sizes", "5000x2,5000x3", "--alpha",
                 "0.35", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    per = out["per_class"]
    assert len(per) == 10000
    for size in (2, 3):
        values = {round(c["within_class_variance"], 12) for c in per if c["size"] == size}
        assert len(values) == 1 and 0 <= values.pop() <= 1


def test_13_more_size_groups_than_the_solver_takes_is_one_line(capsys):
    one_line_error(capsys, ["optimum", "--loss", "paper", "--class-sizes",
                            "2,3,4,5,6,7,8,9,10", "--alpha", "0.35", "--tau", "0.5"],
                   words="at most 8 distinct class sizes")


@pytest.mark.slow
def test_14_the_imbalanced_floor_is_refused_below_and_answers_at(capsys):
    one_line_error(capsys, ["optimum", "--loss", "paper", "--class-sizes", "5,3,2", "--alpha",
                            "0.3", "--tau", "0.02"], words="0.03")
    assert main(["optimum", "--loss", "paper", "--class-sizes", "5,3,2", "--alpha", "0.3",
                 "--tau", "0.03", "--json"]) == 0


def test_15_the_composition_search_finds_every_partition_and_no_more():
    """The pruned search against itertools: the partitions of B into at most C parts of at
    most n, for small cases (and B = 999 of 10 x 100 has exactly one: nine 100s and a 99)."""
    import itertools

    from ssem_symbolic.setting._mixture import _partitions

    def reference(B, C, n):
        out = set()
        for parts in range(1, C + 1):
            for combo in itertools.combinations_with_replacement(range(1, n + 1), parts):
                if sum(combo) == B:
                    out.add(tuple(sorted(combo, reverse=True)))
        return out
    for B, C, n in [(4, 3, 3), (7, 4, 3), (9, 3, 5), (6, 6, 2), (10, 4, 4)]:
        assert set(_partitions(B, C, n)) == reference(B, C, n)
    assert _partitions(999, 10, 100) == [(100,) * 9 + (99,)]


@pytest.mark.parametrize("dataset, sampler, tau, words", [
    ("10:inf", "uniform:100000", "0.5", "beyond the mixture solver"),
    ("100000:inf", "uniform:100000", "0.5", "beyond the mixture solver"),
    ("10:50", "uniform:12", "1e-4", "covers tau in [0.01"),
    ("10:50", "balanced:10:8", "1e-6", "covers tau in [0.001")])
def test_15_dataset_settings_out_of_reach_are_one_line(capsys, dataset, sampler, tau, words):
    one_line_error(capsys, ["optimum", "--loss", "paper", "--dataset", dataset, "--sampler",
                            sampler, "--alpha", "0.5", "--tau", tau], words=words)
