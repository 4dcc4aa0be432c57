"""phase.py and `ssem phase`, end to end at a tiny grid."""

import json

import numpy as np
import pytest

from ssem_symbolic.cli import main

from ssem_symbolic.setting import Batch
from ssem_symbolic.ssem import alpha_c_value, optimal_beta, tau_c_value
from ssem_symbolic.report import grid, phase_map


def test_phase_map_values_against_the_engine():
    pm = phase_map("supcon", Batch.balanced(3, 4, 2), grid(0, 1, 5), grid(0.01, 10, 4, log=True))
    assert pm.beta.shape == (5, 4)
    for i, a in enumerate(pm.alpha):
        for j, t in enumerate(pm.tau):
            assert pm.beta[i, j] == pytest.approx(float(optimal_beta("supcon", 3, 4, 2, a, t)),
                                                  abs=1e-10)
    assert pm.alpha_c == pytest.approx([float(alpha_c_value("supcon", 3, 4, 2, t))
                                        for t in pm.tau], rel=1e-12)
    for a, t_c in zip(pm.alpha, pm.tau_c):
        want = tau_c_value("supcon", 3, 4, 2, a)
        assert t_c == (np.inf if want == np.inf else pytest.approx(float(want), rel=1e-10))
    np.testing.assert_allclose(pm.within_class_variance, 1 - pm.beta)


