"""SymPy -> torch: generated kernels, never re-typed formulas.

:func:`torch_kernel` turns any SymPy expression (or tuple of expressions) into a callable on
torch tensors that broadcasts its arguments, keeps their device, runs in the kernel's dtype and
is differentiable by autograd. It is SymPy's own torch printer (``lambdify(..., 'torch')``)
with common-subexpression elimination and these fixes of SymPy 1.14's faults:

* numeric constants (``sqrt(2)``, ``log(2)``, ``exp(1/2)``) are printed as float literals;
  SymPy passes them to ``torch.sqrt`` etc. as Python numbers, which raises;
* ``Max``/``Min`` print as a fold of ``torch.maximum``/``torch.clamp``; SymPy's ``torch.max``
  raises when an argument is a number;
* a ``Piecewise`` without a default is NaN where no condition holds (SymPy gives 0);
* a constant expression comes back as a tensor of the broadcast shape (SymPy: a float);
* constants made inside the kernel take the kernel's dtype and device (SymPy: ``where(c, 1, 2)``
  is an int64 tensor);
* the smooth functions of :mod:`~ssem_symbolic.forms` print as ``torch.sigmoid`` and a
  ``logaddexp`` softplus, stable over the whole real line.

With ``stabilise=True`` every ``log(sum_i c_i exp(a_i))`` becomes
``M + log(sum_i c_i exp(a_i - M))`` with M the largest exponent, and every ratio of such
sums (the softmax averages in f' and f'') is evaluated with the same shift, so nothing
overflows: exp(1/tau) is never formed. The exponent differences a_i - a_ref are simplified
symbolically, so the shift loses no digits to cancellation.

>>> import sympy as sp, torch
>>> x = sp.Symbol("x")
>>> lse = torch_kernel(sp.log(sp.exp(1000 * x) + sp.exp(-1000 * x)), (x,), torch.float32)
>>> lse(torch.tensor([1.0, -2.0]))  # the naive form overflows: exp(1000) = inf
tensor([1000., 2000.])
"""

from __future__ import annotations

import functools
import math

import mpmath
import sympy as sp
import torch
from sympy.printing.pytorch import TorchPrinter

_REF = sp.Symbol("_ssem_ref")  # first argument of every generated function: dtype and device


def _fold(pair, scalar, bound: str):
    """Max or min over tensors and numbers: ``pair`` for two tensors, clamp for a tensor and a
    number (``bound`` is clamp's keyword), ``scalar`` for two numbers."""
    def two(a, b):
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            return pair(a, b)
        if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
            t, x = (a, b) if isinstance(a, torch.Tensor) else (b, a)
            return torch.clamp(t, **{bound: x})
        return scalar(a, b)
    return lambda *xs: functools.reduce(two, xs)


_max = _fold(torch.maximum, max, "min")
_min = _fold(torch.minimum, min, "max")


def _as(ref: torch.Tensor, x):
    if isinstance(x, torch.Tensor):
        return x if x.dtype == ref.dtype else x.to(ref.dtype)
    return torch.as_tensor(x, dtype=ref.dtype, device=ref.device)


def _where(ref, cond, a, b):
    if not isinstance(cond, torch.Tensor):
        return a if cond else b
    return torch.where(cond, _as(ref, a), _as(ref, b))


def _softplus(x):
    """log(1 + e^x) without overflow or the cut-off of ``torch.nn.functional.softplus``."""
    return torch.logaddexp(x, torch.zeros_like(x))


_HELPERS = {"_ssem_max": _max, "_ssem_min": _min, "_ssem_where": _where,
            "_ssem_softplus": _softplus}


