"""The examples run, headless, with tiny settings."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_train_digits_runs_and_monitors(tmp_path):
    out = tmp_path / "digits.png"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "train_digits.py"),
                           "--epochs", "2", "--steps", "3", "--device", "cpu", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and all("within" in line and "predicted" in line for line in lines)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_train_presets_logs_diagnoses_and_monitors(tmp_path):
    log, png = tmp_path / "run.csv", tmp_path / "run.png"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "train_presets.py"),
                           "--steps", "60", "--log", str(log), "--out", str(png)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = log.read_text().splitlines()
    assert lines[0] == "step,loss" and len(lines) == 61
    assert "supcontrast: 60 log entries" in done.stdout and "floor (dataset)" in done.stdout
    assert "the monitor, last step:" in done.stdout and "alpha_c" in done.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