def test_cli_phase_writes_npz_and_png(tmp_path, capsys):
    out = tmp_path / "map.npz"
    rc = main(["phase", "--loss", "paper", "--classes", "3", "--per-class", "4",
               "--alpha-grid", "0:1:6", "--tau-grid", "0.001:10:5", "--log-tau",
               "--out", str(out), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["points"] == 30 and summary["device"] == "cpu"
    data = np.load(out)
    assert set(data.files) >= {"alpha", "tau", "beta", "within_class_variance", "alpha_c",
                               "tau_c", "note"}
    assert data["beta"].shape == (6, 5)
    np.testing.assert_allclose(data["tau"], np.geomspace(1e-3, 10, 5))
    # alpha = 0 <= 1/k collapses at every tau under paper
    assert (data["beta"][0] == 1.0).all()
    png = tmp_path / "map.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]


def test_cli_phase_notes_unestablished_validity(tmp_path, capsys):
    rc = main(["phase", "--loss", "supcon-split", "--classes", "3", "--per-class", "4",
               "--alpha-grid", "0:1:3", "--tau-grid", "0.1:1:3", "--out",
               str(tmp_path / "s.npz")])
    assert rc == 0
    assert "not established" in capsys.readouterr().err
    assert "not established" in str(np.load(tmp_path / "s.npz")["note"])


@pytest.mark.parametrize("grid_args, match", [
    (["--alpha-grid", "0:1", "--tau-grid", "0.1:1:3"], "START:STOP:COUNT"),
    (["--alpha-grid", "0:1.5:3", "--tau-grid", "0.1:1:3"], "[0, 1]"),
    (["--alpha-grid", "0:1:3", "--tau-grid", "0:1:3"], "must lie in [0.0001, 10000]"),
    (["--alpha-grid", "0:1:3", "--tau-grid", "1e-300:1e-3:10", "--log-tau"], "must lie in"),
    (["--alpha-grid", "0:1:3", "--tau-grid", "1e-300:1e300:20", "--log-tau"], "must lie in"),
    (["--alpha-grid", "0:1:100000000", "--tau-grid", "0.1:1:100000000"], "over the limit"),
    (["--alpha-grid", "0:1:3", "--tau-grid", "0.1:nan:3"], "finite"),
    (["--alpha-grid", "0:1:0", "--tau-grid", "0.1:1:3"], "count"),
])
def test_cli_phase_bad_grids(tmp_path, capsys, grid_args, match):
    out = tmp_path / "bad.npz"
    with pytest.raises(SystemExit) as exc:
        code = main(["phase", "--loss", "paper", "--classes", "3", "--per-class", "4",
                     *grid_args, "--out", str(out)])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and match in err
    assert not out.exists()


def test_phase_map_carries_the_global_optimum_and_its_regimes(tmp_path):
    from ssem_symbolic.optimum import optimum
    from ssem_symbolic.report import phase_map, save_npz, save_png

    alphas, taus = np.linspace(0, 0.3, 7), np.array([0.01, 0.1, 0.3, 1.0])
    pm = phase_map("supcon-split", Batch.balanced(3, 4, 2), alphas, taus)
    assert ("all-ones", "within-class") in pm.regimes  # the views-apart regime
    # tau = 0.01 lies below the grid solver's off-SSEM range: flagged, not guessed
    assert (pm.regime[:, 0] == -1).any() and np.isnan(pm.view[pm.regime == -1]).all()
    assert "regime -1" in pm.note
    for i in (0, 2, 4):
        for j in (1, 2, 3):
            opt = optimum("supcon-split", Batch.balanced(3, 4, 2), f"{alphas[i]:.6g}",
                          f"{taus[j]:g}")
            assert pm.regimes[pm.regime[i, j]] == opt.active
            assert pm.view[i, j] == pytest.approx(opt.view, abs=1e-10)
            assert pm.within_class_variance[i, j] == pytest.approx(opt.within_class_variance,
                                                                   abs=1e-10)
            assert bool(pm.collapsed[i, j]) == opt.collapsed
    assert not pm.collapsed[pm.regime == -1].any()  # not solved: not claimed collapsed
    assert pm.collapsed.any() and not pm.collapsed.all()
    save_npz(pm, tmp_path / "m.npz")
    data = np.load(tmp_path / "m.npz")
    assert {"view_similarity", "class_similarity", "other_similarity", "regime",
            "regimes"} <= set(data.files)
    assert list(data["regimes"]) == [",".join(r) for r in pm.regimes]
    save_png(pm, tmp_path / "m.png", log_tau=True)
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_imbalanced_phase_map_npz_png_and_per_size_collapse(tmp_path, capsys):
    """--class-sizes: one exact solve per point; the per-size collapse flags equal the
    solver's at the same point, and the sizes go into the .npz."""
    import json

    import numpy as np

    from ssem_symbolic.cli import main
    from ssem_symbolic.optimum import optimum

    out = tmp_path / "imb.npz"
    assert main(["phase", "--loss", "paper", "--class-sizes", "5,3,2", "--alpha-grid",
                 "0.2:0.5:3", "--tau-grid", "0.5:1:2", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["class_sizes"] == [5, 3, 2] and (tmp_path / "imb.png").stat().st_size > 0
    data = np.load(out)
    assert list(data["sizes"]) == [5, 3, 2] and data["within_by_size"].shape == (3, 2, 3)
    opt = optimum("paper", Batch("5,3,2", 2), float(data["alpha"][1]), float(data["tau"][0]))
    assert list(data["collapsed_by_size"][1, 0]) == [c["collapsed"] for c in opt.per_class]


def test_imbalanced_phase_map_refuses_a_grid_too_large(tmp_path, capsys):
    from ssem_symbolic.cli import main

    status = main(["phase", "--loss", "paper", "--class-sizes", "5,3,2", "--alpha-grid",
                   "0:1:30", "--tau-grid", "0.5:1:30", "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err
    assert status == 2 and "at most 400" in err and not (tmp_path / "x.npz").exists()


def test_the_collapsed_share_is_the_global_optimums_not_ssems(tmp_path, capsys):
    """`ssem phase` states the share of the grid where the optimum collapses every class.
    For supcon-split SSEM is not the optimum at small alpha and tau: there beta* = 1 (SSEM
    collapses) while the global optimum keeps the views of an instance apart. The share is
    counted here point by point with the mpmath solver (``optimum``), not the grid solver, and
    it differs from the share of beta* = 1 (which the command used to print)."""
    from ssem_symbolic.optimum import optimum

    rc = main(["phase", "--loss", "supcon-split", "--classes", "3", "--per-class", "4",
               "--alpha-grid", "0:0.3:7", "--tau-grid", "0.1:1:3", "--log-tau",
               "--out", str(tmp_path / "x.npz"), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    points = [(float(a), float(t)) for a in np.linspace(0, 0.3, 7)
              for t in np.geomspace(0.1, 1, 3)]
    want = np.mean([optimum("supcon-split", Batch.balanced(3, 4, 2), repr(a), repr(t)).collapsed
                    for a, t in points])
    assert summary["collapsed_fraction"] == pytest.approx(want, abs=1e-12)
    ssem = np.mean([float(optimal_beta("supcon-split", 3, 4, 2, repr(a), repr(t))) == 1.0
                    for a, t in points])
    assert ssem > want  # the point of the fix: SSEM's collapse is not the optimum's
