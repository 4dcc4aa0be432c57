"""The contrastive loss of a real batch, built from the same :class:`LossSpec` as the derivation.

For embeddings z of shape (N, p, d) (normalised to the unit sphere when ``normalize``), with
labels (N,), every ordered pair (a, b) of the M = N p embeddings gets a pair type. Per anchor a
the log-probability of b is ``l_ab - logsumexp_{c in den(a)} l_ac`` with ``l = s / tau``; each
term is the mean of its negative over the term's positive pairs ("pairs") or per anchor, then
over anchors ("anchors"). ``L = (1 - alpha) L_sup + alpha L_self``.

Both terms together are one weighted cross-entropy, ``L = -sum_ab W_ab log p_ab`` with a
weight matrix W fixed by the labels, the spec and alpha:
``L = sum_a w_a logsumexp_{c in den(a)} l_ac - sum_ab W_ab l_ab`` (``w_a = sum_b W_ab``).
The second part is linear in the Gram matrix and comes from group sums in O(M d)
(:meth:`LabelPattern.pair_sums`). The first has the closed-form gradient ``w_a P_ac`` (P the
masked softmax), which :class:`_WeightedLogSumExp` uses instead of autograd through the
masked softmax: one product and two passes over the (M, M) matrix, not a graph of them.

Under ``paper`` the spec writes the denominator over the first index for a fixed second one;
as s is symmetric and the positive relations are symmetric this is the same row softmax.
"""

from __future__ import annotations

import math

import torch

from .spec import PAIR_TYPES, LossSpec, get_spec


def pair_type_masks(labels: torch.Tensor, views: int) -> dict[str, torch.Tensor]:
    """Boolean (M, M) masks of each pair type for M = N * views embeddings (instance-major)."""
    n = labels.shape[0]
    inst = torch.arange(n, device=labels.device).repeat_interleave(views)
    lab = labels.repeat_interleave(views)
    eye = torch.eye(n * views, dtype=torch.bool, device=labels.device)
    same_inst = inst[:, None] == inst[None, :]
    same_lab = lab[:, None] == lab[None, :]
    return {
        "self": eye,
        "view": same_inst & ~eye,
        "class": same_lab & ~same_inst,
        "other": ~same_lab,
    }


