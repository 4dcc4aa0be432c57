"""The Ray executor: on a local Ray instance of 2 CPUs the records equal the in-process
executor's value for value, each configuration is recorded once, and a task whose worker is
killed mid-run is retried, not lost or duplicated."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ssem_symbolic.harness.sweep import run

ROOT = Path(__file__).resolve().parents[2]


def _records(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        assert rec["key"] not in out, "a configuration recorded twice"
        rec.pop("seconds", None)  # wall time, the one field that may differ
        out[rec["key"]] = rec
    return out


PLAN = """
from ssem_symbolic.harness.sweep import Plan
from ssem_symbolic.harness.train import TrainConfig
plan = Plan([TrainConfig("free", loss, a, 0.5, m, 2, 2, 8, 1500)
             for loss, m in (("supcon", 2), ("paper", 3), ("supcon-split", 2))
             for a in (0.2, 0.7)]
            + [TrainConfig("gaussian", "paper", 0.2, 0.5, 2, 3, 2, 8, 40, lr=0.003)], [], "tiny")
"""


@pytest.mark.slow
def test_a_killed_ray_task_is_retried_and_recorded_once(tmp_path):
    """Three batched groups and a network on Ray in a subprocess; the first worker seen running
    a task is killed (SIGKILL). The run still ends with every configuration recorded exactly
    once, and the records equal the in-process executor's value for value (wall time aside)."""
    out = tmp_path / "ray"
    code = PLAN + (f"from ssem_symbolic.harness.sweep import run\n"
                   f"run(plan, __import__('pathlib').Path({str(out)!r}), progress=False, "
                   "validity=False, executor='ray')\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        busy = [int(line.split()[0]) for line in ps.splitlines()
                if line.split()[1:2] == ["ray::execute"]]
        if busy:
            os.kill(busy[0], signal.SIGKILL)
            killed = busy[0]
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=300)
    assert killed is not None, "no Ray task was seen running"
    assert proc.returncode == 0, stderr[-2000:]
    scope: dict = {}
    exec(PLAN, scope)
    run(scope["plan"], tmp_path / "local", progress=False, validity=False)
    ray = _records(out / "results.jsonl")
    assert ray == _records(tmp_path / "local" / "results.jsonl") and len(ray) == 7


def test_address_without_ray_is_a_one_line_error(capsys):
    from ssem_symbolic.cli import main

    assert main(["crosscheck", "--tiny", "--address", "auto", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "--address goes with --executor ray" in err and err.count("\n") == 1
