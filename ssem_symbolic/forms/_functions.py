"""The smooth functions of the sigmoid form as SymPy functions: they differentiate exactly,
rewrite to exponentials for display and limits, evaluate in mpmath, and print to stable torch
calls (:mod:`~ssem_symbolic.grid`), so one expression serves every layer.

>>> import sympy as sp
>>> x = sp.Symbol("x")
>>> sp.diff(softplus(x), x)
logistic(x)
>>> logistic(x).rewrite(sp.exp)
1/(1 + exp(-x))
"""

from __future__ import annotations

import mpmath
import sympy as sp


class logistic(sp.Function):  # noqa: N801  (printed by name)
    """sigma(x) = 1 / (1 + e^{-x})."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = logistic(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _latex(self, printer) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"

    def _pythoncode(self, printer) -> str:  # a function of the exported module
        return f"logistic({printer._print(self.args[0])})"


class softplus(sp.Function):  # noqa: N801
    """softplus(x) = log(1 + e^x)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return logistic(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs) -> sp.Expr:
        return sp.log(1 + sp.exp(x))

    def _latex(self, printer) -> str:
        return rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"

    def _pythoncode(self, printer) -> str:
        return f"softplus({printer._print(self.args[0])})"


#: mpmath implementations, for ``lambdify(..., modules=[MPMATH, "mpmath"])``
MPMATH = {"logistic": lambda x: 1 / (1 + mpmath.exp(-x)),
          "softplus": lambda x: mpmath.log1p(mpmath.exp(x)) if x < 0
          else x + mpmath.log1p(mpmath.exp(-x))}
