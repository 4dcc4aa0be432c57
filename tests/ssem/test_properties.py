"""Hypothesis properties over random valid (m, k, p, alpha, tau)."""

import mpmath
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ssem_symbolic.ssem import alpha_c_value, derive, optimal_beta
from ssem_symbolic.spec import alpha, beta, k, m, p, tau

LOSSES = st.sampled_from(["paper", "supcon", "supcon-split"])
MS, KS, PS = st.integers(2, 60), st.integers(2, 40), st.integers(2, 6)
TAUS = st.floats(1e-3, 20.0)
ALPHAS = st.floats(0.0, 1.0)
FAST = settings(max_examples=40, deadline=None)


@FAST
@given(LOSSES, MS, KS, PS, TAUS, TAUS)
def test_alpha_c_in_unit_interval_and_nondecreasing(loss, m_, k_, p_, t1, t2):
    lo, hi = sorted((t1, t2))
    a_lo, a_hi = alpha_c_value(loss, m_, k_, p_, lo), alpha_c_value(loss, m_, k_, p_, hi)
    assert 0 <= a_lo <= a_hi <= 1


@FAST
@given(LOSSES, MS, KS, PS, ALPHAS, st.floats(1e-2, 20.0), st.floats(0, 1), st.floats(0, 1))
def test_f_is_convex_on_unit_interval(loss, m_, k_, p_, a, t, b1, b2):
    at = {m: m_, k: k_, p: p_, alpha: sp.Rational(repr(a)), tau: sp.Rational(repr(t))}
    f = sp.lambdify((beta,), derive(loss).loss.subs(at), "mpmath")
    with mpmath.workdps(40):
        x, y = mpmath.mpf(b1), mpmath.mpf(b2)
        assert f((x + y) / 2) <= (f(x) + f(y)) / 2 + mpmath.mpf(10) ** -30


@FAST
@given(LOSSES, MS, KS, PS, ALPHAS, TAUS)
def test_beta_star_range_and_collapse_rule(loss, m_, k_, p_, a, t):
    b = optimal_beta(loss, m_, k_, p_, a, t)
    assert 0 < b <= 1
    a_c = alpha_c_value(loss, m_, k_, p_, t)
    if a <= a_c:
        assert b == 1
    else:  # beta* < 1, unless alpha is within the 30-digit resolution of alpha_c
        assert b < 1 or a - a_c < mpmath.mpf(10) ** -25


@FAST
@given(MS, KS, PS, TAUS)
def test_paper_alpha1_is_the_all_instance_simplex(m_, k_, p_, t):
    with mpmath.workdps(40):
        b = optimal_beta("paper", m_, k_, p_, 1.0, t)
        assert abs(b - mpmath.mpf(m_ - 1) / (m_ * k_ - 1)) < 1e-25
