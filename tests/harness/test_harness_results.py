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


def test_last_record_without_its_newline_is_not_glued_to_the_next(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"key": "a"}) + "\n" + json.dumps({"key": "b"}))  # no final \n
    rf = ResultsFile(path)
    assert list(rf.load()) == ["a", "b"]
    rf.append([{"key": "c"}])
    assert list(ResultsFile(path).load()) == ["a", "b", "c"]
    # and without a load first
    path.write_text(json.dumps({"key": "a"}))
    ResultsFile(path).append([{"key": "b"}])
    assert list(ResultsFile(path).load()) == ["a", "b"]


def test_duplicates_are_reported_and_removed(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps({"key": k, "v": i}) + "\n"
                            for i, k in enumerate("abab")))
    warnings = []
    assert {k: r["v"] for k, r in ResultsFile(path, warn=warnings.append).load().items()} == {
        "a": 2, "b": 3}
    assert len(warnings) == 1 and "2 duplicate" in warnings[0]
    assert path.read_text().count("\n") == 2


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    first, second = ResultsFile(tmp_path / "r.jsonl"), ResultsFile(tmp_path / "r.jsonl")
    with first.locked():
        with pytest.raises(ValueError, match="another ssem crosscheck"):
            with second.locked():
                pass
    with second.locked():  # released
        pass


def test_resume_refuses_a_folder_of_another_plan(tmp_path):
    from ssem_symbolic.harness.sweep import Plan, run
    from ssem_symbolic.harness.train import TrainConfig

    ResultsFile(tmp_path / "results.jsonl").append([{"key": "free,loss=other,alpha=0.1"}])
    plan = Plan([TrainConfig("free", "paper", 0.5, 0.5, 2, 2, 2, 8, 10)], [], "tiny")
    with pytest.raises(ValueError, match="another plan"):
        run(plan, tmp_path, resume=True, progress=False)
