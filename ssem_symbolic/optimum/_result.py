"""The one result of :func:`~ssem_symbolic.optimum.optimum`, whatever the setting.

Every solver behind the entry point (the polyhedral one for a balanced batch and a dataset's
symmetric family, the size-group one for unequal classes, the block-by-block one for a fixed
partition) reports an :class:`Optimum`. What every setting has is always set; what only some
settings have is documented per field and left at its empty default elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..setting import ClassSizes


@dataclass(frozen=True)
class LearnedTemperature:
    """Where a learnable temperature settles (:func:`~ssem_symbolic.optimum.optimum` with a
    :class:`~ssem_symbolic.vocab.Learnable` tau): ``tau`` minimises the optimum's loss over
    [``clamp``, ``top``]; ``at_clamp`` / ``at_top`` where it is an end of that range;
    ``profile`` the (tau, loss of the optimum) grid the search started from; ``limit`` (a
    symmetric family: a balanced batch, a dataset under a balanced or uniform sampler) V*,
    the exact minimum of the tau -> 0 limit of tau times the unscaled loss: the loss behaves
    as V*/tau near 0 (V* < 0: it falls without bound, so tau runs to the clamp)."""

    tau: float
    clamp: float
    top: float
    at_clamp: bool
    at_top: bool
    profile: tuple = field(default=(), repr=False)
    limit: object = None

    def as_dict(self) -> dict:
        return {"tau": self.tau, "clamp": self.clamp, "top": self.top,
                "at_clamp": self.at_clamp, "at_top": self.at_top,
                "tau_zero_limit": None if self.limit is None else self.limit.as_dict(),
                "profile": [list(point) for point in self.profile]}


@dataclass(frozen=True)
class Optimum:
    """The minimiser of the loss over all unit embeddings of a setting, and what it reports.

    Every setting:

    * ``loss_value`` (the unscaled loss from a family solver; the entry point applies the
      spec's ``scale``);
    * ``active``: the active conditions, ``multipliers`` (the KKT multipliers of tau phi per
      active condition) and ``slacks`` (the margins of the inactive ones);
    * ``within_class_variance`` and ``between_class_variance`` of the whole batch;
    * ``per_class``: one entry per class (``size``, ``within_class_variance``,
      ``view_similarity``, ``class_similarity``, ``collapsed``), and ``merged``, the sets of
      classes whose means coincide;
    * ``unique`` (False where the minimisers form a set: ``ranges`` then gives each reported
      quantity's (lowest, highest) value over it), ``decided`` (False where a sign stayed
      undecided at ``digits``, a boundary point) and ``exact_point``, the solver's coordinates.

    One size group (a balanced batch, a dataset's symmetric family): ``view``, ``class_`` and
    ``other``, the similarity of the three pair types (``view`` None when p = 1).

    Unequal class sizes: ``sizes`` and ``similarity[(g, h)]``, the cosine of two different
    classes of size groups g and h (also given for one size group).

    A hierarchy of labels: ``hierarchy`` (each level's similarity, variances and collapse);
    ``other`` is then the similarity of two superclasses.

    A learnable temperature: ``temperature`` (:class:`LearnedTemperature`), the tau the
    optimum is at; the rest is the optimum at that tau.

    A fixed partition into disjoint batches: ``blocks``, one (class sizes, batch count,
    :class:`Optimum`) per batch composition, and ``uncovered``, the instances no batch holds;
    the per-class fields are empty there, as the similarities across batches are not fixed.
    """

    loss_value: float
    active: tuple[str, ...] = ()
    multipliers: dict = field(default_factory=dict)
    slacks: dict = field(default_factory=dict)
    within_class_variance: float | None = None
    between_class_variance: float | None = None
    per_class: tuple[dict, ...] = ()
    merged: tuple[tuple[int, ...], ...] = ()
    similarity: dict = field(default_factory=dict)
    sizes: ClassSizes | None = None
    view: float | None = None
    class_: float | None = None
    other: float | None = None
    unique: bool = True
    decided: bool = True
    digits: int = 30
    exact_point: tuple = field(default=(), repr=False, compare=False)
    ranges: dict = field(default_factory=dict)
    blocks: tuple = ()
    uncovered: int | None = 0
    temperature: LearnedTemperature | None = None
    #: a loss that is not convex (hard negatives): how the point was found, its verdict and
    #: the certified lower bound (:class:`~ssem_symbolic.optimum._hard.Search`); None: the
    #: exact optimum, certified by convexity
    search: object = None
    #: a hierarchy of labels: S and m, the similarity of two classes of one superclass, the
    #: variances of each level and each level's collapse
    #: (:mod:`~ssem_symbolic.optimum._hierarchy`); None elsewhere
    hierarchy: dict | None = None
    #: a batch of paired modalities: the matched and within-modality similarities, the
    #: modality gap and the structure (:mod:`~ssem_symbolic.optimum._paired`); None elsewhere
    paired: dict | None = None

    @property
    def collapsed(self) -> bool:
        """Every class collapsed (in a partition: in every batch)."""
        if self.blocks:
            return all(opt.collapsed for _, _, opt in self.blocks)
        return bool(self.per_class) and all(c["collapsed"] for c in self.per_class)

    @property
    def symmetric(self) -> bool:
        """One size group: the three pair-type similarities describe the optimum."""
        return self.class_ is not None

    def as_dict(self) -> dict:
        """The JSON fields (``ssem optimum --json``): the pair-type similarities for one size
        group, per class and per pair of size groups for unequal sizes, per batch
        composition for a fixed partition; ``learned_temperature`` where tau was learned;
        ``verdict``: "certified" (a convex loss: the exact optimum) or "best found" (hard
        negatives, with ``search``)."""
        out = self._fields()
        if self.temperature is not None:
            out["learned_temperature"] = self.temperature.as_dict()
        out["verdict"] = "certified" if self.search is None else self.search.verdict
        if self.search is not None:
            out["search"] = self.search.as_dict()
        return out

    def _fields(self) -> dict:
        if self.blocks:
            return {"sampler": "fixed-partition", "loss_value": self.loss_value,
                    "unique": self.unique, "instances_in_no_batch": self.uncovered,
                    "batches": [{"class_sizes": list(sizes), "count": count,
                                 "optimum": opt.as_dict()}
                                for sizes, count, opt in self.blocks],
                    "across_batches": "not determined by the loss: any similarities that keep "
                                      "the Gram matrix positive semidefinite"}
        common = {"active_constraints": list(self.active),
                  "within_class_variance": self.within_class_variance,
                  "between_class_variance": self.between_class_variance,
                  "collapsed": self.collapsed, "loss_value": self.loss_value,
                  "unique": self.unique}
        if self.symmetric:
            out = {"view_similarity": self.view, "class_similarity": self.class_,
                   "other_similarity": self.other, **common}
            if self.hierarchy is not None:
                out["hierarchy"] = self.hierarchy
            if self.paired is not None:
                out["paired"] = self.paired
            if not self.unique:
                out["ranges"] = {key: list(span) for key, span in self.ranges.items()}
            return out
        groups = self.sizes.groups
        return {"class_sizes": list(self.sizes.sizes),
                "per_class": [dict(c) for c in self.per_class],
                "merged": [list(pair) for pair in self.merged],
                "pair_similarity": [{"sizes": [groups[g][0], groups[h][0]], "similarity": v}
                                    for (g, h), v in self.similarity.items()],
                **common, "decided": self.decided}


@dataclass(frozen=True)
class Boundary:
    """A regime change along one axis: ``at`` (alpha or tau), the active sets on each side,
    for unequal class sizes the merged classes on each side (None otherwise), and with tau
    learned where tau* lies on each side (None otherwise)."""

    axis: str
    at: float
    below: tuple[str, ...]
    above: tuple[str, ...]
    merged_below: tuple | None = None
    merged_above: tuple | None = None
    tau_below: str | None = None  #: tau learned: where tau* lies below ("clamp", ...)
    tau_above: str | None = None

    def as_dict(self) -> dict:
        out = {self.axis: self.at, "below": list(self.below), "above": list(self.above)}
        if self.merged_below is not None:
            out |= {"merged_below": [list(p) for p in self.merged_below],
                    "merged_above": [list(p) for p in self.merged_above]}
        if self.tau_below is not None:
            out |= {"tau_star_below": self.tau_below, "tau_star_above": self.tau_above}
        return out


@dataclass(frozen=True)
class Regimes:
    """The regimes of the optimum along alpha in [0, 1] (fixed tau) or along tau (fixed
    alpha), whatever the setting.

    ``boundaries``: each change of the active set or of the merged classes. ``regimes``: one
    span per regime, with its active set and whether it is collapsed (for unequal sizes
    ``sizes`` is set, and a span lists its collapsed classes and its merges).
    ``collapse_changes[i]``: every point along the axis where class i turns collapsed or not
    (in either direction), and ``collapsed_at_ends[i]``: whether it is collapsed at the scan's
    first and last point; no change and (True, True) is "collapsed over the whole range".
    """

    axis: str
    fixed: dict
    boundaries: tuple[Boundary, ...]
    regimes: tuple[dict, ...]
    sizes: ClassSizes | None = None
    collapse_changes: tuple[tuple[float, ...], ...] = ()
    collapsed_at_ends: tuple[tuple[bool, bool], ...] = ()

    def threshold(self, i: int) -> float | None:
        """Class i's threshold along the axis: its first collapse change, None if none."""
        return self.collapse_changes[i][0] if self.collapse_changes[i] else None

    def as_dict(self) -> dict:
        out = {"boundaries": [b.as_dict() for b in self.boundaries],
               "regimes": list(self.regimes), **self.fixed}
        if self.sizes is not None:
            out = {"class_sizes": list(self.sizes.sizes), **out}
        return out
