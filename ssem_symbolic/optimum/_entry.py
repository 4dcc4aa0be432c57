"""One entry point per operation, each a function of ``(spec, setting, ...)``.

``setting`` is a :class:`~ssem_symbolic.setting.Batch` (class sizes and views; a balanced
batch is one size group) or a :class:`~ssem_symbolic.setting.Dataset` (classes, instances,
views and the sampler that draws batches). The spec is resolved once here. Behind each entry
point sits the family's solver: the polyhedral fast path for a balanced batch, the size-group
solver for unequal classes, and the dataset-level solver for a sampler.

>>> from ssem_symbolic.setting import Batch
>>> threshold("paper", Batch.balanced(2, 2, 2), tau=1).as_dict()["alpha_c"] > 0.6
True
>>> optimum("paper", Batch.balanced(3, 4, 2), "0.05", "0.5").collapsed  # alpha < 1/k
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Union

import mpmath

from ..setting import Batch, Dataset, Hierarchy, Paired
from ..vocab import Learnable
from ..spec import LossSpec, check_setting, get_spec
from ..ssem import alpha_c_value, alpha_side, collapse_rule, tau_c_value
from ._hard import hard_optimum
from ._learnable import learned_optimum
from ._limit import tau_zero_limit
from ._result import Optimum, Regimes
from ._balanced import (balanced_regimes, flag_change, global_optimum, regimes_of,
                        symmetric_weights)
from ._dataset import (dataset_alpha_c, dataset_optimum, dataset_regimes,
                       dataset_tau_c, symmetric_family)
from ._hierarchy import hierarchy_optimum, hierarchy_regimes, level_changes
from ._imbalanced import imbalanced_optimum, imbalanced_regimes
from ._paired import paired_optimum, paired_regimes

Setting = Union[Batch, Dataset, Hierarchy, Paired]

#: the alpha grid of a regime scan with tau learned (each point searches tau)
LEARNED_POINTS = 21
#: the tau range a threshold scans where no closed form gives tau_c
TAU_SCAN_RANGE = ("0.01", "100")


def _setting(setting) -> Setting:
    if not isinstance(setting, (Batch, Dataset, Hierarchy, Paired)):
        raise TypeError(f"a setting is a Batch, a Dataset, a Hierarchy or Paired, got "
                        f"{type(setting).__name__}")
    return setting


def _needs(family: str, spec: LossSpec) -> ValueError:
    """The one-line refusal of a spec whose family the setting is not (a hierarchy for label
    levels, a batch of pairs for a cross-modal contrast)."""
    return ValueError(
        f"loss spec {spec.name!r} sums its supervised term over label levels: give a hierarchy "
        "of superclasses" if family == "hierarchy" else
        f"loss spec {spec.name!r} contrasts across modalities: give a batch of image-text pairs")


def _flat(spec: LossSpec, setting: Setting, what: str) -> None:
    """ValueError (one line) where ``what`` takes a flat batch only: not a hierarchy (a
    Hierarchy setting, a spec with label levels), nor paired modalities."""
    if isinstance(setting, Hierarchy) or spec.levels:
        raise ValueError(f"{what} takes one level of labels; a hierarchy is solved at a fixed "
                         "tau (optimum, regimes, threshold and phase)")
    if isinstance(setting, Paired) or spec.contrast == "cross-modal":
        raise ValueError(f"{what} takes one set of embeddings; a batch of pairs is solved at a "
                         "fixed tau (optimum, regimes, threshold and phase)")


def optimum(spec: LossSpec | str, setting: Setting, alpha, tau, *,
            digits: int = 30, max_digits: int | None = None) -> Optimum:
    """The minimum of the loss over all unit embeddings of ``setting`` at (alpha, tau).

    One :class:`Optimum` for every setting: a balanced batch and a dataset's symmetric
    family report the three pair-type similarities, unequal class sizes each class and each
    pair of size groups, a fixed partition each batch composition. alpha and tau are
    read exactly. ``loss_value`` includes the spec's ``scale`` (the family solvers behind this
    function report the unscaled loss). ``digits`` is the working precision; a sign not decided
    there is retried at more digits, up to ``max_digits`` (None: the solver's own limit, 1000
    for a balanced batch and a dataset, 240 for unequal sizes), and then reported with
    ``decided`` False. A scan that needs only the active set can stop earlier.

    ``tau`` a :class:`~ssem_symbolic.vocab.Learnable`: the joint optimum over the embeddings
    and tau in [clamp, top] (:mod:`~ssem_symbolic.optimum._learnable`), the optimum at the
    learned tau with ``temperature`` saying where it lies.
    """
    spec, setting = get_spec(spec), _setting(setting)
    if spec.hard_negatives:
        return _hard(spec, setting, alpha, tau, digits)
    if isinstance(tau, Learnable):
        _flat(spec, setting, "a learnable tau")
        family = symmetric_family(spec, setting)  # V*: one temperature for every pair type
        limit = None if family is None or spec.temperatures else tau_zero_limit(
            spec, family[0], symmetric_weights(spec, *family, alpha))
        return learned_optimum(lambda t: optimum(spec, setting, alpha, t, digits=digits,
                                                 max_digits=max_digits), tau, limit)
    kw = {"digits": digits} | ({} if max_digits is None else {"max_digits": max_digits})
    if isinstance(setting, Hierarchy):
        out = hierarchy_optimum(spec, setting, alpha, tau, **kw)
    elif isinstance(setting, Paired):
        out = paired_optimum(spec, setting, alpha, tau, **kw)
    elif spec.contrast == "cross-modal":
        raise _needs("pairs", spec)
    elif spec.levels:
        raise _needs("hierarchy", spec)
    elif isinstance(setting, Dataset):
        out = dataset_optimum(spec, setting.classes, setting.instances, setting.views,
                              setting.sampler, alpha, tau, **kw)
    elif setting.is_balanced:
        out = global_optimum(spec, *setting.shape, alpha, tau, **kw)
    else:
        out = imbalanced_optimum(spec, setting.sizes, setting.views, alpha, tau, **kw)
    return _scaled(spec, out, tau)


def _hard(spec: LossSpec, setting: Setting, alpha, tau, digits: int) -> Optimum:
    """Hard negatives (not convex): the best symmetric point of a balanced batch
    (:mod:`~ssem_symbolic.optimum._hard`), the spec's scale applied; other settings refuse."""
    if isinstance(tau, Learnable) or not (isinstance(setting, Batch) and setting.is_balanced):
        raise ValueError(f"loss spec {spec.name!r} weights hard negatives: its best symmetric "
                         "point is searched for a balanced batch at a fixed tau only")
    m, k, p = setting.shape
    check_setting(spec, m, k, p, alpha=alpha, tau=tau)
    return _scaled(spec, hard_optimum(spec, m, k, p, alpha, tau, digits=digits), tau)


