"""Bad input at every subcommand: one line on stderr, a documented non-zero exit, no traceback.

In-process for values, paths and grids (fast); in subprocesses for pipes and signals.
"""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.cli import exit_status
from ssem_symbolic.infra import _io
from ssem_symbolic.cli._main import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT,
    EXIT_PIPE,
    EXIT_TERMINATED,
    main,
)

BATCH = ["--loss", "paper", "--classes", "3", "--per-class", "4"]
GRID = ["--alpha-grid", "0:1:3", "--tau-grid", "0.1:1:3"]

BAD = [
    # values
    (["threshold", *BATCH, "--tau", "-inf"], EXIT_BAD_INPUT, "finite"),
    (["threshold", *BATCH, "--tau", "-1"], EXIT_BAD_INPUT, "tau"),
    (["threshold", *BATCH, "--tau", "nan"], EXIT_BAD_INPUT, "finite"),
    (["threshold", *BATCH, "--alpha", "1.5"], EXIT_BAD_INPUT, "[0, 1]"),
    (["threshold", *BATCH, "--alpha", "0.1", "--alpha", "0.2"], EXIT_BAD_INPUT, "more than once"),
    (["threshold", "--loss", "nope", "--classes", "3", "--per-class", "4", "--tau", "1"],
     EXIT_BAD_INPUT, "unknown loss"),
    (["optimum", *BATCH, "--alpha", "0.5", "--tau", "0"], EXIT_BAD_INPUT, "tau"),
    (["optimum", *BATCH, "--alpha", "0.5", "--tau", "1e-320"], EXIT_BAD_INPUT, "range"),
    (["optimum", *BATCH, "--alpha", "-0", "--tau", "1", "--tau", "2"], EXIT_BAD_INPUT, "once"),
    (["optimum", "--loss", "paper", "--classes", "1", "--per-class", "4", "--alpha", "0.5",
      "--tau", "1"], EXIT_BAD_INPUT, "classes"),
    (["optimum", "--loss", "paper", "--classes", "3.5", "--per-class", "4", "--alpha", "0.5",
      "--tau", "1"], EXIT_BAD_INPUT, "integer"),
    (["guide", "--loss", "paper", "--classes", "3", "--per-class", "4", "--tau", "-1e3"],
     EXIT_BAD_INPUT, "tau"),
    (["guide", "--loss", "paper", "--batch-size", "10", "--num-classes", "1", "--alpha", "1"],
     EXIT_BAD_INPUT, "--num-classes must be >= 2"),
    (["guide", "--loss", "paper", "--classes", "3", "--per-class", "4", "--alpha", "1",
      "--target-within", "0"], EXIT_BAD_INPUT, "no tau"),
    (["formula", "--loss", "nope"], EXIT_BAD_INPUT, "unknown loss"),
    (["formula", "--loss", "paper", "--format", "text", "--format", "latex"], EXIT_BAD_INPUT,
     "more than once"),
    (["export", "--loss", "paper", "--format", "pdf"], EXIT_BAD_INPUT, "invalid choice"),
    # grids
    (["phase", *BATCH, "--alpha-grid", "0:1", "--tau-grid", "0.1:1:3", "--out", "{tmp}/a.npz"],
     EXIT_BAD_INPUT, "START:STOP:COUNT"),
    (["phase", *BATCH, "--alpha-grid", "0:1:3", "--tau-grid", "1e-300:1e300:20", "--log-tau",
      "--out", "{tmp}/a.npz"], EXIT_BAD_INPUT, "must lie in"),
    (["phase", *BATCH, "--alpha-grid", "0:1:3", "--tau-grid", "1e-300:1e-3:10", "--log-tau",
      "--out", "{tmp}/a.npz"], EXIT_BAD_INPUT, "must lie in"),
    (["phase", *BATCH, "--alpha-grid", "0:1:100000000", "--tau-grid", "0.1:1:100000000",
      "--out", "{tmp}/a.npz"], EXIT_BAD_INPUT, "over the limit"),
    (["phase", *BATCH, *GRID, "--out", "{tmp}/map.png"], EXIT_BAD_INPUT, ".npz"),
    # paths
    (["phase", *BATCH, *GRID, "--out", "{tmp}/missing/a.npz"], EXIT_OUTPUT, "does not exist"),
    (["phase", *BATCH, *GRID, "--out", "/proc/ssem-edge.npz"], EXIT_OUTPUT, "cannot write"),
    (["phase", *BATCH, *GRID, "--out", "{tmp}/dir.npz"], EXIT_OUTPUT, "folder"),
    (["export", "--loss", "paper", "--format", "json", "--out", "{tmp}/missing/x.json"],
     EXIT_OUTPUT, "does not exist"),
    (["export", "--loss", "paper", "--format", "json", "--out", "/proc/ssem-edge.json"],
     EXIT_OUTPUT, "cannot write"),
    (["export", "--loss", "paper", "--format", "json", "--out", ""], EXIT_OUTPUT, "empty"),
    (["crosscheck", "--tiny", "--out", ""], EXIT_BAD_INPUT, "empty"),
    (["crosscheck", "--tiny", "--out", "/proc/ssem-edge"], EXIT_OUTPUT, "cannot create"),
    (["crosscheck", "--tiny", "--out", "{tmp}/file.txt"], EXIT_BAD_INPUT, "not a folder"),
    (["crosscheck", "--tiny", "--quick"], EXIT_BAD_INPUT, "not allowed"),
]


