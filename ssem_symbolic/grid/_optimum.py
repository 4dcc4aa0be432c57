"""The global optimum on an (alpha, tau) grid: vectorised torch, float64 or float32.

Per point: beta* by :func:`~ssem_symbolic.grid.optimal_beta_grid` (the generated kernels); the
KKT multipliers of the SSEM point; where one is negative (SSEM is not the optimum), the faces of
the polyhedron (:mod:`~ssem_symbolic.setting`) are tried, vertices first, by batched Newton
on each face, until one satisfies the KKT conditions. Where SSEM holds, the result is the SSEM
point at beta*, so it equals the beta* path exactly.

Accuracy against the mpmath solver (:func:`~ssem_symbolic.optimum.optimum`): 1e-10 in the
similarities in float64, 1e-5 in float32, over the grid solver's tau range; off SSEM for
tau >= :data:`OFF_SSEM_TAU` = 0.05 only (below, the loss is flat to e^{-2/tau} along the face
that holds the optimum): points off SSEM below it get regime -1 and NaN values, counted in
:attr:`GlobalGrid.unsolved` (the mpmath solver answers them from tau = 1e-3). The work is done
in float64 whatever the dtype; float32 grids get their results rounded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp
import torch

from ..setting import gram_entries
from ..optimum import solve_face
from ..setting import collapsed, polyhedron, variances
from ._sigmoid import SigmoidPhi
from ._solve import optimal_beta_grid
from ..spec import (LossSpec, alpha, check_setting, get_spec, pair_counts, pull_weights)
from ..setting import takes_convention

#: off SSEM the grid solver answers for tau >= this (below, the loss is so flat along the face
#: holding the optimum that float64 rounding of its gradient moves the minimiser: at
#: supcon-split, alpha = 0, the error is 2e-8 at tau = 0.03 and 0.02 at tau = 0.015)
OFF_SSEM_TAU = 0.05
_KKT_TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


@dataclass
class GlobalGrid:
    """The optimum at every grid point (tensors of the broadcast shape).

    ``regime`` indexes ``regimes`` (sorted active-constraint names), -1 where not solved.
    """

    beta: torch.Tensor
    view: torch.Tensor
    class_: torch.Tensor
    other: torch.Tensor
    within: torch.Tensor
    between: torch.Tensor
    loss: torch.Tensor
    regime: torch.Tensor
    regimes: list[tuple[str, ...]]
    collapsed: list[bool]

    @property
    def unsolved(self) -> int:
        return int((self.regime < 0).sum())


class _Phi:
    """tau phi with gradient and Hessian in the polyhedron's coordinates, batched."""

    def __init__(self, spec: LossSpec, m_: int, k_: int, p_: int, dtype, device) -> None:
        spec.softmax("the generated torch kernels")
        P = polyhedron(m_, k_, p_)
        n = {t: int(c) for t, c in pair_counts(m_, k_, p_).items()}
        self.P = P
        index = {t: i for i, t in enumerate(P.coords)}
        kw = dict(dtype=dtype, device=device)
        # per denominator j: E[s, i] = 1 if its type s is coordinate i; const[s] = 1 for self
        self.dens = []
        for types, L in spec.denominators():
            n = {t: float(c) for t, c in types.counts(m_, k_, p_).items()}  # omega_t n_t
            den = [t for t in types if n[t] > 0]
            E = torch.zeros(len(den), len(P.coords), **kw)
            const = torch.zeros(len(den), **kw)
            for s, t in enumerate(den):
                if t in index:
                    E[s, index[t]] = 1.0
                else:
                    const[s] = 1.0
            logn = torch.log(torch.tensor([float(n[t]) for t in den], **kw))
            self.dens.append((E, const, logn, float(L.subs(alpha, 0)),
                              float(L.subs(alpha, 1) - L.subs(alpha, 0))))
        w0, w1 = pull_weights(spec, m_, k_, p_, 0), pull_weights(spec, m_, k_, p_, 1)
        self.w0 = torch.tensor([float(w0[t]) for t in P.coords], **kw)
        self.w1 = torch.tensor([float(w1[t] - w0[t]) for t in P.coords], **kw)
        self.c0 = float(sum(w0[t] for t in w0 if t not in index))
        self.c1 = float(sum(w1[t] - w0[t] for t in w1 if t not in index))
        self.A = torch.tensor([[float(a) for a in row] for row in P.normal], **kw)
        self.b = torch.tensor([float(x) for x in P.offset], **kw)

    def parts(self, x, a, t, hess: bool = True):
        """(tau phi (N,), gradient (N, n), Hessian (N, n, n) or None)."""
        w = self.w0 + self.w1 * a[:, None]
        val = -(w * x).sum(1) - (self.c0 + self.c1 * a)
        grad = -w
        H = 0
        for E, const, logn, L0, L1 in self.dens:  # one log-sum-exp per denominator
            g = x @ E.T + const  # (N, S) Gram value per denominator type
            z = logn + g / t[:, None]
            lse = torch.logsumexp(z, dim=1)
            q = torch.exp(z - lse[:, None])
            L = L0 + L1 * a
            val = val + L * t * lse
            mean = q @ E  # (N, n)
            grad = grad + L[:, None] * mean
            if hess:
                Hj = torch.einsum("ns,sj,sk->njk", q, E, E) - mean[:, :, None] * mean[:, None, :]
                H = H + (L / t)[:, None, None] * Hj
        return val, grad, (H if hess else None)


