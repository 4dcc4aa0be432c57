"""Does SSEM contain the global minimiser? An exact optimality certificate per (alpha, tau).

Every convention's loss is convex in the Gram matrix G (log-sum-exp of linear functions of G
minus a linear function) and invariant under permuting classes, instances within a class
and views within an instance. Averaging any G over that group keeps it feasible (PSD, unit
diagonal) and does not raise the loss, so the minimum over all unit embeddings (any d) is
the minimum of phi(v, c, o) over Gram matrices with one value per pair type. Those form a
polyhedron: the four eigenvalues of :func:`~ssem_symbolic.setting.symmetric_gram_eigenvalues`
are affine in (v, c, o) and must be >= 0. The SSEM point (v = 1, c = x(beta*), o = y(beta*))
is therefore a global minimiser iff it satisfies the KKT conditions there:

    grad phi = sum_i mu_i grad lambda_i,   mu_i >= 0 over the active eigenvalues.

Active: the view contrast (v = 1) and the all-ones direction (zero centroid); at beta* = 1
also the within-class contrast. A negative multiplier means a better Gram matrix exists
off SSEM (views apart, or a nonzero centroid), realisable once d >= m k p - 1.

The signs are decided without cancellation. With q_t the softmax weights and w_t the positive
weights of pair type t, d phi/d g_t = (q_t - w_t)/tau, so for any square subsystem of the KKT
equations (rows R, exact rational inverse B) tau D mu_i = sum_{s in den} C_is n_s e^{g_s/tau}
with exact coefficients C_is = B_is [s in R] - sum_{t in R} B_it w_t. Pair types with equal
Gram values share one exponential and their coefficients add exactly; the sign of what is left
is compared in log space (log P+ against log P-), so a multiplier of size e^{-1/tau} keeps its
sign at 30 digits at any tau. Every consistent subsystem gives the same mu at the exact beta*;
each multiplier is taken from one whose sign is decided.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import mpmath
import sympy as sp

from ..forms import guard_digits
from ..ssem import optimal_beta
from ..setting import gram_entries, symmetric_gram_eigenvalues
from ..vocab import TABLE
from ..vocab import exact, mp
from ..spec import PRESETS, LossSpec, alpha, beta, pull_weights

#: the most digits a certificate works at before it calls a multiplier undecided
_MAX_DIGITS = 1000
_COORDS = {t.name: t.gram for t in TABLE if t.gram.is_Symbol}  # view v, class c, other o

#: conventions (by content, :meth:`LossSpec.key`) whose optimum over all unit embeddings is
#: shown to lie in SSEM (for d >= mk - 1: the symmetry reduction in proofs/, its KKT step
#: checked on a grid); for every other spec only per-point certificates speak. A spec with the
#: same content under another name is the same convention.
ESTABLISHED = frozenset({PRESETS["paper"].key(), PRESETS["supcon"].key()})


#: conventions (by content) where SSEM is shown NOT to hold the optimum everywhere: supcon-split's
#: views move apart at small alpha and tau (the global optimum and its certificate, tested)
SHOWN_OFF_SSEM = frozenset({PRESETS["supcon-split"].key()})


def established(spec: LossSpec) -> bool:
    """Whether SSEM is shown to hold the optimum of ``spec`` everywhere (by content)."""
    return spec.key() in ESTABLISHED


@dataclass(frozen=True)
class SSEMCertificate:
    """KKT check of the SSEM point. ``valid`` is True, False, or None when undecided.

    ``multipliers`` are floats (one of size e^{-1/tau} may underflow to 0.0); ``signs`` holds
    each multiplier's sign, decided exactly (+1, -1, or 0 for an exact zero).
    """

    valid: bool | None
    beta: float
    multipliers: dict[str, float]
    signs: dict[str, int]
    residual: float
    digits: int = 30
    #: how the verdict was reached, where not by the KKT multipliers of SSEM's face
    how: str = ""

    @property
    def reason(self) -> str:
        if self.how:
            return self.how
        if self.valid is None:
            return (f"a KKT multiplier is zero to {self.digits} digits: the boundary of SSEM "
                    "validity")
        if self.valid:
            return "KKT multipliers >= 0: SSEM holds a global minimiser (any d >= mk - 1)"
        bad = [name for name, s in self.signs.items() if s < 0]
        return ("negative KKT multiplier(s) " + ", ".join(bad)
                + ": a lower loss exists off SSEM (d >= mkp - 1)")


@functools.lru_cache(maxsize=None)
def _structure(spec: LossSpec, m_: int, k_: int, p_: int):
    """Exact data of the KKT system for a batch: coordinates, constraint gradients, counts, and
    the positive weights w_t as polynomials in alpha."""
    coords = [t for t in _COORDS if not (t == "view" and p_ == 1)]
    grads = {name: [sp.Rational(sp.diff(ev, _COORDS[t])) for t in coords]
             for name, ev, mult in symmetric_gram_eigenvalues(m_=m_, k_=k_, p_=p_) if mult != 0}
    n = tuple({t: sp.Rational(c) for t, c in den.counts(m_, k_, p_).items()}
              for den, _ in spec.denominators())  # per denominator: omega_t n_t
    pull = pull_weights(spec, m_, k_, p_)
    return coords, grads, n, {t: pull[t] for t in coords}


def softmax_certificate(spec: LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                        digits: int = 30) -> SSEMCertificate:
    """The exact KKT certificate of SSEM at beta* for a softmax spec (see
    :func:`~ssem_symbolic.optimum.certify_ssem`)."""
    work, b = digits, None
    while True:
        b = optimal_beta(spec, m_, k_, p_, alpha_, tau_, digits=work, start=b)
        mus = _multipliers(spec, m_, k_, p_, exact(alpha_), exact(tau_), b,
                           work + guard_digits(exact(tau_)))
        if all(sign is not None for sign, _ in mus.values()) or work >= _MAX_DIGITS:
            break
        work = min(_MAX_DIGITS, 4 * work)
    signs = {name: sign for name, (sign, _) in mus.items()}
    valid = None if None in signs.values() else all(s >= 0 for s in signs.values())
    values = {name: float(v) for name, (_, v) in mus.items()}
    return SSEMCertificate(valid=valid, beta=float(b), multipliers=values,
                           signs={n: (0 if s is None else s) for n, s in signs.items()},
                           residual=_residual(spec, m_, k_, p_, exact(alpha_), exact(tau_), b,
                                              mus, work + guard_digits(exact(tau_))),
                           digits=work)


def _active(grads: dict, b) -> list[str]:
    active = [name for name in ("view", "all-ones") if name in grads]
    if b == 1:
        active.append("within-class")
    if b == 0:
        active.append("between-class")
    return active


def _atoms(spec: LossSpec, n: tuple) -> list[tuple[tuple[str, ...], int]]:
    """The exponentials of tau prod_j D_j f'(beta) (and of each multiplier times prod_j D_j):
    one pair type from each distinct denominator, with the product of their counts there
    (``n``: per denominator, omega_t n_t). For one denominator these are its pair types."""
    dens = [den for den, _ in spec.denominators()]
    return [(combo, functools.reduce(lambda x, y: x * y, (nj[s] for nj, s in zip(n, combo))))
            for combo in itertools.product(*dens)]


def _multipliers(spec, m_, k_, p_, a, t, b, digits) -> dict[str, tuple[int | None, mpmath.mpf]]:
    """Per active constraint: (sign or None when undecided, value)."""
    coords, grads, n, weights = _structure(spec, m_, k_, p_)
    active = _active(grads, b)
    w = {t_: weights[t_].subs(alpha, a) for t_ in coords}
    lse = [sp.Rational(L.subs(alpha, a)) for _, L in spec.denominators()]  # phi's L_j
    atoms = _atoms(spec, n)
    out: dict[str, tuple[int | None, mpmath.mpf]] = {}
    with mpmath.workdps(digits + 10):
        tau_mp = mp(t)
        gram, expo, log_d = _softmax_point(spec, n, atoms, b, m_, k_, tau_mp)
        scale = 1 + max(abs(x) for x in expo.values())
        stationary = _stationarity(atoms, m_, k_, w, lse) if 0 < b < 1 else None
        for rows in itertools.combinations(range(len(coords)), len(active)):
            A = sp.Matrix([[grads[name][r] for name in active] for r in rows])
            if A.det() == 0:
                continue
            B = A.inv()
            for i, name in enumerate(active):
                if out.get(name, (None,))[0] is not None:
                    continue
                K = sum(B[i, j] * w[coords[r]] for j, r in enumerate(rows))

                def b_of(s, i=i, B=B):
                    return next((B[i, j] for j, r in enumerate(rows) if coords[r] == s), 0)
                coef = {combo: count * (sum(L * b_of(s) for L, s in zip(lse, combo)) - K)
                        for combo, count in atoms}
                for form in _forms(coef, stationary, gram):
                    sign, log_mag = _signed_log_sum(
                        [(c, value / tau_mp) for value, c in form.items()], scale, digits)
                    if sign is not None:
                        value = (mpmath.mpf(0) if sign == 0 else
                                 sign * mpmath.exp(log_mag - mpmath.log(tau_mp) - log_d))
                        out[name] = (sign, value)
                        break
    for name in active:
        out.setdefault(name, (None, mpmath.mpf(0)))
    return out


def _stationarity(atoms, m_, k_, w, lse) -> dict:
    """Coefficients F of tau prod_j D_j f'(beta*) = sum_atoms F e^{g/tau} = 0, exact:
    F = n (sum_j L_j g_{s_j}' - sum_t w_t g_t') with g' the slopes of the SSEM Gram values
    (one denominator: F_s = n_s (L g_s' - sum_t w_t g_t'))."""
    slope = {s: sp.Rational(sp.diff(v, beta)) for s, v in gram_entries(beta, m_, k_).items()}
    pull = sum(w[t] * slope[t] for t in w)
    return {combo: count * (sum(L * slope[s] for L, s in zip(lse, combo)) - pull)
            for combo, count in atoms}


def _forms(coef: dict, stationary: dict | None, gram: dict):
    """The coefficients of tau D mu grouped by Gram value, then the same sum with the
    stationarity relation added so as to cancel each group in turn (exactly): at beta* these
    are equal, and the one without cancellation decides the sign."""
    def grouped(c):
        out: dict = {}
        for s, x in c.items():
            out[gram[s]] = out.get(gram[s], 0) + x
        return out
    base = grouped(coef)
    yield base
    if stationary is None:
        return
    rel = grouped(stationary)
    for value, f in rel.items():
        if f != 0 and base.get(value, 0) != 0:
            lam = -base[value] / f
            yield {v: base.get(v, 0) + lam * rel.get(v, 0) for v in set(base) | set(rel)}


def _signed_log_sum(terms, scale, digits) -> tuple[int | None, mpmath.mpf]:
    """Sign and log|S| of S = sum_j C_j e^{E_j} (C_j exact rationals), in log space.

    None when |log P+ - log P-| is below the working resolution (scaled by the size of the
    exponents, whose absolute error grows with them)."""
    parts = {1: [], -1: []}
    for c, e in terms:
        if c != 0:
            parts[1 if c > 0 else -1].append(mpmath.log(mp(abs(c))) + e)
    if not parts[1] and not parts[-1]:
        return 0, mpmath.mpf("-inf")
    lse = {s: _logsumexp(v) if v else None for s, v in parts.items()}
    if lse[-1] is None:
        return 1, lse[1]
    if lse[1] is None:
        return -1, lse[-1]
    d = lse[1] - lse[-1]
    if abs(d) <= mpmath.mpf(10) ** -(digits - 5) * scale:
        return None, mpmath.mpf("-inf")
    top = max(lse[1], lse[-1])
    return (1 if d > 0 else -1), top + mpmath.log(-mpmath.expm1(-abs(d)))


def _logsumexp(values):
    top = max(values)
    return top + mpmath.log(mpmath.fsum(mpmath.exp(v - top) for v in values))


def _softmax_point(spec, n, atoms, b, m_, k_, tau_mp):
    """At SSEM(b), per atom (:func:`_atoms`): its Gram value (the sum over its pair types),
    its exponent, and log prod_j D_j = sum_j log sum_{s in den_j} n_s e^{g_s/tau} (mpmath, at
    the caller's precision)."""
    g = gram_entries(b, m_, k_)
    one = {s: mpmath.mpf(g[s]) for s in g}
    gram = {combo: mpmath.fsum(one[s] for s in combo) for combo, _ in atoms}
    expo = {combo: gram[combo] / tau_mp for combo, _ in atoms}
    log_d = mpmath.fsum(_logsumexp([mpmath.log(mp(nj[s])) + one[s] / tau_mp for s in den])
                        for (den, _), nj in zip(spec.denominators(), n))
    return gram, expo, log_d


def _residual(spec, m_, k_, p_, a, t, b, mus, digits) -> float:
    """|grad phi - sum_i mu_i grad lambda_i|: the KKT stationarity residual (the equation left
    out of each square subsystem holds by the optimality of beta* along SSEM)."""
    coords, grads, n, weights = _structure(spec, m_, k_, p_)
    g = gram_entries(b, m_, k_)
    with mpmath.workdps(digits + 10):
        tau_mp = mp(t)
        out = []
        for r, t_ in enumerate(coords):
            grad = -mp(weights[t_].subs(alpha, a))
            for (den, L), nj in zip(spec.denominators(), n):  # d (L_j log D_j)/d g = L_j q_j
                if t_ in den:
                    log_dj = _logsumexp([mpmath.log(mp(nj[s])) + mpmath.mpf(g[s]) / tau_mp
                                         for s in den])
                    grad += mp(L.subs(alpha, a)) * mpmath.exp(
                        mpmath.log(mp(nj[t_])) + mpmath.mpf(g[t_]) / tau_mp - log_dj)
            out.append(grad / tau_mp
                       - mpmath.fsum(mu * grads[name][r] for name, (_, mu) in mus.items()))
        return float(mpmath.sqrt(mpmath.fsum(x * x for x in out)))
