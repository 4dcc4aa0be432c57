"""Derived optimum against L-BFGS over free unit vectors, in the same convention."""

import pytest

from ssem_symbolic.loss._bruteforce import minimise
from ssem_symbolic.ssem import alpha_c_value, loss_value, optimal_beta
from ssem_symbolic.optimum import certify_ssem

# (m, k, p, alpha, tau): each appears once below and once above its alpha_c
POINTS = [(2, 2, 2, 0.5, 1.0), (2, 2, 2, 0.8, 0.5), (3, 2, 2, 0.3, 0.5), (2, 3, 2, 0.9, 1.0),
          (3, 2, 3, 0.2, 1.0), (3, 2, 3, 0.95, 0.4)]


@pytest.mark.parametrize("loss", ["paper", "supcon"])
@pytest.mark.parametrize("m, k, p, alpha, tau", POINTS)
def test_brute_force_agrees_with_ssem(loss, m, k, p, alpha, tau):
    b = optimal_beta(loss, m, k, p, alpha, tau)
    f = float(loss_value(loss, m, k, p, alpha, tau, b))
    run = minimise(loss, m, k, p, alpha, tau, seed=1)
    assert run.loss == pytest.approx(f, abs=1e-7)
    assert run.variances["between"] == pytest.approx(float(b), abs=1e-5)
    assert certify_ssem(loss, m, k, p, alpha, tau).valid is True


def test_points_straddle_thresholds():
    for loss in ("paper", "supcon"):
        sides = {alpha <= alpha_c_value(loss, m, k, p, tau) for m, k, p, alpha, tau in POINTS}
        assert sides == {True, False}


def test_supcon_split_certificate_matches_brute_force_on_both_sides():
    # certified: SSEM is the optimum and brute force finds nothing lower
    m, k, p, alpha, tau = 2, 2, 2, 0.8, 0.5
    assert certify_ssem("supcon-split", m, k, p, alpha, tau).valid is True
    b = optimal_beta("supcon-split", m, k, p, alpha, tau)
    run = minimise("supcon-split", m, k, p, alpha, tau, seed=1)
    ssem = float(loss_value("supcon-split", m, k, p, alpha, tau, b))
    assert run.loss == pytest.approx(ssem, abs=1e-7)
    # refuted: the views part and the loss drops below the SSEM optimum
    m, k, p, alpha, tau = 3, 2, 2, 0.0, 0.3
    assert certify_ssem("supcon-split", m, k, p, alpha, tau).valid is False
    b = optimal_beta("supcon-split", m, k, p, alpha, tau)
    run = minimise("supcon-split", m, k, p, alpha, tau, seed=1, steps=5)
    assert run.loss < float(loss_value("supcon-split", m, k, p, alpha, tau, b)) - 1e-3
    assert run.view_similarity < 0.99
