"""The notebooks: valid jupytext percent files, executed headless (no kernel), rendered."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_the_nine_notebooks_exist():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08",
                                              "09"]


def test_every_notebook_is_a_jupytext_file_with_prose_and_code():
    """Each notebook is executed, every cell, by the docs build (python docs/build.py renders
    them into the site; a failing cell fails the build, in CI); here: its shape."""
    import jupytext

    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        kinds = [c.cell_type for c in nb.cells]
        assert kinds.count("markdown") >= 3 and kinds.count("code") >= 3, path.name


def test_render_writes_notebooks_with_outputs(tmp_path):
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        import render
    finally:
        sys.path.pop(0)
    assert render.main(["--out", str(tmp_path), "02"]) == 0
    nb = json.loads((tmp_path / "02_collapse_condition.ipynb").read_text())
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    assert any("text/latex" in o.get("data", {}) for o in outputs)
    assert any(o["output_type"] == "stream" for o in outputs)
    assert nb["nbformat"] == 4


def test_render_names_the_missing_extra(monkeypatch, capsys):
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        import render
    finally:
        sys.path.pop(0)
    monkeypatch.setitem(sys.modules, "jupytext", None)  # as if not installed
    assert render.main(["--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "jupytext" in err and "pip install -e '.[notebooks]'" in err


@pytest.mark.slow
def test_phase_notebook_takes_a_spec_file(tmp_path):
    spec = tmp_path / "mine.toml"
    spec.write_text('name = "mine"\nmean = "anchors"\ndenominator = ["class", "other"]\n'
                    'sup = ["view", "class"]\nself = ["view"]\n')
    done = subprocess.run([sys.executable, str(ROOT / "notebooks" / "03_phase_maps.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "MPLBACKEND": "Agg", "SSEM_SPEC": str(spec)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "convention: mine | key: class,other|view,class|view|anchors" in done.stdout
    assert "collapse iff alpha <= alpha_c" in done.stdout and "regimes on the map" in done.stdout
