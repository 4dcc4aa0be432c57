"""The sigmoid form on tensors: generated kernels, beta* on a grid, and the batched objective
of the grid's global optimum.

The kernels are generated (:mod:`~ssem_symbolic.grid`) from the expressions of
:mod:`~ssem_symbolic.forms` written in ``logistic`` and ``softplus``, which print as
``torch.sigmoid`` and a ``logaddexp`` softplus: nothing overflows at any tau.

* ``alpha_c(tau) = -A/B`` is a closed form; ``alpha_sides`` is the sign of B (+1: collapse iff
  alpha <= alpha_c at that tau).
* ``tau_c(alpha)`` has no closed form: the sign of tau f'(1) = A + alpha B is scanned at
  :data:`~ssem_symbolic.forms.sigmoid.SCAN` points in log tau over
  :data:`~ssem_symbolic.forms.sigmoid.TAU_SCAN` for every alpha at once, and each sign change is
  bisected in log tau to adjacent doubles. No change: 0 (every tau collapses) or inf (none
  does); more than one: NaN with ``tau_c_side`` 0 (the collapsed set is not one side of a
  threshold; :func:`~ssem_symbolic.ssem.collapse_rule` then raises).
* beta*: 1 where tau f'(1) <= 0 (f is convex), 0 where f'(0) >= 0, else the root of the
  increasing f' by Newton steps inside a shrinking bisection bracket.

Accuracy against mpmath (tests/test_sigmoid_grid.py): beta* to 1e-10 and alpha_c, tau_c to
1e-10 relative in float64 over tau in :data:`TAU_RANGE`.
"""

from __future__ import annotations

import functools

import sympy as sp
import torch

from ..forms import sigmoid
from ._codegen import Kernel, torch_kernel
from ..setting import polyhedron
from ..vocab import exact
from ..spec import LossSpec, NoSolution, alpha, beta, k, m, p, pair_counts, tau

ARGS = (beta, alpha, tau, m, k, p)
#: the tau over which the float64 grid meets its stated accuracy
TAU_RANGE = (1e-3, 1e3)
_STEP_TOL = {torch.float64: 1e-13, torch.float32: 1e-6}


class SigmoidKernels:
    """The sigmoid form's kernels in one dtype, with the interface of
    :class:`~ssem_symbolic.grid.SpecKernels` (``loss``, ``dloss``, ``d2loss``, ``alpha_c``,
    ``tau_c``, ``tau_c_side``, ``collapse_margin``, ``alpha_sides``)."""

    def __init__(self, spec: LossSpec, dtype: torch.dtype) -> None:
        self.spec, self.dtype = spec, dtype

    def _gen(self, expr, args) -> Kernel:
        return torch_kernel(expr, args, self.dtype, stabilise_exp=False)

    @functools.cached_property
    def loss(self) -> Kernel:
        return self._gen(sigmoid.reduced(self.spec, smooth=True), ARGS)

    @functools.cached_property
    def dloss(self) -> Kernel:
        return self._gen(sigmoid.slope(self.spec, smooth=True) / tau, ARGS)

    @functools.cached_property
    def d2loss(self) -> Kernel:
        return self._gen(sp.diff(sigmoid.slope(self.spec, smooth=True) / tau, beta), ARGS)

    @functools.cached_property
    def alpha_c(self) -> Kernel:
        A, B = sigmoid.slope_parts(self.spec, smooth=True)
        return self._gen(-A / B, (tau, m, k, p))

    @functools.cached_property
    def collapse_margin(self) -> Kernel:
        """tau f'(1) = A + alpha B, of (alpha, tau, m, k, p): collapse iff <= 0."""
        A, B = sigmoid.slope_parts(self.spec, smooth=True)
        return self._gen(A + alpha * B, (alpha, tau, m, k, p))

    @functools.cached_property
    def _B(self) -> Kernel:
        return self._gen(sigmoid.slope_parts(self.spec, smooth=True)[1], (tau, m, k, p))

    def alpha_sides(self, tau_, m_, k_, p_) -> torch.Tensor:
        """+1 where collapse lies below alpha_c(tau), -1 above, 0 where f'(1) does not
        depend on alpha."""
        return torch.sign(self._B(tau_, m_, k_, p_))

    def tau_boundary(self, alpha_, m_, k_, p_) -> tuple[torch.Tensor, torch.Tensor]:
        """(tau_c, tau_c_side) from one scan."""
        return scan_tau_boundary(self.collapse_margin, alpha_, m_, k_, p_, self.dtype)

    def tau_c(self, alpha_, m_, k_, p_) -> torch.Tensor:
        return self.tau_boundary(alpha_, m_, k_, p_)[0]

    def tau_c_side(self, alpha_, m_, k_, p_) -> torch.Tensor:
        return self.tau_boundary(alpha_, m_, k_, p_)[1]


