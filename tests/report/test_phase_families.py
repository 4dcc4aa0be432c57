"""Phase maps of a hierarchy and of image-text pairs: every point the exact optimum's, the
files written, and the limits refused in one line."""

import json

import numpy as np
import pytest

from helpers.cli import exit_status
from ssem_symbolic.optimum import optimum
from ssem_symbolic.report import phase_map
from ssem_symbolic.setting import Hierarchy, Paired
from ssem_symbolic.spec import load_spec

TWO_LEVEL = "examples/data/two-level.toml"
SIGLIP = "examples/data/siglip-pairs.toml"


@pytest.mark.parametrize("spec, setting", [(TWO_LEVEL, Hierarchy(2, 2, 2)),
                                           (SIGLIP, Paired(3, 2))])
def test_every_point_is_the_optimum(spec, setting):
    alpha, tau = np.array([0.1, 0.9]), np.array([0.03, 2.0])
    pm = phase_map(spec, setting, alpha, tau)
    for i, a in enumerate(alpha):
        for j, t in enumerate(tau):
            opt = optimum(load_spec(spec), setting, float(a), float(t))
            assert pm.within_class_variance[i, j] == opt.within_class_variance
            assert pm.collapsed[i, j] == opt.collapsed
            if isinstance(setting, Hierarchy):
                assert pm.levels["superclass_collapsed"][i, j] == \
                    opt.hierarchy["collapse"]["superclass"]
            else:
                assert pm.levels["modality_gap"][i, j] == opt.paired["modality_gap"]
                assert pm.levels["aligned"][i, j] == (opt.paired["structure"]
                                                      in ("simplex", "aligned"))


def test_cli_writes_the_map_and_refuses_limits(tmp_path, capsys):
    out = tmp_path / "h.npz"
    assert exit_status(["phase", "--loss", TWO_LEVEL, "--hierarchy", "2x2", "--per-class",
                        "2", "--alpha-grid", "0:1:3", "--tau-grid", "0.1:3:3", "--out",
                        str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    data = np.load(out)
    assert summary["points"] == 9 and set(data["superclass_collapsed"].ravel()) <= {0, 1}
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert exit_status(["phase", "--loss", SIGLIP, "--pairs", "4", "--alpha-grid", "1:1:1",
                        "--tau-grid", "0.0001:1:3", "--out", str(tmp_path / "p.npz")]) == 2
    assert "--tau-grid must lie in [0.001" in capsys.readouterr().err
    assert exit_status(["phase", "--loss", SIGLIP, "--pairs", "4", "--alpha-grid", "0:1:30",
                        "--tau-grid", "0.1:1:30", "--out", str(tmp_path / "q.npz")]) == 2
    assert "at most 400 points" in capsys.readouterr().err


def test_a_one_row_grid_draws_without_a_contour(tmp_path, capsys):
    """A grid of one alpha (or one tau) has no contour to draw; the flags still change along
    it (here SigLIP's aligned structure along tau, and an imbalanced batch's collapse)."""
    out = tmp_path / "p.npz"
    assert exit_status(["phase", "--loss", SIGLIP, "--pairs", "8", "--alpha-grid", "1:1:1",
                        "--tau-grid", "0.005:1:9", "--log-tau", "--out", str(out)]) == 0
    aligned = np.load(out)["aligned"]
    assert aligned.shape == (1, 9) and aligned.any() and not aligned.all()
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    out = tmp_path / "i.npz"
    assert exit_status(["phase", "--loss", "paper", "--class-sizes", "3,2", "--alpha-grid",
                        "0.5:0.5:1", "--tau-grid", "0.1:1:3", "--out", str(out)]) == 0
    assert out.with_suffix(".png").exists()
