"""The contrastive loss of a real batch, built from the same :class:`LossSpec` as the derivation.

For embeddings z of shape (N, p, d) (normalised to the unit sphere when ``normalize``), with
labels (N,), every ordered pair (a, b) of the M = N p embeddings gets a pair type. Per anchor a
the log-probability of b is ``l_ab - logsumexp_{c in den(a)} l_ac`` with ``l = s / tau``; each
term is the mean of its negative over the term's positive pairs ("pairs") or per anchor, then
over anchors ("anchors"). ``L = (1 - alpha) L_sup + alpha L_self``.

Both terms together are one weighted cross-entropy, ``L = -sum_ab W_ab log p_ab`` with a
weight matrix W fixed by the labels, the spec and alpha:
``L = sum_a w_a logsumexp_{c in den(a)} l_ac - sum_ab W_ab l_ab`` (``w_a = sum_b W_ab``).
The second part is linear in the Gram matrix and comes from group sums in O(M d), with
its gradient in closed form (:mod:`~ssem_symbolic.loss`). The first has the closed-form
gradient ``w_a P_ac`` (P the masked softmax), which :class:`_WeightedLogSumExp` uses
instead of autograd through the masked softmax: on unit rows only the upper triangle of the
symmetric exponentials is computed, and the backward is one product with them.

Under ``paper`` the spec writes the denominator over the first index for a fixed second one;
as s is symmetric and the positive relations are symmetric this is the same row softmax.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch

from ._paired import cross_modal_loss
from ._pull import pull
from ..vocab import Learnable, by_type, to_groups
from ..spec import PAIR_TYPES, LossSpec, get_spec


def pair_type_masks(labels: torch.Tensor, views: int, start: int = 0,
                    rows: int | None = None, col_start: int = 0,
                    cols: int | None = None) -> dict[str, torch.Tensor]:
    """Boolean masks of each pair type for M = N * views embeddings (instance-major): rows
    start..start+rows against columns col_start..col_start+cols (all M by default), by the
    pair-type table."""
    n = labels.shape[0]
    rows = n * views - start if rows is None else rows
    cols = n * views - col_start if cols is None else cols
    inst = torch.arange(n, device=labels.device).repeat_interleave(views)
    lab = labels.repeat_interleave(views)
    blk, cblk = slice(start, start + rows), slice(col_start, col_start + cols)
    eye = torch.zeros(rows, cols, dtype=torch.bool, device=labels.device)
    _diagonal(eye, start, col_start).fill_(True)
    return by_type({"self": eye, "instance": inst[blk, None] == inst[None, cblk],
                    "class": lab[blk, None] == lab[None, cblk],
                    "batch": torch.ones_like(eye)},
                   minus=lambda group, inner: group & ~inner)


def _diagonal(block: torch.Tensor, start: int, col_start: int) -> torch.Tensor:
    """The entries (a, a) of a block of rows start.. and columns col_start.. of an (M, M)
    matrix (batched over leading dims): a view, empty where the block misses the diagonal."""
    rows, cols = block.shape[-2:]
    offset = start - col_start  # the diagonal's row i sits at column i + offset
    if offset >= cols or -offset >= rows:
        return block.new_empty(*block.shape[:-2], 0)
    return block.diagonal(offset=offset, dim1=-2, dim2=-1)


class _WeightedLogSumExp(torch.autograd.Function):
    """sum_a w_a logsumexp_{c in den(a)} l_ac with l = inv_tau x x^T for rows x (..., M, d),
    batched over leading dims. Backward from the closed form dL/dl_ac = w_a P_ac (P the
    masked softmax), then dL/dx = inv_tau (G + G^T) x; dL/dw_a = lse_a and
    dL/d inv_tau = sum_a w_a x_a . (P x)_a come from the same products.

    ``bound`` (unit rows: |l| <= inv_tau, and exp(-2 inv_tau) a normal number) makes the
    max-shift the constant inv_tau, computed inside the product by one extra column. The
    shifted exponentials E are then symmetric (the denominator mask is a union of symmetric
    pair types), G = diag(c) E with c_a = w_a inv_tau / rowsum_a, and
    (G + G^T) x = c * (E x) + E (c * x): one product of E with [x, c * x], no pass over G.
    Only the blocks of E's upper triangle are computed and kept (:func:`_upper_blocks`):
    about half the forward product, the exponentials and the memory. Otherwise each row is
    shifted by its max.

    Second derivatives (``create_graph=True``, Hessian-vector products) are exact: when the
    backward itself is recorded, it is autograd through the same masked log-sum-exp.
    """

    @staticmethod
    def forward(ctx, x, row_weights, outside, inv_tau, bound):
        ctx.bound, ctx.outside = bound, outside
        if bound:
            x3 = x.reshape(-1, *x.shape[-2:])
            blocks = list(_upper_blocks(
                x3, inv_tau, lambda e, i0, j0: _mask_block_(e, outside, i0, j0),
                SYMMETRIC_BLOCK))
            rows = _row_sums(blocks, x3).reshape(x.shape[:-1])
            lse = inv_tau[..., None] + rows.log()
            ctx.spans = [(r, c) for r, c, _ in blocks]
            ctx.save_for_backward(x, rows, row_weights, inv_tau, lse, *(e for *_, e in blocks))
            return (row_weights * lse).sum(dim=-1)
        logits = (x * inv_tau[..., None, None]) @ x.transpose(-1, -2)
        _mask_(logits, outside)
        shift = logits.amax(dim=-1, keepdim=True)
        exps = logits.sub_(shift).exp_()
        rows = exps.sum(dim=-1)
        lse = shift.squeeze(-1) + rows.log()
        ctx.save_for_backward(x, rows, row_weights, inv_tau, lse, exps)
        return (row_weights * lse).sum(dim=-1)

    @staticmethod
    def backward(ctx, grad):
        x, rows, row_weights, inv_tau, lse, *exps = ctx.saved_tensors
        need_x, need_w, _, need_t, _ = ctx.needs_input_grad
        if torch.is_grad_enabled():  # the backward is being recorded: double backward
            return _recorded_backward(grad, x, row_weights, ctx.outside, inv_tau,
                                      ctx.needs_input_grad)
        coef = (row_weights * (grad * inv_tau)[..., None] / rows)[..., None]  # (..., M, 1)
        d = x.shape[-1]
        if ctx.bound:  # E symmetric: (G + G^T) x = coef * (E x) + E (coef * x)
            y = torch.cat([x, coef * x], -1)
            blocks = [(r, c, e) for (r, c), e in zip(ctx.spans, exps)]
            both = _symmetric_product(blocks, y.reshape(-1, *y.shape[-2:])).reshape(y.shape)
            ex = both[..., :d]
            dx = coef * ex + both[..., d:]
        else:
            ex = exps[0] @ x
            dx = (coef * ex).add_(exps[0].transpose(-1, -2) @ (coef * x))
        dw = grad[..., None] * lse if need_w else None
        dt = None
        if need_t:
            dt = grad * (row_weights / rows * (x * ex).sum(-1)).sum(-1)
        return dx if need_x else None, dw, None, dt, None


#: the symmetric exponentials are held in blocks of this many rows (upper triangle only)
SYMMETRIC_BLOCK = 512


def _spans(m: int, size: int) -> list[tuple[int, int]]:
    cuts = [*range(0, m, size), m]
    return list(zip(cuts[:-1], cuts[1:]))


def _upper_blocks(x, inv_tau, mask, size: int):
    """The blocks E_ij, i <= j, of E = exp(l - inv_tau), l = inv_tau x x^T masked, for rows x
    (B, M, d) in blocks of ``size``: yields (row span, column span, E_ij (B, rows, cols)).
    E is symmetric (unit rows, a symmetric mask), so the product and the exponentials of the
    lower triangle are never computed. ``mask(block, i0, j0)`` masks a block in place. The
    shift -inv_tau enters each product as its added term (one pass, not two)."""
    scale = inv_tau.reshape(-1, 1, 1)
    left = x * scale
    spans = _spans(x.shape[-2], size)
    for i, (i0, i1) in enumerate(spans):
        for j0, j1 in spans[i:]:
            e = torch.baddbmm(-scale, left[:, i0:i1], x[:, j0:j1].transpose(-1, -2))
            mask(e, i0, j0)
            yield (i0, i1), (j0, j1), e.exp_()


def _row_sums(blocks, like: torch.Tensor) -> torch.Tensor:
    """Row sums (B, M) of the symmetric E from its upper blocks: a block's column sums are
    its mirror's row sums."""
    rows = like.new_zeros(like.shape[:-1])
    for (i0, i1), (j0, j1), e in blocks:
        rows[:, i0:i1] += e.sum(-1)
        if i0 != j0:
            rows[:, j0:j1] += e.sum(-2)
    return rows


