"""`ssem crosscheck`: a smoke run at tiny sizes, and kill / resume in a subprocess."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ssem_symbolic.cli import main


@pytest.mark.slow
def test_crosscheck_tiny_writes_everything(tmp_path, capsys):
    out = tmp_path / "cc"
    assert main(["crosscheck", "--tiny", "--loss", "paper", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sum(summary["verdicts"].values()) >= 4
    for name in ("report.md", "results.jsonl", "phase.png", "variance_vs_alpha.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "phase.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert "| trainer |" in report and "## Thresholds" in report
    lines = (out / "results.jsonl").read_text().splitlines()
    assert all(json.loads(line)["key"] for line in lines)
    assert summary["families_verdicts"] == {"agrees": 2}  # a hierarchy and image-text pairs
    assert "## Hierarchies and image-text pairs" in report
    assert len(json.loads((out / "families.json").read_text())) == 2


def test_crosscheck_bad_out(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["crosscheck", "--tiny", "--out", str(f)]) == 2
    assert "not a folder" in capsys.readouterr().err


def _cmd(out, *extra):
    return [sys.executable, "-m", "ssem_symbolic", "crosscheck", "--tiny", "--loss", "paper",
            "--loss", "supcon", "--out", str(out), "--json", *extra]


def _records(path):
    return {r["key"]: r for r in map(json.loads, path.read_text().splitlines())}


def _strip(rec):
    return {k: v for k, v in rec.items() if k != "seconds"}


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_results(tmp_path):
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    subprocess.run(_cmd(ref_dir), check=True, capture_output=True, timeout=300)
    reference = _records(ref_dir / "results.jsonl")

    proc = subprocess.Popen(_cmd(run_dir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    results = run_dir / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if results.exists() and results.read_text().count("\n") >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = results.read_text().count("\n")
    assert 2 <= partial < len(reference), "the kill should land mid-way"
    with open(results, "a") as fh:  # and a torn last write, as a kill mid-append leaves
        fh.write('{"key": "free,loss=paper')

    done = subprocess.run(_cmd(run_dir, "--resume"), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "corrupt trailing line" in done.stderr
    resumed = _records(results)
    assert resumed.keys() == reference.keys()
    for key in reference:
        assert _strip(resumed[key]) == _strip(reference[key]), key
