"""The global optimum of a batch of paired modalities (image and text): the minimum of the
loss over its symmetric Gram polyhedron (:func:`~ssem_symbolic.setting.paired_polyhedron`), by
the barrier start and KKT face search of a balanced batch (:func:`._balanced.minimum`).

A spec with ``contrast = "cross-modal"`` (CLIP's symmetric InfoNCE in the softmax form,
SigLIP's pairwise sigmoid with its bias in the sigmoid form) sees only the pairs across the
modalities: its loss depends on the matched similarity a and the cross-modal class and other
similarities, while the within-modality similarities enter only through the PSD conditions. A
spec with ``contrast = "all"`` also sees the pairs within a modality (the intra-modal terms).

Reported beside a balanced batch's fields: each similarity across and within the modalities,
the modality gap ||mean(images) - mean(texts)||^2 and the structure:

* ``aligned``: every image equals its text (a = 1: within-class-, between-class- and all-ones-
  active, so the modality gap is 0);
* ``simplex``: aligned, and the N pairs a regular simplex (every other pair at -1/(N - 1)): the
  simplex ETF of Lee, Chang and Sohn (2024);
* ``antipodal``: all images one point and all texts its antipode (a = o = -1);
* ``between``: anything else (without labels, the interior of their double-constant embedding
  model, 0 < delta < oo).

>>> from ssem_symbolic.setting import Paired
>>> from ssem_symbolic.spec import LossSpec
>>> clip = LossSpec("clip", ["view", "class", "other"], ["view"], ["view"], "anchors",
...                 contrast="cross-modal")
>>> paired_optimum(clip, Paired(4), 1, "0.5").paired["structure"]
'simplex'
"""

from __future__ import annotations

import mpmath

from ..forms import form_of
from ..setting import Paired, Polyhedron, check_anchor, paired_polyhedron, sorted_names
from ..spec import TERMS, LossSpec, UnsupportedConvention, alpha, check_alpha, get_spec
from ..vocab import check_tau, exact
from ._balanced import (MAX_DIGITS, _eigen, _minimisers, _ranges, minimum,
                        regimes_of, face_tau, snapped)
from ._result import Optimum, Regimes


def paired_objective(spec: LossSpec, b: Paired, alpha_):
    """tau phi on the family's coordinates as a factory ``(tau, lib) -> objective``."""
    P = paired_polyhedron(b.classes, b.per_class)
    form = form_of(spec)
    a = exact(alpha_)
    coef = {term: spec.weight(term).subs(alpha, a) for term in TERMS}
    part = b.partners({c: i for i, c in enumerate(P.coords)}, spec.contrast == "cross-modal")
    weights = form.kind_weights(spec, part, coef)
    return lambda t, lib: form.objective(spec, P.coords, weights, t, lib)


def check_paired(spec: LossSpec, b: Paired, alpha_=None, tau_=None) -> None:
    """ValueError (one line) unless every term that carries weight has positives and pairs on
    ``b``, and alpha lies in [0, 1]."""
    if spec.levels or spec.hard_negatives:
        raise UnsupportedConvention(f"loss spec {spec.name!r}: a batch of pairs takes neither "
                                    "label levels nor hard negatives")
    spec.check_views(2)
    if tau_ is not None:
        check_tau(tau_)
    if alpha_ is not None:
        check_alpha(alpha_)
    P = paired_polyhedron(b.classes, b.per_class)
    part = b.partners({c: i for i, c in enumerate(P.coords)}, spec.contrast == "cross-modal")
    check_anchor(spec, part, b.describe(), alpha_, "class positives need k >= 2")


def paired_optimum(convention: str | LossSpec, b: Paired, alpha_, tau_,
                   digits: int = 30, max_digits: int = MAX_DIGITS) -> Optimum:
    """The minimum of the loss over all unit embeddings of the pairs ``b`` (any d >= 2 m k -
    1), alpha and tau read exactly, for tau in the face solver's range [0.001, 1e4]."""
    spec = get_spec(convention)
    check_paired(spec, b, alpha_, tau_)
    t = face_tau(spec, tau_, "the solver of a batch of pairs")
    P = paired_polyhedron(b.classes, b.per_class)
    return minimum(P, paired_objective(spec, b, alpha_), t, digits, max_digits=max_digits,
                   report=lambda *args, **kw: _report(b, *args, **kw))


def _values(P: Polyhedron, x) -> dict:
    """Every coordinate at x (a class coordinate absent with k = 1 reads 1)."""
    return {"class": 1, "class[intra]": 1} | dict(zip(P.coords, x))