def _faces(P):
    """Every set of active directions with independent normals, vertices first: (S, a basis
    of the directions inside the face, a point of it), in floats."""
    out = []
    for r in range(min(len(P.coords), len(P.names)), -1, -1):
        for S in itertools.combinations(range(len(P.names)), r):
            data = solve_face(P, S)  # None: dependent normals
            if data is None:
                continue
            A = sp.Matrix([P.normal[i] for i in S]) if S else sp.zeros(0, len(P.coords))
            x0 = (-(A.pinv() * sp.Matrix([P.offset[i] for i in S])) if S
                  else sp.zeros(len(P.coords), 1))
            out.append((S, [[float(v) for v in row] for row in data[0]],
                        [float(v) for v in x0]))
    return out


def _multipliers(A_S, grad):
    """Least-squares mu with A_S^T mu = grad, per point: (N, |S|), and the residual."""
    if A_S.shape[0] == 0:
        return grad.new_zeros(grad.shape[0], 0), grad.norm(dim=1)
    M = A_S @ A_S.T
    mu = torch.linalg.solve(M, (grad @ A_S.T).T).T
    res = (grad - mu @ A_S).norm(dim=1)
    return mu, res


@takes_convention
def global_optimum_grid(convention: str | LossSpec, classes: int, per_class: int, views: int,
                        alpha_, tau_, *, dtype: torch.dtype | None = None,
                        device=None, max_iter: int = 100) -> GlobalGrid:
    """The global optimum at every (alpha, tau) of a broadcast grid (see module docstring)."""
    spec = get_spec(convention)
    check_setting(spec, classes, per_class, views)
    asked = optimal_beta_grid(spec, classes, per_class, views, alpha_, tau_, dtype=dtype,
                              device=device)  # also checks the grid, in the asked dtype
    if asked.dtype != torch.float64:
        as64 = [v.double() if isinstance(v, torch.Tensor) else v for v in (alpha_, tau_)]
        out = global_optimum_grid(spec, classes, per_class, views, *as64, device=device,
                                  max_iter=max_iter)
        for name in ("beta", "view", "class_", "other", "within", "between", "loss"):
            setattr(out, name, getattr(out, name).to(asked.dtype))
        return out
    beta = asked
    dtype, device, shape = beta.dtype, beta.device, beta.shape
    a = torch.as_tensor(alpha_, dtype=dtype, device=device).broadcast_to(shape).reshape(-1)
    t = torch.as_tensor(tau_, dtype=dtype, device=device).broadcast_to(shape).reshape(-1)
    b = beta.reshape(-1)
    phi = _PHI[spec.form](spec, classes, per_class, views, dtype, device)
    P, tol = phi.P, _KKT_TOL[dtype]
    g = gram_entries(b, classes, per_class)  # the SSEM point at beta*: tensors
    x = torch.stack([torch.ones_like(b) if c == "view" else g[c] for c in P.coords], dim=1)
    N = b.numel()
    active = torch.zeros(N, len(P.names), dtype=torch.bool, device=device)
    ssem_set = [i for i, name in enumerate(P.names) if name in ("view", "all-ones")]
    active[:, ssem_set] = True
    active[:, P.names.index("within-class")] |= b == 1
    active[:, P.names.index("between-class")] |= b == 0
    ok = torch.zeros(N, dtype=torch.bool, device=device)
    guess = active.clone()  # off SSEM: first try SSEM's active set less its negative multipliers
    _, grad, _ = phi.parts(x, a, t, hess=False)
    pattern_code = (active.long() * 2 ** torch.arange(len(P.names), device=device)).sum(1)
    for c_ in torch.unique(pattern_code).tolist():
        rows = pattern_code == c_
        idx = [i for i in range(len(P.names)) if c_ >> i & 1]
        mu, _ = _multipliers(phi.A[idx], grad[rows])
        ok[rows] = (mu >= -tol).all(1)  # (the residual carries beta*'s own 1e-10 / tau)
        sub_guess = guess[rows]
        sub_guess[:, idx] &= mu >= -tol
        guess[rows] = sub_guess
    out_x = torch.where(ok[:, None], x, torch.full_like(x, float("nan")))
    regime_mask = torch.where(ok[:, None], active, torch.zeros_like(active))
    todo = torch.nonzero(~ok & (t >= OFF_SSEM_TAU)).squeeze(1)
    faces = _faces(P) if todo.numel() else []
    first = (guess[todo].long() * 2 ** torch.arange(len(P.names), device=device)).sum(1)
    for rnd in range(2):  # round 0: each point its guessed face; round 1: every face
        for S, null, x0 in faces:
            code = sum(2 ** i for i in S)
            pick = (first == code) if rnd == 0 else torch.ones_like(first, dtype=torch.bool)
            if todo.numel() == 0 or not bool(pick.any()):
                continue
            rows = todo[pick]
            xs, good = _face_newton(phi, S, null, x0, x[rows], a[rows], t[rows], tol,
                                    max_iter)
            hit = rows[good]
            out_x[hit] = xs[good]
            regime_mask[hit] = False
            if S:
                regime_mask[hit.unsqueeze(1), torch.tensor(S, device=device)] = True
            keep = torch.ones_like(pick)
            keep[torch.nonzero(pick).squeeze(1)[good]] = False
            todo, first = todo[keep], first[keep]
    solved = ~torch.isnan(out_x).any(1)
    bits = 2 ** torch.arange(len(P.names), device=device)
    code = torch.where(solved, (regime_mask.long() * bits).sum(1), torch.full_like(b, -1,
                                                                                  dtype=torch.long))
    codes = sorted(int(c_) for c_ in torch.unique(code).tolist() if c_ >= 0)
    regimes = [tuple(sorted(P.names[i] for i in range(len(P.names)) if c_ >> i & 1))
               for c_ in codes]
    regime = torch.full_like(code, -1)
    for i, c_ in enumerate(codes):
        regime[code == c_] = i
    val, _, _ = phi.parts(torch.nan_to_num(out_x), a, t, hess=False)
    loss_value = torch.where(solved, val / t, torch.full_like(val, float("nan")))
    point = dict(zip(P.coords, out_x.unbind(1)))
    v = point.get("view", torch.ones_like(b))
    c, o = point["class"], point["other"]
    var = variances(v, c, o, classes, per_class, views)
    within, between = var["within"], var["between"]
    on_ssem = ok.reshape(shape)
    # on SSEM the variances are 1 - beta* and beta* exactly (no rounding through v, c, o)
    within = torch.where(on_ssem.reshape(-1), 1 - b, within)
    between = torch.where(on_ssem.reshape(-1), b, between)
    r = lambda z: z.reshape(shape)  # noqa: E731
    return GlobalGrid(beta=beta, view=r(v) if "view" in P.coords else torch.ones_like(beta),
                      class_=r(c), other=r(o), within=r(within), between=r(between),
                      loss=r(loss_value), regime=r(regime), regimes=regimes,
                      collapsed=[collapsed(reg, views) for reg in regimes])


