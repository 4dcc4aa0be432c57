"""The loss of a spec with ``contrast = "cross-modal"`` (CLIP, SigLIP) on paired modalities:
z (N, 2, d), view 0 the images and view 1 the texts, ``labels`` (N,) the classes (or None:
every pair its own class).

An anchor sees the other modality only: an image the N texts, a text the N images. With S the
N x N matrix of image-text similarities, the pair types are read on it: ``view`` the diagonal
(the matched text), ``class`` the texts of the anchor's class mates, ``other`` the rest; the
images' rows are S's and the texts' rows S^T's. Each term is then the spec's form on those rows:

* softmax: per anchor, log sum_den omega_t e^{k_t s/tau} minus the mean over its positives
  (weights pi_t) of k_t s/tau, k_t the pair type's tau/tau_t; the mean over the anchors with
  a positive ("anchors") or over all positive pairs ("pairs");
* sigmoid: per anchor, the sum over the pairs it sees of log(1 + e^{-y (s/tau + bias)}), y = +1
  on the term's positives; the mean over the 2N anchors ("anchors") or over all pairs seen
  ("pairs").

L = W_sup L_sup + W_self L_self, times the spec's scale. At alpha = 1 with ``view`` positives
this is CLIP's symmetric InfoNCE, (CE(S/tau) + CE(S^T/tau))/2, and SigLIP's loss, the sum of
-log sigmoid(y (s/tau + b)) over the N^2 pairs divided by N (the tests check both against
those formulas written out).
"""

from __future__ import annotations

import torch

from ..spec import TERMS, LossSpec, alpha as alpha_symbol
from ..vocab import exact


def cross_modal_loss(z: torch.Tensor, labels: torch.Tensor | None, alpha, tau,
                     spec: LossSpec, normalize: bool = True) -> torch.Tensor:
    """The cross-modal loss of the module docstring (a scalar)."""
    if z.dim() != 3 or z.shape[1] != 2:
        raise ValueError(f"loss spec {spec.name!r} contrasts across modalities: features must "
                         f"be (N, 2, d), view 0 the images and view 1 the texts; got "
                         f"{tuple(z.shape)}")
    n = z.shape[0]
    if labels is None:
        labels = torch.arange(n, device=z.device)
    labels = torch.as_tensor(labels, device=z.device).reshape(-1)
    if labels.shape[0] != n:
        raise ValueError(f"labels must give one class per pair: {labels.shape[0]} against {n}")
    if normalize:
        z = torch.nn.functional.normalize(z, dim=-1)
    S = z[:, 0] @ z[:, 1].T  # images against texts
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    types = {"view": eye, "class": same & ~eye, "other": ~same}
    factor = sum(float(spec.logit_factor(t)) * mask.to(S.dtype) for t, mask in types.items())
    rows = torch.cat([S, S.T]) / tau  # the 2N anchors: images, then texts
    rows = rows * torch.cat([factor, factor.T])
    kinds = {t: torch.cat([mask, mask.T]) for t, mask in types.items()}
    a = exact(alpha)
    total = 0.0
    for term in TERMS:
        weight = float(spec.weight(term).subs(alpha_symbol, a))
        if weight:
            total = total + weight * _term(spec, term, rows, kinds)
    scale = float(spec.scale_at(tau if not isinstance(tau, torch.Tensor) else float(tau)))
    return total * scale if scale != 1 else total


def _term(spec: LossSpec, term: str, rows: torch.Tensor, kinds: dict) -> torch.Tensor:
    """One term on the 2N anchors' rows of logits."""
    den = spec.denominator_of(term)
    pos = spec.positives(term)
    if spec.form == "sigmoid":
        seen = sum(kinds[t].to(rows.dtype) for t in den)
        y = sum(kinds[t].to(rows.dtype) for t in pos) * 2 - 1
        per = torch.nn.functional.softplus(-y * (rows + float(spec.bias))) * seen
        return per.sum() / (rows.shape[0] if spec.mean == "anchors" else seen.sum())
    omega = sum(float(spec.den_weight(term, t)) * kinds[t].to(rows.dtype) for t in den)
    log_den = torch.logsumexp(rows.masked_fill(omega == 0, float("-inf"))
                              + torch.log(omega.clamp_min(1e-300)), dim=1)
    pi = sum(float(spec.pair_weight(term, t)) * kinds[t].to(rows.dtype) for t in pos)
    has = pi.sum(1) > 0
    if not bool(has.any()):
        raise ValueError(f"no anchor has a positive in the {term} term of {spec.name!r} on "
                         "this batch")
    pulled = (pi * rows).sum(1)
    if spec.mean == "anchors":
        return (log_den[has] - pulled[has] / pi.sum(1)[has]).mean()
    return (pi.sum(1)[has] * log_den[has] - pulled[has]).sum() / pi.sum()