def _scaled(spec: LossSpec, out: Optimum, tau) -> Optimum:
    """The spec's scale (an implementation's factor on the loss) on the value, never on the
    geometry: the solvers minimise the unscaled loss."""
    if spec.scale == 1:
        return out
    return dataclasses.replace(out, loss_value=out.loss_value * float(spec.scale_at(tau)))


def regimes(spec: LossSpec | str, setting: Setting, *, tau=None, alpha=None,
            tol: float | None = None, tau_range: tuple | None = None,
            points: int | None = None) -> Regimes:
    """Every boundary of the optimum's regimes along alpha in [0, 1] at fixed ``tau``, or
    along tau in ``tau_range`` at fixed ``alpha``, located to ``tol`` (each family's default
    when None: 1e-10 for a balanced batch and a dataset, 1e-8 for unequal sizes). The scan
    starts from a grid of ``points`` (None: 41) and bisects every change; a regime that starts
    and ends between two grid points is not seen.

    ``tau`` a :class:`~ssem_symbolic.vocab.Learnable`: the regimes along alpha of the joint
    optimum over the embeddings and tau (:func:`optimum` with it at each alpha), a regime
    being the active set, the merged classes and where tau* lies (the clamp, the top of the
    search or inside); each span gives tau* at a point inside it. Defaults there: ``points``
    21, ``tol`` 1e-6 (each point is a search over tau).
    """
    spec, setting = get_spec(spec), _setting(setting)
    if isinstance(tau, Learnable):
        _flat(spec, setting, "a learnable tau")
        if alpha is not None:
            raise ValueError("give exactly one of tau (scan over alpha) or alpha (scan over tau)")
        sizes = None if isinstance(setting, Dataset) or setting.is_balanced else setting.sizes
        return regimes_of(lambda a, _: optimum(spec, setting, a, tau), tau=tau,
                          tol=1e-6 if tol is None else tol,
                          points=LEARNED_POINTS if points is None else points, sizes=sizes)
    kw = {"tau": tau, "alpha": alpha}
    if tol is not None:
        kw["tol"] = tol
    if tau_range is not None:
        kw["tau_range"] = tau_range
    if points is not None:
        kw["points"] = points
    if isinstance(setting, Hierarchy):
        return hierarchy_regimes(spec, setting, **kw)
    if isinstance(setting, Paired):
        return paired_regimes(spec, setting, **kw)
    if spec.contrast == "cross-modal":
        raise _needs("pairs", spec)
    if spec.levels:
        raise _needs("hierarchy", spec)
    if isinstance(setting, Dataset):
        return dataset_regimes(spec, setting.classes, setting.instances, setting.views,
                               setting.sampler, **kw)
    if setting.is_balanced:
        return balanced_regimes(spec, *setting.shape, **kw)
    return imbalanced_regimes(spec, setting.sizes, setting.views, **kw)