def _symmetric_product(blocks, y: torch.Tensor) -> torch.Tensor:
    """E @ y (B, M, k) from the upper blocks of the symmetric E, accumulated in place: one
    GEMM per block and side, no temporaries."""
    out = torch.empty_like(y)
    written = set()
    for (i0, i1), (j0, j1), e in blocks:
        for rows, cols, block in (((i0, i1), (j0, j1), e),
                                  ((j0, j1), (i0, i1), e.transpose(-1, -2))):
            out[:, rows[0]:rows[1]].baddbmm_(block, y[:, cols[0]:cols[1]],
                                             beta=1 if rows in written else 0)
            written.add(rows)
            if i0 == j0:
                break
    return out


def _mask_block_(logits, outside, i0: int, j0: int) -> None:
    """:func:`_mask_` for the block of rows i0.. and columns j0.. of the (M, M) logits."""
    if outside is None:
        return
    if isinstance(outside, str):
        _diagonal(logits, i0, j0).fill_(_FILL[logits.dtype])
        return
    rows, cols = logits.shape[-2:]
    _mask_(logits, outside[..., i0:i0 + rows, j0:j0 + cols])


class _TiledWeightedLogSumExp(torch.autograd.Function):
    """The same sum_a w_a logsumexp_{c in den(a)} l_ac, block by block of ``chunk`` rows: the
    forward keeps only the per-row log-sum-exps (M numbers); the backward recomputes each
    block's logits and adds its share of dL/dx = inv_tau (G + G^T) x. On unit rows the
    blocks are (chunk, chunk) blocks of E's upper triangle (:func:`_upper_blocks`), each
    computed once per pass: memory O(chunk^2 + M d); otherwise blocks of whole rows,
    O(chunk x M). Second derivatives go through the recorded (untiled) backward."""

    @staticmethod
    def forward(ctx, x, row_weights, inv_tau, mask, chunk, bound):
        if bound:  # unit rows: the upper blocks of the symmetric E (see _WeightedLogSumExp)
            lse = _row_sums(_upper_blocks(x[None], inv_tau, mask.mask_block_, chunk),
                            x[None])[0].log_() + inv_tau
        else:
            lse = x.new_empty(x.shape[0])
            for start in range(0, x.shape[0], chunk):
                logits = (x[start:start + chunk] * inv_tau) @ x.T
                mask.mask_block_(logits, start)
                lse[start:start + chunk] = torch.logsumexp(logits, dim=-1)
        ctx.mask, ctx.chunk, ctx.bound = mask, chunk, bound
        ctx.save_for_backward(x, row_weights, inv_tau, lse)
        return (row_weights * lse).sum()

    @staticmethod
    def backward(ctx, grad):
        x, row_weights, inv_tau, lse = ctx.saved_tensors
        need_x, need_w, need_t = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled():  # double backward: through the plain formula
            outside = ctx.mask.outside_for(x.device, x.dtype)
            dx, dw, _, dt, _ = _recorded_backward(grad, x, row_weights, outside, inv_tau,
                                                  (need_x, need_w, None, need_t))
            return dx, dw, dt, None, None, None
        if ctx.bound:
            return _tiled_symmetric_backward(ctx, grad, x, row_weights, inv_tau, lse,
                                             need_x, need_w, need_t)
        dx = torch.zeros_like(x) if need_x else None
        dt = x.new_zeros(()) if need_t else None
        for start in range(0, x.shape[0], ctx.chunk):
            rows = slice(start, start + ctx.chunk)
            prob = (x[rows] * inv_tau) @ x.T  # the block's logits, then in place its softmax
            if need_t:
                sims = prob / inv_tau
            ctx.mask.mask_block_(prob, start)
            prob.sub_(lse[rows, None]).exp_()  # masked entries: exactly 0
            coef = grad * row_weights[rows]
            if need_x:  # G = diag(c) P for these rows: dx += G x (rows), G^T x_rows (all)
                c = (coef * inv_tau)[:, None]
                dx[rows] += c * (prob @ x)
                dx.addmm_(prob.T, c * x[rows])
            if need_t:
                dt = dt + (coef * (prob * sims).sum(-1)).sum()
        return dx, grad * lse if need_w else None, dt, None, None, None


def _tiled_symmetric_backward(ctx, grad, x, row_weights, inv_tau, lse, need_x, need_w,
                              need_t):
    """Unit rows: E = exp(l - inv_tau) is symmetric, so with c_a = coef_a inv_tau / rowsum_a
    (rowsum_a = e^{lse_a - inv_tau}) (G + G^T) x = c * (E x) + E (c * x) = E @ [x, c * x],
    from E's upper blocks recomputed one at a time (memory O(chunk^2))."""
    coef = grad * row_weights
    scale = coef * inv_tau * torch.exp(inv_tau - lse)
    both = torch.cat([x, scale[:, None] * x], -1)
    d = x.shape[-1]
    out = _symmetric_product(_upper_blocks(x[None], inv_tau, ctx.mask.mask_block_,
                                           ctx.chunk), both[None])[0]
    dx = scale[:, None] * out[:, :d] + out[:, d:] if need_x else None
    # sum_a coef_a sum_b P_ab s_ab, with P x = E x / rowsum
    dt = (scale / inv_tau * (x * out[:, :d]).sum(-1)).sum() if need_t else None
    return dx, grad * lse if need_w else None, dt, None, None, None


#: above this many rows (N p) SupCLLoss tiles by default, in blocks of AUTO_CHUNK rows
AUTO_TILE_ROWS, AUTO_CHUNK = 8192, 1024


def _mask_(logits: torch.Tensor, outside) -> None:
    """Apply a denominator's complement to logits in place: None (nothing), "diag", a
    boolean mask (filled), or a float matrix added (log pair weights, fill outside)."""
    if isinstance(outside, str):
        logits.diagonal(dim1=-2, dim2=-1).fill_(_FILL[logits.dtype])
    elif outside is not None and outside.dtype == torch.bool:
        logits.masked_fill_(outside, _FILL[logits.dtype])
    elif outside is not None:
        logits.add_(outside)


def _recorded_backward(grad, x, row_weights, outside, inv_tau, needs):
    """The backward as autograd through the plain masked log-sum-exp, so that it can itself be
    differentiated (exact Hessian-vector products)."""
    logits = inv_tau[..., None, None] * (x @ x.transpose(-1, -2))
    if isinstance(outside, str):
        eye = torch.eye(x.shape[-2], dtype=torch.bool, device=x.device)
        logits = logits.masked_fill(eye, _FILL[x.dtype])
    elif outside is not None and outside.dtype == torch.bool:
        logits = logits.masked_fill(outside, _FILL[x.dtype])
    elif outside is not None:
        logits = logits + outside
    value = (row_weights * torch.logsumexp(logits, -1)).sum(-1)
    inputs = [t for t, need in zip((x, row_weights, inv_tau), (needs[0], needs[1], needs[3]))
              if need]
    grads = iter(torch.autograd.grad(value, inputs, grad, create_graph=True))
    return (next(grads) if needs[0] else None, next(grads) if needs[1] else None, None,
            next(grads) if needs[3] else None, None)


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
        if spec.levels:  # one pattern reads one level: level_loss builds one per term
            raise ValueError(f"loss spec {spec.name!r} sums its supervised term over label "
                             "levels: pass superclasses= (the superclass of each instance)")
        if spec.contrast == "cross-modal":  # read on the image-text matrix instead
            raise ValueError(f"loss spec {spec.name!r} contrasts across modalities: its loss "
                             "is cross_modal_loss (features (N, 2, d))")
        labels = _labels(labels)
        self.spec_key, self.labels, self.dtype = spec.key(), labels.clone(), dtype
        m = labels.shape[0] * views
        self.classes, self.cls, sizes = torch.unique(labels, return_inverse=True,
                                                     return_counts=True)
        self.sizes = sizes
        self.n, self.views, self.n_classes = labels.shape[0], views, int(self.cls.max()) + 1
        # one mask per distinct denominator (a spec with a denominator per term has two)
        layout = _spec_layout(spec)
        self.masks = [_DenominatorMask(den, self.cls, views, logw)
                      for den, logw in layout.denominators]
        self.term_denominator = layout.term_denominator
        self.weights, self.bias = layout.weights, layout.bias  # floats, read once
        self.logit_factors, self.hard_negatives = layout.logit_factors, layout.hard_negatives
        # partners of each type per anchor, O(M): group sizes (itself, its instance, its
        # class, the batch) differenced by the pair-type table's rule; no (M, M) mask
        in_class = (sizes[self.cls] * views).repeat_interleave(views).to(dtype)
        per_type = by_type({"self": torch.ones_like(in_class),
                            "instance": torch.full_like(in_class, views),
                            "class": in_class, "batch": torch.full_like(in_class, m)})
        self.term = {}
        for term in ("sup", "self"):
            # pi_t: the spec's pair weights among the term's positives (1 by default)
            pos = layout.positives[term]
            counts = sum(pi * per_type[t] for t, pi in pos)
            # an anchor without a positive in this term adds nothing; the spec's rule says
            # whether it still counts in the mean over anchors ("zero", as SupContrast) or is
            # dropped from it ("drop", as pytorch-metric-learning); a batch with none adds 0
            valid = counts > 0
            if not bool(valid.any()):
                self.term[term] = None
                continue
            anchors = int(valid.sum()) if spec.no_positive == "drop" else counts.shape[0]
            u = (torch.full_like(counts, 1 / float(counts.sum())) if spec.mean == "pairs"
                 else torch.where(valid, 1 / (counts.clamp(min=1) * anchors),
                                  torch.zeros_like(counts)))
            self.term[term] = (u, u * counts, pos)

    def check(self, spec: LossSpec, labels: torch.Tensor, views: int) -> None:
        """ValueError unless this pattern was built for these labels, views and spec."""
        if self.spec_key != spec.key():
            raise ValueError("pattern was built for another loss convention")
        if self.views != views:
            raise ValueError(f"pattern was built for {self.views} views, z has {views}")
        if (self.labels.shape != labels.shape
                or not torch.equal(self.labels, labels.to(self.labels.device))):
            raise ValueError("pattern was built for other labels; build a LabelPattern for "
                             "these labels (or pass none)")

    def parts(self, alpha: torch.Tensor):
        """[(coefficient, u, row weights u * counts, positive types, denominator index)] of
        the weighted terms."""
        out = []
        for i, term in enumerate(("sup", "self")):
            a0, a1 = self.weights[i]
            coef = a0 + a1 * alpha  # the term weight, 1 - alpha and alpha by default
            if self.term[term] is None:  # no positive in the batch: the term adds 0
                continue
            out.append((coef, *self.term[term], self.term_denominator[term]))
        return out


