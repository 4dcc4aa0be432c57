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

from typing import NamedTuple

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
    plan = _plan(spec, labels, float(exact(alpha)), S.dtype)
    rows = torch.cat([S, S.T]) / tau  # the 2N anchors: images, then texts
    if plan.factor is not None:  # a temperature per pair type
        rows = rows * plan.factor
    form = FORMS[spec.form]
    total = sum(weight * form.value(spec, rows, parts) for weight, parts in plan.terms)
    scale = float(spec.scale_at(tau if not isinstance(tau, torch.Tensor) else float(tau)))
    return total * scale if scale != 1 else total


class _Plan(NamedTuple):
    """What a batch's labels fix, built once per labels (training repeats them): the logit
    factors (None: one temperature) and per term carrying weight (its weight, what its form
    prepares: :data:`FORMS`)."""

    factor: torch.Tensor | None
    terms: list


_PLANS: dict = {}
#: plans kept (one per spec, labels and alpha; training reuses one)
_MAX_PLANS = 8


def _plan(spec: LossSpec, labels: torch.Tensor, alpha: float, dtype) -> _Plan:
    key = (spec.key(), tuple(labels.tolist()), alpha, dtype, str(labels.device))
    if key in _PLANS:
        return _PLANS[key]
    n = labels.shape[0]
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(n, dtype=torch.bool, device=labels.device)
    types = {t: torch.cat([m, m.T]) for t, m in
             {"view": eye, "class": same & ~eye, "other": ~same}.items()}

    def weighted(weights: dict) -> torch.Tensor:
        out = torch.zeros(2 * n, n, dtype=dtype, device=labels.device)
        for t, w in weights.items():
            if w:
                out = out + w * types[t].to(dtype)
        return out
    factor = None
    if spec.temperatures:
        factor = weighted({t: float(spec.logit_factor(t)) for t in types})
    form = FORMS[spec.form]
    terms = [(weight, form.prepare(spec, term, weighted))
             for term in TERMS
             if (weight := float(spec.weight(term).subs(alpha_symbol, exact(alpha))))]
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[key] = _Plan(factor, terms)
    return _PLANS[key]


class _Softmax:
    """Per anchor, log sum_den omega e^{l} minus the pi-weighted mean of its positives' l."""

    @staticmethod
    def prepare(spec: LossSpec, term: str, weighted) -> tuple:
        """(log omega, pi, pi's row sums, the rows with a positive)."""
        den, pos = spec.denominator_of(term), spec.positives(term)
        omega = weighted({t: float(spec.den_weight(term, t)) for t in den})
        dtype = omega.dtype
        log_omega = torch.where(omega > 0, omega.clamp_min(torch.finfo(dtype).tiny).log(),
                                torch.tensor(float("-inf"), dtype=dtype))
        pi = weighted({t: float(spec.pair_weight(term, t)) for t in pos})
        total = pi.sum(1)
        has = total > 0
        if not bool(has.any()):
            raise ValueError(f"no anchor has a positive in the {term} term of {spec.name!r} "
                             "on this batch")
        return log_omega, pi, total, has

    @staticmethod
    def value(spec: LossSpec, rows: torch.Tensor, parts: tuple) -> torch.Tensor:
        log_omega, pi, total, has = parts
        log_den = torch.logsumexp(rows + log_omega, dim=1)
        pulled = (pi * rows).sum(1)
        if spec.mean == "anchors":
            return (log_den[has] - pulled[has] / total[has]).mean()
        return (total[has] * log_den[has] - pulled[has]).sum() / total.sum()


class _Sigmoid:
    """Per anchor, the sum over the pairs it sees of log(1 + e^{-y (l + bias)})."""

    @staticmethod
    def prepare(spec: LossSpec, term: str, weighted) -> tuple:
        """(the pairs seen, the labels y: +1 on the positives, -1 elsewhere)."""
        seen = weighted(dict.fromkeys(spec.denominator_of(term), 1.0))
        return seen, weighted(dict.fromkeys(spec.positives(term), 1.0)) * 2 - 1

    @staticmethod
    def value(spec: LossSpec, rows: torch.Tensor, parts: tuple) -> torch.Tensor:
        seen, y = parts
        per = torch.nn.functional.softplus(-y * (rows + float(spec.bias))) * seen
        return per.sum() / (rows.shape[0] if spec.mean == "anchors" else seen.sum())


#: per loss form, how a term reads the anchors' rows of logits
FORMS = {"softmax": _Softmax, "sigmoid": _Sigmoid}