class _Printer(TorchPrinter):
    """SymPy's TorchPrinter with the fixes listed in the module docstring."""

    def _print(self, expr, **kwargs):
        if isinstance(expr, sp.Expr) and not isinstance(expr, sp.Symbol) and expr.is_number:
            return _number(expr)
        return super()._print(expr, **kwargs)

    def _print_Max(self, expr):
        return "_ssem_max({})".format(", ".join(self._print(a) for a in expr.args))

    def _print_Min(self, expr):
        return "_ssem_min({})".format(", ".join(self._print(a) for a in expr.args))

    def _print_logistic(self, expr):  # ssem_symbolic.forms
        return f"torch.sigmoid({self._print(expr.args[0])})"

    def _print_softplus(self, expr):
        return f"_ssem_softplus({self._print(expr.args[0])})"

    def _print_Piecewise(self, expr):
        out = "float('nan')"
        for value, cond in reversed(expr.args):
            if cond == sp.true:
                out = self._print(value)
            else:
                out = (f"_ssem_where({self._print(_REF)}, {self._print(cond)}, "
                       f"{self._print(value)}, {out})")
        return out


def _number(expr: sp.Expr) -> str:
    if expr.is_Integer:
        return str(int(expr))
    if expr is sp.nan:
        return "float('nan')"
    value = complex(sp.N(expr, 30))
    if value.imag != 0:
        raise ValueError(f"cannot generate a real kernel for the complex constant {expr}")
    x = value.real
    if math.isinf(x):
        return "float('inf')" if x > 0 else "(-float('inf'))"
    return f"({x!r})" if x < 0 else repr(x)


# --- stable log-sum-exp ---------------------------------------------------------------

_PROBE_VALUES = (0.37, 0.61, 0.83, 1.29, 2.0, 3.0, 5.0, 7.0)


def _probe(symbols, shift: int = 0) -> dict:
    ordered = sorted(symbols, key=lambda s: s.name)
    return {s: _PROBE_VALUES[(i + shift) % len(_PROBE_VALUES)] for i, s in enumerate(ordered)}


def stabilise(expr):
    """Rewrite ``expr`` (or a tuple of them, sharing one shift) so that no exp overflows.

    The log-sum-exp shift, done symbolically. Let the exp atoms be e^{a_i}, a_ref the largest
    exponent at a probe point, d_i = a_i - a_ref (simplified) and S = max_i d_i. Every e^{a_i}
    is written E e^{d_i - S} with E = e^{a_ref + S}; ``log(E Y)`` becomes ``a_ref + S + log Y``
    and E must cancel from the rest (it does for softmax averages, which are homogeneous of
    degree 0 in the exps). Raises ``ValueError`` when the expression is not of that form (a
    log whose argument has a term without an exponential, say); pass ``stabilise_exp=False``
    to :func:`torch_kernel` for such expressions.

    >>> x = sp.Symbol("x", positive=True)
    >>> stabilise(sp.log(2 * sp.exp(3 / x) + sp.exp(1 / x)))
    log(exp(-Max(0, -2/x) - 2/x) + 2) + Max(0, -2/x) + 3/x
    """
    many = isinstance(expr, (tuple, list))
    exprs = tuple(expr) if many else (expr,)
    atoms = sorted({a for e in exprs for a in e.atoms(sp.exp) if not a.is_number},
                   key=sp.default_sort_key)
    if not atoms:
        return expr
    exps = [a.args[0] for a in atoms]
    free = set().union(*(e.free_symbols for e in exprs))
    point = _probe(free)
    values = [float(a.subs(point)) for a in exps]
    ref = exps[max(range(len(exps)), key=values.__getitem__)]
    diffs = [sp.simplify(a - ref) for a in exps]
    shift = sp.Max(*diffs, evaluate=False) if len(set(diffs)) > 1 else diffs[0]
    big = sp.Dummy("E", positive=True)
    to_scaled = {atom: big * sp.exp(d - shift) for atom, d in zip(atoms, diffs)}

    def walk(node):
        if isinstance(node, sp.log):
            inner = node.args[0].xreplace(to_scaled)
            if big in inner.free_symbols:
                y = inner.xreplace({big: sp.Integer(1)})
                if sp.expand(inner.xreplace({big: sp.Integer(2)}) - 2 * y) != 0:
                    raise ValueError(f"log argument is not a sum of exponentials: {node}")
                return ref + shift + sp.log(y)
            return sp.log(walk(node.args[0]))
        if node in to_scaled:
            return to_scaled[node]
        if not node.args:
            return node
        return node.func(*(walk(a) for a in node.args))

    out = tuple(_cancel_scale(walk(e), big) for e in exprs)
    return out if many else out[0]


