"""The layers are folders, data flows one way, and there are no import cycles.

The contract lives in pyproject.toml ([tool.importlinter]); .ci/run runs ``lint-imports``.
These tests check that the contract holds, that a deliberately wrong import breaks it (so the
contract can fail), and that no module, public or private, sits on an import cycle.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(where / "pyproject.toml")], cwd=where,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "ssem_symbolic", dest / "ssem_symbolic",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_contract_holds(copy):
    out = _lint(copy)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("vocab/_pairs.py", "from ..optimum import global_optimum", "data flows one way"),
    ("setting/_model.py", "import torch", "imports no torch"),
    ("forms/_sigmoid.py", "from ..report import guide", "data flows one way"),
])
def test_a_wrong_import_breaks_the_contract(copy, tmp_path, module, line, broken):
    where = tmp_path / "wrong"
    shutil.copytree(copy, where)
    path = where / "ssem_symbolic" / module
    text = path.read_text()
    head, sep, rest = text.partition("\nfrom __future__ import annotations\n")
    path.write_text(head + sep + line + "  # noqa\n" + rest)
    out = _lint(where)
    assert out.returncode != 0 and broken in out.stdout, out.stdout


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = grimp.build_graph("ssem_symbolic")
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []
    # the check can fail: the spec layer's former cycle (the resolver importing the file
    # reader, which imports the spec module) is found
    edges["ssem_symbolic.spec._lossspec"].add("ssem_symbolic.spec._file")
    assert _cycles(edges) == [["ssem_symbolic.spec._file", "ssem_symbolic.spec._lossspec"]]


def test_no_private_module_is_imported_across_packages():
    graph = grimp.build_graph("ssem_symbolic")
    for module in graph.modules:
        package = module.rsplit(".", 1)[0]
        for other in graph.find_modules_directly_imported_by(module):
            last = other.rsplit(".", 1)[-1]
            if last.startswith("_") and not last.startswith("__"):
                owner = other.rsplit(".", 1)[0]
                assert owner == package or owner == module, f"{module} imports {other}"


def test_no_private_name_is_imported_across_packages():
    import ast

    for path in (ROOT / "ssem_symbolic").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, f"{path.relative_to(ROOT)}:{node.lineno} imports {private}"
