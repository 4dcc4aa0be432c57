"""Reduced gradient-descent trajectories over a grid of (alpha, tau), in one batch of tensors.

:class:`~ssem_symbolic.dynamics.Dynamics` runs one trajectory of the exact map
(v, c, o) -> (v', c', o') in plain floats. Here the same map runs for every point of a grid at
once: the reduced loss's gradient (phi_v, phi_c, phi_o), derived symbolically with alpha and
tau left as symbols, becomes a generated torch kernel (:func:`torch_kernel`, stabilised: no
exp(1/tau) is formed), and the step

    gbar_t = phi_t / (M n_t),  h_e = sum_t theta_t(e) gbar_t - sum_t gbar_t n_t x_t,
    gamma_e' = (1 - 2 lr h_e)^2 gamma_e / r,  r = sum_e mult_e (1 - 2 lr h_e)^2 gamma_e / M

is a few tensor operations on every point together. Nothing is re-typed: the pair counts,
the eigenvalue table and the map are those of :mod:`~ssem_symbolic.dynamics`.

>>> import torch
>>> out = dynamics_grid("supcon", 3, 4, 2, 0.3, torch.tensor([0.2, 0.5, 1.0]), lr=0.5,
...                     steps=400, start=(1 - 1e-6,) * 3)
>>> out.plateau.tolist()  # the steps until a Gram eigenvalue reaches 0.1: longer at larger tau
[30, 70, 136]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp
import torch

from ._codegen import Kernel, torch_kernel
from ._solve import ENGINES
from ..dynamics import EXIT, Dynamics
from ..forms import reduced_loss
from ..setting import ClassSizes
from ..spec import LossSpec, alpha, check_setting, get_spec, tau

#: the most numbers a stored trajectory may hold (steps + 1) x points x 3
MAX_STORED = 50_000_000


@dataclass(frozen=True)
class DynamicsGrid:
    """Trajectories of the exact gradient-descent map over a grid (``shape`` the broadcast
    shape of alpha and tau): ``x`` (steps + 1, *shape, 3) the (v, c, o) after each step (when
    stored), ``final`` (*shape, 3), ``plateau`` (*shape) the first step at which a Gram
    eigenvalue other than the all-ones one reaches EXIT = 0.1 (-1 if none does), ``moved``
    (*shape) the largest change of a coordinate in the last step, and ``settled`` where it is
    at most ``tol`` (a point whose numbers are not finite is never settled). Settled is not
    converged to the optimum: the map squares (1 - 2 lr h_e), so beyond the stable step size
    the Gram matrix can stand still where (1 - 2 lr h_e)^2 is equal on every occupied
    eigenspace but 1 - 2 lr h_e changes sign, while the embeddings flip every step."""

    alpha: torch.Tensor
    tau: torch.Tensor
    lr: float
    final: torch.Tensor
    plateau: torch.Tensor
    moved: torch.Tensor
    settled: torch.Tensor
    x: torch.Tensor | None = None


@functools.lru_cache(maxsize=32)
def _gradient_kernel(spec: LossSpec, m_: int, k_: int, p_: int, dtype: torch.dtype) -> Kernel:
    """(phi_v, phi_c, phi_o) as a kernel of (v, c, o, alpha, tau), generated from the reduced
    loss of the m x k x p batch (a coordinate the batch lacks has derivative 0)."""
    phi = reduced_loss(spec, ClassSizes((k_,) * m_), p_)
    coords = [sp.Symbol(c, real=True) for c in ("v[0]", "s[0]", "o[0,0]")]
    args = tuple(sp.Symbol(n, real=True) for n in ("v", "c", "o"))
    phi = phi.subs(dict(zip(coords, args)))
    grads = tuple(sp.diff(phi, a) for a in args)
    return torch_kernel(grads, (*args, alpha, tau), dtype,
                        stabilise_exp=ENGINES[spec.form].log_sum_exp)


def dynamics_grid(convention: str | LossSpec, classes: int, per_class: int, views: int,
                  alpha_, tau_, *, lr: float, steps: int, start=(1 - 1e-6,) * 3,
                  store: bool = False, tol: float = 1e-9, dtype: torch.dtype = torch.float64,
                  device: torch.device | str | None = None) -> DynamicsGrid:
    """Gradient descent (step ``lr``) of the m x k x p batch's symmetric family from ``start``
    (v, c, o), for every (alpha, tau) of the broadcast grid at once (see the module
    docstring). ``start`` broadcasts against the grid's shape + (3,): one start for all, or
    one per point. ``store``: keep every step's (v, c, o)."""
    spec = get_spec(convention)
    m_, k_, p_ = classes, per_class, views
    check_setting(spec, m_, k_, p_)
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    a = torch.as_tensor(alpha_, dtype=dtype, device=device)
    t = torch.as_tensor(tau_, dtype=dtype, device=a.device)
    x0 = torch.as_tensor(start, dtype=dtype, device=a.device)
    if x0.dim() == 0 or x0.shape[-1] != 3:
        raise ValueError(f"start must end in the 3 coordinates (v, c, o), got shape "
                         f"{tuple(x0.shape)}")
    try:
        shape = torch.broadcast_shapes(a.shape, t.shape, x0.shape[:-1])
    except RuntimeError:
        raise ValueError("alpha, tau and start do not broadcast together") from None
    a, t = a.expand(shape), t.expand(shape)
    if bool(((a < 0) | (a > 1) | torch.isnan(a)).any()):
        raise ValueError("alpha must lie in [0, 1]")
    if bool((~(t > 0) | torch.isinf(t)).any()):
        raise ValueError("tau must be finite and > 0")
    if store and (steps + 1) * a.numel() * 3 > MAX_STORED:
        raise ValueError(f"storing {steps + 1} steps of {a.numel()} points is above "
                         f"{MAX_STORED} numbers; use store=False")
    ref = Dynamics(spec, m_, k_, p_, "1/2", "1/2")  # the algebra: counts, eigenvalue table
    kernel = _gradient_kernel(spec, m_, k_, p_, dtype)
    theta = torch.as_tensor(ref.theta, dtype=dtype, device=a.device)  # (4, 3)
    mult = torch.as_tensor(ref.mult, dtype=dtype, device=a.device)  # (4,)
    n = torch.as_tensor(ref.n, dtype=dtype, device=a.device)  # (3,)
    M = float(ref.M)
    scale = M * torch.where(n > 0, n, torch.ones_like(n))
    present = (n > 0).to(dtype)
    x = x0.expand(*shape, 3).clone()
    plateau = torch.full(a.shape, -1, dtype=torch.long, device=a.device)
    xs = [x] if store else None
    for step in range(1, steps + 1):
        last = x
        g = torch.stack(kernel(x[..., 0], x[..., 1], x[..., 2], a, t), -1) * present
        gbar = g / scale
        shift = (gbar * n * x).sum(-1, keepdim=True)
        h = gbar @ theta.T - shift  # (..., 4)
        gam = 1 + x @ theta.T
        val = (1 - 2 * lr * h) ** 2 * gam
        r = (val * mult).sum(-1, keepdim=True) / M
        e = val / r
        v = 1 - e[..., 0] if p_ > 1 else torch.ones_like(e[..., 0])
        c = (1 + (p_ - 1) * v - e[..., 1]) / p_
        o = (1 + (p_ - 1) * v + (k_ - 1) * p_ * c - e[..., 2]) / (k_ * p_)
        x = torch.stack([v, c, o], -1)
        left = (plateau < 0) & ((e[..., :3] >= EXIT).any(-1))
        plateau = torch.where(left, torch.full_like(plateau, step), plateau)
        if store:
            xs.append(x)
    moved = (x - last).abs().amax(-1)
    settled = torch.isfinite(x).all(-1) & (moved <= tol)
    return DynamicsGrid(a, t, lr, x, plateau, moved, settled,
                        torch.stack(xs) if store else None)
