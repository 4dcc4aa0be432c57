"""The global optimum of a hierarchy of labels: the minimum of phi(v, c, u, o) over its
symmetric Gram polyhedron (:func:`~ssem_symbolic.setting.hierarchy_polyhedron`), by the same
barrier start and KKT face search as a balanced batch's (:func:`._balanced.minimum`).

Every anchor is alike. Its partners at the class level are its views (v), its class mates (c),
and as ``other`` the classes of its superclass (u) and of the other superclasses (o); a spec's
``levels`` add the supervised term read at the superclass level (u among the positives), times
lambda_superclass (:func:`~ssem_symbolic.setting.blocks`). The loss stays a sum of
log-sum-exps of affine functions of G minus a linear pull, so the symmetric reduction is exact
and the KKT point is the optimum.

The optimum reports, beside a balanced batch's fields, each level's collapse and variances
(``Optimum.hierarchy``); ``merged`` lists the classes of each superclass where they share one
mean (all classes together where the superclasses do too).

>>> from ssem_symbolic.setting import Hierarchy
>>> opt = hierarchy_optimum("supcon", Hierarchy(2, 2, 2), "0.5", "0.5")
>>> opt.active, opt.hierarchy["collapse"]["class"]
(('all-ones', 'view'), False)
"""

from __future__ import annotations


from ..forms import form_of
from ..setting import (Hierarchy, Polyhedron, check_anchor, hierarchy_polyhedron,
                       level_collapse, level_variances, sorted_names)
from ..spec import TERMS, LossSpec, UnsupportedConvention, alpha, check_alpha, get_spec
from ..vocab import check_tau, exact
from ._balanced import (MAX_DIGITS, _eigen, _minimisers, _ranges, minimum,
                        regimes_of, face_tau, snapped)
from ._result import Optimum, Regimes


def hierarchy_objective(spec: LossSpec, h: Hierarchy, alpha_):
    """tau phi on the hierarchy's coordinates as a factory ``(tau, lib) -> objective``."""
    P = hierarchy_polyhedron(*h.shape)
    form = form_of(spec)
    a = exact(alpha_)
    coef = {term: spec.weight(term).subs(alpha, a) for term in TERMS}
    weights = form.kind_weights(spec, h.partners({c: i for i, c in enumerate(P.coords)}), coef)
    return lambda t, lib: form.objective(spec, P.coords, weights, t, lib)


def check_hierarchy(spec: LossSpec, h: Hierarchy, alpha_=None, tau_=None) -> None:
    """ValueError (one line) unless every term that carries weight (at ``alpha_``; at some
    alpha in [0, 1] when None) has positives and a denominator on ``h``, and alpha lies in
    [0, 1]; hard negatives refuse (their search covers a flat batch)."""
    if spec.hard_negatives:
        raise UnsupportedConvention(f"loss spec {spec.name!r} weights hard negatives: its best "
                                    "symmetric point is searched for a flat balanced batch only")
    spec.check_views(h.views)
    if tau_ is not None:
        check_tau(tau_)
    if alpha_ is not None:
        check_alpha(alpha_)
    P = hierarchy_polyhedron(*h.shape)
    part = h.partners({c: i for i, c in enumerate(P.coords)})
    check_anchor(spec, part, h.describe(), alpha_, "it needs k >= 2 or p >= 2")


def hierarchy_optimum(convention: str | LossSpec, h: Hierarchy, alpha_, tau_,
                      digits: int = 30, max_digits: int = MAX_DIGITS) -> Optimum:
    """The minimum of the loss over all unit embeddings of the hierarchy ``h`` (any d >=
    S m k p - 1), alpha and tau read exactly, for tau in the face solver's range [0.001, 1e4]."""
    spec = get_spec(convention)
    check_hierarchy(spec, h, alpha_, tau_)
    t = face_tau(spec, tau_, "the hierarchy's solver")
    P = hierarchy_polyhedron(*h.shape)
    return minimum(P, hierarchy_objective(spec, h, alpha_), t, digits, max_digits=max_digits,
                   report=lambda *args, **kw: _report(h, *args, **kw))


def _report(h: Hierarchy, P: Polyhedron, phi, x, active, mus, lam, decided, work,
            snap: bool = True) -> Optimum:
    """What the point x reports (as :func:`._balanced._report` does for a batch), with each
    level's variances and collapse."""
    zero, mus, lam, names = snapped(P, active, mus, lam, work, snap)
    point = _gram(P, x)
    var = level_variances(h, dict(zip(P.names, lam)))
    levels = level_collapse(names, h.views)
    S, m_ = h.supers, h.classes_per_super
    each = {"size": h.per_class, "within_class_variance": float(var["within_class"]),
            "view_similarity": float(point["view"]) if "view" in P.coords else None,
            "class_similarity": float(point["class"]), "collapsed": levels["class"]}
    if levels["superclasses_merged"]:
        merged: tuple = (tuple(range(S * m_)),)
    elif levels["classes_merged"]:
        merged = tuple(tuple(range(s * m_, (s + 1) * m_)) for s in range(S))
    else:
        merged = ()
    ranges = _ranges(P, _minimisers(P, phi, x, work), row=lambda P_, y: _row(h, P_, y))
    return Optimum(
        loss_value=float(phi.parts(x)[0] / phi.tau), active=tuple(sorted_names(names)),
        multipliers={P.names[i]: float(mus[i]) for i in zero},
        slacks={P.names[j]: float(lam[j]) for j in range(len(P.names)) if j not in zero},
        within_class_variance=float(var["within_class"]),
        between_class_variance=float(var["total"] - var["within_class"]),
        per_class=tuple(dict(each) for _ in range(S * m_)), merged=merged,
        similarity={(0, 0): float(point["other"])}, view=each["view_similarity"],
        class_=each["class_similarity"], other=float(point["other"]),
        unique=not ranges, decided=decided, digits=work, exact_point=tuple(x), ranges=ranges,
        hierarchy={"superclasses": S, "classes_per_superclass": m_,
                   "superclass_similarity": float(point["superclass"]),
                   "variances": {key: float(v) for key, v in var.items()},
                   "collapse": levels})


def _gram(P: Polyhedron, x) -> dict:
    """The Gram value of every pair of levels at x (view and class 1 where absent)."""
    return {"view": 1, "class": 1} | dict(zip(P.coords, x))


def _row(h: Hierarchy, P: Polyhedron, point) -> dict:
    """The hierarchy's reported quantities at a point of its polyhedron."""
    gram = _gram(P, point)
    var = level_variances(h, dict(zip(P.names, [max(ev, 0) for ev in _eigen(P, point)])))
    row = {"class_similarity": gram["class"], "superclass_similarity": gram["superclass"],
           "other_similarity": gram["other"], "within_class_variance": var["within_class"],
           "between_class_variance": var["total"] - var["within_class"]}
    if "view" in P.coords:
        row["view_similarity"] = gram["view"]
    return row


def hierarchy_regimes(convention: str | LossSpec, h: Hierarchy, *, tau=None, alpha=None,
                      **kw) -> Regimes:
    """Every boundary of the hierarchy's optimum along alpha (fixed ``tau``) or tau (fixed
    ``alpha``), as :func:`._balanced.regimes_of` scans them: a regime is the active set and
    the merged classes, so a change of any level's collapse is a boundary."""
    spec = get_spec(convention)
    check_hierarchy(spec, h, alpha, tau)
    return regimes_of(lambda a, t: hierarchy_optimum(spec, h, a, t), tau=tau, alpha=alpha,
                      **kw)


def level_changes(r: Regimes, p_: int) -> dict:
    """Per level of :func:`~ssem_symbolic.setting.level_collapse`, every point of the scan
    ``r`` where it turns on or off, and whether it holds at the scan's two ends."""
    flags = [level_collapse(span["active"], p_) for span in r.regimes]
    out = {}
    for level in flags[0]:
        out[level] = {"changes": [b.at for b, lo, hi in zip(r.boundaries, flags, flags[1:])
                                  if lo[level] != hi[level]],
                      "at_ends": [flags[0][level], flags[-1][level]]}
    return out
