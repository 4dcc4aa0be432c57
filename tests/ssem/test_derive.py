"""The derivation against hand derivations written here, and against mpmath checks."""

import mpmath
import pytest
import sympy as sp

from ssem_symbolic.forms._softmax import _rational_identity
from ssem_symbolic.ssem import (
    alpha_c_limits,
    alpha_c_value,
    derive,
    loss_value,
    optimal_beta,
    tau_c_value,
)
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
    assert tau_c_value(loss, m_, k_, p_, 1.0) == mpmath.inf  # no tau collapses


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


TINY_TO_HUGE = ("1e-300", "1e-100", "1e-20", "2e-4", "1e-4", "0.5", "10", "1e100")


@pytest.mark.parametrize("loss", ["paper", "supcon", "supcon-split"])
@pytest.mark.parametrize("m_, k_", [(3, 4), (100, 100)])
def test_alpha_one_is_the_all_instance_simplex_at_every_tau(loss, m_, k_):
    """alpha = 1: beta* = (m - 1)/(mk - 1) at every tau (x = y; docs/references.md), and under
    paper L* = log p + log(1 + (mk - 1) e^(-mk/((mk-1) tau)))."""
    for t in TINY_TO_HUGE:
        b = optimal_beta(loss, m_, k_, 2, 1, t)
        with mpmath.workdps(40):
            assert abs(b - mpmath.mpf(m_ - 1) / (m_ * k_ - 1)) <= mpmath.mpf(10) ** -25, (t, b)
        if loss == "paper":
            with mpmath.workdps(60):
                n = m_ * k_
                closed = mpmath.log(2) + mpmath.log1p(
                    (n - 1) * mpmath.exp(-n / ((n - 1) * mpmath.mpf(t))))
                assert abs(loss_value(loss, m_, k_, 2, 1, t, b) - closed) <= 10 ** -25


@pytest.mark.parametrize("t", ["1e-300", "1e-100", "1e-20", "1e-6", "1e-4"])
def test_within_variance_at_tiny_tau_against_a_scaled_hand_solution(t):
    """paper, alpha = 0.5: 1 - beta* = u tau with u the root of the stationarity condition
    written here in u (e^{1/tau} divided out by hand: nothing of size 1/tau is left)."""
    m_, k_, p_, a = 3, 4, 2, mpmath.mpf("0.5")
    with mpmath.workdps(50):
        tau_ = mpmath.mpf(t)

        def scaled_f1(u):  # tau D e^{-1/tau} f'(beta) at beta = 1 - u tau
            b = 1 - u * tau_
            x1, y1 = mpmath.mpf(k_) / (k_ - 1), -mpmath.mpf(1) / (m_ - 1)
            ex = mpmath.exp(-k_ * u / (k_ - 1))  # e^{(x - 1)/tau}
            ey = mpmath.exp((-b / (m_ - 1) - 1) / tau_)  # e^{(y - 1)/tau}
            return ((k_ - 1) * p_ * x1 * ex + (m_ - 1) * k_ * p_ * y1 * ey
                    - (1 - a) * x1 * (p_ + (k_ - 1) * p_ * ex + (m_ - 1) * k_ * p_ * ey))
        u = mpmath.findroot(scaled_f1, 1)
        want = u * tau_
    b = optimal_beta("paper", m_, k_, p_, "0.5", t)  # carries its guard digits
    with mpmath.workdps(400):
        assert abs((1 - b) / want - 1) < mpmath.mpf(10) ** -25
    # and the loss stays the finite tau -> 0 value, not a cancellation artefact
    assert abs(loss_value("paper", m_, k_, p_, "0.5", t, b) - mpmath.mpf("1.9356005054539")
               ) < 1e-12


def test_tau_outside_the_supported_range_is_refused():
    for t in ("1e-301", "1e301"):
        with pytest.raises(ValueError, match="supported range"):
            optimal_beta("paper", 3, 4, 2, 0.5, t)
