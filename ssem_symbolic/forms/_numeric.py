"""Numeric primitives shared by the loss forms: guard digits for a temperature and a bracketed
Newton root finder on (0, 1), both at mpmath precision."""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import sympy as sp

from ..spec import NoSolution
from ..vocab import exact


def guard_digits(t: sp.Rational) -> int:
    """Extra digits that keep ``digits`` significant at temperature t: at small tau the
    exponents g/tau are of size 1/tau (f = log D - pull/tau cancels to O(1), and beta* sits
    within O(tau) of 1); at large tau the weights are 1 + O(1/tau). Both lose |log10 tau|."""
    with mpmath.workdps(20):
        return int(abs(mpmath.log10(mpmath.mpf(int(t.p)) / int(t.q)))) + 2


def golden(f, lo: float, hi: float, tol: float = 1e-12) -> tuple[float, float]:
    """The minimiser of a unimodal function of one variable on [lo, hi] (golden section, to
    ``tol`` in the argument), and its value.

    >>> x, v = golden(lambda x: (x - 0.3) ** 2, 0.0, 1.0)
    >>> round(x, 9), v < 1e-20
    (0.3, True)
    """
    g = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    x = (a + b) / 2
    return x, f(x)


def bracketed_newton(step, start, digits: int, iterations: int, where: str) -> mpmath.mpf:
    """The root in (0, 1) of an increasing g, by Newton steps kept inside a shrinking
    bisection bracket; ``step(x)`` gives (g, g') at x, ``start`` seeds it (0.5 by default).
    Runs at the caller's precision, to ``digits`` + 2 digits; ArithmeticError (naming
    ``where``) after ``iterations`` steps."""
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)
    x = mpmath.mpf(start) if start is not None and 0 < start < 1 else mpmath.mpf("0.5")
    tol = mpmath.mpf(10) ** (-(digits + 2))
    for _ in range(iterations):
        g, h = step(x)
        if g > 0:
            hi = x
        else:
            lo = x
        nxt = x - g / h if h > 0 and mpmath.isfinite(g) else (lo + hi) / 2
        if not lo < nxt < hi:
            nxt = (lo + hi) / 2
        if g == 0 or abs(nxt - x) <= tol or hi - lo <= tol:
            return +(x if g == 0 else nxt)
        x = nxt
    raise NoSolution(f"beta* did not converge at {where}")


@dataclass(frozen=True)
class CollapseRule:
    """Where a batch collapses at a fixed alpha, along tau.

    ``kind``: "always" (every tau), "never", "tau>=" (collapse iff tau >= tau_c) or "tau<="
    (collapse iff tau <= tau_c, for conventions whose collapse lies at small tau).
    """

    kind: str
    tau_c: mpmath.mpf | None = None

    def holds(self, tau_) -> bool:
        """Whether the batch collapses at ``tau`` (compared exactly, see :func:`collapses`)."""
        if self.kind in ("always", "never"):
            return self.kind == "always"
        t = exact(tau_)
        gap = mpmath.mpf(int(t.p)) / int(t.q) - self.tau_c
        return bool(gap >= 0) if self.kind == "tau>=" else bool(gap <= 0)
