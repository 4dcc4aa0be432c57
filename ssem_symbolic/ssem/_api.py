"""The SSEM answers for any spec, whichever its loss form: each function resolves the
convention once and asks the form's strategy object (:func:`~ssem_symbolic.forms.form_of`).

>>> round(float(alpha_c_value("paper", 2, 2, 2, 1)), 4)  # docs/references.md: 0.6192
0.6192
>>> round(float(alpha_c_value("supervised-sigmoid", 3, 4, 2, "0.5")), 6)  # the sigmoid form
0.388144
"""

from __future__ import annotations

import mpmath
import sympy as sp

from ..forms import CollapseRule, Derivation, Reduced, form_of
from ..spec import LossSpec, get_spec
from ..setting import takes_convention


@takes_convention
def symmetric_loss(convention: str | LossSpec) -> sp.Expr:
    """phi(v, c, o): the loss of a Gram matrix with one value per pair type (self 1, view v,
    class c, other o), in the spec's own form (a log-sum-exp, or a sum of softplus terms)."""
    spec = get_spec(convention)
    return form_of(spec).symmetric_loss(spec)


@takes_convention
def derive(convention: str | LossSpec) -> Derivation:
    """The exact derivation of a softmax spec, derived once, then cached: f(beta), f'(beta),
    f''(beta) as the softmax variance, alpha_c(tau) in closed form (also in r =
    exp(-m/((m-1) tau))), tau_c(alpha) and their limits. A sigmoid spec is refused in one line
    (its alpha_c(tau) is :func:`alpha_c_value`; tau_c has no closed form there).

    >>> d = derive("paper")
    >>> d.alpha_c_tau0, d.alpha_c_tauinf
    (1/k, 1)
    """
    spec = get_spec(convention)
    return form_of(spec).derive(spec)


@takes_convention
def reduced(convention: str | LossSpec) -> Reduced:
    """f(beta) and N(r) for any spec (also one whose f'(1) ignores alpha).

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).
    """
    spec = get_spec(convention)
    return form_of(spec).reduced(spec)


@takes_convention
def alpha_c_value(convention: str | LossSpec, m_: int, k_: int, p_: int, tau_,
                  digits: int = 30) -> mpmath.mpf:
    """alpha_c(tau) for a batch, evaluated through r = exp(-m/((m-1) tau)) (exact at every
    tau > 0: r is a tiny but exact mpmath number as tau -> 0).

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).
    """
    spec = get_spec(convention)
    return form_of(spec).alpha_c_value(spec, m_, k_, p_, tau_, digits)


@takes_convention
def alpha_c_limits(convention: str | LossSpec, m_: int, k_: int,
                   p_: int) -> tuple[sp.Expr, sp.Expr]:
    """(lim alpha_c as tau -> 0+, lim alpha_c as tau -> oo) for this batch, exactly (rational
    for the softmax form; the sigmoid form's may hold e^b).

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).

    >>> alpha_c_limits("paper", 3, 10, 2)
    (1/10, 1)
    """
    spec = get_spec(convention)
    return form_of(spec).alpha_c_limits(spec, m_, k_, p_)


@takes_convention
def collapse_rule(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_,
                  digits: int = 30) -> CollapseRule:
    """The collapse region along tau at this alpha, decided exactly.

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).
    """
    spec = get_spec(convention)
    return form_of(spec).collapse_rule(spec, m_, k_, p_, alpha_, digits)


@takes_convention
def alpha_side(convention: str | LossSpec, m_: int, k_: int, p_: int, tau_) -> int:
    """+1 when the batch collapses iff alpha <= alpha_c(tau) at this tau, -1 when iff
    alpha >= alpha_c(tau), 0 when f'(1) does not depend on alpha there; decided exactly.

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).
    """
    spec = get_spec(convention)
    return form_of(spec).alpha_side(spec, m_, k_, p_, tau_)


@takes_convention
def collapses(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_) -> bool:
    """Whether the batch collapses (beta* = 1, i.e. f'(1) <= 0) at (alpha, tau).

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).
    """
    spec = get_spec(convention)
    return form_of(spec).collapses(spec, m_, k_, p_, alpha_, tau_)


@takes_convention
def loss_value(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_, beta_,
               digits: int = 30) -> mpmath.mpf:
    """f(beta; alpha, tau, m, k, p), the loss of the SSEM embedding at beta.

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).
    """
    spec = get_spec(convention)
    return form_of(spec).loss_value(spec, m_, k_, p_, alpha_, tau_, beta_, digits)


@takes_convention
def optimal_beta(convention: str | LossSpec, m_: int, k_: int, p_: int, alpha_, tau_,
                 digits: int = 30, start: mpmath.mpf | None = None) -> mpmath.mpf:
    """beta* = argmin over [0, 1] of the convex f, to ``digits`` significant digits.

    Either form: the spec's :class:`~ssem_symbolic.forms.LossForm` answers (the method is
    described at the softmax form's implementation, :mod:`ssem_symbolic.forms`).

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