def _cancel_scale(scaled: sp.Expr, big: sp.Dummy) -> sp.Expr:
    """Set E = 1 after checking (mpmath, 40 digits, two probe points) that E cancels."""
    if big not in scaled.free_symbols:
        return scaled
    free = sorted(scaled.free_symbols - {big}, key=lambda s: s.name)
    fn = sp.lambdify([big, *free], scaled, modules="mpmath")
    with mpmath.workdps(40):
        for shift_ in (0, 3):
            vals = [mpmath.mpf(_probe(free, shift_)[s]) for s in free]
            one, other = fn(mpmath.mpf(1), *vals), fn(mpmath.mpf(7), *vals)
            if abs(one - other) > mpmath.mpf(10) ** -25 * (1 + abs(one)):
                raise ValueError("the exponentials do not cancel: not a softmax average")
    return scaled.xreplace({big: sp.Integer(1)})


# --- kernels --------------------------------------------------------------------------

class Kernel:
    """A generated torch function of ``args``; call it with tensors or numbers.

    Arguments are converted to the kernel's dtype on the device of the first tensor among
    them (or ``device=``) and broadcast; the result has the broadcast shape. A tuple of
    expressions gives a tuple of tensors, computed together (shared subexpressions once).
    """

    def __init__(self, exprs, args: tuple[sp.Symbol, ...], dtype: torch.dtype, source: str,
                 fn) -> None:
        self.exprs, self.args, self.dtype, self.source = exprs, args, dtype, source
        self._fn = fn

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return f"Kernel(({names}), dtype={self.dtype})"

    def __call__(self, *values, device: torch.device | str | None = None):
        if len(values) != len(self.args):
            raise TypeError(f"kernel takes {len(self.args)} arguments "
                            f"({', '.join(a.name for a in self.args)}), got {len(values)}")
        if device is None:
            device = next((v.device for v in values if isinstance(v, torch.Tensor)), "cpu")
        tensors = [torch.as_tensor(v, dtype=self.dtype, device=device) for v in values]
        try:
            shape = torch.broadcast_shapes(*(t.shape for t in tensors))
        except RuntimeError:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ValueError(f"argument shapes do not broadcast: {shapes}") from None
        ref = torch.empty((), dtype=self.dtype, device=device)
        out = self._fn(ref, *tensors)
        if isinstance(self.exprs, tuple):
            return tuple(_shaped(o, ref, shape) for o in out)
        return _shaped(out, ref, shape)


def _shaped(out, ref: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    out = _as(ref, out)
    if out.shape != shape:
        out = torch.broadcast_to(out, shape).contiguous()
    return out


def torch_kernel(expr, args: tuple[sp.Symbol, ...], dtype: torch.dtype = torch.float64,
                 stabilise_exp: bool = True) -> Kernel:
    """Generate a :class:`Kernel` for ``expr`` (an expression or a tuple of them)."""
    exprs = tuple(expr) if isinstance(expr, (tuple, list)) else expr
    body = exprs if isinstance(exprs, tuple) else (exprs,)
    if stabilise_exp:
        body = stabilise(body)
    target = body if isinstance(exprs, tuple) else body[0]
    fn = sp.lambdify((_REF, *args), target, modules=[_HELPERS, "torch"], printer=_Printer,
                     cse=True, docstring_limit=0)
    import inspect

    return Kernel(exprs, tuple(args), dtype, inspect.getsource(fn), fn)
