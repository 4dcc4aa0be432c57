"""Finishing training with Newton's method, and the measurement error that is left.

A trained batch of unit embeddings y (N, p, d) is moved to the nearest minimum of its own
loss L(y) = loss(normalize(y)), in float64, by Newton's method: H s = g solved by conjugate
gradients (Hessian-vector products by double backward, exact), then y <- normalize(y - t s)
with Armijo backtracking. H is singular along each row (the scale) and along rotations of
the whole batch; g is orthogonal to both, so the iterates stay in H's range.

It stops when the Newton decrement lambda^2 = g^T H^+ g (twice the loss still to gain) is
within the loss's float64 resolution eps_L (:func:`loss_resolution`), or when a step gains
no more than eps_L: the loss can no longer tell this point from its minimum. Only the loss is
used, never a formula.

The error of a quantity x (a variance, a mean similarity) measured at the end has two parts,
both measured from the loss:

* the residual gradient's correction, |grad x . s| for the last Newton step s = H^+ g;
* the resolution: over the points whose loss is within eps_L of the minimum, x varies by
  sqrt(2 eps_L grad_x^T H^+ grad_x) (the quadratic model's ellipsoid).

sigma_x is their root sum of squares; a verdict's tolerance is max(:data:`FLOOR`,
3 sigma_x). Where 3 sigma_x covers the quantity's whole range, the loss does not determine it
at float64 precision (a landscape flat to e^{-2/tau}), and the point is not judged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

EPS = torch.finfo(torch.float64).eps
#: the float64 resolution of a minimiser's position: a smooth function is flat to second
#: order at its minimum, so a minimum is located to sqrt(eps) relative
FLOOR = EPS ** 0.5
#: Newton steps and conjugate-gradient iterations per step, at most
NEWTON_STEPS, CG_ITERATIONS = 100, 200


def loss_resolution(loss: float, size: int, tau: float) -> float:
    """eps_L: the float64 rounding error of the loss of a batch of ``size`` embeddings, a mean
    of log-sum-exps of ``size`` logits each at most 1/tau in size: summation errors grow at
    most linearly in the number of terms, eps M (|L| + 2/tau), doubled for the prediction's
    own rounding.

    >>> loss_resolution(3.0, 24, 0.5) < 1e-12
    True
    """
    return 2 * EPS * size * (abs(loss) + 2.0 / tau)


def _dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per configuration (the leading dim): sum of u * v over the rest."""
    return (u * v).flatten(1).sum(1)


