"""Closed forms at the collapsed vertex of an imbalanced batch against the engine: every class
stays collapsed up to the smallest root of the vertex multipliers in [0, 1] and not beyond
(the engine's boundary to 1e-7), and the multipliers equal the engine's at a collapsed
point."""

import pytest
import sympy as sp

from ssem_symbolic.ssem._vertex import collapse_multipliers, vertex_roots
from ssem_symbolic.optimum import optimum
from ssem_symbolic.setting import Batch
from ssem_symbolic.spec import alpha, tau


@pytest.mark.parametrize("name", ["paper", "supcon"])
@pytest.mark.parametrize("t", ["0.5", "2"])
def test_first_boundary_is_the_smallest_vertex_root(name, t):
    roots = vertex_roots(name, (3, 2), 2)
    at = [float(r.subs(tau, sp.Rational(t))) for r in roots.values() if r is not None]
    first = min(a for a in at if 0 < a < 1)
    # every class collapsed just below the first root, not just above it (and from 0 on)
    for a, collapsed in ((0.0, True), (first - 1e-7, True), (first + 1e-7, False)):
        opt = optimum(name, Batch((3, 2), 2), f"{a:.12f}", t)
        assert opt.collapsed is collapsed, (a, opt.per_class)


def test_vertex_multipliers_equal_the_engines_at_a_collapsed_point():
    mus = collapse_multipliers("paper", (3, 2), 2)
    opt = optimum("paper", Batch((3, 2), 2), "0.2", "0.5")
    assert opt.collapsed
    for name, value in opt.multipliers.items():
        if name in mus:
            exact = float(mus[name].subs({alpha: sp.Rational(1, 5), tau: sp.Rational(1, 2)}))
            assert value == pytest.approx(exact, rel=1e-12, abs=1e-15)


def test_more_than_two_classes_need_the_class_mean_similarities():
    with pytest.raises(ValueError, match="class-mean similarities"):
        collapse_multipliers("paper", (5, 3, 2), 2)
