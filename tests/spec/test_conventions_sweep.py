"""Every pair-type convention whose positives lie in its denominator (479 of them), a sample
of the decoupled ones (positives outside the denominator) and term-weighted variants: beta*
minimises its own f, and the collapsed flag is the sign of f'(1). f and f' here come from the
pair counts written out in the test, not from the engine."""

import itertools

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ssem_symbolic.ssem import collapses, optimal_beta
from ssem_symbolic.spec import PAIR_TYPES, LossSpec

b = sp.Symbol("b")


def _subsets(items):
    return [c for n in range(1, len(items) + 1) for c in itertools.combinations(items, n)]


SPECS = [LossSpec(f"{'+'.join(d)}|{'+'.join(s)}|{'+'.join(a)}", d, s, a, "anchors")
         for d in _subsets(PAIR_TYPES) for s in _subsets(d) for a in _subsets(d)]
EVERY = [LossSpec(f"{'+'.join(d)}|{'+'.join(s)}|{'+'.join(a)}", d, s, a, "anchors")
         for d in _subsets(PAIR_TYPES) for s in _subsets(PAIR_TYPES) for a in _subsets(PAIR_TYPES)]
DECOUPLED = [spec for spec in EVERY if spec.decoupled][::20]
WEIGHTS = ({"sup": (1, 0)}, {"sup": (1, 0), "self": ("1/2", "1/2")}, {"self": (0, 3)})
WEIGHTED = [LossSpec(f"{spec.name}|{i}", spec.denominator, spec.sup, spec.self_, "anchors",
                     weights=w) for spec in SPECS[::40] for i, w in enumerate(WEIGHTS)]
ALL = SPECS + DECOUPLED + WEIGHTED


def hand_f(spec, m_, k_, p_, alpha_, tau_):
    """f(b) per anchor from the definitions: counts, SSEM Gram values, softmax, positives."""
    g = {"self": 1, "view": 1, "class": (k_ * b - 1) / sp.Integer(k_ - 1),
         "other": -b / sp.Integer(m_ - 1)}
    n = {"self": 1, "view": p_ - 1, "class": (k_ - 1) * p_, "other": (m_ - 1) * k_ * p_}

    def mean(types):
        return sum(n[t] * g[t] for t in types) / sum(n[t] for t in types)
    den = sum(n[t] * sp.exp(g[t] / tau_) for t in spec.denominator)
    (s0, s1), (a0, a1) = spec.weights
    w_sup, w_self = s0 + s1 * alpha_, a0 + a1 * alpha_
    return (w_sup * (sp.log(den) - mean(spec.sup) / tau_)
            + w_self * (sp.log(den) - mean(spec.self_) / tau_))


def test_the_sweep_holds_all_479_and_samples_the_rest():
    assert len(SPECS) == 479 and len(set(SPECS)) == 479
    assert len(EVERY) == 15 ** 3 and len(DECOUPLED) > 140 and len(set(WEIGHTED)) == 36


POINTS = [(sp.Rational(3, 10), sp.Rational(1, 2)), (sp.Rational(4, 5), sp.Rational(1, 5))]


A, T = sp.symbols("A T", positive=True)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(8))
def test_beta_star_minimises_f_and_collapse_is_the_sign_of_f_prime_at_1(chunk):
    grid = np.linspace(0.0, 1.0, 2001)
    for spec in ALL[chunk::8]:
        f = hand_f(spec, 3, 4, 2, A, T)
        fn = sp.lambdify((b, A, T), f, "numpy")
        slope = sp.lambdify((A, T), sp.diff(f, b).subs(b, 1), "math")
        for a, t in POINTS:
            beta_star = float(optimal_beta(spec, 3, 4, 2, a, t))
            values = np.broadcast_to(fn(grid, float(a), float(t)), grid.shape)
            assert 0.0 <= beta_star <= 1.0
            assert fn(beta_star, float(a), float(t)) <= values.min() + 1e-12, (spec.name, a, t)
            slope_at_1 = slope(float(a), float(t))
            if abs(slope_at_1) > 1e-12:
                assert collapses(spec, 3, 4, 2, a, t) == (slope_at_1 <= 0), spec.name
                assert (beta_star == 1.0) == (slope_at_1 <= 0), spec.name


@settings(max_examples=15, deadline=None, derandomize=True)
@given(spec=st.sampled_from(ALL), m_=st.integers(2, 6), k_=st.integers(2, 6),
       p_=st.integers(2, 3), a=st.fractions(0, 1, max_denominator=100),
       t=st.fractions(sp.Rational(1, 20), 5, max_denominator=100))
def test_beta_star_against_a_dense_mpmath_scan(spec, m_, k_, p_, a, t):
    a, t = sp.Rational(a.numerator, a.denominator), sp.Rational(t.numerator, t.denominator)
    f = sp.lambdify(b, hand_f(spec, m_, k_, p_, a, t), "mpmath")
    with mpmath.workdps(30):
        beta_star = optimal_beta(spec, m_, k_, p_, a, t)
        scan = min(f(mpmath.mpf(i) / 400) for i in range(401))
        assert f(beta_star) <= scan + mpmath.mpf(10) ** -25
        slope_at_1 = sp.diff(hand_f(spec, m_, k_, p_, a, t), b).subs(b, 1)
        if abs(sp.N(slope_at_1, 30)) > 1e-25:
            assert (beta_star == 1) == bool(slope_at_1 <= 0)