@pytest.mark.parametrize("argv, status, words", BAD, ids=lambda x: " ".join(x)[:60]
                         if isinstance(x, list) else None)
def test_bad_input_one_line_and_status(tmp_path, capsys, argv, status, words):
    (tmp_path / "dir.npz").mkdir()
    (tmp_path / "file.txt").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with_exit = exit_status(argv)
    captured = capsys.readouterr()
    assert with_exit == status, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ssem: error: "), captured.err
    assert words in lines[0]
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.npz", "file.txt"]  # nothing



def test_version(capsys):
    assert exit_status(["--version"]) == 0
    assert capsys.readouterr().out.startswith("ssem 0.")


def test_full_disk_while_writing_phase(tmp_path, capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(_io.os, "fsync", full)
    status = main(["phase", *BATCH, *GRID, "--out", str(tmp_path / "a.npz")])
    err = capsys.readouterr().err
    assert status == EXIT_OUTPUT and err.count("\n") == 1 and "No space left" in err
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.slow
def test_full_disk_while_writing_crosscheck_report(tmp_path, capsys, monkeypatch):
    from ssem_symbolic.harness import report

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(report, "write", full)
    status = main(["crosscheck", "--tiny", "--loss", "paper", "--json", "--out",
                   str(tmp_path / "cc")])
    err = capsys.readouterr().err
    assert status == EXIT_OUTPUT and "No space left" in err and "Traceback" not in err


def test_unexpected_error_prints_traceback_and_asks_for_a_report(capsys, monkeypatch):
    from ssem_symbolic.cli import _main as cli

    def broken(args):
        raise ZeroDivisionError("boom")
    monkeypatch.setitem(cli._COMMANDS, "formula", broken)
    assert main(["formula", "--loss", "paper"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "bug" in err


# --- pipes and signals, in subprocesses ------------------------------------------------

SSEM = [sys.executable, "-m", "ssem_symbolic"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def test_stdout_closed_early_is_quiet():
    proc = subprocess.Popen([*SSEM, "formula", "--loss", "paper"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    proc.stdout.read(20)
    proc.stdout.close()  # as `| head -c 20` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_PIPE
    assert err == ""


def test_stdout_full_is_one_line():
    with open("/dev/full", "w") as full:
        done = subprocess.run([*SSEM, "formula", "--loss", "paper"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=ENV)
    assert done.returncode == EXIT_OUTPUT
    assert done.stderr.strip().splitlines() == [
        "ssem: error: cannot write standard output: No space left on device"]


@pytest.mark.slow
@pytest.mark.parametrize("sig, status, word", [(signal.SIGINT, EXIT_INTERRUPTED, "interrupted"),
                                               (signal.SIGTERM, EXIT_TERMINATED, "terminated")])
def test_signal_during_crosscheck_stops_cleanly_and_says_how_to_resume(tmp_path, sig, status,
                                                                        word):
    out = tmp_path / "cc"
    proc = subprocess.Popen([*SSEM, "crosscheck", "--tiny", "--json", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    results = out / "results.jsonl"
    for _ in range(2400):  # wait (up to 2 min) until the first configuration is written
        if results.exists() and results.read_text().count("\n") >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "--resume" in lines[0], err
    assert results.read_text().count("\n") >= 1  # what was done is kept
    assert Path(results).read_text().endswith("\n")
