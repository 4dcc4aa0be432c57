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
NEWTON_STEPS, CG_ITERATIONS = 100, 400


def loss_resolution(loss: float, size: int, tau: float) -> float:
    """eps_L: the float64 rounding error of the loss of a batch of ``size`` embeddings, a mean
    of log-sum-exps of ``size`` logits each at most 1/tau in size: summation errors grow at
    most linearly in the number of terms, eps M (|L| + 2/tau), doubled for the prediction's
    own rounding.

    >>> loss_resolution(3.0, 24, 0.5) < 1e-12
    True
    """
    return 2 * EPS * size * (abs(loss) + 2.0 / tau)


def _cg(hvp: Callable, b: torch.Tensor, scale: float) -> tuple[torch.Tensor, bool]:
    """x ~ H^+ b by conjugate gradients, stopping at a relative residual of eps or where the
    curvature along a direction is not positive (returned as True)."""
    x = torch.zeros_like(b)
    r = b.clone()
    d = r.clone()
    rr = float((r * r).sum())
    stop = (EPS * 16) ** 2 * rr
    for _ in range(CG_ITERATIONS):
        if rr <= stop:
            break
        hd = hvp(d)
        curv = float((d * hd).sum())
        if curv <= EPS * scale * float((d * d).sum()):
            return x, curv < -EPS ** 0.5 * scale * float((d * d).sum())
        step = rr / curv
        x.add_(d, alpha=step)
        r.sub_(hd, alpha=step)
        rr_new = float((r * r).sum())
        d.mul_(rr_new / rr).add_(r)
        rr = rr_new
    return x, False


def refine(loss: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, tau: float,
           quantities: Callable[[torch.Tensor], dict[str, torch.Tensor]]) -> dict:
    """Newton from the unit embeddings ``z`` (float64) to the nearest minimum of ``loss``
    (a function of unit embeddings), and each of ``quantities`` (differentiable functions of
    unit embeddings) with its error sigma, as the module docstring says.

    Returns ``z`` (refined), ``loss``, ``steps``, ``decrement`` (lambda^2 / 2 at the end),
    ``resolution`` (eps_L), ``converged``, ``reason`` (why not, else ""), and ``sigma`` per
    quantity.
    """
    y = z.detach().double().clone()
    size = y.shape[0] * y.shape[1]

    def value(u):
        return loss(torch.nn.functional.normalize(u, dim=-1))

    reason, steps, neg = "", 0, False
    while True:
        y.requires_grad_(True)
        f = value(y)
        (g,) = torch.autograd.grad(f, y, create_graph=True)
        eps_l = loss_resolution(float(f.detach()), size, tau)

        def hvp(v, g=g, y=y):
            return torch.autograd.grad(g, y, v, retain_graph=True)[0].detach()

        gd = g.detach()
        scale = 1.0 / tau ** 2 / size
        s, neg = _cg(hvp, gd, scale)
        if not bool(s.abs().sum() > 0):
            s = gd.clone()
        dec = 0.5 * float((gd * s).sum())
        if dec <= eps_l or steps >= NEWTON_STEPS:
            if dec > eps_l:
                reason = f"Newton did not converge in {NEWTON_STEPS} steps"
            break
        f0, t = float(f.detach()), 1.0
        with torch.no_grad():
            while t > 1e-6:
                trial = torch.nn.functional.normalize(y.detach() - t * s, dim=-1)
                if float(value(trial)) <= f0 - 0.5 * t * dec:
                    break
                t /= 2
            else:
                reason = "the line search stalled"
                break
            gained = f0 - float(value(trial))
        y, steps = trial, steps + 1
        if gained <= eps_l:  # the loss no longer tells the steps apart: at its resolution
            break
    y = y.detach().requires_grad_(True)
    f = value(y)
    (g,) = torch.autograd.grad(f, y, create_graph=True)

    def hvp(v):
        return torch.autograd.grad(g, y, v, retain_graph=True)[0].detach()

    if not reason:  # a saddle or a maximum has g = 0 too: probe the curvature on a Krylov space
        probe = torch.randn(y.shape, generator=torch.Generator().manual_seed(0),
                            dtype=y.dtype).to(y.device)
        probe -= (probe * y.detach()).sum(-1, keepdim=True) * y.detach()  # tangent
        neg = neg or _cg(hvp, probe, scale)[1]
        if neg:
            reason = "negative curvature: a saddle, not a minimum"
    sigma = {}

    unit = torch.nn.functional.normalize(y, dim=-1)
    for name, q in quantities(unit).items():
        (gx,) = torch.autograd.grad(q, y, retain_graph=True)
        ux, _ = _cg(hvp, gx, scale)
        newton = float((gx * s).sum())
        res = 2 * eps_l * max(float((gx * ux).sum()), 0.0)
        sigma[name] = (newton ** 2 + res) ** 0.5
    return {"z": torch.nn.functional.normalize(y.detach(), dim=-1), "loss": float(f.detach()),
            "steps": steps, "decrement": dec, "resolution": eps_l,
            "converged": not reason, "reason": reason, "sigma": sigma}


def quantities(labels: torch.Tensor, weights: torch.Tensor | None = None) -> Callable:
    """The measured quantities as differentiable functions of unit embeddings (N, p, d): the
    within-class variance (mean over classes of 1 - ||class mean||^2; weighted by class size
    where ``weights`` are given, as for imbalanced batches, then also each class's), and the
    mean view similarity (p > 1)."""
    classes = torch.unique(labels)

    def fn(z: torch.Tensor) -> dict[str, torch.Tensor]:
        n, p, d = z.shape
        flat = z.reshape(n * p, d)
        cls = labels.repeat_interleave(p)
        per = [1.0 - flat[cls == c].mean(0).pow(2).sum() for c in classes]
        out = {}
        if weights is None:
            out["within"] = torch.stack(per).mean()
        else:
            w = weights.to(flat.dtype)
            out["within"] = (w * torch.stack(per)).sum() / w.sum()
            out |= {f"within_{int(c)}": v for c, v in zip(classes, per)}
        if p > 1:
            pair = z @ z.transpose(-1, -2)  # (n, p, p): each instance's views
            out["view_similarity"] = (pair.sum((-1, -2)) - p).sum() / (n * p * (p - 1))
        return out
    return fn
