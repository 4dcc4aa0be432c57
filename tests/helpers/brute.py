"""The imbalanced optimum against brute force over free unit vectors, shared by the tests of
each convention family (the package's L-BFGS minimiser of the per-pair loss is the
reference; the solver under test is the exact one)."""

from __future__ import annotations

import pytest

from ssem_symbolic.loss._bruteforce import minimise_sizes
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch


def best_of_seeds(spec, sizes, alpha, tau, p: int = 2, seeds=(0, 1)):
    """The lowest-loss L-BFGS run over free unit vectors among ``seeds``."""
    return min((minimise_sizes(spec, sizes, p, float(alpha), float(tau), seed=s)
                for s in seeds), key=lambda r: r.loss)


def check_imbalanced(spec, sizes, alpha, tau, loss_abs: float, variance_abs: float):
    """The solver's loss within ``loss_abs`` of the best free-vector run and never above it
    (by more than loss_abs / 100), and each class's within-class variance within
    ``variance_abs``; returns the solver's optimum."""
    opt = optimum(spec, Batch(sizes, 2), alpha, tau)
    ref = best_of_seeds(spec, sizes, alpha, tau)
    assert opt.decided and opt.loss_value == pytest.approx(ref.loss, abs=loss_abs)
    assert opt.loss_value <= ref.loss + loss_abs / 100
    for c, measured in zip(opt.per_class, ref.per_class_within):
        assert c["within_class_variance"] == pytest.approx(measured, abs=variance_abs)
    return opt


def beta_by_scan(spec, m: int, k: int, p: int, alpha, tau, points: int = 2000) -> float:
    """The argmin of the derived f(beta) over ``points + 1`` equally spaced beta in [0, 1]:
    the dense scan that beta* is checked against (to within one step, 1 / points)."""
    from ssem_symbolic.ssem import loss_value

    grid = [i / points for i in range(points + 1)]
    values = [float(loss_value(spec, m, k, p, alpha, tau, x)) for x in grid]
    return grid[values.index(min(values))]


def check_f_on_ssem_vectors(spec, alpha, tau, betas=(0.2, 0.7, 1.0), seed: int = 1) -> None:
    """The derived f(beta) equals the torch loss of SSEM vectors realised at each beta (3
    classes x 4 instances x 2 views in d = 15), to 1e-11."""
    import torch

    from ssem_symbolic.ssem import loss_value
    from ssem_symbolic.loss import SupCLLoss
    from ssem_symbolic.setting._model import realise

    for b in betas:
        z, labels = realise(3, 4, b, d=15, views=2, seed=seed)
        got = float(SupCLLoss(alpha, tau, spec)(torch.from_numpy(z), torch.from_numpy(labels)))
        assert got == pytest.approx(float(loss_value(spec, 3, 4, 2, alpha, tau, b)),
                                    abs=1e-11)
