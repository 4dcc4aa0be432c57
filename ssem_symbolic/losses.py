"""The contrastive loss of a real batch, built from the same :class:`LossSpec` as the derivation.

For embeddings z of shape (N, p, d) (normalised to the unit sphere when ``normalize``), with
labels (N,), every ordered pair (a, b) of the M = N p embeddings gets a pair type. Per anchor a
the log-probability of b is ``l_ab - logsumexp_{c in den(a)} l_ac`` with ``l = s / tau``; each
term is the mean of its negative over the term's positive pairs ("pairs") or per anchor, then
over anchors ("anchors"). ``L = (1 - alpha) L_sup + alpha L_self``.

Both terms together are one weighted cross-entropy, ``L = -sum_ab W_ab log p_ab`` with a
weight matrix W fixed by the labels, the spec and alpha. Its gradient with respect to the
logits has the closed form ``dL/dl_ac = w_a P_ac - W_ac`` (``w_a = sum_b W_ab``, P the masked
softmax), which :class:`_WeightedSoftmaxCE` uses instead of autograd through the masked
softmax: a few passes over the (M, M) matrix, not a graph of them.

Under ``paper`` the spec writes the denominator over the first index for a fixed second one;
as s is symmetric and the positive relations are symmetric this is the same row softmax.
"""

from __future__ import annotations

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


class _WeightedSoftmaxCE(torch.autograd.Function):
    """loss = sum_ab W_ab (logsumexp_{c in den(a)} l_ac - l_ab), l = s * inv_tau, batched over
    leading dims; backward from the closed form (w_a P_ac - W_ac) * inv_tau."""

    @staticmethod
    def forward(ctx, s, weights, row_weights, outside, inv_tau):
        logits = s * inv_tau[..., None, None]
        if outside == "diag":
            logits.diagonal(dim1=-2, dim2=-1).fill_(_FILL[s.dtype])
        elif outside is not None:
            logits.masked_fill_(outside, _FILL[s.dtype])
        logits.sub_(logits.amax(dim=-1, keepdim=True))  # l - max <= 0: exp cannot overflow
        pull = _batched_dot(weights, logits)
        probs = logits.exp_()
        rows = probs.sum(dim=-1, keepdim=True)
        probs.div_(rows)
        loss = (row_weights * rows.squeeze(-1).log()).sum(dim=-1) - pull
        ctx.save_for_backward(probs, weights, row_weights, inv_tau)
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        probs, weights, row_weights, inv_tau = ctx.saved_tensors
        scale = grad * inv_tau
        g = probs * (row_weights * scale[..., None])[..., None]
        if scale.dim() == 0:
            g.sub_(weights, alpha=scale.item())
        else:
            g.sub_(weights * scale[..., None, None])
        return g, None, None, None, None


_FILL = {torch.float32: -1e30, torch.float64: -1e300, torch.float16: -6e4, torch.bfloat16: -1e30}


def _batched_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum over the last two dims of a * b, without an (M, M) temporary."""
    if a.dim() == 2 and b.dim() == 2:
        return torch.dot(a.reshape(-1), b.reshape(-1))
    shape = torch.broadcast_shapes(a.shape, b.shape)
    a2 = a.expand(shape).reshape(-1, 1, shape[-2] * shape[-1])
    b2 = b.expand(shape).reshape(-1, shape[-2] * shape[-1], 1)
    return torch.bmm(a2, b2).reshape(shape[:-2])


class _Pattern:
    """Everything fixed by (labels, views, spec, dtype, device): term weight matrices."""

    def __init__(self, spec: LossSpec, labels: torch.Tensor, views: int, dtype) -> None:
        types = pair_type_masks(labels, views)
        den = _union(types, spec.denominator)
        self.outside = _outside(spec, den)
        self.term = {}
        for term in ("sup", "self"):
            pos = _union(types, spec.positives(term))
            counts = pos.sum(dim=1)
            if bool((counts == 0).any()):
                self.term[term] = None  # an error only if the term has weight
                continue
            if spec.mean == "pairs":
                w = pos.to(dtype) / counts.sum().to(dtype)
            else:
                w = pos.to(dtype) / (counts.to(dtype)[:, None] * pos.shape[0])
            self.term[term] = w
        self._cached: tuple | None = None

    def weights(self, spec: LossSpec, alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(W, its row sums) with W = (1 - alpha) W_sup + alpha W_self, alpha of any batch
        shape; kept for the last scalar alpha (a training run reuses it every step)."""
        if alpha.dim() == 0:
            key = float(alpha)
            if self._cached is None or self._cached[0] != key:
                w = self._combine(spec, alpha)
                self._cached = (key, w, w.sum(dim=-1))
            return self._cached[1], self._cached[2]
        w = self._combine(spec, alpha)
        return w, w.sum(dim=-1)

    def _combine(self, spec: LossSpec, alpha: torch.Tensor) -> torch.Tensor:
        total = None
        for term, coef in (("sup", 1 - alpha), ("self", alpha)):
            if self.term[term] is None:
                if bool((coef != 0).any()):
                    raise ValueError(
                        f"the {term} term of {spec.name!r} has an anchor without positives "
                        "(a class with a single instance in the batch, or a single view)")
                continue
            part = self.term[term] * coef[..., None, None] if coef.dim() else (
                self.term[term] * coef)
            total = part if total is None else total + part
        return total


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
               normalize: bool = True, _pattern: _Pattern | None = None) -> torch.Tensor:
    """(1 - alpha) L_sup + alpha L_self for z of shape (..., N, p, d), labels (N,).

    Leading dims are independent configurations; ``alpha`` and ``tau`` broadcast against them
    (numbers or tensors). Returns a tensor of the leading shape (a scalar for z (N, p, d)).
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
    pattern = _pattern or _Pattern(spec, labels, views, z.dtype)
    flat = z.reshape(*batch, n * views, d)
    if normalize:
        flat = torch.nn.functional.normalize(flat, dim=-1)
    s = flat @ flat.transpose(-1, -2)
    a, t = (x.expand(batch) if x.dim() == 0 and batch else x for x in (a, t))
    weights, row_weights = pattern.weights(spec, a)
    return _WeightedSoftmaxCE.apply(s, weights, row_weights, pattern.outside, 1 / t)


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
        self._pattern: _Pattern | None = None

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if z.dim() < 3 or labels.dim() != 1 or labels.shape[0] != z.shape[-3]:
            raise ValueError("expected z of shape (N, p, d) and labels of shape (N,)")
        key = (tuple(labels.tolist()), z.shape[-2], z.dtype, str(z.device))
        if key != self._key:  # one pattern kept: training reuses it every step
            self._pattern = _Pattern(self.spec, labels.to(z.device), z.shape[-2], z.dtype)
            self._key = key
        return supcl_loss(z, labels, self.alpha, self.tau, self.spec, self.normalize,
                          _pattern=self._pattern)


def _union(types: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    out = torch.zeros_like(types[PAIR_TYPES[0]])
    for name in names:
        out = out | types[name]
    return out
