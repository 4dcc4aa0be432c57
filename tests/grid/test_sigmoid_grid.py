"""The sigmoid form on tensors and through the grid layers (phase map, guide, export,
crosscheck), against the mpmath solvers at 30 digits (themselves checked against a dense scan
of f and free unit vectors in tests/test_sigmoid.py) and against exact rules written here."""

import importlib.util
import json
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch

from ssem_symbolic.forms import sigmoid
from ssem_symbolic.cli import main
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.grid import global_optimum_grid
from ssem_symbolic.grid import kernels, optimal_beta_grid
from ssem_symbolic.spec import LossSpec
from ssem_symbolic.spec import load_spec

FILE = Path(__file__).parents[2] / "examples" / "specs" / "supervised-sigmoid.toml"
SIG = load_spec(FILE)
BIASED = LossSpec("b", ["view", "class", "other"], ["view", "class"], ["view"], "pairs",
                  form="sigmoid", bias="-1/2")
#: the views are negatives of the supervised term: off SSEM at small alpha
SPLIT = LossSpec("split", ["view", "class", "other"], ["class"], ["view"], "anchors",
                 form="sigmoid", bias=1)
TAUS = [1e-3, 0.01, 0.05, 0.3, 1.0, 7.0, 100.0, 1e3]


@pytest.mark.parametrize("spec", [SIG, BIASED], ids=["file", "biased-pairs"])
def test_beta_star_on_the_grid_against_mpmath(spec):
    alphas = [0.0, 0.15, 0.5, 0.85, 0.97, 1.0]
    b = optimal_beta_grid(spec, 3, 4, 2, torch.tensor(alphas, dtype=torch.float64)[:, None],
                          torch.tensor(TAUS, dtype=torch.float64)[None, :])
    for i, a in enumerate(alphas):
        for j, t in enumerate(TAUS):
            ref = float(sigmoid.optimal_beta(spec, 3, 4, 2, repr(a), repr(t)))
            assert abs(b[i, j].item() - ref) <= 1e-10, (a, t)
            # exactly 1 where f'(1) <= 0
            assert (b[i, j].item() == 1.0) == sigmoid.collapses(spec, 3, 4, 2, repr(a), repr(t))
    with pytest.raises(ValueError, match="tau outside"):
        optimal_beta_grid(spec, 3, 4, 2, 0.5, 1e-4)


@pytest.mark.parametrize("spec", [SIG, BIASED], ids=["file", "biased-pairs"])
def test_the_threshold_kernels_against_mpmath(spec):
    K = kernels(spec)
    a_c = K.alpha_c(torch.tensor(TAUS, dtype=torch.float64), 3, 4, 2)
    for t, got in zip(TAUS, a_c.tolist()):
        ref = sigmoid.alpha_c_value(spec, 3, 4, 2, repr(t))
        assert abs(got - float(ref)) <= 1e-10 * abs(float(ref)) + 1e-300, t
    alphas = torch.tensor([0.0, 0.1, 0.5, 0.9, 0.999, 1.0], dtype=torch.float64)
    tau_c, side = K.tau_c(alphas, 3, 4, 2), K.tau_c_side(alphas, 3, 4, 2)
    for a, t_c, s in zip(alphas.tolist(), tau_c.tolist(), side.tolist()):
        kind, ref = sigmoid.collapse_side_in_tau(spec, 3, 4, 2, repr(a))
        if kind == "always":
            assert t_c == 0
        elif kind == "never":
            assert math.isinf(t_c)
        else:
            assert t_c == pytest.approx(float(ref), rel=1e-10)
            assert s == (1.0 if kind == "tau>=" else -1.0)
            # the exact rule on either side of the boundary
            above = sigmoid.collapses(spec, 3, 4, 2, repr(a), repr(t_c * (1 + 1e-8)))
            below = sigmoid.collapses(spec, 3, 4, 2, repr(a), repr(t_c * (1 - 1e-8)))
            assert (above, below) == ((True, False) if s > 0 else (False, True))
    assert set(K.alpha_sides(torch.tensor(TAUS), 3, 4, 2).tolist()) == {1.0}


def test_the_grid_optimum_against_the_mpmath_face_solver():
    alphas, taus = [0.0, 0.2, 0.6, 1.0], [0.05, 0.2, 1.0, 5.0]
    regimes = set()
    for spec in (SIG, SPLIT):
        G = global_optimum_grid(spec, 3, 4, 2, torch.tensor(alphas, dtype=torch.float64)[:, None],
                                torch.tensor(taus, dtype=torch.float64)[None, :])
        for i, a in enumerate(alphas):
            for j, t in enumerate(taus):
                ref = optimum(spec, Batch.balanced(3, 4, 2), repr(a), repr(t))
                assert G.view[i, j].item() == pytest.approx(ref.view, abs=1e-10)
                assert G.class_[i, j].item() == pytest.approx(ref.class_, abs=1e-10)
                assert G.other[i, j].item() == pytest.approx(ref.other, abs=1e-10)
                assert G.within[i, j].item() == pytest.approx(ref.within_class_variance,
                                                              abs=1e-10)
                assert G.regimes[G.regime[i, j]] == tuple(sorted(ref.active))
                regimes.add(G.regimes[G.regime[i, j]])
    assert ("all-ones",) in regimes  # the views apart: off SSEM, solved on the grid