def _bc(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-configuration vector shaped to broadcast against ``like``."""
    return x.reshape(-1, *([1] * (like.dim() - 1)))


def _cg(hvp: Callable, b: torch.Tensor, scale: torch.Tensor,
        rel: torch.Tensor | float = EPS * 16) -> tuple[torch.Tensor, torch.Tensor]:
    """x ~ H^+ b by conjugate gradients, for every configuration (leading dim) at once, each
    stopping at a relative residual of ``rel`` (per configuration) or where the curvature
    along its direction is not positive (returned True where it is negative)."""
    x = torch.zeros_like(b)
    r = b.clone()
    d = r.clone()
    rr = _dot(r, r)
    stop = torch.as_tensor(rel, dtype=rr.dtype, device=rr.device) ** 2 * rr
    active = rr > stop
    neg = torch.zeros_like(active)
    for _ in range(CG_ITERATIONS):
        if not bool(active.any()):
            break
        d = d * _bc(active, d)
        hd = hvp(d)
        curv, dd = _dot(d, hd), _dot(d, d)
        flat = active & (curv <= EPS * scale * dd)
        neg |= flat & (curv < -EPS ** 0.5 * scale * dd)
        active &= ~flat
        step = torch.where(active, rr / torch.where(active, curv, 1.0), 0.0)
        x += _bc(step, x) * d
        r -= _bc(step, r) * hd
        rr_new = _dot(r, r)
        ratio = torch.where(active, rr_new / torch.where(active, rr, 1.0), 0.0)
        d = r + _bc(ratio, d) * d
        rr = torch.where(active, rr_new, rr)
        active &= rr > stop
    return x, neg


def refine(loss: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, tau: float,
           quantities: Callable[[torch.Tensor], dict[str, torch.Tensor]]) -> dict:
    """Newton from the unit embeddings ``z`` (N, p, d) to the nearest minimum of ``loss`` (a
    function of unit embeddings): :func:`refine_batch` for one configuration."""
    return refine_batch(lambda u, idx: loss(u[0])[None], z[None], [tau],
                        lambda u: {k: v[None] for k, v in quantities(u[0]).items()})[0]


def refine_batch(loss: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, taus,
                 quantities: Callable[[torch.Tensor], dict[str, torch.Tensor]],
                 max_steps: int = NEWTON_STEPS) -> list[dict]:
    """Newton from K configurations of unit embeddings ``z`` (K, N, p, d), float64, each to the
    nearest minimum of its own loss (``loss(u, idx)``: unit embeddings of the configurations
    ``idx`` (len(idx), N, p, d) -> their losses), and each of ``quantities`` ((K, N, p, d) ->
    (K,) per name) with its error sigma, as the module docstring says. One tensor program for
    the configurations still descending: the Hessian is block diagonal, so each follows its
    own Newton path, and one that has stopped costs nothing more. At most ``max_steps``
    Newton steps.

    Returns per configuration: ``z`` (refined), ``loss``, ``steps``, ``decrement`` (lambda^2 / 2
    at the end), ``resolution`` (eps_L), ``converged``, ``reason`` (why not, else ""), and
    ``sigma`` per quantity.
    """
    y = z.detach().double().clone()
    K = y.shape[0]
    size = y.shape[1] * y.shape[2]
    tau = torch.as_tensor(list(taus), dtype=y.dtype, device=y.device)
    scale = 1.0 / tau ** 2 / size

    def value(u, idx):
        return loss(torch.nn.functional.normalize(u, dim=-1), idx)

    def derivatives(point, idx):
        point = point.detach().requires_grad_(True)
        f = value(point, idx)
        (g,) = torch.autograd.grad(f.sum(), point, create_graph=True)

        def hvp(v):
            return torch.autograd.grad(g, point, v, retain_graph=True)[0].detach()
        return point, f.detach(), g, hvp

    def resolution(f, idx):
        return torch.tensor([loss_resolution(float(v), size, float(tau[i]))
                             for v, i in zip(f, idx.tolist())], dtype=y.dtype, device=y.device)

    reasons = [""] * K
    steps = torch.zeros(K, dtype=torch.long, device=y.device)
    done = torch.zeros(K, dtype=torch.bool, device=y.device)
    while not bool(done.all()):
        act = torch.nonzero(~done).flatten()  # only the configurations still descending
        ya, f, g, hvp = derivatives(y[act], act)
        eps_l = resolution(f, act)
        gd = g.detach()
        # inexact Newton: CG to a relative residual min(1/2, sqrt |g|) (Nocedal & Wright,
        # ch. 7), superlinear near the minimum; the end point's step is solved to eps
        s, _ = _cg(hvp, gd, scale[act], rel=_dot(gd, gd).sqrt().sqrt().clamp(max=0.5))
        s = torch.where(_bc(_dot(s, s) > 0, s), s, gd)
        dec = 0.5 * _dot(gd, s)
        finish = (dec <= eps_l) | (steps[act] >= max_steps)
        for k in act[finish & (dec > eps_l)].tolist():
            reasons[k] = f"Newton did not converge in {max_steps} steps"
        done[act[finish]] = True
        keep = ~finish
        if not bool(keep.any()):
            continue
        sub, ys, ss = act[keep], ya.detach()[keep], s[keep]
        f0, d0, e0 = f[keep], dec[keep], eps_l[keep]
        t = torch.ones(len(sub), dtype=y.dtype, device=y.device)
        accepted = torch.zeros(len(sub), dtype=torch.bool, device=y.device)
        trial, f_new = ys.clone(), f0.clone()
        with torch.no_grad():
            while bool((~accepted & (t > 1e-6)).any()):
                cand = torch.nn.functional.normalize(ys - _bc(t, ss) * ss, dim=-1)
                fc = value(cand, sub)
                ok = ~accepted & (fc <= f0 - 0.5 * t * d0)
                trial[ok], f_new[ok] = cand[ok], fc[ok]
                accepted |= ok
                t = torch.where(accepted, t, t / 2)
        for k in sub[~accepted].tolist():
            reasons[k] = "the line search stalled"
        done[sub[~accepted]] = True
        y[sub[accepted]] = trial[accepted]
        steps[sub[accepted]] += 1
        # the loss no longer tells the steps apart: at its resolution
        done[sub[accepted & (f0 - f_new <= e0)]] = True
    # at the end point: the remaining Newton step, a curvature probe (a saddle or a maximum has
    # g = 0 too), and each quantity's error
    every = torch.arange(K, device=y.device)
    y, f, g, hvp = derivatives(y, every)
    eps_l = resolution(f, every)
    gd = g.detach()
    s, neg = _cg(hvp, gd, scale)
    dec = 0.5 * _dot(gd, s)
    probe = torch.randn(y.shape, generator=torch.Generator().manual_seed(0),
                        dtype=y.dtype).to(y.device)
    probe -= (probe * y.detach()).sum(-1, keepdim=True) * y.detach()  # tangent
    neg |= _cg(hvp, probe, scale)[1]
    for k in torch.nonzero(neg).flatten().tolist():
        if not reasons[k]:
            reasons[k] = "negative curvature: a saddle, not a minimum"
    unit = torch.nn.functional.normalize(y, dim=-1)
    sigma: dict[str, torch.Tensor] = {}
    for name, q in quantities(unit).items():
        (gx,) = torch.autograd.grad(q.sum(), y, retain_graph=True)
        ux, _ = _cg(hvp, gx, scale)
        newton = _dot(gx, s)
        res = 2 * eps_l * _dot(gx, ux).clamp(min=0.0)
        sigma[name] = (newton ** 2 + res).sqrt()
    out_z = torch.nn.functional.normalize(y.detach(), dim=-1)
    return [{"z": out_z[k], "loss": float(f[k]), "steps": int(steps[k]),
             "decrement": float(dec[k]), "resolution": float(eps_l[k]),
             "converged": not reasons[k], "reason": reasons[k],
             "sigma": {name: float(v[k]) for name, v in sigma.items()}} for k in range(K)]


def quantities(labels: torch.Tensor, weights: torch.Tensor | None = None) -> Callable:
    """The measured quantities as differentiable functions of unit embeddings (..., N, p, d): the
    within-class variance (mean over classes of 1 - ||class mean||^2; weighted by class size
    where ``weights`` are given, as for imbalanced batches, then also each class's), and the
    mean view similarity (p > 1)."""
    classes = torch.unique(labels)

    def fn(z: torch.Tensor) -> dict[str, torch.Tensor]:
        n, p, d = z.shape[-3:]
        flat = z.reshape(*z.shape[:-3], n * p, d)
        cls = labels.to(z.device).repeat_interleave(p)
        per = [1.0 - flat[..., cls == c, :].mean(-2).pow(2).sum(-1) for c in classes]
        out = {}
        if weights is None:
            out["within"] = torch.stack(per, -1).mean(-1)
        else:
            w = weights.to(flat.dtype).to(z.device)
            out["within"] = (w * torch.stack(per, -1)).sum(-1) / w.sum()
            out |= {f"within_{int(c)}": v for c, v in zip(classes, per)}
        if p > 1:
            pair = z @ z.transpose(-1, -2)  # (..., n, p, p): each instance's views
            out["view_similarity"] = (pair.sum((-1, -2)) - p).sum(-1) / (n * p * (p - 1))
        return out
    return fn
