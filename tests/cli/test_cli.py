import json
import subprocess
import sys

import pytest

from ssem_symbolic.cli import main
from ssem_symbolic.ssem import alpha_c_value, loss_value, optimal_beta


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_threshold_alpha_c(capsys):
    out = run_json(capsys, "threshold", "--loss", "paper", "--classes", "2", "--per-class", "2",
                   "--tau", "1")
    assert set(out) == {"alpha_c"} and round(out["alpha_c"], 4) == 0.6192


def test_threshold_tau_c_three_regimes(capsys):
    base = ["threshold", "--loss", "paper", "--classes", "10", "--per-class", "10"]
    assert run_json(capsys, *base, "--alpha", "0.1") == {"tau_c": 0.0}  # alpha <= 1/k
    assert run_json(capsys, *base, "--alpha", "1") == {"tau_c": None}
    t = run_json(capsys, *base, "--alpha", "0.594")["tau_c"]
    assert t == pytest.approx(0.5, abs=2e-3)  # spec: alpha_c(0.5) = 0.594
    assert float(alpha_c_value("paper", 10, 10, 2, t)) == pytest.approx(0.594, abs=1e-12)


def test_optimum_keys_and_values(capsys):
    out = run_json(capsys, "optimum", "--loss", "paper", "--classes", "3", "--per-class", "4",
                   "--alpha", "0.5", "--tau", "0.5")
    assert set(out) == {"beta", "within_class_variance", "between_class_variance", "collapsed",
                        "loss_value", "ssem_valid", "view_similarity", "class_similarity",
                        "other_similarity", "active_constraints", "unique", "verdict"}
    assert out["unique"] is True and out["verdict"] == "certified"
    b = optimal_beta("paper", 3, 4, 2, 0.5, 0.5)
    assert out["beta"] == float(b) and out["collapsed"] is False and out["ssem_valid"] is True
    # SSEM holds the optimum here: the global fields are SSEM's at beta*
    assert out["within_class_variance"] == pytest.approx(1 - float(b), abs=1e-15)
    assert out["loss_value"] == pytest.approx(float(loss_value("paper", 3, 4, 2, 0.5, 0.5, b)),
                                              abs=1e-14)
    assert out["view_similarity"] == 1.0 and out["active_constraints"] == ["all-ones", "view"]
    assert out["class_similarity"] == pytest.approx((4 * float(b) - 1) / 3, abs=1e-15)
    assert out["other_similarity"] == pytest.approx(-float(b) / 2, abs=1e-15)


def test_supcon_split_never_unqualified(capsys):
    out = run_json(capsys, "optimum", "--loss", "supcon-split", "--classes", "3",
                   "--per-class", "2", "--alpha", "0", "--tau", "0.3")
    assert out["ssem_valid"] is False and out["beta"] == 1.0  # beta keeps its SSEM meaning
    # ... and the global optimum lies off SSEM: the views of an instance apart
    assert out["view_similarity"] < 0.99 and "view" not in out["active_constraints"]
    assert out["collapsed"] is False and out["within_class_variance"] > 0.01
    assert main(["threshold", "--loss", "supcon-split", "--classes", "3", "--per-class", "2",
                 "--alpha", "0.2", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"tau_c": 0.0}
    assert "SSEM validity" in captured.err and "false" in captured.err


def test_readable_output(capsys):
    assert main(["optimum", "--loss", "supcon", "--classes", "3", "--per-class", "4",
                 "--alpha", "0.1", "--tau", "1"]) == 0
    text = capsys.readouterr().out
    assert "Regime: class collapse" in text and "beta" in text


@pytest.mark.parametrize("fmt", ["text", "latex", "python"])
def test_formula(capsys, fmt):
    assert main(["formula", "--loss", "paper", "--format", fmt]) == 0
    text = capsys.readouterr().out
    assert "alpha_c" in text and "tau_c" in text
    assert "exp" in text or "\\exp" in text or "e^" in text


@pytest.mark.parametrize("argv, message", [
    (["--alpha", "1.5", "--tau", "1"], "alpha must lie in [0, 1]"),
    (["--alpha", "0.5", "--tau", "0"], "tau must be a finite number > 0"),
    (["--alpha", "0.5", "--tau", "inf"], "must be finite"),
    (["--alpha", "nan", "--tau", "1"], "must be finite"),
    (["--alpha", "0.5", "--tau", "1", "--views", "1"], "views p must be >= 2"),
    (["--alpha", "0.5", "--tau", "1", "--classes", "1"], "classes m must be >= 2"),
    (["--alpha", "0.5", "--tau", "1", "--per-class", "2.5"], "must be an integer"),
    (["--alpha", "0.5", "--tau", "1", "--loss", "simclr"], "unknown loss"),
])
def test_bad_input_one_line_nonzero(argv, message):
    base = {"--loss": "supcon", "--classes": "3", "--per-class": "4"}
    for i in range(0, len(argv), 2):
        base[argv[i]] = argv[i + 1]
    flat = [x for kv in base.items() for x in kv]
    proc = subprocess.run([sys.executable, "-m", "ssem_symbolic", "optimum", *flat, "--json"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr
