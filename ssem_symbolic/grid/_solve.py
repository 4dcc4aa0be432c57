"""beta*(alpha, tau) on tensors: a vectorised, safeguarded Newton iteration on generated kernels.

Every kernel here is generated from :func:`~ssem_symbolic.ssem.derive` by
:mod:`~ssem_symbolic.grid`; no formula is typed by hand. The closed-form alpha_c decides the
collapsed region (beta* = 1 exactly there); elsewhere f'(beta) = 0 is solved in (0, 1), where
f' is increasing (f is convex), by Newton steps kept inside a shrinking bisection bracket. The
steps are taken on psi = log P+ - log P- (the positive and negative parts of f' times its
denominator, each a log-sum-exp of generated pieces): psi has the sign and the root of f', but
stays nearly linear where f' is nearly exponential (small tau) and never underflows.

>>> import torch
>>> b = optimal_beta_grid("paper", 2, 2, 2, torch.tensor([0.5, 0.9], dtype=torch.float64), 1.0)
>>> b[0].item()  # alpha = 0.5 <= alpha_c(1) = 0.6192...: collapse
1.0
>>> round(b[1].item(), 10) == round(float(optimal_beta("paper", 2, 2, 2, 0.9, 1.0)), 10)
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
import torch

from . import _sigmoid
from ._codegen import Kernel, torch_kernel
from ..forms import ARGS, r, term_pieces
from ..ssem import derive, optimal_beta  # noqa: F401  (optimal_beta: doctest)
from ..spec import (LossSpec, NoSolution, alpha, check_setting, get_spec, k, m, p, tau)
from ..setting import takes_convention

#: Newton stops when a step is below this (per dtype); the error is then about its square.
_STEP_TOL = {torch.float64: 1e-13, torch.float32: 1e-6}
#: tau over which the grid solver meets its accuracy (|beta - beta*| <= 1e-10 in float64,
#: 1e-5 in float32, against mpmath; tests/grid/test_solve.py). At large tau beta* is fixed by
#: O(1/tau) differences of the softmax weights and the error grows like eps * tau.
GRID_TAU_RANGE = {torch.float64: (1e-4, 1e4), torch.float32: (1e-4, 5.0)}


class SpecKernels:
    """Generated kernels of one loss spec in one dtype, each generated on first use.

    ``loss``, ``dloss``, ``d2loss`` take (beta, alpha, tau, m, k, p); ``alpha_c`` takes
    (tau, m, k, p);
    ``tau_c`` takes (alpha, m, k, p) and is 0 where every tau collapses, inf where none does,
    else the boundary along tau (``tau_c_side``: +1 collapse for tau >= tau_c, -1 for tau <=);
    ``collapse_margin`` takes (alpha, tau, m, k, p): a positive multiple of f'(1), so the batch
    collapses exactly where it is <= 0 (either side of alpha_c, for any convention);
    ``terms`` gives the per-term pieces of f' used by the solver
    (see :func:`~ssem_symbolic.ssem.term_pieces`).
    """

    def __init__(self, spec: LossSpec, dtype: torch.dtype) -> None:
        self.spec, self.dtype = spec, dtype
        self._d = derive(spec)

    def _gen(self, expr, args, stable: bool = True) -> Kernel:
        return torch_kernel(expr, args, self.dtype, stabilise_exp=stable)

    @functools.cached_property
    def loss(self) -> Kernel:
        return self._gen(self._d.loss, ARGS)

    @functools.cached_property
    def dloss(self) -> Kernel:
        return self._gen(self._d.dloss, ARGS)

    @functools.cached_property
    def d2loss(self) -> Kernel:
        return self._gen(self._d.d2loss, ARGS)

    @functools.cached_property
    def alpha_c(self) -> Kernel:
        return self._gen(self._d.alpha_c, (tau, m, k, p), stable=False)

    @functools.cached_property
    def _quadratic(self) -> bool:
        """N(r) of degree 2 (a denominator per term, both holding other classes): no closed
        tau_c; it is scanned (:func:`~ssem_symbolic.grid.scan_tau_boundary`)."""
        return sp.degree(sp.expand(self._d.collapse_r), r) == 2

    def tau_boundary(self, alpha_, m_, k_, p_) -> tuple[torch.Tensor, torch.Tensor]:
        """(tau_c, tau_c_side) together: the closed forms, or one scan where N is quadratic."""
        if self._quadratic:
            from ._sigmoid import scan_tau_boundary

            return scan_tau_boundary(self.collapse_margin, alpha_, m_, k_, p_, self.dtype)
        return self._tau_c(alpha_, m_, k_, p_), self._tau_c_side(alpha_, m_, k_, p_)

    def tau_c(self, alpha_, m_, k_, p_) -> torch.Tensor:
        return self.tau_boundary(alpha_, m_, k_, p_)[0]

    def tau_c_side(self, alpha_, m_, k_, p_) -> torch.Tensor:
        return self.tau_boundary(alpha_, m_, k_, p_)[1]

    @functools.cached_property
    def _tau_c(self) -> Kernel:
        c0, c1 = self._ends()
        boundary = sp.Piecewise((0, (c0 <= 0) & (c0 + c1 <= 0)),
                                (sp.oo, (c0 >= 0) & (c0 + c1 >= 0)),
                                (m / ((m - 1) * sp.log(-c1 / c0)), True))
        return self._gen(boundary, (alpha, m, k, p), stable=False)

    @functools.cached_property
    def _tau_c_side(self) -> Kernel:
        c0, c1 = self._ends()
        return self._gen(sp.Piecewise((-1, (c0 < 0) & (c0 + c1 > 0)), (1, True)),
                         (alpha, m, k, p), stable=False)

    def alpha_sides(self, tau_, m_, k_, p_) -> torch.Tensor:
        """+1 where collapse lies below alpha_c(tau), -1 above, 0 unproven: one sign for every
        tau and batch here (:attr:`~ssem_symbolic.ssem.Derivation.alpha_side`)."""
        t = torch.as_tensor(tau_, dtype=self.dtype)
        return torch.full_like(t, float(self._d.alpha_side))

    @functools.cached_property
    def collapse_margin(self) -> Kernel:
        margin = self._d.collapse_r.subs(r, sp.exp(-m / ((m - 1) * tau)))
        return self._gen(margin, (alpha, tau, m, k, p), stable=False)

    def _ends(self) -> tuple[sp.Expr, sp.Expr]:
        n = self._d.collapse_r  # c0 + c1 r
        c0 = n.subs(r, 0)
        return c0, sp.expand(n.subs(r, 1) - c0)

    @functools.cached_property
    def terms(self) -> Kernel:
        return self._gen(term_pieces(self._d.loss), ARGS, stable=False)


@functools.lru_cache(maxsize=None)
def _kernels(spec: LossSpec, dtype: torch.dtype) -> SpecKernels:
    return SpecKernels(spec, dtype)


@takes_convention
def kernels(convention: str | LossSpec, dtype: torch.dtype = torch.float64):
    """The generated torch kernels of a convention spec, cached by (spec, dtype):
    :class:`SpecKernels`, or :class:`~ssem_symbolic.grid.SigmoidKernels` for the
    sigmoid form (the same interface).

    Arguments broadcast; results keep the device of the tensors passed in.

    >>> K = kernels("paper")
    >>> round(K.alpha_c(1.0, 2, 2, 2).item(), 4)  # docs/references.md
    0.6192
    """
    if dtype not in _STEP_TOL:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    spec = get_spec(convention)
    return ENGINES[spec.form].kernels(spec, dtype)


_NAMES = {torch.float64: "float64", torch.float32: "float32"}
_ACCURACY = {torch.float64: "|dbeta| <= 1e-10", torch.float32: "|dbeta| <= 1e-5"}


def _grid(values, name: str, dtype, device) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=dtype, device=device)
    if bool(torch.isnan(t).any()):
        raise ValueError(f"{name} contains NaN")
    return t


def _common_dtype(*values) -> torch.dtype:
    tensors = [v for v in values if isinstance(v, torch.Tensor) and v.is_floating_point()]
    if not tensors:
        return torch.float64
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    if dtype not in _STEP_TOL:
        raise ValueError(f"alpha and tau must be float32 or float64, got {dtype}")
    return dtype


@takes_convention
def optimal_beta_grid(convention: str | LossSpec, classes: int, per_class: int, views: int,
                      alpha_, tau_, *, dtype: torch.dtype | None = None,
                      device: torch.device | str | None = None,
                      max_iter: int = 200) -> torch.Tensor:
    """beta* = argmin_{beta in [0, 1]} f(beta) at every (alpha, tau) of a broadcast grid.

    ``alpha`` and ``tau`` are tensors or numbers that broadcast. The result has their
    broadcast shape, their device and their (promoted floating) dtype, float64 for plain
    numbers, and is exactly 1.0 where the batch collapses (f'(1) <= 0: alpha <= alpha_c(tau)
    for the presets).
    Accuracy against the mpmath solution: 1e-10 in float64 for tau in [1e-4, 1e4], 1e-5 in
    float32 for tau in [1e-4, 5] (:data:`GRID_TAU_RANGE`, checked: a tau outside raises
    ValueError). Not differentiable (no autograd graph).
    """
    spec = get_spec(convention)
    check_setting(spec, classes, per_class, views)
    if dtype is None:
        dtype = _common_dtype(alpha_, tau_)
    if device is None:
        device = next((v.device for v in (alpha_, tau_) if isinstance(v, torch.Tensor)), "cpu")
    a = _grid(alpha_, "alpha", dtype, device)
    t = _grid(tau_, "tau", dtype, device)
    if bool(((a < 0) | (a > 1)).any()):
        raise ValueError("alpha must lie in [0, 1]")
    if bool((t <= 0).any()) or bool(torch.isinf(t).any()):
        raise ValueError("tau must be finite and > 0")
    engine = ENGINES[spec.form]
    lo, hi = GRID_TAU_RANGE[dtype]
    lo, hi = max(lo, engine.tau_range[0]), min(hi, engine.tau_range[1])
    if bool(((t < lo) | (t > hi)).any()):
        raise ValueError(f"tau outside [{lo:g}, {hi:g}], the range where the {_NAMES[dtype]} grid "
                         f"solver meets its accuracy ({_ACCURACY[dtype]}); use float64 or "
                         "ssem_symbolic.optimal_beta (mpmath) there")
    try:
        shape = torch.broadcast_shapes(a.shape, t.shape)
    except RuntimeError:
        raise ValueError(f"alpha of shape {tuple(a.shape)} and tau of shape {tuple(t.shape)} "
                         "do not broadcast") from None
    K = kernels(spec, dtype)
    with torch.no_grad():
        a, t = (x.broadcast_to(shape).reshape(-1) for x in (a, t))
        batch = (classes, per_class, views)
        return engine.beta(K, a, t, batch, max_iter).reshape(shape)


def _softmax_beta(K: SpecKernels, a: torch.Tensor, t: torch.Tensor, batch,
                  max_iter: int) -> torch.Tensor:
    """beta* per point of the softmax form: 1 where the collapse margin says so, else the
    Newton root of f' (:func:`_newton`)."""
    out = torch.ones_like(a)
    open_ = torch.nonzero(K.collapse_margin(a, t, *batch) > 0).squeeze(1)
    if open_.numel():
        out[open_] = _newton(K, a[open_], t[open_], batch, _STEP_TOL[a.dtype], max_iter)
    return out