def _quantities(b: Paired, P: Polyhedron, x, lam) -> dict:
    """The reported numbers at x: the similarities, within-class variance (the mean over the
    two modalities), between-class variance and the modality gap."""
    g = _values(P, x)
    ev = dict(zip(P.names, lam))
    m_, k_ = b.classes, b.per_class
    # one modality's class mean: ||mu||^2 = (1 + (k - 1) c_i) / k; its overall mean:
    # (all-ones+ + all-ones-) / (2 m k)
    class_sq = (1 + (k_ - 1) * g["class[intra]"]) / k_
    mean_sq = (ev["all-ones+"] + ev["all-ones-"]) / (2 * m_ * k_)
    return {"view": g["view"], "class": g["class"], "other": g["other"],
            "class_intra": g["class[intra]"], "other_intra": g["other[intra]"],
            "within": 1 - class_sq, "between": class_sq - mean_sq,
            "gap": 2 * ev["all-ones-"] / (m_ * k_)}


def _structure(b: Paired, active, q: dict, resolution) -> str:
    """simplex, aligned, antipodal or between (module docstring)."""
    aligned = ({"between-class-", "all-ones-"} <= set(active)
               and abs(q["view"] - 1) <= resolution
               and (b.per_class == 1 or "within-class-" in active))
    if aligned:
        flat = -mpmath.mpf(1) / (b.pairs - 1)  # every pair at -1/(N - 1): a regular simplex
        simplex = abs(q["other"] - flat) <= resolution and (
            b.per_class == 1 or abs(q["class"] - flat) <= resolution)
        return "simplex" if simplex else "aligned"
    if abs(q["view"] + 1) <= resolution and abs(q["other"] + 1) <= resolution:
        return "antipodal"
    return "between"


def _report(b: Paired, P: Polyhedron, phi, x, active, mus, lam, decided, work,
            snap: bool = True) -> Optimum:
    """What the point x reports (as :func:`._balanced._report` does for a batch)."""
    zero, mus, lam, names = snapped(P, active, mus, lam, work, snap)
    q = _quantities(b, P, x, lam)
    structure = _structure(b, names, q, mpmath.mpf(10) ** (-(work // 2)))
    collapsed = b.per_class >= 2 and "within-class+" in names and "within-class-" in names
    each = {"size": b.per_class, "within_class_variance": float(q["within"]),
            "view_similarity": float(q["view"]), "class_similarity": float(q["class"]),
            "collapsed": collapsed}
    ranges = _ranges(P, _minimisers(P, phi, x, work), row=lambda P_, y: _row(b, P_, y))
    return Optimum(
        loss_value=float(phi.parts(x)[0] / phi.tau), active=tuple(sorted_names(names)),
        multipliers={P.names[i]: float(mus[i]) for i in zero},
        slacks={P.names[j]: float(lam[j]) for j in range(len(P.names)) if j not in zero},
        within_class_variance=float(q["within"]), between_class_variance=float(q["between"]),
        per_class=tuple(dict(each) for _ in range(b.classes)), merged=(),
        similarity={(0, 0): float(q["other"])}, view=float(q["view"]),
        class_=float(q["class"]), other=float(q["other"]), unique=not ranges,
        decided=decided, digits=work, exact_point=tuple(x), ranges=ranges,
        paired={"pairs": b.pairs, "classes": b.classes, "per_class": b.per_class,
                "matched_similarity": float(q["view"]),
                "class_similarity_intra": float(q["class_intra"]),
                "other_similarity_intra": float(q["other_intra"]),
                "modality_gap": float(q["gap"]), "structure": structure})


def _row(b: Paired, P: Polyhedron, point) -> dict:
    lam = [max(ev, 0) for ev in _eigen(P, point)]
    q = _quantities(b, P, point, lam)
    return {"view_similarity": q["view"], "other_similarity": q["other"],
            "other_similarity_intra": q["other_intra"], "modality_gap": q["gap"],
            "within_class_variance": q["within"], "between_class_variance": q["between"]}


def paired_regimes(convention: str | LossSpec, b: Paired, *, tau=None, alpha=None,
                   **kw) -> Regimes:
    """Every boundary of the optimum of the pairs ``b`` along alpha (fixed ``tau``) or tau
    (fixed ``alpha``): a change of the active set, and so of the structure."""
    spec = get_spec(convention)
    check_paired(spec, b, alpha, tau)
    return regimes_of(lambda a, t: paired_optimum(spec, b, a, t), tau=tau, alpha=alpha, **kw)
