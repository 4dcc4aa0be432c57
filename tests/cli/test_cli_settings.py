"""``--hierarchy`` and ``--pairs`` in ssem optimum, regimes and threshold: the JSON against
the library's optimum, and one-line refusals everywhere else."""

import json

import pytest

from helpers.cli import exit_status
from ssem_symbolic.cli import main
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Hierarchy
from ssem_symbolic.spec import load_spec

SPEC = "examples/data/two-level.toml"


def test_optimum_json_is_the_hierarchy_optimum(capsys, tmp_path):
    assert main(["optimum", "--loss", SPEC, "--hierarchy", "2x2", "--per-class", "2",
                 "--alpha", "0.5", "--tau", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = optimum(load_spec(SPEC), Hierarchy(2, 2, 2), "0.5", "2")
    assert out["setting"] == {"superclasses": 2, "classes_per_superclass": 2, "per_class": 2,
                              "views": 2}
    assert out["loss_value"] == want.loss_value
    assert out["hierarchy"]["collapse"] == {"class": True, "classes_merged": False,
                                            "superclass": False, "superclasses_merged": False}
    labels = tmp_path / "labels.txt"  # the same hierarchy, as (superclass, class) pairs
    labels.write_text("".join(f"s{c // 2} c{c}\n" for c in range(4) for _ in range(2)))
    assert main(["optimum", "--loss", SPEC, "--hierarchy", str(labels), "--alpha", "0.5",
                 "--tau", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loss_value"] == want.loss_value


@pytest.mark.parametrize("argv, message", [
    (["dynamics", "--loss", "supcon", "--hierarchy", "2x2", "--per-class", "2", "--alpha",
      "0.5", "--tau", "0.5"], "taken by ssem optimum"),
    (["optimum", "--loss", SPEC, "--classes", "3", "--per-class", "2", "--alpha", "0.1",
      "--tau", "1"], "give --hierarchy"),
    (["optimum", "--loss", "supcon", "--hierarchy", "2x2", "--alpha", "0.1", "--tau", "1"],
     "needs --per-class"),
    (["optimum", "--loss", "supcon", "--hierarchy", "2x2", "--per-class", "2", "--alpha",
      "0.1", "--tau", "learnable"], "fixed tau"),
    (["regimes", "--loss", "supcon", "--hierarchy", "2x2", "--per-class", "2", "--tau", "1",
      "--dim", "5"], "--dim takes a flat batch"),
    (["threshold", "--loss", "supcon", "--hierarchy", "1x3", "--per-class", "2", "--tau",
      "1"], "superclasses S must be >= 2"),
    (["regimes", "--loss", "supcon", "--hierarchy", "2y2", "--per-class", "2", "--tau", "1"],
     "a labels file gives the instances per class"),
])
def test_refusals_are_one_line(argv, message, capsys):
    assert exit_status(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_pairs_json_is_the_paired_optimum(capsys):
    from ssem_symbolic.setting import Paired

    clip = "examples/data/clip.toml"
    assert main(["optimum", "--loss", clip, "--pairs", "4", "--alpha", "1", "--tau", "0.5",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = optimum(load_spec(clip), Paired(4), 1, "0.5")
    assert out["setting"] == {"pairs": 4, "classes": 4, "per_class": 1}
    assert out["loss_value"] == want.loss_value and out["paired"]["structure"] == "simplex"
    assert main(["threshold", "--loss", "examples/data/siglip-pairs.toml", "--pairs", "6",
                 "--alpha", "1", "--json"]) == 0
    changes = json.loads(capsys.readouterr().out)["levels"]["structure"]["changes"]
    assert [(c["below"], c["above"]) for c in changes] == [("between", "simplex")]


@pytest.mark.parametrize("argv, message", [
    (["optimum", "--loss", "examples/data/clip.toml", "--classes", "3", "--per-class", "2",
      "--alpha", "1", "--tau", "0.5"], "give --pairs"),
    (["optimum", "--loss", "supcon", "--pairs", "3y2", "--alpha", "1", "--tau", "0.5"],
     "--pairs is N"),
    (["regimes", "--loss", "examples/data/clip.toml", "--pairs", "4", "--views", "3",
      "--tau", "0.5"], "two modalities"),
    (["explain", "--loss", "examples/data/clip.toml", "--classes", "3", "--per-class", "2",
      "--alpha", "1", "--tau", "0.5"], "give --pairs"),
])
def test_pairs_refusals_are_one_line(argv, message, capsys):
    assert exit_status(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("path, words", [
    ("examples/data/clip.toml", "Across modalities only"),
    ("examples/data/siglip-pairs.toml", "Across modalities only"),
    ("examples/data/two-level.toml", "summed over label levels")])
def test_spec_show_says_what_the_field_does(path, words, capsys):
    assert main(["spec", "show", path]) == 0
    out = capsys.readouterr().out
    assert words in out and "closed_forms: none" in out
