"""Symbolic face conditions: the collapsed vertex's multipliers and their roots, checked
against the SSEM threshold, the numeric global optimum and brute-force-checked regimes."""

import mpmath
import pytest
import sympy as sp

from ssem_symbolic.ssem import alpha_c_value
from ssem_symbolic.ssem._faces import collapse_boundaries, face_equations, vertex_multipliers
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.vocab import c_sym, o_sym, v_sym
from ssem_symbolic.spec import alpha, k, m, p, tau

_LOSSES = ["paper", "supcon", "supcon-split", "examples/specs/dcl.toml",
           "examples/specs/supcon-plus-simclr.toml"]


@pytest.mark.parametrize("loss", _LOSSES)
@pytest.mark.parametrize("batch,t", [((3, 4, 2), "0.3"), ((5, 2, 3), "1.7"), ((2, 6, 2), "0.05")])
def test_the_within_class_root_is_alpha_c(loss, batch, t):
    root = collapse_boundaries(loss)["within-class"]
    value = sp.N(root.subs(dict(zip((m, k, p), batch))).subs(tau, sp.Rational(t)), 40)
    assert float(value) == pytest.approx(float(alpha_c_value(loss, *batch, t)), abs=1e-12)


@pytest.mark.parametrize("loss,a,t", [("supcon-split", "0.05", "0.3"),
                                      ("supcon-split", "0.14", "0.3"),
                                      ("supcon-split", "0.3", "0.3"), ("paper", "0.1", "0.5"),
                                      ("paper", "0.6", "0.5"), ("supcon", "0.01", "0.3"),
                                      ("supcon", "0.2", "1")])
def test_collapse_iff_the_vertex_multipliers_are_nonnegative(loss, a, t):
    mus = vertex_multipliers(loss)
    point = {m: 3, k: 4, p: 2, alpha: sp.Rational(a), tau: sp.Rational(t)}
    nonneg = all(sp.N(mu.subs(point), 30) >= 0 for mu in mus.values())
    assert nonneg == optimum(loss, Batch.balanced(3, 4, 2), a, t).collapsed


def test_face_equations_hold_at_the_off_ssem_optimum():
    opt = optimum("supcon-split", Batch.balanced(3, 4, 2), "0", "0.3")
    eqs = face_equations("supcon-split", opt.active)
    with mpmath.workdps(40):
        x = {v_sym: opt.exact_point[0], c_sym: opt.exact_point[1], o_sym: opt.exact_point[2]}
        mus = {sp.Symbol("mu_" + n.replace("-", "_")): opt.multipliers[n] / 0.3
               for n in opt.active}
        subs = {m: 3, k: 4, p: 2, alpha: 0, tau: sp.Rational(3, 10), **x, **mus}
        for eq in eqs:
            assert abs(float(sp.N((eq.lhs - eq.rhs).subs(subs), 30))) < 1e-9, eq
    with pytest.raises(ValueError, match="unknown direction"):
        face_equations("paper", ("views",))
