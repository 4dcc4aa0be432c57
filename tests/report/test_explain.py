"""ssem explain: where an observed value sits among the references, in the library and the
CLI (text, JSON, labels files, one-line errors). The reference values themselves are checked
against explicit embeddings in tests/optimum/test_references.py."""

from __future__ import annotations

import json
import math

import pytest

from ssem_symbolic.cli import main
from ssem_symbolic.report import explain
from ssem_symbolic.setting import Batch, Dataset, uniform


def test_a_value_at_log_of_the_denominator_is_complete_collapse_or_random():
    """supcon on a 3 x 4 x 2 batch: every logit equal gives log(M - 1) = log 23, the constant
    users see at the start of training."""
    e = explain("supcon", Batch.balanced(3, 4, 2), "0.3", "0.5", value=math.log(23) + 1e-4)
    assert e.nearest == ("complete-collapse", "random")
    assert e.references["complete-collapse"].value == pytest.approx(math.log(23), rel=1e-12)
    kinds = [f["kind"] for f in e.findings]
    assert "collapse_equals_random" in kinds and "at_reference" in kinds
    assert [a["kind"] for a in e.advice] == ["no_structure_yet"]
    assert e.gap == pytest.approx(math.log(23) + 1e-4 - e.references["floor"].value)


@pytest.mark.parametrize("offset, kind, advice", [
    (0.0, "at_reference", "converged"), (-0.2, "below_floor", "check_the_setting"),
    (0.3, "between", "still_descending")])
def test_the_reading_of_a_value_relative_to_the_floor(offset, kind, advice):
    batch = Batch.balanced(3, 4, 2)
    floor = explain("supcon", batch, "0.3", "0.5").references["floor"].value
    e = explain("supcon", batch, "0.3", "0.5", value=floor + offset)
    assert e.findings[-1]["kind"] == kind
    assert [a["kind"] for a in e.advice] == [advice]


def test_class_collapse_reads_differently_where_it_is_the_optimum():
    batch = Batch.balanced(3, 4, 2)
    spread = explain("supcon-split", batch, "0.9", "0.5")  # alpha above alpha_c: spread
    at = spread.references["class-collapse"].value
    assert [a["kind"] for a in explain("supcon-split", batch, "0.9", "0.5",
                                       value=at).advice] == ["stuck_at_class_collapse"]
    collapsed = explain("supcon-split", batch, "0.05", "0.5")  # alpha below 1/k: collapse
    at = collapsed.references["class-collapse"].value
    assert {"kind": "optimum_collapsed", "floor": "floor"} in collapsed.findings
    # the class-collapse point is the floor itself there: the run has converged
    assert [a["kind"] for a in explain("supcon-split", batch, "0.05", "0.5",
                                       value=at).advice] == ["converged"]


def test_below_an_expected_floor_is_possible_for_one_batch():
    data = Dataset(10, 100, 2, uniform(32))
    floor = explain("supcon", data, "0.3", "0.5").references.floor
    e = explain("supcon", data, "0.3", "0.5", value=floor.value - 0.5)
    assert e.findings[-1]["kind"] == "below_expected_floor" and not e.advice


def _run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cli_text_and_json_agree(capsys):
    args = ["explain", "--loss", "supcon", "--classes", "3", "--per-class", "4", "--alpha",
            "0.3", "--tau", "0.5", "--value", "3.1355", "--dim", "64"]
    status, text, _ = _run(capsys, *args)
    assert status == 0
    assert "complete collapse = random, d -> inf" in text and "random, d = 64" in text
    status, out, _ = _run(capsys, *args, "--json")
    data = json.loads(out)
    assert data["nearest"] == ["complete-collapse", "random"] and data["floor"] == "floor"
    values = {r["name"]: r["value"] for r in data["references"]}
    assert f"{values['floor']:.6f}" in text and f"{values['random-d']:.6f}" in text


def test_cli_reads_a_labels_file_and_the_presets_parameters(capsys, tmp_path):
    labels = tmp_path / "batch.txt"
    labels.write_text("cat\ndog\ncat\n7\ndog\ncat\n\n")
    args = ["explain", "--loss", "supcontrast", "--labels", str(labels), "--alpha", "0",
            "--tau", "0.5", "--json"]
    status, out, _ = _run(capsys, *args)
    assert status == 0
    data = json.loads(out)
    assert data["setting"]["class_sizes"] == [3, 2, 1]
    assert data["scale"] == pytest.approx(0.5 / 0.07)
    status, out, _ = _run(capsys, *args, "--param", "base_temperature=0.5")
    scaled = json.loads(out)
    assert scaled["scale"] == 1.0
    for a, b in zip(data["references"], scaled["references"]):
        assert a["value"] == pytest.approx(b["value"] * 0.5 / 0.07, rel=1e-12)


@pytest.mark.parametrize("content, args, message", [
    ("a\nb c\n", [], "line 2: one label per line"),
    ("a\na\n", [], "at least two"),
    ("", [], "no labels"),
    ("a\nb\n", ["--classes", "2"], "--labels gives the batch"),
    ("a\nb\n", ["--param", "nope=1"], "no parameter 'nope'"),
    ("a\nb\n", ["--param", "base_temperature"], "NAME=VALUE"),
    ("a\nb\n", ["--dim", "1"], "dimension"),
])
def test_cli_bad_input_is_one_line(capsys, tmp_path, content, args, message):
    labels = tmp_path / "batch.txt"
    labels.write_text(content)
    status, out, err = _run(capsys, "explain", "--loss", "supcontrast", "--labels",
                            str(labels), "--alpha", "0.3", "--tau", "0.5", *args)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1


def test_below_the_rank_the_floor_is_labelled_a_lower_bound():
    e = explain("supcon", Batch.balanced(3, 4, 2), "0.3", "0.5", dim=4)
    floor = e.references["floor"]
    assert floor.geometry["rank_needed"] == 11 and "a lower bound" in floor.what
    assert "lower bound" not in explain("supcon", Batch.balanced(3, 4, 2), "0.3", "0.5",
                                        dim=16).references["floor"].what
