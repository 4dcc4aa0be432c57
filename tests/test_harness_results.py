"""results.jsonl: durable appends, a corrupt trailing line reported and ignored."""

import json

import pytest

from ssem_symbolic.harness.results import ResultsFile


def test_append_and_load(tmp_path):
    rf = ResultsFile(tmp_path / "r.jsonl")
    rf.append([{"key": "a", "x": 1}, {"key": "b", "x": 2}])
    rf.append([{"key": "c", "x": 3}])
    assert list(rf.load()) == ["a", "b", "c"]
    assert (tmp_path / "r.jsonl").read_text().count("\n") == 3


def test_corrupt_trailing_line_is_reported_ignored_and_cut(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"key": "a"}) + "\n" + '{"key": "b", "x"')
    warnings = []
    rf = ResultsFile(path, warn=warnings.append)
    assert list(rf.load()) == ["a"]
    assert len(warnings) == 1 and "corrupt trailing line" in warnings[0]
    rf.append([{"key": "c"}])  # lands on its own line, after the cut
    assert list(ResultsFile(path).load()) == ["a", "c"]


def test_corrupt_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(ValueError, match="line 2"):
        ResultsFile(path).load()


def test_reset_starts_empty(tmp_path):
    rf = ResultsFile(tmp_path / "r.jsonl")
    rf.append([{"key": "a"}])
    rf.reset()
    assert rf.load() == {}
