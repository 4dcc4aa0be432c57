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


def test_samplers_give_the_expected_gradient_dynamics_and_an_infinite_dataset_is_refused(
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
    assert run("--dataset", "6:4", "--sampler", "uniform:6") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"] == [6, 4] and "uniform" in data["sampler"]
    assert run("--dataset", "6:oo", "--sampler", "uniform:6") == 2
    assert "finite dataset" in capsys.readouterr().err


def test_out_for_unequal_sizes_writes_every_coordinate_and_the_variances(capsys, tmp_path):
    """The variances saved for a size-group trajectory equal their definitions on the
    explicit Gram matrix built from the saved coordinates (within: the mean over classes of
    1 - ||class mean||^2; total: 1 - ||mean||^2)."""
    try:
        status = main(["dynamics", "--loss", "supcon", "--class-sizes", "3,3,2", "--alpha",
                       "0.3", "--tau", "0.5", "--rule", "gd", "--lr", "0.5", "--steps", "300",
                       "--start", "collapsed:1e-6", "--out", str(tmp_path)])
    except SystemExit as exc:
        status = exc.code
    assert status == 0, capsys.readouterr().err
    saved = np.load(tmp_path / "trajectory.npz")
    names = [str(n) for n in saved["coords"]]
    sizes, p = [3, 3, 2], 2
    group = {3: 0, 2: 1}
    inst = [(c, i) for c, k in enumerate(sizes) for i in range(k) for _ in range(p)]
    for step in (0, 150, 300):
        x = {n: float(saved[n][step]) for n in names}
        M = len(inst)
        G = np.eye(M)
        for a in range(M):
            for b in range(M):
                if a == b:
                    continue
                (ca, ia), (cb, ib) = inst[a], inst[b]
                ga, gb = group[sizes[ca]], group[sizes[cb]]
                if ca == cb:
                    G[a, b] = x[f"v[{ga}]"] if ia == ib else x[f"s[{ga}]"]
                else:
                    G[a, b] = x[f"o[{min(ga, gb)},{max(ga, gb)}]"]
        rows = {c: [a for a, (ca, _) in enumerate(inst) if ca == c] for c in range(3)}
        within = np.mean([1 - G[np.ix_(r, r)].mean() for r in rows.values()])
        total = 1 - G.mean()
        assert abs(saved["within"][step] - within) < 1e-12
        assert abs(saved["between"][step] - (total - within)) < 1e-12
    assert (tmp_path / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_grid_of_alpha_and_tau_at_once(capsys, tmp_path):
    """--alpha-grid/--tau-grid: every point's plateau equals the one-point command's, and the
    files are written; a grid with --alpha, or without --lr, is one line."""
    def run(*argv):
        try:
            return main(["dynamics", "--loss", "supcon", "--classes", "3", "--per-class", "4",
                         *argv])
        except SystemExit as exc:
            return exc.code
    assert run("--alpha-grid", "0.2:0.8:3", "--tau-grid", "0.4:0.8:2", "--lr", "0.5",
               "--steps", "600", "--json", "--out", str(tmp_path)) == 0
    grid = json.loads(capsys.readouterr().out)
    assert len(grid["plateau"]) == 3 and len(grid["plateau"][0]) == 2
    for i, a in enumerate(grid["alpha"]):
        for j, t in enumerate(grid["tau"]):
            assert run("--alpha", repr(a), "--tau", repr(t), "--lr", "0.5", "--steps", "600",
                       "--json") == 0
            one = json.loads(capsys.readouterr().out)
            assert grid["plateau"][i][j] == one["plateau"]
    saved = np.load(tmp_path / "dynamics_grid.npz")
    assert saved["plateau"].shape == (3, 2) and saved["within"].shape == (3, 2)
    assert (tmp_path / "dynamics_grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run("--alpha", "0.3", "--alpha-grid", "0:1:3", "--tau", "0.5", "--lr", "0.5") == 2
    assert "one of them" in capsys.readouterr().err
    assert run("--alpha-grid", "0:1:3", "--tau", "0.5") == 2
    assert "--lr" in capsys.readouterr().err
