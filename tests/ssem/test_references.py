"""Every reference value of docs/references.md (independent brute-force and peer results)."""

import math

import pytest

from ssem_symbolic.ssem import alpha_c_value, loss_value, optimal_beta


def _opt(loss, m, k, p, alpha, tau):
    b = optimal_beta(loss, m, k, p, alpha, tau)
    return b, float(loss_value(loss, m, k, p, alpha, tau, b))


@pytest.mark.parametrize("m, k, tau, value", [(2, 2, 1, 1.51322237), (3, 2, 0.5, 1.48121732)])
def test_paper_alpha0_class_collapse(m, k, tau, value):
    b, f = _opt("paper", m, k, 2, 0.0, tau)
    assert b == 1
    assert f == pytest.approx(value, abs=5e-9)
    closed = math.log(k * 2) + math.log(1 + (m - 1) * math.exp(-m / ((m - 1) * tau)))
    assert f == pytest.approx(closed, abs=1e-12)


@pytest.mark.parametrize("m, k, tau, value", [(2, 2, 1, 1.27580483), (3, 2, 0.5, 1.06718338)])
def test_paper_alpha1_all_instance_simplex(m, k, tau, value):
    b, f = _opt("paper", m, k, 2, 1.0, tau)
    assert float(b) == pytest.approx((m - 1) / (m * k - 1), abs=1e-15)
    assert f == pytest.approx(value, abs=5e-9)


@pytest.mark.parametrize("m, k, tau, value, digits", [
    (2, 2, 1, 0.6192, 4), (3, 2, 0.5, 0.5679, 4), (2, 3, 0.5, 0.3573, 4),
    (10, 10, 0.1, 0.100, 3), (10, 10, 0.5, 0.594, 3), (10, 10, 1, 0.848, 3)])
def test_paper_alpha_c(m, k, tau, value, digits):
    assert round(float(alpha_c_value("paper", m, k, 2, tau)), digits) == pytest.approx(value)


def test_paper_m3_k4_beta_and_within_variance():
    assert round(float(optimal_beta("paper", 3, 4, 2, 0.5, 0.5)), 3) == 0.816
    assert round(1 - float(optimal_beta("paper", 3, 4, 2, 0.9, 1.0)), 3) == 0.586


def test_graf_supcon_alpha0():
    # Graf's full-batch case: one embedding per instance (p = 1), per-anchor optimum
    b, f = _opt("supcon", 3, 4, 1, 0.0, 1.0)
    assert b == 1 and f == pytest.approx(1.5654947, abs=5e-8)
    # with p views: L* = log(P - 1 + (M - P) e^{-m/((m-1) tau)}), P = p k, M = m k p
    m, k, p, tau = 4, 3, 2, 0.4
    P, M = p * k, m * k * p
    b, f = _opt("supcon", m, k, p, 0.0, tau)
    assert b == 1
    assert f == pytest.approx(math.log(P - 1 + (M - P) * math.exp(-m / ((m - 1) * tau))),
                              abs=1e-12)


def test_cho_symmetric_infonce_from_paper_alpha1():
    # at alpha = 1 on the all-instance simplex, each direction of Cho's two-view InfoNCE over
    # N = m k pairs equals the paper loss minus log p: L* = 2 log(1 + (N-1) e^{-N/((N-1) tau)})
    b, f = _opt("paper", 2, 2, 2, 1.0, 1.0)
    assert 2 * (f - math.log(2)) == pytest.approx(1.16531531, abs=5e-9)
