"""Collapse thresholds located from trained embeddings alone, without the bias of slow
convergence.

Near a threshold the loss is flat in the direction that collapses a class, so training
approaches collapse slowly from the collapsed side. A bisection on "within-class variance
below eps" mistakes that slow convergence for spreading, and lands on the collapsed side of the
threshold (0.005 to 0.007 below alpha_c on the quick plan). Here instead:

1. a coarse scan, one batched run over a grid of the axis (alpha in [0, 1], or log tau), finds
   which side collapses and where the collapsed region ends, and a second scan of 11 points
   between its last collapsed and first spread point refines that edge;
2. points on the *spreading* side, 0.015 to 0.065 beyond the edge (in alpha, or in log tau),
   are trained; there the curvature is not degenerate and training converges (a point that
   still collapses is dropped, and the points move further out if fewer than four remain). The
   within-class variance w(x) grows smoothly from the threshold, w(x_c) = 0: a quadratic fit
   extrapolated to w = 0 locates x_c;
3. the uncertainty combines, in quadrature, the spread of the roots fitted seed by seed and a
   leave-one-point-out jackknife.

Nothing here reads a formula: the derived threshold is only put beside the located one, and
the verdict is ``agrees`` when they differ by at most max(1e-3, 3 x uncertainty) (in alpha;
relative in tau).
"""

from __future__ import annotations

import math

import numpy as np

from ..setting import measured_variances
from ..spec import get_spec
from ..setting import takes_convention
from .train import TrainConfig, train_free_batched

#: the verdict's floor: a located threshold agrees within max(FLOOR, 3 x its uncertainty)
FLOOR = 1e-3
#: within-class variance above which a point counts as spread, in the coarse scan
SPREAD = 1e-3
#: the fit's points beyond the refined edge of the collapsed region (alpha, or log tau); the
#: edge may sit up to the bias of slow collapse (about 0.005) inside the collapsed side
OFFSETS = (0.015, 0.025, 0.035, 0.045, 0.055, 0.065)
#: points of the second scan, between the last collapsed and the first spread point
REFINE = 11


