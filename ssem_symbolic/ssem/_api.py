"""The SSEM answers for any spec, whichever its loss form: each function resolves the
convention once and asks the form's strategy object (:func:`~ssem_symbolic.forms.form_of`).

>>> d = derive("paper")
>>> d.alpha_c_r
(k*m*r - r + 1)/(k*(m*r - r + 1))
>>> d.alpha_c_tau0, d.alpha_c_tauinf
(1/k, 1)
>>> round(float(alpha_c_value("paper", 2, 2, 2, 1)), 4)  # docs/references.md: 0.6192
0.6192
"""

from __future__ import annotations

import mpmath
import sympy as sp

from ..forms import CollapseRule, Derivation, Reduced, form_of
from ..spec import LossSpec, get_spec
from ..setting import takes_convention


@takes_convention
def symmetric_loss(convention: str | LossSpec) -> sp.Expr:
    """phi(v, c, o): the loss of a Gram matrix with one value per pair type (see module doc;
    either form: :func:`ssem_symbolic.ssem.symmetric_loss`)."""
    spec = get_spec(convention)
    return form_of(spec).symmetric_loss(spec)


@takes_convention
def derive(convention: str | LossSpec) -> Derivation:
    """The exact derivation for a convention spec or preset name (derived once, then cached).
    Softmax form only."""
    spec = get_spec(convention)
    return form_of(spec).derive(spec)


@takes_convention
def reduced(convention: str | LossSpec) -> Reduced:
    """f(beta) and N(r) for any spec (also one whose f'(1) ignores alpha).

    At beta = 1 every Gram value is 1 or -1/(m-1), so dividing the softmax by e^{1/tau} leaves
    weights n_t r^{u_t} with u_t in {0, 1}: tau (sum of weights) f'(1) = N(r) = c0 + c1 r.
    """
    spec = get_spec(convention)
    return form_of(spec).reduced(spec)


@takes_convention
def alpha_c_value(convention: str | LossSpec, m_: int, k_: int, p_: int, tau_,
                  digits: int = 30) -> mpmath.mpf:
    """alpha_c(tau) for a batch, evaluated through r = exp(-m/((m-1) tau)) (exact at every
    tau > 0: r is a tiny but exact mpmath number as tau -> 0)."""
    spec = get_spec(convention)
    return form_of(spec).alpha_c_value(spec, m_, k_, p_, tau_, digits)


@takes_convention
def alpha_c_limits(convention: str | LossSpec, m_: int, k_: int,
                   p_: int) -> tuple[sp.Expr, sp.Expr]:
    """(lim alpha_c as tau -> 0+, lim alpha_c as tau -> oo) for this batch, exactly (rational
    for the softmax form; the sigmoid form's may hold e^b).

    >>> alpha_c_limits("paper", 3, 10, 2)
    (1/10, 1)
    """
    spec = get_spec(convention)
    return form_of(spec).alpha_c_limits(spec, m_, k_, p_)


@takes_convention
def collapse_rule(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_,
                  digits: int = 30) -> CollapseRule:
    """The collapse region along tau at this alpha, decided exactly.

    f'(1) has the sign of c0 + c1 r (:func:`_collapse_coefficients`), exact rationals at the
    exact alpha; r runs over (0, 1) as tau runs over (0, oo). Where it changes sign,
    tau_c = m/((m-1) (log|c1| - log|c0|)) at ``digits`` + 10 digits: nothing cancels.
    """
    spec = get_spec(convention)
    return form_of(spec).collapse_rule(spec, m_, k_, p_, alpha_, digits)


@takes_convention
def alpha_side(convention: str | LossSpec, m_: int, k_: int, p_: int, tau_) -> int:
    """+1 when the batch collapses iff alpha <= alpha_c(tau) at this tau, -1 when iff
    alpha >= alpha_c(tau), 0 when f'(1) does not depend on alpha there; decided exactly."""
    spec = get_spec(convention)
    return form_of(spec).alpha_side(spec, m_, k_, p_, tau_)


@takes_convention
def collapses(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_) -> bool:
    """Whether the batch collapses (beta* = 1, i.e. f'(1) <= 0) at (alpha, tau).

    The one decision behind ``threshold``, ``optimum``, ``guide`` and :func:`optimal_beta`, on
    the exact reading of alpha and tau; tau is compared with tau_c at 40 digits and more (up
    to 1000) until the two differ. Any supported convention, whichever side collapses.
    """
    spec = get_spec(convention)
    return form_of(spec).collapses(spec, m_, k_, p_, alpha_, tau_)


@takes_convention
def loss_value(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_, beta_,
               digits: int = 30) -> mpmath.mpf:
    """f(beta; alpha, tau, m, k, p), the loss of the SSEM embedding at beta."""
    spec = get_spec(convention)
    return form_of(spec).loss_value(spec, m_, k_, p_, alpha_, tau_, beta_, digits)


@takes_convention
def optimal_beta(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                 digits: int = 30, start: mpmath.mpf | None = None) -> mpmath.mpf:
    """beta* = argmin over [0, 1] of the convex f, to ``digits`` significant digits.

    Exactly 1 when the batch collapses (:func:`collapses`); otherwise the root in (0, 1) of
    psi = log P+ - log P- (same sign and root as f', see :func:`_psi`), by Newton steps kept
    inside a shrinking bisection bracket. psi is nearly linear at every tau, so a handful of
    steps suffice. ``start`` (a lower-precision beta*) seeds a high-precision refinement.
    The work runs at ``digits`` plus :func:`guard_digits` (at tau = 1e-100, 1 - beta* is about
    1e-100 and is kept to ``digits`` significant digits). tau must lie in
    :data:`~ssem_symbolic.vocab.TAU_RANGE`.

    >>> float(optimal_beta("paper", 3, 4, 2, 1, "0.0001"))  # (m - 1)/(mk - 1) = 2/11
    0.18181818181818182
    """
    spec = get_spec(convention)
    return form_of(spec).optimal_beta(spec, m_, k_, p_, alpha_, tau_, digits, start)


@takes_convention
def tau_c_value(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_,
                digits: int = 30) -> mpmath.mpf:
    """tau_c(alpha): collapse iff tau >= tau_c. 0 when every tau collapses, ``mpmath.inf`` when
    none does: the one representation of "no tau collapses" in Python, torch kernels and
    ``.npz`` files (JSON, which has no infinity, writes null).

    alpha is read exactly (:mod:`~ssem_symbolic.vocab`), and the rule is decided in exact
    rational arithmetic (:func:`collapse_rule`), so nothing cancels near the domain edges.
    For a convention that collapses at small tau instead, ValueError: use collapse_rule.
    """
    rule = collapse_rule(convention, m_, k_, p_, alpha_, digits)
    if rule.kind == "tau<=":
        raise ValueError(f"under {get_spec(convention).name!r} the batch collapses for tau <= "
                         f"{float(rule.tau_c):g}, not above a threshold; use collapse_rule()")
    return mpmath.inf if rule.kind == "never" else rule.tau_c