def _face_newton(phi: _Phi, S, null, x0, start, a, t, tol, max_iter):
    """Batched Newton on the face S from the projection of ``start``; (x, KKT holds)."""
    dtype, device = start.dtype, start.device
    Nb = torch.tensor(null, dtype=dtype, device=device).reshape(len(x0), -1)
    x0t = torch.tensor(x0, dtype=dtype, device=device)
    d = Nb.shape[1]
    y = (start - x0t) @ Nb @ torch.linalg.pinv(Nb.T @ Nb) if d else start[:, :0]
    x = x0t + y @ Nb.T if d else x0t.expand_as(start).clone()
    alive = torch.ones(len(a), dtype=torch.bool, device=device)
    size = torch.zeros(len(a), dtype=dtype, device=device)
    for _ in range(max_iter if d else 0):
        val, grad, H = phi.parts(x, a, t)
        gy = grad @ Nb
        Hy = Nb.T @ H @ Nb
        step, info = torch.linalg.solve_ex(Hy, -gy.unsqueeze(-1))
        step = step.squeeze(-1)
        alive &= (info == 0) & torch.isfinite(step).all(1)  # singular: flat on this face
        step = torch.where(alive[:, None], step, torch.zeros_like(step))
        dx = step @ Nb.T
        size = dx.abs().amax(1)
        scale = torch.clamp(1.0 / torch.clamp(size, min=1e-300), max=1.0)
        dec = -(gy * step).sum(1)
        tstep = scale.clone()
        accept = torch.zeros_like(alive)
        for _ in range(40):
            xn = x + (tstep[:, None] * dx)
            vn, _, _ = phi.parts(xn, a, t, hess=False)
            accept = accept | (vn <= val - tstep * dec / 4) | (tstep * dec <= 1e-15 * (
                1 + val.abs()))
            if bool(accept.all()):
                break
            tstep = torch.where(accept, tstep, tstep / 2)
        x = torch.where(accept[:, None], x + tstep[:, None] * dx, x)
        alive &= x.abs().amax(1) <= 2
        if bool(((size <= tol * 1e-3) | ~alive).all()):
            break
    _, grad, _ = phi.parts(x, a, t, hess=False)
    idx = list(S)
    mu, res = _multipliers(phi.A[idx], grad)
    slack = x @ phi.A.T + phi.b
    # converged: the last full Newton step is small (on a face where phi is flat to rounding
    # the step is noise, and the point is left unsolved rather than answered wrongly)
    good = (alive & (size <= 1e-9) & (mu >= -tol).all(1) & (slack >= -tol).all(1)
            & (res <= tol * 1e3))
    return x, good


#: tau phi on the polyhedron, batched, per loss form
_PHI = {"softmax": _Phi, "sigmoid": SigmoidPhi}