class _Layout(NamedTuple):
    denominators: tuple  #: (pair types, {type: log omega_t other than 0}) per denominator
    term_denominator: dict  #: term -> index of its denominator
    positives: dict  #: term -> ((type, pi_t), ...)
    weights: tuple  #: ((a0, a1) sup, (a0, a1) self) as floats
    bias: float  #: the sigmoid form's bias as a float (0 for the softmax form)
    logit_factors: dict  #: pair type -> tau / tau_t, where a temperature per type is given
    hard_negatives: float  #: beta of the hard-negative weighting (0: none)


@functools.lru_cache(maxsize=64)
def _spec_layout(spec: LossSpec) -> _Layout:
    """What a label pattern needs from the spec, read once per spec (not per batch: with new
    labels every step the pattern is rebuilt every step)."""
    dens = spec.denominators()
    index = {den: j for j, (den, _) in enumerate(dens)}
    return _Layout(
        tuple((tuple(den), {t: math.log(float(w)) for t, w in den.omega.items() if w != 1})
              for den, _ in dens),
        {t: index[spec.denominator_for(t)] for t in ("sup", "self")},
        {t: tuple((x, float(spec.pair_weight(t, x))) for x in spec.positives(t))
         for t in ("sup", "self")},
        tuple((float(a0), float(a1)) for a0, a1 in spec.weights),
        float(spec.bias),  # 0 in the softmax form (the spec refuses another)
        {t: float(spec.logit_factor(t)) for t, _ in spec.temperatures},
        float(spec.hard_negatives))


def _outside(denominator: tuple[str, ...]):
    """The denominator's complement: None (every pair) or "diag" (all but self), needing no
    mask, as for every preset; otherwise "mask", built from the labels where needed. Positives
    outside the denominator (a decoupled loss) need nothing here: their pull is linear in the
    Gram matrix, summed from group sums."""
    if set(denominator) == set(PAIR_TYPES):
        return None
    if set(denominator) == set(PAIR_TYPES) - {"self"}:
        return "diag"
    return "mask"  # built per block (_DenominatorMask.mask_block_), or whole when untiled


class _DenominatorMask:
    """The pairs outside one denominator, for a batch's labels (class ids 0..) and views, and
    the log weights of its pair types where the spec weights them (``log_weights``: type ->
    log omega_t, only those other than 0)."""

    def __init__(self, denominator: tuple[str, ...], cls: torch.Tensor, views: int,
                 log_weights: dict | None = None) -> None:
        self.denominator, self.outside = denominator, _outside(denominator)
        self.log_weights = log_weights or {}
        if self.log_weights:
            self.outside = "bias"
        self.cls, self.views = cls, views

    def mask_block_(self, logits: torch.Tensor, start: int, col_start: int = 0) -> None:
        """Fill the entries of a block of the logits (rows start.., columns col_start..; all
        columns by default) outside the denominator (in place), and add the log pair
        weights; a block needs memory of its own size, never the whole (M, M) mask."""
        fill = _FILL[logits.dtype]
        rows, cols = logits.shape[-2:]
        if self.outside is None:
            return
        if self.outside == "diag":
            _diagonal(logits, start, col_start).fill_(fill)
            return
        if self.outside == "bias":
            logits.add_(self.bias_block(start, rows, logits.device, logits.dtype, col_start,
                                        cols))
            return
        logits.masked_fill_(self.outside_block(start, rows, logits.device, col_start, cols),
                            fill)

    def outside_for(self, device, dtype=torch.float32):
        """The untiled complement of the denominator: None, "diag", the whole (M, M) mask, or
        the whole (M, M) matrix of log pair weights (``dtype``; the fill outside)."""
        rows = self.cls.shape[0] * self.views
        if self.outside == "mask":
            return self.outside_block(0, rows, device)
        if self.outside == "bias":
            return self.bias_block(0, rows, device, dtype)
        return self.outside

    def outside_block(self, start: int, rows: int, device, col_start: int = 0,
                      cols: int | None = None) -> torch.Tensor:
        """(rows, cols) mask of the pairs outside the denominator, for rows start.. and
        columns col_start.. (all M by default)."""
        types = pair_type_masks(self.cls.to(device), self.views, start, rows, col_start, cols)
        return ~_union(types, self.denominator)

    def bias_block(self, start: int, rows: int, device, dtype, col_start: int = 0,
                   cols: int | None = None) -> torch.Tensor:
        """(rows, cols): log omega_t on the pairs of each type t in the denominator, the fill
        outside it."""
        types = pair_type_masks(self.cls.to(device), self.views, start, rows, col_start, cols)
        out = torch.full(types["self"].shape, _FILL[dtype], dtype=dtype, device=device)
        for t in self.denominator:
            out.masked_fill_(types[t], self.log_weights.get(t, 0.0))
        return out


@torch.compiler.disable
def _prepare(z, labels, alpha, tau, convention, normalize, pattern, chunk_size):
    """Everything of :func:`supcl_loss` that reads the spec, checks its inputs or builds the
    label pattern, kept out of ``torch.compile``'s traced region (SymPy, data-dependent
    checks): (spec, pattern, alpha, tau, chunk_size, bound), ``bound`` whether unit rows keep
    exp(l - 1/tau) a normal number (2/tau < 0.9 |log tiny|: tau > 0.025 in float32, 0.0032
    in float64)."""
    spec = get_spec(convention)
    labels = _labels(labels)
    if not isinstance(z, torch.Tensor) or not z.is_floating_point():
        raise ValueError("z must be a floating-point tensor of shape (..., N, p, d)")
    if z.dim() < 3 or labels.shape[0] != z.shape[-3]:
        raise ValueError(f"expected z of shape (..., N, p, d) and labels of shape (N,), got "
                         f"z {tuple(z.shape)} and labels {tuple(labels.shape)}")
    batch, (n, views, d) = z.shape[:-3], z.shape[-3:]
    if n == 0 or views == 0 or d == 0:
        raise ValueError(f"empty batch: z has shape {tuple(z.shape)}")
    spec.check_views(views)
    a = _config_tensor(alpha, "alpha", z, batch)
    t = _config_tensor(tau, "tau", z, batch)
    if bool(((a < 0) | (a > 1) | torch.isnan(a)).any()):
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    big = torch.finfo(z.dtype).max / 4  # logits s/tau must stay finite, with room (a bias is
    # at most 1000 in magnitude: spec.MAX_BIAS)
    if bool(((t <= 0) | ~torch.isfinite(t) | (1 / t > big)).any()):  # one synchronisation
        if bool(((t <= 0) | ~torch.isfinite(t)).any()):
            raise ValueError(f"tau must be a finite number > 0, got {tau}")
        raise ValueError(f"tau = {tau} is out of range for {z.dtype} features: 1/tau "
                         "overflows; use a larger tau"
                         + ("" if z.dtype == torch.float64 else " or float64 features"))
    if pattern is None:
        pattern = LabelPattern(spec, labels, views, z.dtype)
    else:
        pattern.check(spec, labels, views)
    a, t = (x.expand(batch) if x.dim() == 0 and batch else x for x in (a, t))
    dense = bool(spec.temperatures or spec.hard_negatives)  # the fused kernels take neither
    if dense and chunk_size is not None:
        raise ValueError(f"loss {spec.name!r} has a temperature per pair type or hard "
                         "negatives: tiled mode (chunk_size) takes neither")
    if chunk_size is None and not batch and n * views > AUTO_TILE_ROWS and not dense:
        chunk_size = AUTO_CHUNK
    if chunk_size is not None:
        if batch:
            raise ValueError("tiled mode (chunk_size) takes one configuration: z of shape "
                             "(N, p, d)")
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    bound = normalize and bool((2 / t < 0.9 * -math.log(torch.finfo(z.dtype).tiny)).all())
    return spec, pattern, a, t, chunk_size, bound


