"""Conventions from TOML and JSON files: read as they look, canonical, errors naming the field."""

import json
from pathlib import Path

import pytest

from ssem_symbolic.spec import PRESETS, UnsupportedConvention, get_spec, register
from ssem_symbolic.spec import SpecFileError, load_spec, spec_from_dict, to_toml

TOML = '''name = "my-loss"
mean = "anchors"                       # or "pairs"
denominator = ["view", "class", "other"]
sup = ["view"]                         # positives of the (1 - alpha) term
self = ["class"]                       # positives of the alpha term
'''


def test_a_toml_file_reads_as_it_looks(tmp_path):
    path = tmp_path / "my-loss.toml"
    path.write_text(TOML)
    spec = load_spec(path)
    assert spec.name == "my-loss" and spec.mean == "anchors"
    assert spec.denominator == ("view", "class", "other")
    assert spec.sup == ("view",) and spec.self_ == ("class",)
    assert get_spec(str(path)) == spec  # --loss PATH resolves the same way


def test_json_and_toml_round_trip_to_the_same_spec(tmp_path):
    for name, spec in PRESETS.items():
        (tmp_path / f"{name}.toml").write_text(to_toml(spec))
        (tmp_path / f"{name}.json").write_text(json.dumps(spec.canonical()))
        assert load_spec(tmp_path / f"{name}.toml") == spec
        assert load_spec(tmp_path / f"{name}.json") == spec
        assert load_spec(tmp_path / f"{name}.toml").name == name


@pytest.mark.parametrize("text, words", [
    ('mean = "anchors"\ndenominator = ["view"]\nsup = ["view"]\n', "missing field 'self'"),
    (TOML + 'colour = "red"\n', "unknown field 'colour'"),
    (TOML.replace('sup = ["view"]', 'sup = "view, class"'), "field 'sup' must be a list"),
    (TOML.replace('"class"]', '"cousin"]', 1), "unknown pair type"),
    (TOML + 'weights = { sup = [0, 0], self = [0, 0] }\n', "sum to 0"),
    (TOML.replace('mean = "anchors"', 'mean = "median"'), "mean must be"),
    ("denominator = [", "not valid toml"),
])
def test_bad_files_get_one_line_naming_the_field(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_spec(path)
    message = str(info.value)
    assert words in message and "\n" not in message and "bad.toml" in message


def test_missing_file(tmp_path):
    with pytest.raises(SpecFileError, match="No such file"):
        load_spec(tmp_path / "nope.toml")


def test_register_makes_a_name_resolvable():
    spec = spec_from_dict({"name": "registered-split", "mean": "anchors",
                           "denominator": ["view", "class", "other"], "sup": ["class"],
                           "self": ["view"]})
    register(spec)
    assert get_spec("registered-split") is spec
    assert spec == PRESETS["supcon-split"]  # the same convention under another name
    with pytest.raises(ValueError, match="preset name"):
        register(spec_from_dict({"name": "paper", "mean": "pairs", "denominator": ["view"],
                                 "sup": ["view"], "self": ["view"]}))
    with pytest.raises(UnsupportedConvention, match="unknown pair type"):
        spec_from_dict({"mean": "pairs", "denominator": ["others"], "sup": ["class"],
                        "self": ["view"]})


def test_the_shipped_spec_files_are_the_presets():
    folder = Path(__file__).resolve().parents[2] / "examples" / "specs"
    for name, spec in PRESETS.items():
        loaded = load_spec(folder / f"{name}.toml")
        assert loaded == spec and loaded.name == name and loaded.description == spec.description
    assert load_spec(folder / "views-then-class.toml") not in PRESETS.values()


def test_weights_and_decoupled_positives_from_a_file(tmp_path):
    from ssem_symbolic.loss._bruteforce import minimise
    from ssem_symbolic.ssem import loss_value, optimal_beta
    from ssem_symbolic.optimum import certify_ssem

    folder = Path(__file__).resolve().parents[2] / "examples" / "specs"
    plus = load_spec(folder / "supcon-plus-simclr.toml")
    assert str(plus.weight("sup")) == "1" and str(plus.weight("self")) == "alpha"
    (tmp_path / "plus.toml").write_text(to_toml(plus))
    assert load_spec(tmp_path / "plus.toml") == plus != PRESETS["supcon"]
    dcl = load_spec(folder / "dcl.toml")
    assert dcl.decoupled and not PRESETS["supcon"].decoupled
    # brute force over free unit vectors reaches the SSEM optimum where SSEM is certified
    for spec, a, t in ((plus, 0.3, 0.5), (dcl, 1.0, 0.5), (dcl, 0.0, 0.3)):
        b = optimal_beta(spec, 3, 2, 2, a, t)
        assert certify_ssem(spec, 3, 2, 2, a, t).valid is True
        run = minimise(spec, 3, 2, 2, a, t, seed=1)
        assert run.loss == pytest.approx(float(loss_value(spec, 3, 2, 2, a, t, b)), abs=1e-7)


def test_bad_weights_say_why(tmp_path):
    path = tmp_path / "w.toml"
    for weights, words in (("{ sup = [1, -2] }", "negative on"),
                           ("{ typo = [1, 0] }", "unknown term"),
                           ("[1, 0]", "field 'weights' must be a table")):
        path.write_text(TOML + f"weights = {weights}\n")
        with pytest.raises(ValueError, match=words):
            load_spec(path)
