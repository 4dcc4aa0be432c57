"""The wheel carries what a user needs (the example spec files, py.typed) and works outside
the repository: built, installed into a fresh virtual environment, and run from there."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples" / "specs").glob("*.toml"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = out.glob("ssem_symbolic-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_carries_the_example_specs_and_py_typed(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "ssem_symbolic/py.typed" in names
    shipped = sorted(n.rsplit("/", 1)[1] for n in names
                     if n.startswith("ssem_symbolic/spec/examples/"))
    assert shipped == EXAMPLES and len(EXAMPLES) >= 8
    assert not any(n.startswith(("tests/", "docs/", "notebooks/")) for n in names)


@pytest.mark.slow
def test_the_wheel_installs_and_runs_in_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(wheel) as zf:  # what pip does for a pure wheel, without a network
        zf.extractall(site)
    # the dependencies (sympy, torch, ...) come from this environment's site-packages, which
    # hold no copy of ssem_symbolic (an editable install is a path hook, not a folder)
    deps = sysconfig.get_paths()["purelib"]
    assert not (Path(deps) / "ssem_symbolic").exists()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": deps, "HOME": str(tmp_path),
           "SSEM_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    python = str(venv / "bin" / "python")

    def run(*args: str) -> str:
        done = subprocess.run([python, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    where = run("-c", "import ssem_symbolic; print(ssem_symbolic.__file__)")
    assert where.startswith(site), where  # the installed copy, not the repository's
    shown = run("-m", "ssem_symbolic", "spec", "show", "views-then-class")
    assert 'name = "views-then-class"' in shown and "collapse_side: alpha >= alpha_c" in shown
    listed = run("-m", "ssem_symbolic", "spec", "list")
    assert all(name[:-5] in listed for name in EXAMPLES)
    out = run("-m", "ssem_symbolic", "threshold", "--loss", "views-then-class", "--classes",
              "3", "--per-class", "4", "--tau", "0.5", "--json")
    assert '"alpha_c": 0.73125' in out  # the shipped example, as docs/how-to shows it
    example = run("-c", "import ssem_symbolic as ss; "
                  "print(ss.threshold('supervised-sigmoid', ss.Batch.balanced(3, 4), "
                  "tau='0.5').alpha_c)")
    assert example.startswith("0.38814")  # docs: alpha_c = 0.388144 at tau = 0.5 on 3 x 4 x 2