def supcl_loss(z: torch.Tensor, labels: torch.Tensor, alpha, tau,
               convention: str | LossSpec = "paper", normalize: bool = True,
               pattern: LabelPattern | None = None, chunk_size: int | None = None, *,
               observe=None, superclasses: torch.Tensor | None = None) -> torch.Tensor:
    """(1 - alpha) L_sup + alpha L_self for z of shape (..., N, p, d), labels (N,).

    Leading dims are independent configurations; ``alpha`` and ``tau`` broadcast against them
    (numbers or tensors). Returns a tensor of the leading shape (a scalar for z (N, p, d)).
    ``pattern``: a :class:`LabelPattern` for these labels, to skip rebuilding it each step.
    ``chunk_size``: compute the loss and its exact gradient in blocks of that many rows, in
    O(chunk x M) memory (one configuration); by default above :data:`AUTO_TILE_ROWS` rows.

    Half-precision features (float16, bfloat16, as under ``torch.autocast``) are upcast: the
    logits, their log-sum-exps and the result are float32, with autocast off inside.

    ``observe`` (optional): called once with the detached unit rows (..., N p, d), instance-major,
    right after they are normalised (with ``normalize`` only), while they are in cache.

    A spec with label ``levels`` takes ``superclasses`` (N,), the superclass of each instance:
    W_sup sum_l lambda_l L_sup(labels of level l) + W_self L_self (:func:`level_loss`).
    """
    if superclasses is None and get_spec(convention).contrast == "cross-modal":
        return cross_modal_loss(z, labels, alpha, tau, get_spec(convention), normalize)
    if superclasses is not None:
        return level_loss(z, labels, superclasses, alpha, tau, convention, normalize,
                          chunk_size, observe=observe)
    if isinstance(z, torch.Tensor) and z.dtype in (torch.float16, torch.bfloat16):
        with torch.autocast(device_type=z.device.type, enabled=False):
            return supcl_loss(z.float(), labels, alpha, tau, convention, normalize, pattern,
                              chunk_size, observe=observe)
    spec, pattern, a, t, chunk_size, bound = _prepare(z, labels, alpha, tau, convention,
                                                      normalize, pattern, chunk_size)
    flat = z.reshape(*z.shape[:-3], z.shape[-3] * z.shape[-2], z.shape[-1])
    if normalize:  # no eps floor: a row of norm 1e-20 is scaled to unit length too
        norms = torch.linalg.vector_norm(flat, dim=-1, keepdim=True)
        flat = flat / norms.clamp_min(torch.finfo(flat.dtype).tiny)
        if observe is not None:
            observe(flat.detach())
    out = FORWARD[spec.form](flat, pattern, spec, a, t, chunk_size, bound)
    return out if spec.scale == 1 else out * _scale_of(spec)(t)


def level_loss(z: torch.Tensor, labels: torch.Tensor, superclasses: torch.Tensor | None,
               alpha, tau, convention: str | LossSpec, normalize: bool = True,
               chunk_size: int | None = None, *, observe=None) -> torch.Tensor:
    """A loss summed over label levels: W_sup(alpha) sum_l lambda_l L_sup read with the labels
    of level l (``labels`` for the classes, ``superclasses`` (N,) for the superclasses, each
    one class there) + W_self(alpha) L_self, each term computed by :func:`supcl_loss` on its
    own (its mean is its own: the terms are independent sums). ``alpha`` is a number; every
    class must lie in one superclass."""
    spec = get_spec(convention)
    if not spec.levels:
        raise ValueError(f"superclasses= goes with a spec that has label levels; "
                         f"{spec.name!r} has one level")
    if superclasses is None or labels is None:
        raise ValueError(f"loss spec {spec.name!r} sums its supervised term over label levels: "
                         "pass labels and superclasses= (the superclass of each instance)")
    if isinstance(alpha, torch.Tensor) and alpha.numel() > 1:
        raise ValueError("a loss over label levels takes one alpha (a number)")
    coarse = torch.as_tensor(superclasses, device=labels.device).reshape(-1)
    if coarse.shape != labels.reshape(-1).shape:
        raise ValueError(f"superclasses must give one superclass per instance: "
                         f"{tuple(coarse.shape)} against labels {tuple(labels.shape)}")
    owner: dict = {}
    for cls_, sup in zip(labels.reshape(-1).tolist(), coarse.tolist()):
        if owner.setdefault(cls_, sup) != sup:
            raise ValueError(f"class {cls_} lies in two superclasses ({owner[cls_]} and {sup})")
    weights = _term_weights(spec, float(alpha))

    def loss(one: LossSpec, level_labels, a, observe_=None) -> torch.Tensor:
        return supcl_loss(z, level_labels, a, tau, one, normalize,
                          pattern=_level_pattern(one, level_labels, z), chunk_size=chunk_size,
                          observe=observe_)
    fine = _class_level(spec)  # both terms at the class labels: one pass
    if fine is not None:
        out = loss(fine, labels, alpha, observe)
    else:  # lambda_class 0: the self-supervised term alone at the class labels
        out = weights["self"] * loss(_one_term(spec, "self"), labels, 0.0, observe) \
            if weights["self"] else 0.0
    lam = float(spec.level_weight("superclass"))
    if lam and weights["sup"]:
        out = out + lam * weights["sup"] * loss(_one_term(spec, "sup"), coarse, 0.0)
    return out


#: the label patterns of the level terms, kept while their labels repeat (training reuses
#: them every step); at most this many
_LEVEL_PATTERNS = 16
_level_patterns: dict = {}


def _level_pattern(spec: LossSpec, labels: torch.Tensor, z: torch.Tensor) -> LabelPattern:
    """The :class:`LabelPattern` of one level term, cached by its spec and labels."""
    dtype = torch.float32 if z.dtype in (torch.float16, torch.bfloat16) else z.dtype
    key = (spec.key(), tuple(labels.reshape(-1).tolist()), z.shape[-2], dtype, str(z.device))
    if key not in _level_patterns:
        if len(_level_patterns) >= _LEVEL_PATTERNS:
            _level_patterns.pop(next(iter(_level_patterns)))
        _level_patterns[key] = LabelPattern(spec, labels.to(z.device), z.shape[-2], dtype)
    return _level_patterns[key]


def _term_weights(spec: LossSpec, alpha: float) -> dict:
    from ..spec import alpha as alpha_symbol
    from ..vocab import exact

    return {term: float(spec.weight(term).subs(alpha_symbol, exact(alpha)))
            for term in ("sup", "self")}


@functools.lru_cache(maxsize=64)
def _class_level(spec: LossSpec) -> LossSpec | None:
    """``spec`` read at the class labels with one level: its supervised weight times
    lambda_class, its self-supervised weight as it is (None where lambda_class is 0)."""
    import dataclasses

    lam = spec.level_weight("class")
    if lam == 0:
        return None
    (a0, a1), self_weight = spec.weights
    return dataclasses.replace(spec, levels=(), weights=((lam * a0, lam * a1), self_weight),
                               name=f"{spec.name}.class")


@functools.lru_cache(maxsize=64)
def _one_term(spec: LossSpec, term: str) -> LossSpec:
    """``spec`` with one level and only ``term``, of weight 1."""
    import dataclasses

    weights = ((1, 0), (0, 0)) if term == "sup" else ((0, 0), (1, 0))
    return dataclasses.replace(spec, levels=(), weights=weights, name=f"{spec.name}.{term}")


@functools.lru_cache(maxsize=64)
def _scale_of(spec: LossSpec):
    """The spec's loss scale as a function of tau (numbers or tensors): its expression in
    tau, the parameters substituted, holds only + - * / and powers."""
    import sympy as sp

    from ..spec import tau as tau_symbol

    return sp.lambdify(tau_symbol, spec.scale_in_tau(), modules=[{}])


