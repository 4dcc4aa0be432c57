"""The grid solver of the global optimum against the mpmath one, and against the beta* path on
the SSEM face."""

import numpy as np
import pytest
import torch

from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.grid import OFF_SSEM_TAU, global_optimum_grid
from ssem_symbolic.grid import optimal_beta_grid

_A = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None]
_T = torch.tensor([0.05, 0.12, 0.3, 1.0, 4.0], dtype=torch.float64)[None, :]


@pytest.mark.parametrize("loss", ["supcon-split", "paper", "examples/specs/dcl.toml"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_grid_matches_the_mpmath_solver(loss, dtype, tol):
    G = global_optimum_grid(loss, 3, 4, 2, _A.to(dtype), _T.to(dtype))
    assert G.view.dtype == dtype and G.unsolved == 0
    for i in range(0, 11, 2):
        for j in range(5):
            a, t = f"{_A[i, 0].item():.6g}", f"{_T[0, j].item():.6g}"
            opt = optimum(loss, Batch.balanced(3, 4, 2), a, t)
            assert G.regimes[G.regime[i, j]] == opt.active, (a, t)
            for got, want in ((G.view, opt.view), (G.class_, opt.class_),
                              (G.other, opt.other), (G.within, opt.within_class_variance),
                              (G.between, opt.between_class_variance),
                              (G.loss, opt.loss_value)):
                assert abs(got[i, j].item() - want) <= tol * max(1.0, abs(want)), (a, t)


def test_on_the_ssem_face_the_grid_is_the_beta_path():
    G = global_optimum_grid("paper", 3, 4, 2, _A, _T)
    b = optimal_beta_grid("paper", 3, 4, 2, _A, _T)
    assert torch.equal(G.beta, b)
    assert torch.equal(G.within, 1 - b) and torch.equal(G.between, b)
    assert bool((G.view == 1).all())


def test_points_off_ssem_below_the_range_are_flagged_not_guessed():
    G = global_optimum_grid("supcon-split", 3, 4, 2, torch.tensor([0.0, 0.5]),
                            torch.tensor([0.02, OFF_SSEM_TAU]))
    assert G.regime[0].item() == -1 and np.isnan(G.view[0].item()) and G.unsolved == 1
    assert G.regime[1].item() >= 0  # alpha = 0.5: SSEM holds, answered at any tau
