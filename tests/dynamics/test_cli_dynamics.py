"""ssem dynamics: the summary in text and JSON, the files, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ssem_symbolic.cli import main

BASE = ["dynamics", "--loss", "supcon", "--classes", "3", "--per-class", "4", "--alpha", "0.3",
        "--tau", "0.5"]


def _run(capsys, *argv):
    try:
        status = main([*BASE, *argv])
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


def test_json_summary_and_files(capsys, tmp_path):
    status, out, _ = _run(capsys, "--rule", "gd", "--lr", "0.5", "--steps", "1500",
                          "--start", "collapsed:1e-6", "--json", "--out", str(tmp_path))
    assert status == 0
    data = json.loads(out)
    assert data["plateau"] == 70 and abs(data["plateau_predicted"] - 69.04) < 0.01
    assert data["time_to_optimum"] == 901
    assert data["escape_rates_from_collapse"]["between"] > 0 > \
        data["escape_rates_from_collapse"]["view"]
    assert data["stable_lr"] > 0.5
    saved = np.load(tmp_path / "trajectory.npz")
    assert saved["v"].shape == (1501,)
    assert np.allclose(saved["optimum"], list(data["optimum"].values()))
    assert (tmp_path / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_flow_and_momentum_run(capsys):
    status, out, _ = _run(capsys, "--rule", "flow", "--horizon", "50")
    assert status == 0 and "the gradient flow" in out and "plateau at collapse" in out
    status, out, _ = _run(capsys, "--rule", "momentum", "--lr", "0.1", "--beta", "0.9",
                          "--start", "uniform", "--steps", "3000")
    assert status == 0 and "within 1e-06 of the optimum from" in out


@pytest.mark.parametrize("argv, message", [
    (["--rule", "gd"], "--rule gd needs --lr > 0"),
    (["--rule", "momentum", "--lr", "0.1"], "--beta in [0, 1)"),
    (["--rule", "flow"], "--horizon > 0"),
    (["--rule", "gd", "--lr", "50"], "beyond the stable range"),
    (["--rule", "gd", "--lr", "0.5", "--start", "1,1,-1"], "not a Gram matrix"),
    (["--rule", "gd", "--lr", "0.5", "--steps", "0"], "--steps must lie"),
])
def test_bad_input_is_one_line(capsys, argv, message):
    status, out, err = _run(capsys, *argv)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1


def test_a_balanced_sampler_gives_the_expected_gradient_dynamics_and_others_are_refused(
        capsys):
    def run(*argv):
        try:
            return main(["dynamics", "--loss", "supcon", *argv, "--alpha", "0.3", "--tau",
                         "0.5", "--rule", "gd", "--lr", "0.5", "--steps", "200", "--json"])
        except SystemExit as exc:
            return exc.code
    assert run("--dataset", "6:4", "--sampler", "balanced:3:2") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"] == [6, 4] and "balanced" in data["sampler"]
    assert run("--dataset", "6:4", "--sampler", "uniform:6") == 2
    assert "class-balanced sampler" in capsys.readouterr().err