class _WeightedLogSumExp(torch.autograd.Function):
    """sum_a w_a logsumexp_{c in den(a)} l_ac with l = inv_tau x x^T for rows x (..., M, d),
    batched over leading dims. Backward from the closed form dL/dl_ac = w_a P_ac (P the
    masked softmax), then dL/dx = inv_tau (G + G^T) x.

    ``bound`` (unit rows: |l| <= inv_tau, and exp(-2 inv_tau) a normal number) makes the
    max-shift the constant inv_tau, computed inside the product by one extra column. The
    shifted exponentials E are then symmetric (the denominator mask is a union of symmetric
    pair types), G = diag(c) E with c_a = w_a inv_tau / rowsum_a, and
    (G + G^T) x = c * (E x) + E (c * x): one product of E with [x, c * x], no pass over G.
    Otherwise each row is shifted by its max and G is formed.
    """

    @staticmethod
    def forward(ctx, x, row_weights, outside, inv_tau, bound):
        scale = inv_tau[..., None, None]
        xt = x.transpose(-1, -2)
        if bound:  # [x s, -s] [x, 1]^T = s x x^T - s: logits minus their bound
            ones = x.new_ones(*x.shape[:-1], 1)
            left = torch.cat([x * scale, -scale * ones], -1)
            logits = left @ torch.cat([x, ones], -1).transpose(-1, -2)
        else:
            logits = (x * scale) @ xt
        if outside == "diag":
            logits.diagonal(dim1=-2, dim2=-1).fill_(_FILL[x.dtype])
        elif outside is not None:
            logits.masked_fill_(outside, _FILL[x.dtype])
        if bound:
            shift = inv_tau[..., None]
        else:
            shift = logits.amax(dim=-1, keepdim=True)
            logits.sub_(shift)
            shift = shift.squeeze(-1)
        exps = logits.exp_()
        rows = exps.sum(dim=-1)
        ctx.bound = bound
        ctx.save_for_backward(x, exps, rows, row_weights, inv_tau)
        return (row_weights * (shift + rows.log())).sum(dim=-1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        x, exps, rows, row_weights, inv_tau = ctx.saved_tensors
        coef = (row_weights * (grad * inv_tau)[..., None] / rows)[..., None]  # (..., M, 1)
        if ctx.bound:  # E symmetric
            both = exps @ torch.cat([x, coef * x], -1)
            d = x.shape[-1]
            return coef * both[..., :d] + both[..., d:], None, None, None, None
        g = exps * coef
        dx = g @ x
        return dx.add_(g.transpose(-1, -2) @ x), None, None, None, None


_FILL = {torch.float32: -1e30, torch.float64: -1e300, torch.float16: -6e4, torch.bfloat16: -1e30}


class LabelPattern:
    """Everything fixed by (labels, views, spec, dtype, device); build it once and pass it to
    :func:`supcl_loss` as ``pattern`` while the labels repeat (SupCLLoss does this itself).

    The positive part of the loss is linear in the Gram matrix: per term it is
    sum_{(a, b) positive} u_a x_a . x_b with u_a = 1/(number of positive pairs) ("pairs") or
    1/(M count_a) ("anchors"). Each pair type's share comes from group sums (all rows, the
    anchor's class, its instance, itself) in O(M d), never an (M, M) matrix.
    """

    def __init__(self, spec: LossSpec, labels: torch.Tensor, views: int, dtype) -> None:
        types = pair_type_masks(labels, views)
        den = _union(types, spec.denominator)
        self.outside = _outside(spec, den)
        m = labels.shape[0] * views
        _, self.cls = torch.unique(labels, return_inverse=True)
        self.n, self.views, self.n_classes = labels.shape[0], views, int(self.cls.max()) + 1
        self.term = {}
        for term in ("sup", "self"):
            counts = _union(types, spec.positives(term)).sum(dim=1).to(dtype)
            if bool((counts == 0).any()):
                self.term[term] = None  # an error only if the term has weight
                continue
            u = (torch.full_like(counts, 1 / float(counts.sum())) if spec.mean == "pairs"
                 else 1 / (counts * m))
            self.term[term] = (u, u * counts, spec.positives(term))

    def parts(self, spec: LossSpec, alpha: torch.Tensor):
        """[(coefficient, u, row weights u * counts, positive types)] of the weighted terms."""
        out = []
        for term, coef in (("sup", 1 - alpha), ("self", alpha)):
            if self.term[term] is None:
                if bool((coef != 0).any()):
                    raise ValueError(
                        f"the {term} term of {spec.name!r} has an anchor without positives "
                        "(a class with a single instance in the batch, or a single view)")
                continue
            out.append((coef, *self.term[term]))
        return out

    def pair_sums(self, x: torch.Tensor, us: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Per weight vector u: the sum over the pairs (a, b) of each type of u_a x_a . x_b,
        batched over leading dims.

        With group sums S_G = sum_{b in G} x_b (computed once) and U_G = sum_{a in G} u_a x_a,
        the pairs within the groups of a partition sum to sum_G U_G . S_G (rows are
        instance-major).
        """
        shape = (*x.shape[:-2], self.n, self.views, x.shape[-1])

        def by_group(y):
            inst = y.reshape(shape).sum(-2)
            cls = inst.new_zeros(*shape[:-3], self.n_classes, shape[-1]).index_add_(
                -2, self.cls, inst)
            return inst, cls, cls.sum(-2)
        s_inst, s_cls, s_all = by_group(x)
        out = []
        for u in us:
            ux = x * u[:, None]
            u_inst, u_cls, u_all = by_group(ux)
            own = (ux * x).sum(dim=(-2, -1))
            inst = (u_inst * s_inst).sum(dim=(-2, -1))
            cls = (u_cls * s_cls).sum(dim=(-2, -1))
            every = (u_all * s_all).sum(-1)
            out.append({"self": own, "view": inst - own, "class": cls - inst,
                        "other": every - cls})
        return out


def _outside(spec: LossSpec, den: torch.Tensor):
    for term in ("sup", "self"):
        if set(spec.positives(term)) - set(spec.denominator):
            raise ValueError(f"{spec.name!r}: {term} positives outside the denominator have no "
                             "log-probability")
    if set(spec.denominator) == set(PAIR_TYPES):
        return None
    if set(spec.denominator) == set(PAIR_TYPES) - {"self"}:
        return "diag"
    return ~den


def supcl_loss(z: torch.Tensor, labels: torch.Tensor, alpha, tau, loss: str | LossSpec = "paper",
               normalize: bool = True, pattern: LabelPattern | None = None) -> torch.Tensor:
    """(1 - alpha) L_sup + alpha L_self for z of shape (..., N, p, d), labels (N,).

    Leading dims are independent configurations; ``alpha`` and ``tau`` broadcast against them
    (numbers or tensors). Returns a tensor of the leading shape (a scalar for z (N, p, d)).
    ``pattern``: a :class:`LabelPattern` for these labels, to skip rebuilding it each step.
    """
    spec = get_spec(loss)
    if z.dim() < 3 or labels.dim() != 1 or labels.shape[0] != z.shape[-3]:
        raise ValueError("expected z of shape (..., N, p, d) and labels of shape (N,)")
    if not z.is_floating_point():
        raise ValueError("z must be a floating tensor")
    batch, (n, views, d) = z.shape[:-3], z.shape[-3:]
    a = torch.as_tensor(alpha, dtype=z.dtype, device=z.device)
    t = torch.as_tensor(tau, dtype=z.dtype, device=z.device)
    if bool(((a < 0) | (a > 1) | torch.isnan(a)).any()):
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if bool(((t <= 0) | ~torch.isfinite(t)).any()):
        raise ValueError(f"tau must be a finite number > 0, got {tau}")
    pattern = pattern or LabelPattern(spec, labels, views, z.dtype)
    flat = z.reshape(*batch, n * views, d)
    if normalize:
        flat = torch.nn.functional.normalize(flat, dim=-1)
    a, t = (x.expand(batch) if x.dim() == 0 and batch else x for x in (a, t))
    parts = pattern.parts(spec, a)
    # unit rows: every logit lies in [-1/tau, 1/tau], so exp(l - 1/tau) >= exp(-2/tau) stays
    # a normal number when 2/tau < 0.9 |log tiny| (tau > 0.025 in float32, 0.0032 in float64)
    bound = normalize and bool((2 / t < 0.9 * -math.log(torch.finfo(z.dtype).tiny)).all())
    row_weights = sum(_times(coef, rows) for coef, _, rows, _ in parts)
    lse = _WeightedLogSumExp.apply(flat, row_weights, pattern.outside, 1 / t, bound)
    pull = 0
    sums = pattern.pair_sums(flat, [u for _, u, _, _ in parts])
    for (coef, _, _, positives), by_type in zip(parts, sums):
        pull = pull + coef * sum(by_type[t_] for t_ in positives)
    return lse - pull / t


def _times(coef: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    return coef[..., None] * rows if coef.dim() else coef * rows


class SupCLLoss(torch.nn.Module):
    """(1 - alpha) L_sup + alpha L_self in any loss convention; ``forward(z, labels)``.

    z has shape (N, p, d) (or (..., N, p, d): independent configurations), labels (N,).
    Masks and weights are built once per label pattern and reused while it repeats.
    """

    def __init__(self, alpha: float, tau: float, loss: str | LossSpec = "paper",
                 normalize: bool = True) -> None:
        super().__init__()
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if not float(tau) > 0.0 or float(tau) == float("inf"):
            raise ValueError(f"tau must be a finite number > 0, got {tau}")
        self.alpha, self.tau = float(alpha), float(tau)
        self.spec = get_spec(loss)
        self.normalize = normalize
        self._key: tuple | None = None
        self._pattern: LabelPattern | None = None

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if z.dim() < 3 or labels.dim() != 1 or labels.shape[0] != z.shape[-3]:
            raise ValueError("expected z of shape (N, p, d) and labels of shape (N,)")
        key = (tuple(labels.tolist()), z.shape[-2], z.dtype, str(z.device))
        if key != self._key:  # one pattern kept: training reuses it every step
            self._pattern = LabelPattern(self.spec, labels.to(z.device), z.shape[-2], z.dtype)
            self._key = key
        return supcl_loss(z, labels, self.alpha, self.tau, self.spec, self.normalize,
                          pattern=self._pattern)


def _union(types: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    out = torch.zeros_like(types[PAIR_TYPES[0]])
    for name in names:
        out = out | types[name]
    return out
