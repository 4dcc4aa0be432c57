"""The positive part of the contrastive loss: a form linear in the Gram matrix, from group sums.

For M = N p embeddings x (instance-major: N instances of p views, class ``cls`` per
instance) and anchor weights v^t_a per pair type t, the pull

    P = sum_t sum_{(a, b) of type t} v^t_a x_a . x_b

needs no (M, M) matrix. A type's pairs are its group's pairs minus its inner group's
(:func:`~ssem_symbolic.vocab.by_type`), so P = sum_g sum_a c^g_a Q^g_a with
Q^g_a = x_a . S_g(a), S_g(a) the sum of x over a's group g (itself, its instance, its class,
the batch), and c^g the weights of :func:`~ssem_symbolic.vocab.to_groups`. The gradient is
closed form: dP/dx_b = sum_g (c^g_b S_g(b) + U_g(b)), U_g(b) the sum of c^g x over b's group
(for g = self, 2 c^g_b x_b), and dP/dc^g = Q^g. Time and memory O(M d).
"""

from __future__ import annotations

import torch

from ..vocab import GROUPS


def pull(x: torch.Tensor, weights: dict, cls: torch.Tensor, n_classes: int,
         views: int) -> torch.Tensor:
    """P for x of shape (..., N p, d) and ``weights``: group name -> c^g of shape (..., N p)
    (groups absent weigh nothing); returns the leading shape."""
    coefs = [weights.get(g) for g in GROUPS]
    return _Pull.apply(x, cls, n_classes, views, *coefs)


class _Groups:
    """Group sums of rows of shape (..., N, p, d), kept broadcastable to those rows."""

    def __init__(self, cls: torch.Tensor, n_classes: int) -> None:
        self.cls, self.n_classes = cls, n_classes

    def lift(self, inst: torch.Tensor, group: str) -> torch.Tensor:
        """The sums over each row's group from per-instance sums (..., N, 1, d)."""
        if group == "instance":
            return inst
        if group == "batch":
            return inst.sum(-3, keepdim=True)
        per_class = inst.new_zeros(*inst.shape[:-3], self.n_classes, 1, inst.shape[-1])
        return per_class.index_add_(-3, self.cls, inst).index_select(-3, self.cls)


class _Pull(torch.autograd.Function):
    """P and its closed-form gradient, accumulated in one buffer. The backward is written in
    differentiable operations, so second derivatives are exact."""

    @staticmethod
    def forward(ctx, x, cls, n_classes, views, *coefs):
        lead, (m, d) = x.shape[:-2], x.shape[-2:]
        shape = (*lead, m // views, views, d)
        xr, groups = x.reshape(shape), _Groups(cls, n_classes)
        inst = xr.sum(-2, keepdim=True)
        total = x.new_zeros(lead)
        for g, c in zip(GROUPS, coefs):
            if c is not None:
                q = _dots(xr, xr if g == "self" else groups.lift(inst, g))  # Q^g, (..., N, p)
                total = total + (c.reshape(*c.shape[:-1], *q.shape[-2:]) * q).sum((-2, -1))
        ctx.n_classes, ctx.shape = n_classes, shape
        ctx.save_for_backward(x, cls, *(c if c is not None else torch.empty(0) for c in coefs))
        ctx.present = [c is not None for c in coefs]
        return total

    @staticmethod
    def backward(ctx, grad):
        x, cls, *coefs = ctx.saved_tensors
        shape, need_x = ctx.shape, ctx.needs_input_grad[0]
        xr, groups = x.reshape(shape), _Groups(cls, ctx.n_classes)
        inst = xr.sum(-2, keepdim=True)
        g_ = grad.reshape(*grad.shape, 1, 1)
        dx, lifted, dcs = None, None, []
        for g, c, here, need in zip(GROUPS, coefs, ctx.present, ctx.needs_input_grad[4:]):
            if not here:
                dcs.append(None)
                continue
            s = xr if g == "self" else groups.lift(inst, g)
            cr = g_ * c.reshape(*c.shape[:-1], *shape[-3:-1])  # grad c^g, (..., N, p)
            if need_x:  # c^g S_g(b) + U_g(b); for g = self both are c^g x
                if g == "self":
                    cr = cr * 2
                else:  # U_g, lifted from per-instance sums (..., N, 1, d) of c^g x
                    u = groups.lift((cr.unsqueeze(-1) * xr).sum(-2, keepdim=True), g)
                    lifted = u if lifted is None else lifted + u
                if dx is None:
                    dx = cr.unsqueeze(-1) * s
                else:
                    dx.addcmul_(cr.unsqueeze(-1), s)
            dcs.append((grad[..., None, None] * _dots(xr, s)).reshape(*shape[:-3], -1)
                       .sum_to_size(c.shape) if need else None)
        if dx is not None:
            if lifted is not None:
                dx.add_(lifted)
            dx = dx.expand(shape).reshape(x.shape)
        return (dx, None, None, None, *dcs)


def _dots(xr: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """x_a . s_a per row of xr (..., N, p, d), s broadcastable to it. (Batched products of
    these tiny matrices are slower than the elementwise product and sum.)"""
    return (xr * s).sum(-1)