@dataclass(frozen=True)
class Threshold:
    """Where the setting's classes start or stop collapsing: alpha_c at a fixed ``tau``, or
    tau_c at a fixed ``alpha``.

    * a balanced batch: the closed form on SSEM (``alpha_c``, or ``tau_c`` with
      ``collapse_when`` "tau >= tau_c" or "tau <= tau_c"; ``tau_c`` None when no tau
      collapses, 0 when every tau does);
    * unequal class sizes (``tau`` given): ``alpha_c_per_class`` from the global optimum,
      with each class's collapse at the ends of [0, 1];
    * a hierarchy: ``levels``, each level's changes of collapse along the axis, from the
      regime scan; ``alpha_c`` / ``tau_c`` the first change of the class level's;
    * a dataset: the dataset-level value (``tau_c`` is then the list of every change in
      ``tau_range``), and ``per_batch``, the threshold of one batch of a balanced sampler (None
      for samplers whose batches vary).
    """

    setting: Setting
    along: str  #: "alpha" (alpha_c at a fixed tau) or "tau" (tau_c at a fixed alpha)
    alpha_c: float | None = None
    tau_c: float | list | None = None
    collapse_when: str | None = None
    alpha_c_per_class: tuple | None = None
    collapsed_at_range_ends: tuple | None = None
    tau_range: tuple | None = None
    per_batch: Threshold | str | None = None
    #: a hierarchy: per level ("class", "classes_merged", "superclass", "superclasses_merged")
    #: every change of its collapse along the axis and whether it holds at the scan's ends
    levels: dict | None = None

    def as_dict(self) -> dict:
        """The JSON fields: the setting's own numbers at the top level, the per-batch
        comparison of a dataset under ``per_batch``, each level's changes for a hierarchy."""
        out: dict = {}
        if self.levels is not None:
            out[f"{self.along}_c"] = self.alpha_c if self.along == "alpha" else self.tau_c
            out["levels"] = self.levels
            if self.tau_range is not None:
                out["tau_range"] = list(self.tau_range)
            return out
        if self.alpha_c_per_class is not None:
            out["class_sizes"] = list(self.setting.sizes.sizes)
            out["alpha_c_per_class"] = list(self.alpha_c_per_class)
            out["collapsed_at_range_ends_per_class"] = [list(e) for e in
                                                        self.collapsed_at_range_ends]
            return out
        if self.along == "alpha":
            out["alpha_c"] = self.alpha_c
        else:
            out["tau_c"] = self.tau_c
            if self.collapse_when == "tau <= tau_c":
                out["collapse_when"] = self.collapse_when
        if isinstance(self.setting, Dataset):
            if self.collapsed_at_range_ends is not None:
                out["collapsed_at_range_ends"] = list(self.collapsed_at_range_ends)
                out["tau_range"] = list(self.tau_range)
            out["per_batch"] = (self.per_batch if self.per_batch is None or
                                isinstance(self.per_batch, str) else self.per_batch.as_dict())
        return out


def _balanced_threshold(spec: LossSpec, batch: Batch, tau, alpha) -> Threshold:
    m, k, p = batch.shape
    if tau is not None:
        check_setting(spec, m, k, p, tau=tau)
        side = {1: "alpha <= alpha_c", -1: "alpha >= alpha_c"}.get(alpha_side(spec, m, k, p,
                                                                              tau))
        return Threshold(batch, "alpha", alpha_c=float(alpha_c_value(spec, m, k, p, tau)),
                         collapse_when=side)
    check_setting(spec, m, k, p, alpha=alpha)
    rule = collapse_rule(spec, m, k, p, alpha)
    when = {"tau>=": "tau >= tau_c", "tau<=": "tau <= tau_c", "always": "tau >= tau_c"}
    return Threshold(batch, "tau", tau_c=None if rule.kind == "never" else float(rule.tau_c),
                     collapse_when=when.get(rule.kind))


