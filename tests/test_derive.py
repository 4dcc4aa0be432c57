"""The derivation against hand derivations written here, and against mpmath checks."""

import mpmath
import pytest
import sympy as sp

from ssem_symbolic.derive import _rational_identity
from ssem_symbolic.derive import (alpha_c_limits, alpha_c_value, derive, loss_value,
                                  optimal_beta, tau_c_value)
from ssem_symbolic.spec import LossSpec, alpha, beta, k, m, p, tau

r = sp.Symbol("r", positive=True)

# alpha_c as a function of r = exp(-m/((m-1) tau)), derived by hand from f'(1) <= 0:
# E_q[g'] at beta = 1 over the softmax weights, against the positives' mean slope.
HAND_ALPHA_C = {
    "paper": 1 - (k - 1) * (1 - r) / (k * (1 + (m - 1) * r)),
    "supcon": 1 - (k * p - 1) * (1 - r) / (k * p - 1 + (m - 1) * k * p * r),
    "supcon-split": 1 - (k - 1) / k * k * p * (1 - r) / (k * p - 1 + (m - 1) * k * p * r),
}
HAND_LIMITS = {"paper": (1 / k, 1), "supcon": (0, 1), "supcon-split": ((p - 1) / (k * p - 1), 1)}


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
def test_alpha_c_matches_hand_derivation(loss):
    d = derive(loss)
    assert sp.simplify(d.alpha_c_r - HAND_ALPHA_C[loss]) == 0
    lo, hi = HAND_LIMITS[loss]
    assert sp.simplify(d.alpha_c_tau0 - lo) == 0 and sp.simplify(d.alpha_c_tauinf - hi) == 0


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
def test_reduced_loss_is_the_per_anchor_definition(loss):
    """f(beta) against the pair-count sum written out here, at exact rationals."""
    spec = derive(loss).spec
    x, y = (k * beta - 1) / (k - 1), -beta / (m - 1)
    g = {"self": 1, "view": 1, "class": x, "other": y}
    n = {"self": 1, "view": p - 1, "class": (k - 1) * p, "other": (m - 1) * k * p}
    den = sum(n[t] * sp.exp(g[t] / tau) for t in spec.denominator)

    def mean(ts):
        return sum(n[t] * g[t] for t in ts) / sum(n[t] for t in ts)
    hand = sp.log(den) - ((1 - alpha) * mean(spec.sup) + alpha * mean(spec.self_)) / tau
    point = {m: 3, k: 4, p: 2, alpha: sp.Rational(1, 3), tau: sp.Rational(1, 2),
             beta: sp.Rational(2, 5)}
    diff = (derive(loss).loss - hand).subs(point)
    assert abs(sp.N(diff, 50)) < 1e-45


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
def test_convexity_identity_and_a_checker_that_can_fail(loss):
    d = derive(loss)
    assert _rational_identity(d.d2loss, d.softmax_variance)
    assert not _rational_identity(d.d2loss, d.softmax_variance * (1 + 1 / (10 * tau)))


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
def test_dloss_is_derivative_of_loss(loss):
    d = derive(loss)
    fn = sp.lambdify((beta, alpha, tau, m, k, p), d.loss, "mpmath")
    df = sp.lambdify((beta, alpha, tau, m, k, p), d.dloss, "mpmath")
    with mpmath.workdps(40):
        for raw in [(0.3, 0.2, 0.7, 3, 4, 2), (0.9, 0.8, 0.05, 5, 3, 3)]:
            args = [mpmath.mpf(x) for x in raw]
            num = mpmath.diff(lambda b: fn(b, *args[1:]), args[0])
            assert abs(num - df(*args)) < 1e-25


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("m_, k_, p_", [(2, 2, 2), (3, 4, 2), (10, 10, 3), (50, 20, 2)])
def test_tau_c_inverts_alpha_c(loss, m_, k_, p_):
    lo, hi = alpha_c_limits(loss, m_, k_, p_)
    assert lo.is_Rational and hi.is_Rational
    for t in (1e-3, 0.05, 0.5, 3.0):
        a_c = alpha_c_value(loss, m_, k_, p_, t, digits=2000)
        with mpmath.workdps(2000):
            back = tau_c_value(loss, m_, k_, p_, a_c)
        assert back == pytest.approx(t, rel=1e-9)
    assert tau_c_value(loss, m_, k_, p_, lo) == 0
    assert tau_c_value(loss, m_, k_, p_, float(lo)) == 0 or lo.q % 2 == 1  # decimal floats exact
    assert tau_c_value(loss, m_, k_, p_, lo + sp.Rational(1, 10**6)) > 0
    assert tau_c_value(loss, m_, k_, p_, 1.0) is None


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
def test_beta_star_is_the_root_to_requested_precision(loss):
    with mpmath.workdps(60):
        b = optimal_beta(loss, 3, 4, 2, mpmath.mpf("0.9"), mpmath.mpf("0.3"), digits=50)
        f1 = derive(loss).dloss.subs({alpha: sp.Rational(9, 10), tau: sp.Rational(3, 10),
                                      m: 3, k: 4, p: 2})
        fn = sp.lambdify((beta,), f1, "mpmath")
        assert abs(fn(b)) < mpmath.mpf(10) ** -45
        assert 0 < b < 1


def test_beta_star_at_extreme_temperatures():
    for t in (1e-3, 1e-2, 10.0, 100.0):
        for loss in ("paper", "supcon"):
            b = optimal_beta(loss, 10, 10, 2, 0.95, t)
            assert 0 < b <= 1 and mpmath.isfinite(b)
            assert mpmath.isfinite(loss_value(loss, 10, 10, 2, 0.95, t, b))


def test_collapse_exactly_when_alpha_at_most_alpha_c():
    a_c = float(alpha_c_value("paper", 3, 4, 2, 0.5))
    assert optimal_beta("paper", 3, 4, 2, a_c * (1 - 1e-12), 0.5) == 1
    assert optimal_beta("paper", 3, 4, 2, a_c + 1e-6, 0.5) < 1


def test_a_fourth_convention_derives_without_new_code():
    spec = LossSpec("no-self-in-sup", denominator=("self", "view", "class", "other"),
                    sup=("view", "class"), self_=("view",), mean="pairs")
    d = derive(spec)
    assert d.alpha_c_r.free_symbols <= {r, m, k, p}
    assert 0 <= float(alpha_c_value(spec, 3, 4, 2, 0.5)) <= 1
