"""Formula sheets: LaTeX balance, JSON round trip, standalone Python against the engine."""

import json
import math
import os
import re
import subprocess
import sys

import pytest
import sympy as sp

from ssem_symbolic.cli import main
from ssem_symbolic.ssem import alpha_c_value, derive, loss_value, optimal_beta, tau_c_value
from ssem_symbolic.report._export import ITEMS, export, formula_sheet
from ssem_symbolic.spec import PRESETS

LOSSES = list(PRESETS)


@pytest.mark.parametrize("loss", LOSSES)
def test_sheet_is_exact_and_complete(loss):
    sheet = formula_sheet(loss)
    assert list(sheet) == [key for key, _ in ITEMS]
    for expr in sheet.values():
        assert not expr.atoms(sp.Float)  # exact: no floats anywhere
    d = derive(loss)
    assert sheet["alpha_c"] == d.alpha_c and sheet["tau_c"] == d.tau_c


def _balanced(tex: str) -> bool:
    depth = 0
    for i, ch in enumerate(tex):
        if ch in "{}" and i > 0 and tex[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("loss", LOSSES)
def test_latex_braces_and_environments_balance(loss):
    tex = export(loss, "latex")
    assert _balanced(tex)
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name
    assert not stack
    assert tex.count("\\left") == tex.count("\\right")
    assert tex.startswith("\\documentclass") and "\\alpha_c(\\tau) = " in tex
    assert not _balanced("{" + tex)  # the checker can fail


@pytest.mark.parametrize("loss", LOSSES)
def test_json_round_trips_to_identical_expressions(loss):
    data = json.loads(export(loss, "json"))
    sheet = formula_sheet(loss)
    for key, text in data["expressions"].items():
        assert sp.sympify(text) == sheet[key], key


@pytest.mark.parametrize("loss", LOSSES)
def test_markdown_has_every_item(loss):
    md = export(loss, "markdown")
    assert md.count("$$") == 2 * len(ITEMS)
    for _, title in ITEMS:
        assert title in md


@pytest.mark.parametrize("loss", LOSSES)
def test_python_sheet_runs_without_the_package(loss, tmp_path):
    path = tmp_path / "sheet.py"
    assert main(["export", "--loss", loss, "--format", "python", "--out", str(path)]) == 0
    points = [(3, 4, 2, 0.5, 0.5), (10, 10, 2, 0.9, 1.0), (2, 3, 3, 0.2, 0.05), (5, 2, 2, 1.0, 2.0)]
    script = (f"import json, sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport sheet\n"
              f"out = []\nfor m, k, p, a, t in {points!r}:\n"
              "    out.append([sheet.loss(0.3, a, t, m, k, p), sheet.alpha_c(t, m, k, p),\n"
              "                sheet.beta_star(a, t, m, k, p), sheet.tau_c(a, m, k, p),\n"
              "                sheet.within_class_variance(a, t, m, k, p)])\n"
              "print(json.dumps(out))\n")
    # -I -S: no site-packages, so neither sympy nor ssem_symbolic can be imported
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for (m, k, p, a, t), (f, a_c, b, t_c, w) in zip(points, json.loads(done.stdout)):
        assert f == pytest.approx(float(loss_value(loss, m, k, p, a, t, 0.3)), rel=1e-12)
        assert a_c == pytest.approx(float(alpha_c_value(loss, m, k, p, t)), rel=1e-12)
        want_b = float(optimal_beta(loss, m, k, p, a, t))
        assert b == pytest.approx(want_b, abs=1e-12) and w == pytest.approx(1 - want_b, abs=1e-12)
        want_t = tau_c_value(loss, m, k, p, a)
        assert t_c == (math.inf if want_t == math.inf else pytest.approx(float(want_t),
                                                                          rel=1e-12))


def test_export_cli_stdout_and_errors(capsys, tmp_path):
    assert main(["export", "--loss", "supcon", "--format", "markdown"]) == 0
    assert "# SSEM formula sheet: `supcon`" in capsys.readouterr().out
    assert main(["export", "--loss", "nope", "--format", "json"]) == 2
    assert "nope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["export", "--loss", "paper", "--format", "docx"])
    assert exc.value.code == 2
    assert main(["export", "--loss", "paper", "--format", "json", "--out", str(tmp_path)]) == 3


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
def test_latex_sheet_compiles_without_errors_or_overfull_boxes(loss, tmp_path):
    """A real LaTeX engine (pdflatex; .ci/run installs it and sets SSEM_REQUIRE_LATEX)."""
    import shutil

    engine = shutil.which("pdflatex")
    if engine is None:
        if os.environ.get("SSEM_REQUIRE_LATEX"):
            pytest.fail("pdflatex is required here (SSEM_REQUIRE_LATEX) but not installed")
        pytest.skip("pdflatex not installed (Debian: texlive-latex-base, -recommended)")
    (tmp_path / "sheet.tex").write_text(export(loss, "latex"))
    done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "sheet.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / "sheet.log").read_text(errors="replace")
    assert done.returncode == 0, log[-3000:]
    assert "Overfull" not in log and "! " not in log
    text = export(loss, "latex")
    assert "<=" not in text and "->" not in text  # no ASCII relations in the prose