def _newton(K: SpecKernels, a: torch.Tensor, t: torch.Tensor, batch, tol: float,
            max_iter: int) -> torch.Tensor:
    """Root of the increasing f' in (0, 1) per point; converged points leave the active set.

    Newton runs on psi = log P+ - log P- (see :func:`_log_ratio`), which has the sign and the
    root of f' but is nearly linear where f' is nearly exponential (small tau): Newton on f'
    itself creeps there by steps of ~tau, and f', f'' underflow together at alpha = 1.
    """
    lo, hi = torch.zeros_like(a), torch.ones_like(a)
    out = torch.empty_like(a)
    psi0, _ = _log_ratio(K, lo, a, t, batch)
    at_zero = psi0 >= 0  # f'(0) >= 0 and f' increasing: beta* = 0
    out[at_zero] = 0.0
    idx = torch.nonzero(~at_zero).squeeze(1)
    a, t, lo, hi = a[idx], t[idx], lo[idx], hi[idx]
    x = torch.full_like(a, 0.5)
    for _ in range(max_iter):
        if idx.numel() == 0:
            break
        g, h = _log_ratio(K, x, a, t, batch)
        hi = torch.where(g > 0, x, hi)
        lo = torch.where(g > 0, lo, x)
        nxt = x - g / h
        bad = ~((nxt > lo) & (nxt < hi)) | ~(h > 0)
        nxt = torch.where(bad, (lo + hi) / 2, nxt)
        done = ((nxt - x).abs() <= tol) | (hi - lo <= tol) | (g == 0)
        nxt = torch.where(g == 0, x, nxt)
        if bool(done.any()):
            out[idx[done]] = nxt[done]
            keep = ~done
            idx, a, t, lo, hi, nxt = idx[keep], a[keep], t[keep], lo[keep], hi[keep], nxt[keep]
        x = nxt
    if idx.numel():
        raise NoSolution(f"Newton did not converge at {idx.numel()} points")
    return out


