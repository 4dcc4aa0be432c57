"""The expected batch loss under a uniform sampler as a mixture over an anchor's class count.

A uniform batch of B instances from C classes of n (every B-subset equally likely) holds the
classes in varying numbers. On the dataset's symmetric family an anchor's loss depends only on
j, how many instances of its class the batch holds (itself included): its mean per-positive
loss ``l_T(j)`` in each term T. A term's batch loss is a weighted mean over the batch's anchors,

    sum_a g(j_a) l_T(j_a) / sum_a g(j_a),

with g(j) = 1 for the ``anchors`` mean (0 for an anchor without a positive in T, which the
convention drops, as SupContrast and pytorch-metric-learning do) and g(j) = P_T(j), the
anchor's number of positives, for the ``pairs`` mean. A batch in which no anchor has a
positive contributes 0 to that term. So the expected loss is linear in the l_T(j):

    E[loss_T] = sum_j c_T(j) l_T(j),   c_T(j) = E[N_j g(j) / Y],

N_j the batch's anchors with j class mates, Y = sum_a g(j_a). Where g is constant, Y is too and
c_T(j) is the exact hypergeometric law of j (:func:`class_count_law`). Otherwise c_T(j) is the
mean of a ratio. It is summed exactly over the batch's compositions (partitions of B) where
they number at most :data:`EXACT_LIMIT`, and otherwise written as a Laplace integral,

    E[N g / Y] = integral_0^oo E[N g e^{-t Y}] dt,

whose integrand is a coefficient of a polynomial power (the classes' counts are independent
binomials, or Poissons as n -> oo, conditioned on their sum B). The integral is taken by the
trapezoid rule in log t, which converges geometrically for this completely monotone
integrand; the estimated error (the change when the step is halved, plus both tails) is
returned with the weights.

Three classes of three, batches of four, ``paper`` (pairs mean, positives its class mates): a
batch is (3, 1) with chance 1/7 and otherwise (2, 2) or (2, 1, 1), and in each only one count
has positives, so

>>> mix = mixture(PRESETS["paper"], 3, 3, 2, 4)
>>> mix.method, mix.coef["sup"]
('exact', {1: 0, 2: 6/7, 3: 1/7})
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from ..spec import PRESETS, TERMS, LossSpec  # noqa: F401  (PRESETS: the doctest)

#: components of the class-count law below this probability are dropped; the loss then moves
#: by at most this times max_j |l(j)| (about 2/tau + log(B p)), far below working precision
DROP = sp.Rational(1, 10**60)
#: the most batch compositions summed exactly
EXACT_LIMIT = 20000


@dataclass(frozen=True)
class Mixture:
    """Per term, the weight c_T(j) of the mean per-positive loss of an anchor with j class
    mates. ``method``: ``exact`` (rationals) or ``laplace`` (floats, each within ``error``,
    an estimate)."""

    coef: dict
    method: str
    error: float = 0.0

    def describe(self) -> str:
        """In words, for reports."""
        if self.method == "exact":
            return "exact (a finite sum over the batch's compositions)"
        return (f"Laplace quadrature of E[N/Y]: each weight within {self.error:.1e} "
                "(estimated)")


def class_count_law(classes: int, instances: int | None, batch: int) -> dict[int, sp.Rational]:
    """P(j): the chance that an anchor of a uniform batch of B has j instances of its class in
    the batch (itself included), exact: j - 1 is hypergeometric (B - 1 draws from the other
    C n - 1 instances, n - 1 of them its class mates); binomial with rate 1/C as n -> oo.

    >>> class_count_law(3, 2, 2)
    {1: 4/5, 2: 1/5}
    """
    out = {}
    for j in range(1, batch + 1):
        if instances is None:
            prob = sp.binomial(batch - 1, j - 1) * sp.Rational(1, classes) ** (j - 1) * (
                1 - sp.Rational(1, classes)) ** (batch - j)
        else:
            if j > instances:
                break
            prob = sp.Rational(math.comb(instances - 1, j - 1)
                               * math.comb(classes * instances - instances, batch - j),
                               math.comb(classes * instances - 1, batch - 1))
        if prob >= DROP:
            out[j] = prob
    return out


def positives(spec: LossSpec, term: str, j: int, p_: int, batch: int) -> Fraction:
    """P_T(j): the positives in ``term`` of an anchor whose class has j instances in a batch of
    B, each with p views, each counted with its pair weight in ``term``."""
    count = {"self": 1, "view": p_ - 1, "class": (j - 1) * p_, "other": (batch - j) * p_}
    weighted = sp.Rational(sum(spec.pair_weight(term, t) * count[t]
                               for t in spec.positives(term)))
    return Fraction(int(weighted.p), int(weighted.q))


@functools.lru_cache(maxsize=64)
def mixture(spec: LossSpec, classes: int, instances: int | None, p_: int,
            batch: int) -> Mixture:
    """The weights c_T(j) of both terms under the uniform sampler of B from C x n (n = None:
    the limit n -> oo), exact where the batch's compositions can be summed."""
    law = class_count_law(classes, instances, batch)
    gs = {term: _g(spec, term, law, p_, batch) for term in TERMS}
    if all(len(set(g.values())) == 1 for g in gs.values()):  # Y constant: the law itself
        return Mixture({term: (dict(law) if next(iter(g.values())) else {j: sp.Integer(0)
                                                                        for j in law})
                        for term, g in gs.items()}, "exact")
    parts = _partitions(batch, classes, batch if instances is None else instances)
    if parts is not None:
        return Mixture({term: _exact(g, parts, classes, instances, p_, batch)
                        for term, g in gs.items()}, "exact")
    coef, error = {}, 0.0
    for term, g in gs.items():
        coef[term], err = _laplace(g, classes, instances, p_, batch)
        error = max(error, err)
    return Mixture(coef, "laplace", error)