def _softmax_loss(flat: torch.Tensor, pattern: LabelPattern, spec: LossSpec, a: torch.Tensor,
                  t: torch.Tensor, chunk_size: int | None, bound) -> torch.Tensor:
    """The softmax form: one weighted log-sum-exp per denominator (tiled in ``chunk_size``
    rows, or dense with its symmetric forward), minus the linear pull over the positives."""
    parts = pattern.parts(a)
    lse = 0
    hard, stretched = pattern.hard_negatives, pattern.logit_factors  # floats, read once
    for coef, _, rows, positives, j in (parts if hard else ()):
        # hard negatives: each term's denominator has its own negatives (its non-positives)
        lse = lse + _hard_log_sum_exp(flat, _times(coef, rows), pattern.masks[j].denominator,
                                      [name for name, _ in positives], pattern, t)
    for j, mask in enumerate(() if hard else pattern.masks):
        used = [(coef, rows) for coef, _, rows, _, den in parts if den == j]
        if not used:
            continue
        row_weights = sum(_times(coef, rows) for coef, rows in used)
        if stretched:
            lse = lse + _stretched_log_sum_exp(flat, row_weights, mask, pattern, t)
        elif chunk_size is not None:
            lse = lse + _TiledWeightedLogSumExp.apply(flat, row_weights, 1 / t, mask,
                                                      int(chunk_size), bound)
        else:
            lse = lse + _WeightedLogSumExp.apply(
                flat, row_weights, mask.outside_for(flat.device, flat.dtype), 1 / t, bound)
    per_type: dict = {}  # the pull's anchor weights per pair type, both terms together
    for coef, u, _, positives, _ in parts:
        for name, pi in positives:  # a pair type's logits carry its tau / tau_t
            w = _times(coef * pi * stretched.get(name, 1.0), u)
            per_type[name] = per_type[name] + w if name in per_type else w
    if not per_type:  # no anchor has a positive: zero, on the graph (as PML's zero loss)
        return lse if isinstance(lse, torch.Tensor) else (flat * 0).sum((-1, -2))
    return lse - pull(flat, to_groups(per_type), pattern.cls, pattern.n_classes, pattern.views) / t


def _sigmoid_loss(flat: torch.Tensor, pattern: LabelPattern, spec: LossSpec,
                  alpha: torch.Tensor, tau: torch.Tensor, chunk: int | None,
                  bound=None) -> torch.Tensor:
    """The pairwise sigmoid form (:mod:`~ssem_symbolic.forms`): each pair (a, b) of the
    types the spec sees gets softplus(-y (s_ab/tau + bias)), y = +1 for the term's positives
    and -1 for the rest; a term sums over partners and takes the mean over anchors
    ("anchors") or the mean over all its pairs ("pairs"). One configuration:
    :class:`_TiledSigmoid` (``chunk`` rows at a time, :data:`AUTO_CHUNK` by default: faster
    than one block of all rows, whose per-pair temporaries outgrow the caches); configurations
    batched along leading dims: autograd through :func:`_sigmoid_sums`."""
    cls = pattern.cls.to(flat.device)
    norm = _sigmoid_norms(spec, cls, pattern.views)
    if chunk is None and flat.dim() == 2:  # one configuration: blocks of AUTO_CHUNK rows
        chunk = min(flat.shape[0], AUTO_CHUNK)
    if chunk is not None:
        sums = _TiledSigmoid.apply(flat, 1 / tau, spec, cls, pattern.views, norm, int(chunk))
    else:  # configurations batched along leading dims
        inv = (1 / tau)[..., None, None] if tau.dim() else 1 / tau
        sums = _sigmoid_sums(flat, inv, spec, cls, pattern.views, norm)
    total = 0
    for i in range(2):
        a0, a1 = pattern.weights[i]
        total = total + (a0 + a1 * alpha) * sums[..., i]
    return total


#: the forward pass per loss form (a new form adds its entry here)
FORWARD = {"softmax": _softmax_loss, "sigmoid": _sigmoid_loss}


def _hard_log_sum_exp(flat: torch.Tensor, row_weights: torch.Tensor, den: tuple, pos: list,
                      pattern: LabelPattern, t: torch.Tensor) -> torch.Tensor:
    """sum_a w_a log D_a with hard negatives (Robinson et al. 2021, as their code computes it):
    D_a = sum over the denominator's positives of e^{l_ab} + Q_a sum_n e^{(1 + beta) l_an} /
    sum_n e^{beta l_an}, l = s / tau, n over the anchor's negatives (the denominator's other
    pairs, Q_a of them): the importance weights e^{beta l_an}, normalised to mean 1, on
    e^{l_an}. Dense, by torch's log-sum-exp and autograd."""
    types = pair_type_masks(pattern.cls.to(flat.device), pattern.views)
    none = torch.zeros_like(types["self"])
    inside = sum((types[x] for x in den if x in pos), none).bool()
    neg = sum((types[x] for x in den if x not in pos), none).bool()
    beta = pattern.hard_negatives
    inv = (1 / t)[..., None, None] if isinstance(t, torch.Tensor) and t.dim() else 1 / t
    logits = (flat @ flat.transpose(-1, -2)) * inv
    fill = _FILL[flat.dtype]
    parts = []
    if inside.any():
        parts.append(torch.logsumexp(logits.masked_fill(~inside, fill), dim=-1))
    if neg.any():
        count = neg.sum(-1).to(flat.dtype)
        parts.append(count.clamp_min(1).log()
                     + torch.logsumexp(((1 + beta) * logits).masked_fill(~neg, fill), dim=-1)
                     - torch.logsumexp((beta * logits).masked_fill(~neg, fill), dim=-1))
    log_d = parts[0] if len(parts) == 1 else torch.logaddexp(*parts)
    return (row_weights * log_d).sum(-1)


def _stretched_log_sum_exp(flat: torch.Tensor, row_weights: torch.Tensor, mask,
                           pattern: LabelPattern, t: torch.Tensor) -> torch.Tensor:
    """sum_a w_a logsumexp_{c in den(a)} (log omega_ac + s_ac / tau_ac), with tau_ac = tau x
    the ratio ``temperatures`` give the pair's type: the dense logits scaled per pair type,
    then torch's masked log-sum-exp and autograd (the fused kernels take one temperature)."""
    types = pair_type_masks(pattern.cls.to(flat.device), pattern.views)
    factor = torch.ones(types["self"].shape, dtype=flat.dtype, device=flat.device)
    for name, value in pattern.logit_factors.items():
        factor = factor.masked_fill(types[name], value)
    inv = (1 / t)[..., None, None] if isinstance(t, torch.Tensor) and t.dim() else 1 / t
    logits = (flat @ flat.transpose(-1, -2)) * factor * inv
    outside = mask.outside_for(flat.device, flat.dtype)
    if isinstance(outside, str):  # "diag": every pair but the anchor itself
        logits = logits.masked_fill(types["self"], _FILL[flat.dtype])
    elif isinstance(outside, torch.Tensor) and outside.dtype == torch.bool:
        logits = logits.masked_fill(outside, _FILL[flat.dtype])
    elif isinstance(outside, torch.Tensor):  # log pair weights, the fill outside
        logits = logits + outside
    return (row_weights * torch.logsumexp(logits, dim=-1)).sum(-1)


def _sigmoid_norms(spec: LossSpec, cls: torch.Tensor, views: int) -> float:
    """1/M ("anchors": a sum over partners, averaged over the M anchors) or 1/(the pairs the
    spec sees in the batch) ("pairs"), from the class sizes in O(M)."""
    sizes = torch.bincount(cls).to(torch.float64) * views  # embeddings per class
    M = float(sizes.sum())
    if spec.mean == "anchors":
        return 1 / M
    per_class = {"self": sizes, "view": sizes * (views - 1), "class": sizes * (sizes - views),
                 "other": sizes * (M - sizes)}
    seen = float(sum(per_class[t].sum() for t in spec.denominator))
    return 1 / seen if seen else 0.0


def _sigmoid_block(x_rows, x, inv_tau, bias: float, types, spec: LossSpec):
    """Per term, the (rows, M) softplus(-y (s inv_tau + b)) over the pairs the spec sees (0
    elsewhere), and the matching -y sigma(-y (s inv_tau + b)) (its derivative in the logit)."""
    logits = (x_rows @ x.transpose(-1, -2)) * inv_tau + bias
    den = _union(types, spec.denominator)
    out = []
    for term in ("sup", "self"):
        y = torch.where(_union(types, spec.positives(term)), 1.0, -1.0).to(logits.dtype)
        margin = -y * logits
        value = torch.where(den, torch.nn.functional.softplus(margin), 0.0)
        slope = torch.where(den, -y * torch.sigmoid(margin), 0.0)
        out.append((value, slope))
    return logits, out


#: the sigmoid form's pair types by index: other 0, class 1, view 2, self 3
_SIGMOID_TYPES = ("other", "class", "view", "self")