def scan_tau_boundary(margin, alpha_, m_, k_, p_, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(tau_c, side) per alpha where no closed form holds: the sign of ``margin`` (a kernel
    of (alpha, tau, m, k, p), collapse iff <= 0) on :data:`~ssem_symbolic.forms.sigmoid.SCAN`
    points of log tau over :data:`~ssem_symbolic.forms.sigmoid.TAU_SCAN`, every sign change
    bisected in log tau to adjacent doubles. No change: 0 (every tau collapses) or inf (none
    does); more than one: NaN with side 0. Side +1: collapse for tau >= tau_c, -1: below."""
    a = torch.as_tensor(alpha_, dtype=dtype)
    flat = a.reshape(-1, 1)
    lo, hi = (float(x) for x in sigmoid.TAU_SCAN)
    log_t = torch.linspace(torch.log(torch.tensor(lo)).item(), torch.log(torch.tensor(hi)).item(),
                           sigmoid.SCAN, dtype=dtype, device=a.device)
    coll = margin(flat, torch.exp(log_t)[None, :], m_, k_, p_) <= 0
    change = coll[:, 1:] != coll[:, :-1]
    count = change.sum(1)
    first = torch.argmax(change.long(), dim=1)
    left, right = log_t[first], log_t[first + 1]
    left_coll = coll[torch.arange(len(flat)), first]
    for _ in range(200):  # to adjacent doubles
        mid = (left + right) / 2
        if not bool(((mid > left) & (mid < right)).any()):
            break
        at = margin(flat[:, 0], torch.exp(mid), m_, k_, p_) <= 0
        same = at == left_coll
        left, right = torch.where(same, mid, left), torch.where(same, right, mid)
    root = torch.exp((left + right) / 2)
    inf = torch.full_like(root, float("inf"))
    tau_c = torch.where(count == 1, root, torch.where(count == 0, torch.where(
        coll[:, 0], torch.zeros_like(root), inf), torch.full_like(root, float("nan"))))
    side = torch.where(count == 1, torch.where(coll[:, -1], 1.0, -1.0),
                       torch.where(count == 0, 1.0, 0.0)).to(dtype)
    return tau_c.reshape(a.shape), side.reshape(a.shape)


@functools.lru_cache(maxsize=None)
def sigmoid_kernels(spec: LossSpec, dtype: torch.dtype) -> SigmoidKernels:
    return SigmoidKernels(spec, dtype)


def optimal_beta(K: SigmoidKernels, a: torch.Tensor, t: torch.Tensor, batch,
                 max_iter: int = 200) -> torch.Tensor:
    """beta* at every point of the flat tensors ``a``, ``t`` (see the module docstring)."""
    tol = _STEP_TOL[K.dtype]
    out = torch.ones_like(a)
    idx = torch.nonzero(K.collapse_margin(a, t, *batch) > 0).squeeze(1)
    zero = K.dloss(torch.zeros_like(a[idx]), a[idx], t[idx], *batch) >= 0
    out[idx[zero]] = 0.0
    idx = idx[~zero]
    a, t = a[idx], t[idx]
    lo, hi = torch.zeros_like(a), torch.ones_like(a)
    x = torch.full_like(a, 0.5)
    last = torch.ones_like(a)  # the step before last, for the bisection rule
    for _ in range(max_iter):
        if idx.numel() == 0:
            break
        g, h = K.dloss(x, a, t, *batch), K.d2loss(x, a, t, *batch)
        hi, lo = torch.where(g > 0, x, hi), torch.where(g > 0, lo, x)
        nxt = x - g / h
        # bisect where Newton leaves the bracket, or does not halve the step before last
        bad = ~((nxt > lo) & (nxt < hi)) | ~(h > 0) | ((nxt - x).abs() > last.abs() / 2)
        nxt = torch.where(bad, (lo + hi) / 2, nxt)
        nxt = torch.where(g == 0, x, nxt)
        done = ((nxt - x).abs() <= tol) | (hi - lo <= tol) | (g == 0)
        last = nxt - x
        if bool(done.any()):
            out[idx[done]] = nxt[done]
            keep = ~done
            idx, a, t, lo, hi, nxt, last = (v[keep] for v in (idx, a, t, lo, hi, nxt, last))
        x = nxt
    if idx.numel():
        raise NoSolution(f"Newton did not converge at {idx.numel()} points")
    return out


class SigmoidPhi:
    """tau phi of :mod:`~ssem_symbolic.forms` with its gradient and (diagonal) Hessian in
    the polyhedron's coordinates, batched: the sigmoid counterpart of the softmax objective in
    :mod:`~ssem_symbolic.grid`, with the same attributes (``P``, ``A``, ``b``)."""

    def __init__(self, spec: LossSpec, m_: int, k_: int, p_: int, dtype, device) -> None:
        P = polyhedron(m_, k_, p_)
        self.P = P
        kw = dict(dtype=dtype, device=device)
        index = {name: i for i, name in enumerate(P.coords)}
        n = {t: int(c) for t, c in pair_counts(m_, k_, p_).items()}
        self.bias = float(exact(spec.bias))
        # one row per (pair type, sign y): coordinate (-1: the constant 1), y, w(0), w(1) - w(0)
        rows = [(index.get(t, -1), y, float(w.subs(alpha, 0)),
                 float(w.subs(alpha, 1) - w.subs(alpha, 0)))
                for t, ws in sigmoid.sign_weights(spec, n) if n[t] for y, w in ws.items()]
        self.coord = [r[0] for r in rows]
        self.E = torch.zeros(len(rows), len(P.coords), **kw)
        for j, i in enumerate(self.coord):
            if i >= 0:
                self.E[j, i] = 1.0
        self.const = torch.tensor([1.0 if i < 0 else 0.0 for i in self.coord], **kw)
        self.y = torch.tensor([float(r[1]) for r in rows], **kw)
        self.w0 = torch.tensor([r[2] for r in rows], **kw)
        self.w1 = torch.tensor([r[3] for r in rows], **kw)
        self.A = torch.tensor([[float(v) for v in row] for row in P.normal], **kw)
        self.b = torch.tensor([float(v) for v in P.offset], **kw)

    def parts(self, x, a, t, hess: bool = True):
        """(tau phi (N,), gradient (N, n), Hessian (N, n, n) or None)."""
        g = x @ self.E.T + self.const  # (N, rows)
        z = -self.y * (g / t[:, None] + self.bias)
        w = self.w0 + self.w1 * a[:, None]
        val = (t[:, None] * w * torch.logaddexp(z, torch.zeros_like(z))).sum(1)
        sig = torch.sigmoid(z)
        grad = (-self.y * w * sig) @ self.E
        H = None
        if hess:
            curv = w * sig * torch.sigmoid(-z) / t[:, None]  # (N, rows)
            H = torch.einsum("nr,ri,rj->nij", curv, self.E, self.E)
        return val, grad, H
