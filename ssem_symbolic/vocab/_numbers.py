"""One reading of every number the user gives: alpha and tau are exact decimals.

A value is read as the exact rational its shortest decimal spelling denotes: the text typed on
the command line (``--alpha 0.1`` is exactly 1/10), and for a Python float the shortest decimal
that prints as that float (``0.1`` is exactly 1/10 too, not 0.1000000000000000055...). Integers,
``Fraction``, SymPy rationals, mpmath numbers and decimal strings are taken as they are. Every
command and every public function reads alpha and tau this way, so boundaries such as
alpha = 1/k (the tau -> 0 limit of alpha_c under ``paper``) are decided exactly and the same
number means the same thing in ``threshold``, ``optimum`` and ``guide``. Grids (``ssem phase``,
:func:`~ssem_symbolic.grid.optimal_beta_grid`) work on the tensors' float values.

>>> exact(0.1), exact("0.25"), exact(3)
(1/10, 1/4, 3)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy as sp

#: the range of tau over which beta*, the loss at beta* and the SSEM certificate are computed
#: (mpmath, 30 significant digits plus |log10 tau| guard digits); alpha_c(tau) and tau_c(alpha)
#: hold at every tau > 0
TAU_RANGE: tuple[float, float] = (1e-300, 1e300)


#: the largest decimal exponent a number written as text may carry (10^99999999 as a
#: Fraction is an integer of 10^8 digits: minutes of work for nothing)
MAX_EXPONENT = 1000


def exact(value) -> sp.Rational:
    """``value`` as an exact rational, by the reading in the module docstring."""
    if isinstance(value, sp.Rational):
        return value
    if isinstance(value, mpmath.mpf):
        man, exp = value.man_exp
        return sp.Rational(man) * sp.Integer(2) ** exp
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, str):
        text = value.strip()
        power = re.search(r"[eE]([+-]?\d+)\s*$", text)
        if len(text) > 400 or (power and abs(int(power.group(1))) > MAX_EXPONENT):
            raise ValueError(f"expected a number within 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT} "
                             f"(at most 400 characters), got {value[:40]!r}")
        try:
            return sp.Rational(Fraction(text))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"expected a number, got {value!r}") from None
    x = float(value)  # numpy and torch scalars: their float value, then its shortest decimal
    if not math.isfinite(x):
        raise ValueError(f"expected a finite number, got {value!r}")
    return sp.Rational(repr(x))


def check_tau(value) -> sp.Rational:
    """tau read exactly, or ValueError (one line) unless it is a number in :data:`TAU_RANGE`."""
    try:
        t = exact(value)
    except (ValueError, TypeError):
        raise ValueError(f"tau must be a finite number > 0, got {value!r}") from None
    if not t > 0:
        raise ValueError(f"tau must be a finite number > 0, got {value}")
    lo, hi = TAU_RANGE
    if not exact(lo) <= t <= exact(hi):
        raise ValueError(f"tau = {value} is outside the supported range [{lo:g}, {hi:g}] of "
                         "beta*, the loss and the SSEM certificate (alpha_c and tau_c hold at "
                         "every tau: see `ssem threshold`)")
    return t


def mp(value) -> mpmath.mpf:
    """The exact reading of ``value`` as an mpmath number at the working precision."""
    q = exact(value)
    return mpmath.mpf(int(q.p)) / int(q.q)


@dataclass(frozen=True)
class Learnable:
    """A temperature that training learns with the embeddings, bounded below by ``clamp`` (CLIP
    clamps its logit scale 1/tau at 100: ``clamp`` 1/100) and searched up to ``top``. Read from
    ``"learnable"`` or ``"learnable:0.05"`` (:meth:`parse`), the clamp exactly.

    >>> Learnable.parse("learnable:0.05").clamp, Learnable.parse("learnable").clamp
    (1/20, 1/100)
    """

    clamp: sp.Rational = sp.Rational(1, 100)
    top: sp.Rational = sp.Integer(100)

    def __post_init__(self) -> None:
        for name in ("clamp", "top"):
            object.__setattr__(self, name, exact(getattr(self, name)))
        if not 0 < self.clamp < self.top:
            raise ValueError(f"a learnable temperature needs 0 < clamp < {float(self.top):g}, "
                             f"got clamp {self.clamp}")

    @classmethod
    def parse(cls, text: str) -> Learnable:
        """``"learnable"`` (clamp 1/100) or ``"learnable:CLAMP"``."""
        head, _, clamp = text.strip().partition(":")
        if head != "learnable":
            raise ValueError(f"expected 'learnable' or 'learnable:CLAMP', got {text!r}")
        return cls(clamp) if clamp else cls()

    def __str__(self) -> str:
        return f"learnable:{float(self.clamp):g}"
