"""The solver's first half, written once for every family: a convex objective on a symmetric
family's coordinates x, subject to linear conditions lambda_i(x) = b_i + a_i . x >= 0 and,
for a family of several size groups, a small matrix inequality R(x) = R_0 + sum_j x_j R_j >= 0.

* :func:`barrier`: the float64 log-barrier path, s tau phi - sum log lambda_i - log det R,
  to a point near the minimiser x*;
* :func:`candidates`: the active sets (and ranks of R) the barrier's evidence makes likely,
  most likely first (mu_i ~ 1/(s lambda_i), so log(mu_i / lambda_i) = -log s - 2 log lambda_i);
* :func:`sign`: a multiplier's or slack's sign at the working resolution, or None.

The second half decides the KKT conditions candidate by candidate in mpmath, raising the
precision while a sign is undecided. Where every condition is linear (a balanced batch, a
dataset's symmetric family) that is Newton on each face of the polyhedron
(:mod:`~ssem_symbolic.optimum._balanced`, the fast path); with a matrix inequality it is Newton
on the KKT system with R's null space (:mod:`~ssem_symbolic.optimum._imbalanced`).
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np

from ..spec import LossSpec
from ..vocab import exact


def barrier(A: np.ndarray, b: np.ndarray, obj, x0: np.ndarray, means=None, *,
            s_end: float, iterations: int, tol: float) -> tuple[np.ndarray, float]:
    """Damped Newton on s tau phi - sum_i log lambda_i(x) [- log det R(x)] for s = 1, 16,
    256, ... until s exceeds ``s_end``, ``iterations`` steps per s at most, each s stopped
    when the Newton decrement squared falls below ``tol``. ``obj.parts(x, hessian)`` gives
    (tau phi, gradient, Hessian); ``means`` is (R0, Rj) as float arrays (G x G, n x G x G),
    or None for a polyhedron. Returns (x, s): the last point and its barrier weight."""
    x = np.array(x0, dtype=float)

    def state(y):
        """(slacks, R^-1 R_j per j, barrier value) at y, or None outside the domain."""
        lam = b + A @ y
        if lam.size and not np.all(lam > 0):
            return None
        if means is None:
            return lam, None, -np.sum(np.log(lam))
        R = means[0] + np.tensordot(y, means[1], 1)
        try:
            chol = np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            return None
        RiRj = np.einsum("ab,jbc->jac", np.linalg.inv(R), means[1])
        return lam, RiRj, -np.sum(np.log(lam)) - 2 * np.sum(np.log(np.diag(chol)))

    s = 1.0
    while True:
        for _ in range(iterations):
            lam, RiRj, log_barrier = state(x)
            val, g, H = obj.parts(x)
            grad = s * np.array(g, dtype=float) - A.T @ (1 / lam)
            hess = s * np.array(H, dtype=float) + (A.T / lam**2) @ A
            if RiRj is not None:
                grad -= np.einsum("jaa->j", RiRj)
                hess += np.einsum("iab,jba->ij", RiRj, RiRj)
            try:
                step = -np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                step = -grad
            dec = -grad @ step  # the Newton decrement squared: twice the suboptimality
            if dec < tol:
                break
            merit = s * val + log_barrier
            t = 1.0
            while t > 1e-12:
                xn = x + t * step
                new = state(xn)
                if new is not None and (s * obj.parts(xn, False)[0] + new[2]
                                        <= merit - 0.25 * t * dec + 1e-13 * abs(merit)):
                    break
                t *= 0.5
            else:
                break  # no descent left at float64 resolution
            x = xn
        if s >= s_end:
            return x, s
        s *= 16.0


def candidates(lam, r_eig, s) -> list[tuple[tuple[int, ...], int]]:
    """Every (S, r), most likely first: S a set of active linear conditions, r the rank
    deficiency of R (0 where the family has no matrix inequality), from the barrier at weight
    s with slacks ``lam`` and R's ascending eigenvalues ``r_eig``. Each condition's evidence
    of being active is log(mu / lambda) = -log(s lambda^2); a candidate costs the evidence it
    contradicts."""
    def evidence(values):
        return [float(-mpmath.log(s) - 2 * mpmath.log(max(v, mpmath.mpf(10) ** -300)))
                for v in values]
    lin_ev, r_ev = evidence(lam), evidence(r_eig)
    out = []
    for size in range(len(lam) + 1):
        for S in itertools.combinations(range(len(lam)), size):
            c_lin = sum(max(e, 0) if i not in S else max(-e, 0) for i, e in enumerate(lin_ev))
            for r in range(len(r_eig) + 1):
                c_r = sum(max(-e, 0) if i < r else max(e, 0) for i, e in enumerate(r_ev))
                out.append((c_lin + c_r, S, r))
    out.sort(key=lambda c: c[0])
    return [(S, r) for _, S, r in out]


def sign(value, resolution) -> int | None:
    """+1 or -1, or None when |value| is within ``resolution`` of 0 (not decided)."""
    if abs(value) <= resolution:
        return None
    return 1 if value > 0 else -1


def check_temperatures(spec: LossSpec, t, span: tuple) -> None:
    """ValueError (one line) unless every pair type's temperature tau_t = ratio x tau lies in
    ``span``, the range a solver is checked over (its work grows as 1/tau_t)."""
    for pair, ratio in spec.temperatures:
        if not exact(span[0]) <= ratio * t <= exact(span[1]):
            raise ValueError(f"the {pair} pairs' temperature {float(ratio * t):g} (= "
                             f"{ratio} x tau) is outside the solver's range [{span[0]}, "
                             f"{span[1]}]")