def test_the_phase_map_and_guide_from_the_file(capsys, tmp_path):
    out = tmp_path / "sig.npz"
    code = main(["phase", "--loss", str(FILE), "--classes", "3", "--per-class", "4",
                 "--alpha-grid", "0:1:5", "--tau-grid", "0.01:10:6", "--log-tau", "--out",
                 str(out)])
    capsys.readouterr()
    assert code == 0 and out.with_suffix(".png").stat().st_size > 10_000
    with np.load(out) as f:
        taus, alphas = f["tau"], f["alpha"]
        for t, got in zip(taus, f["alpha_c"]):
            assert got == pytest.approx(float(sigmoid.alpha_c_value(SIG, 3, 4, 2, repr(float(t)))),
                                        rel=1e-10)
        assert math.isinf(f["tau_c"][-1]) and f["tau_c"][0] == 0  # alpha = 1, alpha = 0
        for i, a in enumerate(alphas):
            for j, t in enumerate(taus):
                ref = float(sigmoid.optimal_beta(SIG, 3, 4, 2, repr(float(a)), repr(float(t))))
                assert f["within_class_variance"][i, j] == pytest.approx(1 - ref, abs=1e-10)
    code = main(["guide", "--loss", str(FILE), "--classes", "3", "--per-class", "4", "--tau",
                 "0.5", "--target-within", "0.1", "--json"])
    g = json.loads(capsys.readouterr().out)
    assert code == 0
    assert g["alpha_c"] == pytest.approx(float(sigmoid.alpha_c_value(SIG, 3, 4, 2, "0.5")),
                                         rel=1e-9)
    beta = sigmoid.optimal_beta(SIG, 3, 4, 2, repr(g["alpha"]), "0.5")
    assert float(1 - beta) == pytest.approx(0.1, rel=1e-6)
    assert any("not proven" in w for w in g["warnings"])  # the CLI's JSON: in words
    code = main(["guide", "--loss", str(FILE), "--classes", "3", "--per-class", "4",
                 "--alpha", "0.5", "--json"])
    g = json.loads(capsys.readouterr().out)
    kind, t_c = sigmoid.collapse_side_in_tau(SIG, 3, 4, 2, "0.5")
    assert code == 0 and kind == "tau>=" and g["tau_c"] == pytest.approx(float(t_c), rel=1e-9)


def test_the_exported_sheet(capsys, tmp_path):
    for fmt in ("latex", "markdown", "json", "python"):
        assert main(["export", "--loss", str(FILE), "--format", fmt, "--out",
                     str(tmp_path / f"s.{'py' if fmt == 'python' else fmt}")]) == 0
    capsys.readouterr()
    sheet = json.loads((tmp_path / "s.json").read_text())
    alpha_c = sp.sympify(sheet["expressions"]["alpha_c"])  # plain SymPy reads it back
    at = {s: v for s in alpha_c.free_symbols for n, v in (("m", 3), ("k", 4), ("p", 2),
                                                         ("tau", sp.Rational(1, 2)))
          if s.name == n}
    with mpmath.workdps(30):
        assert sp.N(alpha_c.subs(at), 25) == pytest.approx(
            float(sigmoid.alpha_c_value(SIG, 3, 4, 2, "0.5")), rel=1e-14)
    tex = (tmp_path / "s.latex").read_text()
    assert r"\sigma\left(" in tex and tex.count(r"\[") + tex.count(r"\begin{align*}") == 8
    spec = importlib.util.spec_from_file_location("sheet", tmp_path / "s.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for a, t in ((0.2, 0.1), (0.5, 1.0), (0.9, 3.0), (0.95, 0.01)):
        assert mod.beta_star(a, t, 3, 4, 2) == pytest.approx(
            float(sigmoid.optimal_beta(SIG, 3, 4, 2, repr(a), repr(t))), abs=1e-12)
        assert mod.loss(0.3, a, t, 3, 4, 2) == pytest.approx(
            float(sigmoid.loss_value(SIG, 3, 4, 2, repr(a), repr(t), "0.3")), rel=1e-13)
    t_c, side = mod.tau_c(0.5, 3, 4, 2)
    assert side == "tau>=" and t_c == pytest.approx(
        float(sigmoid.collapse_side_in_tau(SIG, 3, 4, 2, "0.5")[1]), rel=1e-12)
    assert mod.tau_c(1.0, 3, 4, 2) == (math.inf, "never")