def seen(spec: LossSpec, j: int, p_: int, batch: int) -> int:
    """The sigmoid form: the pairs an anchor whose class has j instances in a batch of B sees
    (its ``denominator``)."""
    count = {"self": 1, "view": p_ - 1, "class": (j - 1) * p_, "other": (batch - j) * p_}
    return sum(count[t] for t in spec.denominator)


def _g(spec, term, law, p_, batch) -> dict[int, Fraction]:
    """g(j) of the module docstring. The sigmoid form's term is a sum over the pairs an anchor
    sees, averaged over every anchor (g = 1) or over all those pairs (g = the pairs seen)."""
    if spec.sums_pairs:
        return {j: Fraction(seen(spec, j, p_, batch) if spec.mean == "pairs" else 1)
                for j in law}
    pos = {j: positives(spec, term, j, p_, batch) for j in law}
    return {j: (c if spec.mean == "pairs" else Fraction(int(c > 0))) for j, c in pos.items()}


def _partitions(batch: int, parts: int, largest: int) -> list | None:
    """The partitions of B into at most ``parts`` parts of at most ``largest`` (descending),
    or None where there are more than :data:`EXACT_LIMIT`."""
    out: list = []

    def grow(left, most, prefix) -> bool:
        if left == 0:
            out.append(tuple(prefix))
            return len(out) <= EXACT_LIMIT
        if len(prefix) == parts:
            return True
        # the parts still free are at most a each: a >= left / (their number), or the rest
        # cannot be placed (without this bound B = 999 of 10 x 100 searched for minutes)
        least = -(-left // (parts - len(prefix)))
        for a in range(min(left, most), least - 1, -1):
            if not grow(left - a, a, prefix + [a]):
                return False
        return True

    return out if grow(batch, largest, []) else None


def _exact(g, parts, classes, instances, p_, batch) -> dict:
    """c(j) = E[N_j g(j) / Y] summed over the compositions, in rationals."""
    from collections import Counter

    total = (Fraction(math.comb(classes * instances, batch)) if instances is not None
             else Fraction(classes) ** batch)
    coef = {j: Fraction(0) for j in g}
    for lam in parts:
        mult = Counter(lam)
        ways = Fraction(math.factorial(classes), math.factorial(classes - len(lam)))
        for mu in mult.values():
            ways /= math.factorial(mu)
        if instances is not None:
            ways *= math.prod(math.comb(instances, a) for a in lam)
        else:
            ways *= Fraction(math.factorial(batch), math.prod(math.factorial(a) for a in lam))
        prob = ways / total
        Y = sum(a * p_ * g.get(a, 0) for a in lam)
        if Y == 0:
            continue
        for a, mu in mult.items():
            if a in coef:
                coef[a] += prob * mu * a * p_ * g[a] / Y
    return {j: sp.Rational(c.numerator, c.denominator) for j, c in coef.items()}


#: the trapezoid's step in log t (halved once for the error estimate)
STEP = 1 / 8


def _laplace(g, classes, instances, p_, batch) -> tuple[dict, float]:
    """c(j) = integral_0^oo E[N_j g(j) e^{-tY}] dt by the trapezoid rule in s = log t, with
    an error estimate."""
    top = batch if instances is None else min(batch, instances)
    a = np.arange(top + 1)
    with mpmath.workdps(40):  # log-gammas of C n ~ 1e6 would lose 1e-9 in float64
        if instances is None:  # Poisson(B / C) counts conditioned on their sum B
            lam = mpmath.mpf(batch) / classes
            logb = [-lam + x * mpmath.log(lam) - mpmath.loggamma(x + 1) for x in range(top + 1)]
            logd = -batch + batch * mpmath.log(batch) - mpmath.loggamma(batch + 1)
        else:  # binomial(n, B / (C n)) counts conditioned on their sum B
            N = classes * instances
            q = mpmath.mpf(batch) / N

            def logpmf(x, size):
                return (mpmath.loggamma(size + 1) - mpmath.loggamma(x + 1)
                        - mpmath.loggamma(size - x + 1) + x * mpmath.log(q)
                        + (size - x) * mpmath.log1p(-q))

            logb = [logpmf(x, instances) for x in range(top + 1)]
            logd = logpmf(batch, N)
        logb, logd = np.array([float(v) for v in logb]), float(logd)
    b = np.exp(logb)
    h = np.array([x * p_ * g.get(int(x), 0) for x in a], dtype=float)  # Y's part per class
    js = [j for j in sorted(g) if g[j] > 0]
    w = np.array([classes * j * p_ * g[j] for j in js], dtype=float)

    def F(t: float) -> np.ndarray:
        """E[N_j g(j) e^{-tY}] for every j."""
        R = _power(b * np.exp(-t * h), classes - 1, top, batch)
        return w * np.exp(-t * h[js] + logb[js] - logd) * R[[batch - j for j in js]]

    ymin = min(h[j] for j in js)
    ymax = float(batch * p_ * max(g.values()))
    lo, hi = math.log(1e-12 / ymax), math.log(60.0 / ymin)
    s = np.arange(lo, hi + STEP / 2, STEP / 2)
    vals = np.array([F(math.exp(x)) * math.exp(x) for x in s])
    fine = STEP / 2 * (vals.sum(0) - (vals[0] + vals[-1]) / 2)
    coarse = STEP * (vals[::2].sum(0) - (vals[0] + vals[::2][-1]) / 2)
    head = F(0.0) * math.exp(lo)  # integral over [0, t_lo]: F is flat there
    tail = vals[-1] / ymin  # integral over [t_hi, oo): F decays at least as e^{-t ymin}
    coef = fine + head
    # the step halving, both tails, and rounding (a few hundred float64 operations per weight)
    error = float(np.max(np.abs(fine - coarse)) + np.max(tail) + np.max(head) * 1e-3
                  + 1e-12 * np.max(coef))
    out = {j: 0.0 for j in g}
    out.update({j: float(c) for j, c in zip(js, coef)})
    return out, error


def _power(poly: np.ndarray, k: int, top: int, batch: int) -> np.ndarray:
    """poly^k truncated to degree B (nonnegative coefficients: no cancellation)."""
    result = np.zeros(batch + 1)
    result[0] = 1.0
    base = np.zeros(batch + 1)
    base[:top + 1] = poly[:batch + 1]
    while k:
        if k & 1:
            result = np.convolve(result, base)[:batch + 1]
        k >>= 1
        if k:
            base = np.convolve(base, base)[:batch + 1]
    return result