def _type_index(inst: torch.Tensor, cls: torch.Tensor, start: int, rows: int) -> torch.Tensor:
    """(rows, M) pair-type index (:data:`_SIGMOID_TYPES`) of rows start.. against all M
    embeddings, from their instance and class ids: same class + same instance, self on the
    diagonal."""
    blk = slice(start, start + rows)
    idx = (cls[blk, None] == cls[None, :]).to(torch.uint8)
    idx += inst[blk, None] == inst[None, :]
    idx[:, start:start + rows].diagonal().fill_(3)
    return idx


def _sigmoid_tables(spec: LossSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Per term (rows) and pair type (columns, :data:`_SIGMOID_TYPES`): whether the spec sees
    the type, and whether it is a negative there. softplus(-y l) = softplus(-l) + [y = -1] l,
    so a term's sum is sum_t seen_t (P_t + neg_t Q_t) with P_t, Q_t the sums of softplus(-l)
    and of l over the pairs of type t."""
    seen = torch.tensor([[float(t in spec.denominator) for t in _SIGMOID_TYPES]] * 2,
                        dtype=torch.float64)
    neg = torch.tensor([[float(t in spec.denominator and t not in spec.positives(term))
                         for t in _SIGMOID_TYPES] for term in ("sup", "self")],
                       dtype=torch.float64)
    return seen, neg


class _TiledSigmoid(torch.autograd.Function):
    """The sigmoid form's two term sums (each times its norm), block by block of ``chunk``
    rows (chunk = M: untiled, one block). Per block the logits l, their pair-type index and
    the per-type sums of softplus(-l) and of l (:func:`_sigmoid_tables`); the forward keeps
    two numbers. The backward recomputes each block: dL/dl = -A_t sigma(-l) + B_t per pair
    type t, then dL/dx = inv_tau (G + G^T) x. Memory O(chunk x M). Second derivatives go
    through the untiled autograd sums (:func:`_sigmoid_sums`)."""

    @staticmethod
    def forward(ctx, x, inv_tau, spec, cls, views, norm, chunk):
        M = x.shape[0]
        inst = torch.arange(M // views, device=x.device).repeat_interleave(views)
        lab = cls.repeat_interleave(views)
        seen, neg = (t.to(x.device) for t in _sigmoid_tables(spec))
        P = torch.zeros(4, dtype=torch.float64, device=x.device)
        Q = torch.zeros_like(P)
        bias = float(spec.bias)
        for start in range(0, M, chunk):
            rows = min(chunk, M - start)
            idx = _type_index(inst, lab, start, rows).reshape(-1).long()
            logits = (x[start:start + rows] @ x.T).mul_(inv_tau).add_(bias)
            Q += torch.bincount(idx, weights=logits.reshape(-1), minlength=4).double()
            P += torch.bincount(idx, weights=torch.nn.functional.softplus(-logits)
                                .reshape(-1), minlength=4).double()
        sums = (seen * P + neg * Q).sum(1) * norm
        ctx.spec, ctx.views, ctx.norm, ctx.chunk = spec, views, norm, chunk
        ctx.save_for_backward(x, inv_tau, cls)
        return sums.to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, inv_tau, cls = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        spec, views = ctx.spec, ctx.views
        if torch.is_grad_enabled():  # double backward: through the untiled sums
            with torch.enable_grad():
                sums = _sigmoid_sums(x, inv_tau, spec, cls, views, ctx.norm)
                inputs = [t for t, need in ((x, need_x), (inv_tau, need_t)) if need]
                grads = iter(torch.autograd.grad(sums, inputs, grad, create_graph=True))
            return (next(grads) if need_x else None, next(grads) if need_t else None,
                    None, None, None, None, None)
        M = x.shape[0]
        inst = torch.arange(M // views, device=x.device).repeat_interleave(views)
        lab = cls.repeat_interleave(views)
        seen, neg = (t.to(x.device, x.dtype) for t in _sigmoid_tables(spec))
        g = (grad * ctx.norm).to(x.dtype)
        A, B = g @ seen, g @ neg  # per type: dL/dl = -A sigma(-l) + B
        bias = float(spec.bias)
        dx = torch.zeros_like(x) if need_x else None
        dt = x.new_zeros(()) if need_t else None
        for start in range(0, M, ctx.chunk):
            rows = min(ctx.chunk, M - start)
            idx = _type_index(inst, lab, start, rows).long()
            sims = x[start:start + rows] @ x.T
            G = torch.sigmoid(-(sims * inv_tau + bias)).mul_(-A[idx]).add_(B[idx])
            if need_x:
                dx[start:start + rows] += inv_tau * (G @ x)
                dx.addmm_(G.T, x[start:start + rows], alpha=float(inv_tau))
            if need_t:  # l = s inv_tau + b
                dt = dt + (G * sims).sum()
        return dx, dt, None, None, None, None, None


def _sigmoid_sums(x, inv_tau, spec, cls, views, norm):
    """The two term sums of the sigmoid form, untiled (autograd throughout)."""
    types = pair_type_masks(cls, views)
    _, parts = _sigmoid_block(x, x, inv_tau, float(spec.bias), types, spec)
    return torch.stack([v.sum((-1, -2)) for v, _ in parts], -1) * norm


def _labels(labels) -> torch.Tensor:
    """Labels as a 1-d integer tensor (lists and arrays accepted), or ValueError."""
    if not isinstance(labels, torch.Tensor):
        try:
            labels = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError("labels must be a 1-d sequence of integer class ids") from None
    if labels.dim() != 1 or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"labels must be a 1-d integer tensor, got {labels.dtype} of shape "
                         f"{tuple(labels.shape)}")
    if labels.numel() == 0:
        raise ValueError("empty batch: no labels")
    if labels.device.type == "meta":
        raise ValueError("labels are on the meta device: they hold no values")
    return labels


def _config_tensor(value, name: str, z: torch.Tensor, batch: torch.Size) -> torch.Tensor:
    """alpha or tau as a tensor that broadcasts to the configurations' shape ``batch``."""
    t = torch.as_tensor(value, dtype=z.dtype, device=z.device)
    try:
        shape = torch.broadcast_shapes(t.shape, batch)
    except RuntimeError:
        shape = None
    if shape != batch:
        raise ValueError(f"{name} of shape {tuple(t.shape)} does not broadcast to the "
                         f"configurations' shape {tuple(batch)} (z's leading dims)")
    return t


def _times(coef: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    return coef[..., None] * rows if coef.dim() else coef * rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class SupCLLoss(torch.nn.Module):
    """(1 - alpha) L_sup + alpha L_self in any loss convention, a drop-in training loss.

    ``SupCLLoss(alpha=0.0, temperature=0.1, convention="paper")`` (positionally too);
    ``convention`` is a preset name, a spec file path or a LossSpec. ``forward`` takes

    * SupContrast's layout: ``features`` (N, p, d), or (N, p, ...) flattened to (N, p, -1) as
      SupContrast does, with ``labels`` (N,) or (N, 1), or ``mask=`` (N, N) where it is a class
      structure (independent configurations along leading dims: :func:`supcl_loss`);
    * pytorch-metric-learning's layout: ``features`` (N p, d) with ``labels`` (N p,) and either
      ``n_views=p`` (rows view-major, as ``torch.cat([view_1, ..., view_p])``) or
      ``instance_ids`` (N p,) (any order; every instance with the same number of views);
    * ``labels=None``: the self-supervised loss alone (every instance its own class, alpha 1).

    NaN or inf in the features is an error (``check_finite=False`` skips the check), and so
    is an all-zero row when normalising. The label pattern is built in O(M) and reused while
    the labels repeat. ``chunk_size`` tiles the loss (see :func:`supcl_loss`; automatic above
    :data:`AUTO_TILE_ROWS` rows). ``gather=True`` (under ``torch.distributed``): every rank
    computes the loss of the global batch, the instances of all ranks (their batch sizes may
    differ), and the parameters of a DistributedDataParallel model receive exactly the
    single-process gradient of it (see :func:`gather_batch`).
    ``gather_timeout`` (seconds, gloo backend): every call first waits at most that long for
    all ranks (``torch.distributed.monitored_barrier``); a rank that never calls the loss is
    then an error naming it instead of a hang.

    ``temperature`` may be learned: ``"learnable"``, ``"learnable:CLAMP"`` or a
    :class:`~ssem_symbolic.vocab.Learnable`. The loss then holds CLIP's parameter,
    ``logit_scale`` = log(1/tau), started at log(1/``init_temperature``) (CLIP: 1/0.07), and
    uses tau = exp(-logit_scale) kept in [clamp, top] (CLIP's clamp: logit scale 100, tau >=
    0.01); train it with the model's parameters. ``tau`` is the current value.
    ``ssem optimum --tau learnable`` gives the joint optimum such training tends to.

    The convention's own rules apply: its ``scale`` (SupContrast's temperature /
    base_temperature: ``convention="supcontrast"``), its rule for anchors without a positive
    and the views it is defined for. Refused, each in one line that says why:
    ``contrast_mode="one"``, pytorch-metric-learning's ``ref_emb``/``ref_labels`` and
    ``indices_tuple``, and a ``mask`` that is not a class structure.
    """

    def __init__(self, alpha: float = 0.0, temperature: float | str | Learnable = 0.1,
                 convention: str | LossSpec = "paper", normalize: bool = True,
                 check_finite: bool = True, chunk_size: int | None = None,
                 gather: bool = False, *, gather_timeout: float | None = None,
                 contrast_mode: str = "all", init_temperature: float = 0.07) -> None:
        super().__init__()
        if contrast_mode != "all":
            raise ValueError(f"contrast_mode={contrast_mode!r} is not supported: only "
                             "contrast_mode='all' keeps the views exchangeable, which the exact "
                             "theory rests on ('one' lets only the first view anchor)")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        if isinstance(temperature, str) and not _is_number(temperature):
            temperature = Learnable.parse(temperature)
        self.learnable = temperature if isinstance(temperature, Learnable) else None
        if self.learnable is not None:
            lo, hi = float(self.learnable.clamp), float(self.learnable.top)
            if not lo <= float(init_temperature) <= hi:
                raise ValueError(f"init_temperature must lie in [{lo:g}, {hi:g}], got "
                                 f"{init_temperature}")
            self.logit_scale = torch.nn.Parameter(torch.tensor(-math.log(init_temperature)))
            self._tau = None
        elif not float(temperature) > 0.0 or float(temperature) == float("inf"):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
        else:
            self._tau = float(temperature)
        self.alpha = float(alpha)
        self.spec = get_spec(convention)
        self.normalize, self.check_finite, self.chunk_size = normalize, check_finite, chunk_size
        if gather_timeout is not None and not (gather and float(gather_timeout) > 0):
            raise ValueError("gather_timeout needs gather=True and a number of seconds > 0, "
                             f"got {gather_timeout!r}")
        self.gather, self.gather_timeout = gather, gather_timeout
        self._key: tuple | None = None
        self._pattern: LabelPattern | None = None
        #: set by a :class:`~ssem_symbolic.loss.CollapseMonitor` watching this loss: each call
        #: keeps the batch's per-class sums of the unit rows (an O(M d) pass while they are in
        #: cache), which the monitor reads instead of passing over the features again
        self.keep_statistics = False
        self.statistics: dict | None = None

    def forward(self, features: torch.Tensor, labels=None, *, mask=None,
                n_views: int | None = None, instance_ids: torch.Tensor | None = None,
                ref_emb=None, ref_labels=None, indices_tuple=None,
                superclasses=None) -> torch.Tensor:
        if ref_emb is not None or ref_labels is not None:
            raise ValueError("ref_emb/ref_labels (a separate reference set) are not supported: "
                             "the loss contrasts one batch with itself, which is what the "
                             "theory's batch is")
        if indices_tuple is not None:
            raise ValueError("indices_tuple (mined pairs) is not supported: the loss uses every "
                             "pair of the batch, which is what the theory's batch is")
        if mask is not None:
            labels = _labels_from_mask(mask, labels, features)
        owner = None if superclasses is None else _superclass_of(labels, superclasses)
        z, labels, alpha = self._prepare(features, labels, n_views, instance_ids)
        if self.spec.contrast == "cross-modal":
            tau = self._tau if self.learnable is None else self.temperature(z.dtype)
            out = cross_modal_loss(z, labels, alpha, tau, self.spec, self.normalize)
            if self.check_finite:
                _check_value(out)
            return out
        if owner is not None or self.spec.levels:
            tau = self._tau if self.learnable is None else self.temperature(z.dtype)
            coarse = None if owner is None else torch.tensor(
                [owner[c] for c in labels.tolist()], device=labels.device)
            out = level_loss(z, labels, coarse, alpha, tau, self.spec, self.normalize,
                             self.chunk_size)
            if self.check_finite:
                _check_value(out)
            return out
        observe = None
        if self.keep_statistics and self.normalize and z.dim() == 3 and not self.gather:
            observe = self._observer(z)
        tau = self._tau if self.learnable is None else self.temperature(z.dtype)
        out = supcl_loss(z, labels, alpha, tau, self.spec, self.normalize,
                         pattern=self._pattern, chunk_size=self.chunk_size, observe=observe)
        if self.check_finite:
            _check_value(out)
        return out

    def temperature(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """tau as a tensor (in ``dtype``, default the parameter's): exp(-logit_scale) kept in
        [clamp, top] where it is learned (its gradient flows inside that range; outside it
        tau stays at the end), else the fixed value."""
        if self.learnable is None:
            return torch.tensor(self._tau, dtype=dtype)
        lo, hi = (math.log(float(v)) for v in (self.learnable.clamp, self.learnable.top))
        return torch.exp(-self.logit_scale.to(dtype or self.logit_scale.dtype).clamp(-hi, -lo))

    @property
    def tau(self) -> float:
        """The temperature now (a learned one's current value)."""
        return self._tau if self.learnable is None else float(self.temperature().detach())

    def _observer(self, z: torch.Tensor):
        """What :attr:`statistics` keeps of this call's batch: the unit rows (M, d), the sum of
        squared per-instance sums of the unit views, the per-class sums, the classes and their
        sizes, and the features with their key (:func:`features_key`). Holding the features
        keeps their storage alive, so no other tensor can take its address while the key
        names it."""
        features, key = z.detach(), features_key(z)
        pattern, (n, p) = self._pattern, z.shape[:2]

        @torch.compiler.disable
        def observe(unit: torch.Tensor) -> None:
            inst = unit.view(n, p, -1).sum(1)
            sums = inst.new_zeros(pattern.n_classes, inst.shape[-1]).index_add_(
                0, pattern.cls, inst)
            self.statistics = {"key": key, "features": features, "labels": pattern.labels,
                               "unit": unit, "inst_sq": inst.square().sum(),
                               "class_sums": sums, "classes": pattern.classes,
                               "sizes": pattern.sizes}
        return observe

    @torch.compiler.disable
    def _prepare(self, features, labels, n_views, instance_ids):
        """The layouts, the input checks, the gather and the cached label pattern: kept out of
        ``torch.compile``'s traced region (data-dependent checks, SymPy)."""
        if self.gather:  # a bad batch on one rank is the same error on every rank
            try:
                z, labels, alpha = _layout(features, labels, n_views, instance_ids, self.alpha)
                _check_rows(z.detach(), self.check_finite, self.normalize)
                error = None
            except ValueError as exc:
                z, labels, alpha, error = features, None, self.alpha, str(exc)
            z, labels = gather_batch(z, labels, self.gather_timeout, error=error)
        else:
            z, labels, alpha = _layout(features, labels, n_views, instance_ids, self.alpha)
            _check_rows(z.detach(), self.check_finite, self.normalize)
        dtype = torch.float32 if z.dtype in (torch.float16, torch.bfloat16) else z.dtype
        key = (tuple(labels.tolist()), z.shape[-2], dtype, str(z.device))
        flat = not (self.spec.levels or self.spec.contrast == "cross-modal")
        if key != self._key and flat:  # one pattern kept, reused each step
            self._pattern = LabelPattern(self.spec, labels.to(z.device), z.shape[-2], dtype)
            self._key = key
        return z, labels, alpha


def _superclass_of(labels, superclasses) -> dict:
    """{class: its superclass} from labels and superclasses given side by side (either
    layout), or ValueError (one line)."""
    if labels is None:
        raise ValueError("superclasses= needs labels (the classes they group)")
    lab = torch.as_tensor(labels).reshape(-1).tolist()
    sup = torch.as_tensor(superclasses).reshape(-1).tolist()
    if len(lab) != len(sup):
        raise ValueError(f"superclasses must be given beside the labels, one each: {len(sup)} "
                         f"against {len(lab)}")
    owner: dict = {}
    for c, s in zip(lab, sup):
        if owner.setdefault(c, s) != s:
            raise ValueError(f"class {c} lies in two superclasses ({owner[c]} and {s})")
    return owner


def features_key(z: torch.Tensor) -> tuple:
    """What names a tensor's contents while its storage lives: its address, shape, strides,
    version counter (bumped by every in-place change) and device."""
    return z.data_ptr(), tuple(z.shape), z.stride(), z._version, str(z.device)


@torch.compiler.disable
def _check_value(out: torch.Tensor) -> None:
    if not bool(torch.isfinite(out.detach()).all()):
        raise ValueError("the loss is not finite: an anchor with a positive has no pair in its "
                         "denominator on this batch (too few instances for the spec), or the "
                         "features overflow")


def _check_rows(z: torch.Tensor, finite: bool, nonzero: bool) -> None:
    """ValueError for NaN or inf in z (``finite``) or an all-zero row (``nonzero``), from
    the row norms: one pass over z and one synchronisation when all is well (a row's norm is
    NaN or inf where the row holds NaN or inf, or where its norm overflows, and 0 only for
    an all-zero row)."""
    if not (finite or nonzero):
        return
    norms = torch.linalg.vector_norm(z, dim=-1)
    bad = (norms == 0) if nonzero else torch.zeros_like(norms, dtype=torch.bool)
    if finite:
        bad |= ~torch.isfinite(norms)
    if not bool(bad.any()):
        return
    if finite and not bool(torch.isfinite(z).all()):
        raise ValueError("features contain NaN or inf (pass check_finite=False to skip this "
                         "check)")
    if nonzero and bool((norms == 0).any()):
        zero = norms == 0
        if bool((z.abs().amax(-1)[zero] > 0).any()):
            raise ValueError(f"a feature row's norm underflows {z.dtype} (its entries are too "
                             "small to normalise): scale the features up")
        raise ValueError("a feature row is all zeros and cannot be normalised")
    raise ValueError(f"a feature row's norm overflows {z.dtype}: scale the features down")


def gather_batch(z: torch.Tensor, labels: torch.Tensor | None,
                 timeout: float | None = None, *,
                 error: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch under ``torch.distributed``: every rank's instances, in rank order.

    Ranks may hold different numbers of instances. The contract: the parameters of a
    DistributedDataParallel model receive the single-process gradient of the global loss.
    Every rank computes the same global loss L; its rows receive W dL/dz (W the world size,
    as a gather whose backward sums over ranks gives), so that DDP's mean over the W ranks of
    the parameter gradients is dL/dtheta. Where you sum gradients over ranks yourself
    instead of averaging, divide the loss by ``torch.distributed.get_world_size()``.

    ``timeout`` (seconds): first a monitored barrier (gloo only), so that a rank that never
    calls the loss is a RuntimeError naming it, after ``timeout``, on the ranks that did.
    ``error``: this rank's batch failed its checks with that message; every rank then raises
    one ValueError naming the ranks and their messages, before any gather of features.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError("gather=True needs torch.distributed initialised "
                         "(torch.distributed.init_process_group)")
    if timeout is not None:
        if dist.get_backend() != "gloo":
            raise ValueError(f"gather_timeout needs the gloo backend (monitored_barrier), not "
                             f"{dist.get_backend()}; set the timeout of init_process_group "
                             "instead")
        import datetime

        try:
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=float(timeout)),
                                   wait_all_ranks=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError(f"gather=True: not every rank called the loss within "
                               f"{float(timeout):g} s ({first})") from None
    # every rank checks every rank's (views, dim, float dtype) before the gathers: a mismatch
    # is the same one-line error on all ranks, never a hang or garbage inside a collective
    device = z.device if isinstance(z, torch.Tensor) else torch.device("cpu")
    shape = z.shape if error is None else (0, 0)
    mine = torch.tensor([shape[-2], shape[-1], _DTYPE_CODES.get(getattr(z, "dtype", None), -1),
                         error is not None], device=device)
    headers = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(headers, mine)
    if any(bool(h[3]) for h in headers):
        messages = [None] * dist.get_world_size()
        dist.all_gather_object(messages, error)
        bad = "; ".join(f"rank {r}: {msg}" for r, msg in enumerate(messages) if msg)
        raise ValueError(f"gather=True: a rank's batch is invalid ({bad})")
    labels = labels.to(z.device)
    if any(not torch.equal(h, headers[0]) for h in headers):
        shapes = ", ".join(f"rank {r}: views {int(h[0])}, dim {int(h[1])}"
                           for r, h in enumerate(headers))
        raise ValueError(f"gather=True needs the same views, dimension and dtype on every rank; "
                         f"got {shapes}")
    return _GatherRows.apply(z), _GatherRows.apply(labels)


_DTYPE_CODES = {torch.float16: 0, torch.bfloat16: 1, torch.float32: 2, torch.float64: 3}


class _GatherRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        import torch.distributed as dist

        world, rank = dist.get_world_size(), dist.get_rank()
        size = torch.tensor([x.shape[0]], device=x.device)
        sizes = [torch.zeros_like(size) for _ in range(world)]
        dist.all_gather(sizes, size)
        sizes = [int(s) for s in sizes]
        top = max(sizes)
        padded = torch.cat([x, x.new_zeros((top - x.shape[0], *x.shape[1:]))])
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded.contiguous())
        ctx.rank, ctx.sizes = rank, sizes
        return torch.cat([part[:s] for part, s in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad):
        # every rank holds the same global loss, so the sum over ranks of their gradients
        # for these rows is W times this rank's own: what DistributedDataParallel's mean
        # of parameter gradients turns back into the single-process gradient
        start = sum(ctx.sizes[:ctx.rank])
        return grad[start:start + ctx.sizes[ctx.rank]] * len(ctx.sizes)


def _layout(features, labels, n_views, instance_ids, alpha):
    """(z (..., N, p, d), labels (N,), alpha) from either library's layout (see SupCLLoss)."""
    if not isinstance(features, torch.Tensor) or not features.is_floating_point():
        raise ValueError("features must be a floating-point tensor")
    if features.dim() == 2:
        rows, d = features.shape
        if (n_views is None) == (instance_ids is None):
            raise ValueError("features of shape (N p, d) need n_views=p (rows view-major) or "
                             "instance_ids, and not both")
        # index (N, p): the rows of each instance's views
        if instance_ids is not None:
            ids = _labels(instance_ids)
            if ids.shape[0] != rows:
                raise ValueError(f"instance_ids has {ids.shape[0]} entries for {rows} rows")
            _, per = torch.unique(ids, return_counts=True)
            if bool((per != per[0]).any()):
                raise ValueError("every instance needs the same number of views")
            index = torch.argsort(ids, stable=True).reshape(-1, int(per[0]))
        else:
            if n_views < 1 or rows % n_views:
                raise ValueError(f"{rows} rows are not n_views = {n_views} views of each "
                                 "instance")
            index = torch.arange(rows, device=features.device).reshape(n_views, -1).T
        z = features[index]
        if labels is not None:
            labels = _labels(_column(labels))
            if labels.shape[0] != rows:
                raise ValueError(f"labels has {labels.shape[0]} entries for {rows} rows")
            grouped = labels[index.to(labels.device)]
            if bool((grouped != grouped[:, :1]).any()):
                raise ValueError("the views of one instance carry different labels")
            labels = grouped[:, 0]
    else:
        z = features
        if z.dim() < 3:
            raise ValueError(f"expected features of shape (N, p, d) or (N p, d), got "
                             f"{tuple(z.shape)}")
        if z.dim() > 3:  # as SupContrast: (bsz, n_views, ...) flattened to (bsz, n_views, -1)
            z = z.reshape(z.shape[0], z.shape[1], -1)
        if labels is not None:
            labels = _labels(_column(labels))
            if labels.shape[0] != z.shape[-3]:
                raise ValueError(f"expected labels of shape ({z.shape[-3]},), got "
                                 f"{tuple(labels.shape)}")
    if labels is None:  # self-supervised: every instance its own class, the alpha term only
        labels, alpha = torch.arange(z.shape[-3], device=z.device), 1.0
    return z, labels, alpha


def _column(labels):
    """Labels of shape (N, 1), as SupContrast's examples pass them, read as (N,)."""
    if isinstance(labels, torch.Tensor) and labels.dim() == 2 and labels.shape[1] == 1:
        return labels[:, 0]
    return labels


def _labels_from_mask(mask, labels, features) -> torch.Tensor:
    """SupContrast's ``mask`` (bsz, bsz), mask_ij = 1 when j is a positive of i, read as class
    labels; ValueError unless it is one (symmetric, 0/1, ones on the diagonal, transitive)."""
    if labels is not None:
        raise ValueError("give labels or mask, not both")
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or mask.shape[0] != mask.shape[1]:
        raise ValueError("mask must be a (bsz, bsz) tensor")
    if isinstance(features, torch.Tensor) and features.dim() >= 3 and \
            mask.shape[0] != features.shape[0]:
        raise ValueError(f"mask is {tuple(mask.shape)} for a batch of {features.shape[0]} "
                         "instances")
    same = mask != 0
    first = same.to(torch.int64).argmax(1)  # the first positive of each row names its class
    if not bool(((mask == 0) | (mask == 1)).all()) or not bool(same.diagonal().all()) \
            or not torch.equal(same, first[:, None] == first[None, :]):
        raise ValueError("mask is not a class structure (0/1, symmetric, ones on the diagonal, "
                         "transitive): pass labels; a general mask is a different loss, which "
                         "the theory does not cover")
    return first


def _union(types: dict[str, torch.Tensor], names: tuple[str, ...]) -> torch.Tensor:
    out = torch.zeros_like(types[PAIR_TYPES[0]])
    for name in names:
        out = out | types[name]
    return out
