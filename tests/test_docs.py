"""Every example in the README and the docs is executed, so the pages cannot drift.

* ``$ ssem ...`` lines in fenced blocks run in-process; what the page shows must be what the
  command prints. A block that elides lines (``...``, ``# excerpt``) is matched as an ordered
  subsequence, otherwise line for line. Durations (``0.147 s``) are not compared.
* ``python`` blocks run as scripts (a block that needs an optional library runs where it is
  installed: the test extra installs them all).
* ``$ ssem crosscheck --quick`` and ``--real`` (minutes of training) are checked by the argument
  parser only;
  the crosscheck itself runs in tests/cli/test_cli_crosscheck.py and in CI's main job.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.M | re.S)
DURATION = re.compile(r"\d+(\.\d+)? s\b")
NOT_RUN = ("crosscheck --quick", "crosscheck --full", "crosscheck\n", "crosscheck --real")
#: exact solves that take seconds each: the slow tier
SLOW = ("--class-sizes", "--dataset", "--instances-per-class", "phase", "--tau learnable",
        "--hierarchy", "--pairs")


def _blocks(kind: str):
    for page in PAGES:
        text = page.read_text()
        for match in FENCE.finditer(text):
            info, body = match.group(1).strip(), match.group(2)
            line = text[:match.start()].count("\n") + 1
            yield page, line, info, body


def _transcripts():
    for page, line, info, body in _blocks("console"):
        if not body.startswith("$ ssem"):
            continue
        chunks = re.split(r"^\$ ", body, flags=re.M)[1:]
        for i, chunk in enumerate(chunks):
            command, _, shown = chunk.partition("\n")
            marks = [pytest.mark.slow] if any(x in command for x in SLOW) else []
            yield pytest.param(command, shown, id=f"{page.relative_to(ROOT)}:{line}:{i}",
                               marks=marks)


def _python_blocks():
    for page, line, info, body in _blocks("python"):
        if info == "python":
            yield pytest.param(body, id=f"{page.relative_to(ROOT)}:{line}")


def _lines(text: str) -> list[str]:
    return [DURATION.sub("<t> s", x.rstrip()) for x in text.strip("\n").split("\n")]


@pytest.mark.parametrize("command, shown", list(_transcripts()))
def test_every_shown_command_prints_what_the_page_shows(command, shown, capsys, monkeypatch,
                                                        tmp_path):
    from ssem_symbolic.cli import main
    from ssem_symbolic.cli._main import build_parser

    elided = "# excerpt" in command or "\n...\n" in f"\n{shown}\n"
    command = command.split("#")[0].strip()
    argv = shlex.split(command)[1:]
    if any(x in command + "\n" for x in NOT_RUN):
        build_parser().parse_args(argv)  # a valid command line; its run is CI's main job
        return
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0, capsys.readouterr().err
    got = _lines(capsys.readouterr().out)
    want = [x for x in _lines(shown) if x != "..."]
    if not elided:
        if len(got) == 1 and got[0].startswith("{"):  # JSON: compared as values
            assert json.loads(got[0]) == json.loads(want[0])
            return
        assert got == want
        return
    at = 0
    for line in want:  # an ordered subsequence of what was printed
        assert line in got[at:], f"{line!r} not printed (in order) by {command}"
        at = got.index(line, at) + 1


@pytest.mark.parametrize("code", list(_python_blocks()))
def test_every_python_example_runs(code, tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})