def _bisected_threshold(spec: LossSpec, setting: Setting, tau, tol: float) -> Threshold:
    """alpha_c where no closed form gives it (tau learned, a :class:`~ssem_symbolic.vocab.
    Learnable`; a temperature per pair type): where the optimum stops (or starts) collapsing
    every class, by bisection on alpha between 0 and 1 to ``tol`` (one change is assumed; the
    ends are solved). None when both ends agree."""
    learned = isinstance(tau, Learnable)
    change = flag_change(lambda a: optimum(spec, setting, a, tau).collapsed, tol,
                         "alpha_c with tau learned: bisection" if learned else
                         "alpha_c: bisection")
    span = (float(tau.clamp), float(tau.top)) if learned else None
    if change is None:
        return Threshold(setting, "alpha", alpha_c=None, tau_range=span)
    return Threshold(setting, "alpha", alpha_c=change[0],
                     collapse_when="alpha <= alpha_c" if change[1] else "alpha >= alpha_c",
                     tau_range=span)


def _scanned_tau_c(spec: LossSpec, batch: Batch, alpha, tol: float | None,
                   tau_range: tuple | None) -> Threshold:
    """tau_c of a balanced batch where no closed form gives it (a temperature per pair type):
    every change of collapse along tau in ``tau_range`` (None: [0.01, 100]), from the regime
    scan."""
    span = tau_range or TAU_SCAN_RANGE
    r = regimes(spec, batch, alpha=alpha, tau_range=span, tol=1e-8 if tol is None else tol)
    changes, ends = list(r.collapse_changes[0]), tuple(r.collapsed_at_ends[0])
    one = len(changes) == 1
    return Threshold(batch, "tau", tau_c=changes[0] if one else changes or None,
                     collapse_when=("tau <= tau_c" if ends[0] else "tau >= tau_c") if one
                     else None, collapsed_at_range_ends=ends,
                     tau_range=tuple(float(x) for x in span))


def _level_threshold(spec: LossSpec, h: Setting, tau, alpha, tol: float | None,
                     tau_range: tuple | None) -> Threshold:
    """A hierarchy's threshold per level (:func:`~ssem_symbolic.optimum._hierarchy.
    level_changes`), read off the regime scan along alpha (fixed ``tau``) or tau (fixed
    ``alpha``, in ``tau_range``, None: [0.01, 100]): the first change of each level's collapse,
    None where it does not change; ``alpha_c`` / ``tau_c`` is the class level's."""
    if not isinstance(h, Hierarchy):
        raise _needs("hierarchy", spec)
    span = None if tau is not None else tuple(tau_range or TAU_SCAN_RANGE)
    r = regimes(spec, h, tau=tau, alpha=alpha, tol=tol, tau_range=span)
    levels = level_changes(r, h.views)
    first = {level: (data["changes"][0] if data["changes"] else None)
             for level, data in levels.items()}
    along = "alpha" if tau is not None else "tau"
    return Threshold(h, along, **{f"{along}_c": first["class"]},
                     tau_range=None if span is None else tuple(float(x) for x in span),
                     levels=levels)


def _structure_threshold(spec: LossSpec, b: Setting, tau, alpha, tol: float | None,
                         tau_range: tuple | None) -> Threshold:
    """A batch of pairs: every change of the optimum's structure (simplex, between,
    antipodal; :mod:`~ssem_symbolic.optimum._paired`) and of class collapse along alpha
    (fixed ``tau``) or tau (fixed ``alpha``, in ``tau_range``, None: [0.01, 100]), read off the
    regime scan; ``alpha_c`` / ``tau_c`` the first change of class collapse (labels only)."""
    if not isinstance(b, Paired):
        raise _needs("pairs", spec)
    span = None if tau is not None else tuple(tau_range or TAU_SCAN_RANGE)
    r = regimes(spec, b, tau=tau, alpha=alpha, tol=tol, tau_range=span)
    changes: dict = {"structure": [], "class": []}
    for bound, lo, hi in zip(r.boundaries, r.regimes, r.regimes[1:]):
        if lo["structure"] != hi["structure"]:
            changes["structure"].append({"at": bound.at, "below": lo["structure"],
                                         "above": hi["structure"]})
        if lo["collapsed"] != hi["collapsed"]:
            changes["class"].append(bound.at)
    levels = {"structure": {"changes": changes["structure"],
                            "at_ends": [r.regimes[0]["structure"], r.regimes[-1]["structure"]]},
              "class": {"changes": changes["class"],
                        "at_ends": [r.regimes[0]["collapsed"], r.regimes[-1]["collapsed"]]}}
    along = "alpha" if tau is not None else "tau"
    first = changes["class"][0] if changes["class"] else None
    return Threshold(b, along, **{f"{along}_c": first},
                     tau_range=None if span is None else tuple(float(x) for x in span),
                     levels=levels)