def _log_ratio(K: SpecKernels, x, a, t, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(psi, psi') with psi = log P+ - log P-, P+- the positive and negative parts of
    f' D = sum_i n_i c_i e^{a_i}: same sign and root as f', each part by its own log-sum-exp.

    At small tau the terms of f' D can all be ~e^{-700} times the largest term of D (f' and f''
    then underflow together, at alpha = 1 say), but their ratios are ordinary numbers: psi and
    psi' are computed from log-magnitudes and stay exact there.
    """
    pieces = K.terms(x, a, t, *batch)
    n = len(pieces) // 4
    logw, c, dc, da = (torch.stack(pieces[i * n:(i + 1) * n]) for i in range(4))
    mag = logw + torch.log(c.abs())
    ninf = torch.full_like(mag, float("-inf"))
    plus, minus = torch.where(c > 0, mag, ninf), torch.where(c < 0, mag, ninf)
    lp, lm = torch.logsumexp(plus, 0), torch.logsumexp(minus, 0)
    rate = torch.where(c != 0, dc / c + da, torch.zeros_like(c))  # d/dbeta log|n c e^a|
    wp = torch.nan_to_num(torch.exp(plus - lp))  # softmax weights; an empty part gives 0
    wm = torch.nan_to_num(torch.exp(minus - lm))
    return lp - lm, (wp * rate).sum(0) - (wm * rate).sum(0)


@dataclass(frozen=True)
class Engine:
    """What the grid solvers take from a loss form: its generated kernels, the tau range where
    its grid solver meets its accuracy (within the dtype's own), its beta* solver, and
    whether its expressions are log-sum-exps to stabilise when generating a kernel
    (the sigmoid form's softplus is stable as printed)."""

    kernels: Callable
    tau_range: tuple[float, float]
    beta: Callable
    log_sum_exp: bool = True


#: one grid engine per loss form (a new form adds its entry here)
ENGINES: dict[str, Engine] = {
    "softmax": Engine(_kernels, (0.0, math.inf), _softmax_beta),
    "sigmoid": Engine(_sigmoid.sigmoid_kernels, _sigmoid.TAU_RANGE, _sigmoid.optimal_beta,
                      log_sum_exp=False),
}
