"""A learnable temperature: the joint minimum over the embeddings and tau >= clamp.

Training that learns tau (CLIP's logit scale, clamped at 100: tau >= 1/100) minimises
L(X, tau) over the unit embeddings X and tau together. Its minimum is the minimum over tau of
the optimum's loss, the profile F(tau) = min_X L(X, tau), which :func:`~ssem_symbolic.optimum.
optimum` gives exactly at each tau (the spec's scale included: the loss that is trained). The
joint optimum is (tau*, X*(tau*)), with the geometry of the optimum at tau*.

F is not known to be unimodal in tau, so the search is a grid of :data:`GRID` points in
log tau from the clamp to ``top``, then golden section in log tau around the best grid point
(to 1e-7 relative in tau). tau* is reported "at the clamp" where the best point is the clamp
itself. Every shipped preset and example is there at 3 x 2 x 2 and alpha in {0, 0.25, 0.5,
0.75, 1}, so training drives tau to the clamp and the question of collapse is the optimum's at
tau = clamp. Why, near 0: :mod:`~ssem_symbolic.optimum._limit`.
"""

from __future__ import annotations

import dataclasses
import math

from ..forms import golden
from ..vocab import Learnable, exact
from ._result import LearnedTemperature, Optimum

#: the log-spaced grid of tau the search starts from (clamp and top included)
GRID = 33


def learned_optimum(solve, learnable: Learnable, limit=None) -> Optimum:
    """The joint optimum over the embeddings and tau in [clamp, top]: ``solve(tau)`` returns
    the :class:`Optimum` at a temperature (exact tau in, scaled loss out). Returns the optimum
    at tau*, with ``temperature`` saying where tau* lies and the profile searched, and
    ``limit`` (:class:`~ssem_symbolic.optimum._limit.Limit`, where the setting has a symmetric
    family) the tau -> 0 limit that says why."""
    lo, hi = float(learnable.clamp), float(learnable.top)
    taus = [learnable.clamp] + [exact(f"{lo * (hi / lo) ** (i / (GRID - 1)):.15g}")
                                for i in range(1, GRID - 1)] + [learnable.top]
    solved = {t: solve(t) for t in taus}
    values = [solved[t].loss_value for t in taus]
    best = min(range(GRID), key=values.__getitem__)
    left, right = taus[max(best - 1, 0)], taus[min(best + 1, GRID - 1)]

    def at(log_tau: float) -> float:
        t = exact(f"{math.exp(log_tau):.15g}")
        t = min(max(t, learnable.clamp), learnable.top)
        if t not in solved:
            solved[t] = solve(t)
        return solved[t].loss_value

    x, value = golden(at, math.log(float(left)), math.log(float(right)), tol=1e-7)
    tau = min(max(exact(f"{math.exp(x):.15g}"), learnable.clamp), learnable.top)
    if values[best] <= value:  # the grid point itself (the clamp, the top or an interior one)
        tau, value = taus[best], values[best]
    at_clamp = tau == learnable.clamp
    at_top = tau == learnable.top
    temperature = LearnedTemperature(
        tau=float(tau), clamp=lo, top=hi, at_clamp=at_clamp, at_top=at_top,
        profile=tuple((float(t), v) for t, v in zip(taus, values)), limit=limit)
    return dataclasses.replace(solved[tau], temperature=temperature)
