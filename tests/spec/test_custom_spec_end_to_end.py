"""A spec file that is not a preset, written by hand, through every subcommand and the harness,
with the numbers checked against brute force over free unit vectors and against f."""

import json

import numpy as np
import pytest
import sympy as sp

from ssem_symbolic.loss._bruteforce import minimise
from ssem_symbolic.cli import main
from ssem_symbolic.spec import load_spec

# the example: positives of the (1 - alpha) term are the views, of the alpha term the
# class; f'(1) falls with alpha, so the batch collapses ABOVE alpha_c
TOML = '''name = "views-then-class"
mean = "anchors"
denominator = ["view", "class", "other"]
sup = ["view"]
self = ["class"]
'''


@pytest.fixture()
def spec_file(tmp_path):
    path = tmp_path / "views-then-class.toml"
    path.write_text(TOML)
    return str(path)


def _json(capsys, *argv):
    assert main(list(argv)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


BATCH = ["--classes", "3", "--per-class", "4"]


def test_optimum_is_the_minimum_of_f_and_of_brute_force(capsys, spec_file):
    out = _json(capsys, "optimum", "--loss", spec_file, *BATCH, "--alpha", "0.2", "--tau",
                "0.5", "--json")
    b = sp.Symbol("b")
    x, y = (4 * b - 1) / 3, -b / 2
    f = sp.log(1 * sp.exp(1 / sp.Rational(1, 2)) + 6 * sp.exp(x * 2) + 16 * sp.exp(y * 2)) \
        - (sp.Rational(4, 5) * 1 + sp.Rational(1, 5) * x) * 2
    grid = np.linspace(0, 1, 100001)
    fn = sp.lambdify(b, f, "numpy")
    assert abs(out["beta"] - grid[np.argmin(fn(grid))]) < 2e-5
    assert abs(out["beta"] - 0.419) < 1e-3  # the measured minimum
    assert out["collapsed"] is False
    # brute force over free unit vectors (views may split: the global optimum, a lower bound)
    spec = load_spec(spec_file)
    run = minimise(spec, 3, 2, 2, 0.2, 0.5, seed=1)
    small = _json(capsys, "optimum", "--loss", spec_file, "--classes", "3", "--per-class", "2",
                  "--alpha", "0.2", "--tau", "0.5", "--json")
    if small["ssem_valid"]:
        assert run.loss == pytest.approx(small["loss_value"], abs=1e-6)
    else:
        assert run.loss < small["loss_value"]


def test_threshold_formula_guide_export_phase(capsys, spec_file, tmp_path):
    a_c = _json(capsys, "threshold", "--loss", spec_file, *BATCH, "--tau", "0.5", "--json")
    above = _json(capsys, "optimum", "--loss", spec_file, *BATCH, "--alpha",
                  repr(a_c["alpha_c"] + 1e-6), "--tau", "0.5", "--json")
    below = _json(capsys, "optimum", "--loss", spec_file, *BATCH, "--alpha",
                  repr(a_c["alpha_c"] - 1e-6), "--tau", "0.5", "--json")
    assert above["collapsed"] is True and below["collapsed"] is False  # collapse above
    t_c = _json(capsys, "threshold", "--loss", spec_file, *BATCH, "--alpha", "0.2", "--json")
    assert t_c["tau_c"] > 0.5
    assert main(["formula", "--loss", spec_file]) == 0
    assert "alpha_c(tau) =" in capsys.readouterr().out
    assert main(["spec", "show", spec_file]) == 0
    shown = capsys.readouterr().out
    assert 'name = "views-then-class"' in shown and "alpha >= alpha_c" in shown
    assert main(["export", "--loss", spec_file, "--format", "json", "--out",
                 str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["loss"] == "views-then-class"
    assert main(["phase", "--loss", spec_file, *BATCH, "--alpha-grid", "0:1:11", "--tau-grid",
                 "0.1:2:7", "--log-tau", "--out", str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    npz = np.load(tmp_path / "m.npz")
    assert str(npz["loss"]) == "views-then-class" and (tmp_path / "m.png").exists()
    i = int(np.argmin(abs(npz["tau"] - 0.5)))
    collapsed = npz["beta"][:, i] == 1.0
    assert collapsed[-1] and not collapsed[0]  # the high-alpha side collapses
    # guide refuses a shape it was not built for, in one line
    assert main(["guide", "--loss", spec_file, *BATCH, "--tau", "0.5",
                 "--target-within", "0.1"]) == 2
    assert "does not collapse below" in capsys.readouterr().err


@pytest.mark.slow
def test_crosscheck_trains_the_custom_spec(capsys, spec_file, tmp_path):
    out = tmp_path / "cc"
    result = _json(capsys, "crosscheck", "--tiny", "--loss", spec_file, "--json", "--out",
                   str(out))
    assert sum(result["verdicts"].values()) > 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["config"]["loss"] for r in records if "config" in r} == {"views-then-class"}
    assert all(r["config"]["loss_key"] == load_spec(spec_file).key()
               for r in records if "config" in r)
    assert "views-then-class" in (out / "report.md").read_text()