@takes_convention
def locate(convention, m: int, k: int, p: int, *, tau: float | None = None,
           alpha: float | None = None, steps: int = 1500, dim: int = 24, lr: float = 0.05,
           seeds: int = 2, grid: int = 21, tau_range: tuple[float, float] = (0.05, 5.0),
           device: str = "cpu") -> dict:
    """alpha_c at fixed ``tau`` (or tau_c at fixed ``alpha``) from free embeddings: the coarse
    scan, then the extrapolated fit, with its uncertainty. The record's ``located`` is None
    when the scan finds every point or none collapsed."""
    spec = get_spec(convention)
    if (tau is None) == (alpha is None):
        raise ValueError("give exactly one of tau (locate alpha_c) or alpha (locate tau_c)")
    axis = "alpha" if tau is not None else "tau"
    if axis == "alpha":
        xs = np.linspace(0.0, 1.0, grid)
    else:
        xs = np.linspace(math.log(tau_range[0]), math.log(tau_range[1]), grid)

    def config(x: float, seed: int) -> TrainConfig:
        a, t = (x, tau) if axis == "alpha" else (alpha, math.exp(x))
        return TrainConfig("free", spec, float(a), float(t), m, k, p, dim, steps, lr, seed)

    def within(points: list[float], seed_count: int) -> np.ndarray:
        cfgs = [config(x, s) for x in points for s in range(seed_count)]
        z, labels = train_free_batched(cfgs, device)
        w = [measured_variances(z[i], labels)["within"] for i in range(len(cfgs))]
        return np.array(w).reshape(len(points), seed_count)

    coarse = within(list(xs), 1)[:, 0]
    spread = coarse > SPREAD
    record = {"kind": "threshold", "axis": axis, "loss": spec.name, "loss_key": spec.key(),
              "batch": [m, k, p], "tau": tau, "alpha": alpha, "steps": steps,
              "trail": {"grid": [[float(x), float(w)] for x, w in zip(xs, coarse)]}}
    if spread.all() or not spread.any():
        which = "every" if not spread.any() else "no"
        return record | {"located": None, "uncertainty": None,
                         "note": f"{which} point of the {axis} scan collapsed after {steps} "
                                 f"steps (within-class variance {'<=' if which == 'every' else '>'}"
                                 f" {SPREAD:g} at all {grid} points): "
                                 + ("too few steps to spread near the threshold"
                                    if which == "every" else
                                    "no collapse reached in the scanned range")}
    # the collapsed region lies at one end; d points from it into the spreading side
    d = 1.0 if not spread[0] else -1.0
    order = list(range(grid)) if d > 0 else list(range(grid - 1, -1, -1))
    first = next(i for i in order if spread[i])  # the first spread point from that end
    lo_x, hi_x = xs[order[order.index(first) - 1]], xs[first]
    # refine the edge: a second batched scan between the last collapsed and the first spread
    fine = np.linspace(lo_x, hi_x, REFINE)
    fine_w = within(list(fine), 1)[:, 0]
    record["trail"]["refine"] = [[float(x), float(w)] for x, w in zip(fine, fine_w)]
    x1 = float(next(x for x, w in zip(fine, fine_w) if w > SPREAD))
    for _ in range(4):  # the fit's points must lie on the spreading side
        pts = np.array([x1 + d * off for off in OFFSETS])
        w = within(list(pts), seeds)
        keep = (w > SPREAD / 10).all(axis=1)
        if keep.sum() >= 4:
            break
        x1 += d * OFFSETS[0] * (1 + (~keep).sum())
    else:
        return record | {"located": None, "uncertainty": None,
                         "note": f"the fit's points did not stay on the spreading side after "
                                 f"{steps} steps (they collapsed: too few steps)"}
    record["trail"]["fit"] = [[float(x), *map(float, row)] for x, row in zip(pts, w)]
    pts, w = pts[keep], w[keep]
    span = (x1 - d * 0.05, x1 + d * OFFSETS[-1])
    located = _root(np.repeat(pts, seeds), w.ravel(), *span)
    per_seed = [_root(pts, w[:, s], *span) for s in range(seeds)]
    jack = [_root(np.repeat(np.delete(pts, i), seeds), np.delete(w, i, axis=0).ravel(), *span)
            for i in range(len(pts))]
    n = len(jack)
    sigma_jack = math.sqrt((n - 1) / n * sum((r - np.mean(jack)) ** 2 for r in jack))
    sigma_seed = float(np.std(per_seed, ddof=1) / math.sqrt(seeds)) if seeds > 1 else 0.0
    sigma = math.hypot(sigma_jack, sigma_seed)
    value = located if axis == "alpha" else math.exp(located)
    return record | {"located": float(value), "uncertainty": float(sigma),
                     "uncertainty_parts": {"jackknife": sigma_jack, "seeds": sigma_seed},
                     "collapses": "below" if d > 0 else "above"}


def _root(x: np.ndarray, w: np.ndarray, lo: float, hi: float) -> float:
    """Where the least-squares quadratic through (x, w) crosses 0, the crossing nearest the
    interval [lo, hi] (either order); a line where a quadratic has no real crossing."""
    lo, hi = min(lo, hi), max(lo, hi)
    for degree in (2, 1):
        roots = [r.real for r in np.roots(np.polyfit(x, w, degree)) if abs(r.imag) < 1e-12]
        if roots:
            mid = (lo + hi) / 2
            return float(min(roots, key=lambda r: abs(r - mid)))
    return float(lo)


def verdict(located: float | None, uncertainty: float | None, derived: float | None,
            axis: str) -> tuple[str, float | None, float | None]:
    """(verdict, difference, tolerance): ``agrees`` when |located - derived| (alpha; the log
    ratio for tau) is at most max(FLOOR, 3 x uncertainty); ``not located`` when the scan found
    no threshold (every point, or none, collapsed: training too short to tell) but one is
    derived; ``disagrees`` when one is located and none derived."""
    if located is None:
        return ("agrees" if derived is None else "not located"), None, None
    if derived is None:
        return "disagrees", None, None
    diff = located - derived if axis == "alpha" else math.log(located / derived)
    tol = max(FLOOR, 3 * uncertainty)
    return ("agrees" if abs(diff) <= tol else "disagrees"), diff, tol