def threshold(spec: LossSpec | str, setting: Setting, *, tau=None, alpha=None,
              tol: float | None = None, tau_range: tuple | None = None) -> Threshold:
    """alpha_c at ``tau``, or tau_c at ``alpha`` (give exactly one), for ``setting``.

    A balanced batch's is the closed form. Where it is located numerically (a dataset, unequal
    sizes), ``tol`` is the bisection's tolerance (None: 1e-10 for the dataset's alpha_c, 1e-8
    for its tau_c, relative, and for unequal sizes), and tau_c is searched in ``tau_range``
    (None: [0.01, 100]).

    ``tau`` a :class:`~ssem_symbolic.vocab.Learnable`: alpha_c with tau learned, for any
    setting (bisection on alpha of the learned optimum's collapse, ``tol`` default 1e-6);
    ``collapse_when`` gives the side, ``tau_range`` the clamp and top of tau."""
    spec, setting = get_spec(spec), _setting(setting)
    if (tau is None) == (alpha is None):
        raise ValueError("give exactly one of tau (for alpha_c) and alpha (for tau_c)")
    if isinstance(tau, Learnable):
        _flat(spec, setting, "a learnable tau")
        return _bisected_threshold(spec, setting, tau, 1e-6 if tol is None else tol)
    if isinstance(setting, Hierarchy) or spec.levels:
        return _level_threshold(spec, setting, tau, alpha, tol, tau_range)
    if isinstance(setting, Paired) or spec.contrast == "cross-modal":
        return _structure_threshold(spec, setting, tau, alpha, tol, tau_range)
    if isinstance(setting, Batch) and setting.is_balanced and spec.temperatures:
        m, k, p = setting.shape
        check_setting(spec, m, k, p, alpha=alpha, tau=tau)
        if tau is not None:
            return _bisected_threshold(spec, setting, tau, 1e-10 if tol is None else tol)
        return _scanned_tau_c(spec, setting, alpha, tol, tau_range)
    if isinstance(setting, Batch):
        if setting.is_balanced:
            return _balanced_threshold(spec, setting, tau, alpha)
        if tau is None:
            raise ValueError("with unequal class sizes the threshold is per class along alpha: "
                             "give tau (for a scan along tau, use regimes with alpha)")
        r = imbalanced_regimes(spec, setting.sizes, setting.views, tau=tau,
                               **({} if tol is None else {"tol": tol}))
        return Threshold(setting, "alpha", alpha_c_per_class=tuple(r.threshold(i) for i in
                                                          range(setting.classes)),
                         collapsed_at_range_ends=tuple(tuple(e) for e in
                                                       r.collapsed_at_ends))
    C, n, p, smp = setting.classes, setting.instances, setting.views, setting.sampler
    per_batch = None
    if smp.kind == "balanced" and spec.temperatures:
        one = Batch.balanced(smp.m, smp.k, p)
        per_batch = threshold(spec, one, tau=tau, alpha=alpha, tau_range=tau_range)
    elif smp.kind == "balanced":
        one = Batch.balanced(smp.m, smp.k, p)
        if tau is not None:
            per_batch = _balanced_threshold(spec, one, tau, None)
        else:
            check_setting(spec, smp.m, smp.k, p, alpha=alpha)
            try:
                value = tau_c_value(spec, smp.m, smp.k, p, alpha)
                per_batch = Threshold(one, "tau",
                                      tau_c=None if value == mpmath.inf else float(value))
            except ValueError:  # collapse at small tau: the rule, not one tau_c
                per_batch = str(collapse_rule(spec, smp.m, smp.k, p, alpha))
    if tau is not None:
        return Threshold(setting, "alpha", alpha_c=dataset_alpha_c(
            spec, C, n, p, smp, tau, **({} if tol is None else {"tol": tol})),
            per_batch=per_batch)
    data = dataset_tau_c(spec, C, n, p, smp, alpha, **({} if tol is None else {"tol": tol}),
                         **({} if tau_range is None else {"tau_range": tau_range}))
    return Threshold(setting, "tau", tau_c=list(data["tau_c"]),
                     collapsed_at_range_ends=tuple(data["collapsed_at"]),
                     tau_range=tuple(data["range"]), per_batch=per_batch)
