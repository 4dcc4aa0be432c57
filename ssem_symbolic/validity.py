"""Does SSEM contain the global minimiser? An exact optimality certificate per (alpha, tau).

Every convention's loss is convex in the Gram matrix G (log-sum-exp of linear functions of G
minus a linear function) and invariant under permuting classes, instances within a class
and views within an instance. Averaging any G over that group keeps it feasible (PSD, unit
diagonal) and does not raise the loss, so the minimum over all unit embeddings (any d) is
the minimum of phi(v, c, o) over Gram matrices with one value per pair type. Those form a
polyhedron: the four eigenvalues of :func:`~ssem_symbolic.model.symmetric_gram_eigenvalues`
are affine in (v, c, o) and must be >= 0. The SSEM point (v = 1, c = x(beta*), o = y(beta*))
is therefore a global minimiser iff it satisfies the KKT conditions there:

    grad phi = sum_i mu_i grad lambda_i,   mu_i >= 0 over the active eigenvalues.

Active: the view contrast (v = 1) and the all-ones direction (zero centroid); at beta* = 1
also the within-class contrast. A negative multiplier means a better Gram matrix exists
off SSEM (views apart, or a nonzero centroid), realisable once d >= m k p - 1.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import sympy as sp

from .derive import _mp_lambdify, optimal_beta, symmetric_loss
from .model import c_sym, o_sym, symmetric_gram_eigenvalues, v_sym
from .spec import LossSpec, alpha, get_spec, k, m, p, tau

_MAX_DIGITS = 5000

#: conventions whose optimum over all unit embeddings is shown to lie in SSEM (for d >= mk - 1:
#: symmetry reduction in proofs/); for the others only per-point certificates speak
ESTABLISHED = ("paper", "supcon")


@dataclass(frozen=True)
class SSEMCertificate:
    """KKT check of the SSEM point. ``valid`` is True, False, or None when undecided."""

    valid: bool | None
    beta: float
    multipliers: dict[str, float]
    residual: float

    @property
    def reason(self) -> str:
        if self.valid is None:
            return "a KKT multiplier is zero to 5000 digits: the boundary of SSEM validity"
        if self.valid:
            return "KKT multipliers >= 0: SSEM holds a global minimiser (any d >= mk - 1)"
        bad = [name for name, mu in self.multipliers.items() if mu < 0]
        return ("negative KKT multiplier(s) " + ", ".join(bad)
                + ": a lower loss exists off SSEM (d >= mkp - 1)")


@functools.lru_cache(maxsize=None)
def _gradients(spec: LossSpec):
    phi = symmetric_loss(spec)
    args = (v_sym, c_sym, o_sym, alpha, tau, m, k, p)
    grad_phi = _mp_lambdify(args, [sp.diff(phi, s) for s in (v_sym, c_sym, o_sym)])
    grads = {
        name: _mp_lambdify((m, k, p), [sp.diff(ev, s) for s in (v_sym, c_sym, o_sym)])
        for name, ev, _ in symmetric_gram_eigenvalues()
    }
    return grad_phi, grads


def certify_ssem(loss: str | LossSpec, m_: int, k_: int, p_: int, alpha_: float, tau_: float,
                 digits: int = 30) -> SSEMCertificate:
    """Decide whether SSEM at beta* is a global minimiser of the loss over unit embeddings.

    Multipliers can be as small as e^{-1/tau}; when one is too small to sign at the working
    precision the check is repeated with enough digits to resolve it (up to 5000 digits),
    and only then reported as undecided (``valid=None``).
    """
    spec = get_spec(loss)
    work, b = digits, None
    while True:
        mus, res, b = _multipliers(spec, m_, k_, p_, alpha_, tau_, work, b)
        lowest = min(mus.values(), key=abs)
        resolution = mpmath.mpf(10) ** -(work - 5)
        if abs(lowest) > resolution:
            valid: bool | None = all(x > 0 for x in mus.values() if abs(x) > resolution)
            break
        if lowest == 0 or work >= _MAX_DIGITS:
            valid = None
            break
        work = min(_MAX_DIGITS, max(2 * work, int(-mpmath.log10(abs(lowest))) + digits + 20))
    return SSEMCertificate(valid=valid, beta=float(b),
                           multipliers={n: float(x) for n, x in mus.items()},
                           residual=float(res))


def _multipliers(spec: LossSpec, m_: int, k_: int, p_: int, alpha_: float, tau_: float,
                 digits: int, start=None):
    grad_phi, grads = _gradients(spec)
    with mpmath.workdps(digits + 10):
        b = optimal_beta(spec, m_, k_, p_, alpha_, tau_, digits=digits, start=start)
        point = [mpmath.mpf(1), (k_ * b - 1) / (k_ - 1), -b / (m_ - 1)]
        rhs = mpmath.matrix(grad_phi(*point, mpmath.mpf(alpha_), mpmath.mpf(tau_), m_, k_, p_))
        present = {name for name, _, mult in symmetric_gram_eigenvalues(m_=m_, k_=k_, p_=p_)
                   if mult != 0}  # with p = 1 there is no view contrast to constrain
        active = [name for name in ("view", "all-ones") if name in present]
        active += ["within-class"] if b == 1 else []
        cols = [list(grads[name](m_, k_, p_)) for name in active]
        rows = [0, 1, 2] if p_ > 1 else [1, 2]  # p = 1: no view pairs, v is not a coordinate
        rhs = mpmath.matrix([rhs[i] for i in rows])
        A = mpmath.matrix([[cols[j][i] for j in range(len(active))] for i in rows])
        if len(active) == len(rhs):
            mu, res = mpmath.lu_solve(A, rhs), mpmath.mpf(0)
        else:
            mu, res = mpmath.qr_solve(A, rhs)
        return {name: +mu[i] for i, name in enumerate(active)}, res, b
