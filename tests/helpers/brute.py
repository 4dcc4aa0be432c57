"""The imbalanced optimum against brute force over free unit vectors, shared by the tests of
each convention family (the package's L-BFGS minimiser of the per-pair loss is the
reference; the solver under test is the exact one)."""

from __future__ import annotations

import pytest

from ssem_symbolic.bruteforce import minimise_sizes
from ssem_symbolic.optimum_imbalanced import imbalanced_optimum


def best_of_seeds(spec, sizes, alpha, tau, p: int = 2, seeds=(0, 1)):
    """The lowest-loss L-BFGS run over free unit vectors among ``seeds``."""
    return min((minimise_sizes(spec, sizes, p, float(alpha), float(tau), seed=s)
                for s in seeds), key=lambda r: r.loss)


def check_imbalanced(spec, sizes, alpha, tau, loss_abs: float, variance_abs: float):
    """The solver's loss within ``loss_abs`` of the best free-vector run and never above it
    (by more than loss_abs / 100), and each class's within-class variance within
    ``variance_abs``; returns the solver's optimum."""
    opt = imbalanced_optimum(spec, sizes, 2, alpha, tau)
    ref = best_of_seeds(spec, sizes, alpha, tau)
    assert opt.decided and opt.loss_value == pytest.approx(ref.loss, abs=loss_abs)
    assert opt.loss_value <= ref.loss + loss_abs / 100
    for c, measured in zip(opt.per_class, ref.per_class_within):
        assert c["within_class_variance"] == pytest.approx(measured, abs=variance_abs)
    return opt
