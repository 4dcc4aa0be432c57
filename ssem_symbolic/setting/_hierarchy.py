"""A hierarchy of labels: S superclasses of m classes, k instances per class, p views.

The loss is convex in the Gram matrix and invariant under permuting views within an instance,
instances within a class, classes within a superclass and superclasses, so its minimum over
unit embeddings is its minimum over Gram matrices with one value per pair of levels: self 1,
``view`` v, ``class`` c (same class), ``superclass`` u (same superclass, another class) and
``other`` o (another superclass). Such a G is PSD iff its five eigenvalues are >= 0 (nested
contrasts, with a = 1 + (p - 1) v + (k - 1) p c the sum of a row over its class):

* ``view``: 1 - v                                          (S m k (p - 1))
* ``within-class``: 1 + (p - 1) v - p c                    (S m (k - 1))
* ``within-superclass``: a - k p u                         (S (m - 1))
* ``between-superclass``: a + (m - 1) k p u - m k p o      (S - 1)
* ``all-ones``: a + (m - 1) k p u + (S - 1) m k p o        (1)

(proved on explicit batches in ``proofs/hierarchy.py``). On a point of this polyhedron:
||class mean||^2 = a/(kp), ||superclass mean||^2 = (a + (m - 1) k p u)/(mkp); the within-class
variance is ((k - 1) lambda_within-class + k (p - 1) lambda_view)/(kp), the variance of the class
means inside their superclass (m - 1) lambda_within-superclass/(mkp), and that of the
superclass means (S - 1) lambda_between-superclass/(Smkp); they sum to the total variance.

Collapse per level: a class is one point when ``within-class`` and ``view`` are active; the
classes of a superclass share one mean when ``within-superclass`` is; a superclass is one point
when all three are.

>>> h = Hierarchy(20, 5, 2)
>>> h.describe(), h.classes, h.size
('20 superclasses x 5 classes x 2 instances x 2 views', 100, 400)
>>> P = hierarchy_polyhedron(2, 3, 2, 2)
>>> P.coords, P.names[2]
(('view', 'class', 'superclass', 'other'), 'within-superclass')
>>> P.eigenvalues([1, 1, 1, -1])  # every superclass one point, two antipodal superclasses
[0, 0, 0, 24, 0]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from ..vocab import c_sym, o_sym, v_sym
from ._polyhedron import Polyhedron

#: the Gram coordinate of two classes of one superclass
u_sym = sp.Symbol("u", real=True)
#: the eigen-directions of a hierarchy's symmetric Gram matrix, in nesting order
HIERARCHY_DIRECTIONS: tuple[str, ...] = ("view", "within-class", "within-superclass",
                                         "between-superclass", "all-ones")


def _count(name: str, value, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be >= {least}, got {value}")
    return value


@dataclass(frozen=True)
class Hierarchy:
    """A balanced hierarchy: ``supers`` superclasses (S >= 2) of ``classes`` classes each
    (m >= 2), ``per_class`` instances per class (k >= 1) and ``views`` views (p >= 1).

    ``Hierarchy.parse("20x5", k, p)`` reads the command line's SxM; :meth:`from_labels` a
    two-column labels file's (superclass, class) pairs."""

    supers: int
    classes_per_super: int
    per_class: int
    views: int = 2

    def __post_init__(self) -> None:
        _count("superclasses S", self.supers, 2)
        _count("classes per superclass m", self.classes_per_super, 2)
        _count("instances per class k", self.per_class, 1)
        _count("views p", self.views, 1)

    @classmethod
    def parse(cls, text: str, per_class: int, views: int = 2) -> Hierarchy:
        """``"SxM"``: S superclasses of M classes.

        >>> Hierarchy.parse("20x5", 2).classes
        100
        """
        try:
            s, m_ = (int(part) for part in text.lower().split("x"))
        except ValueError:
            raise ValueError(f"a hierarchy is SxM (superclasses x classes per superclass), "
                             f"got {text!r}") from None
        return cls(s, m_, per_class, views)

    @classmethod
    def from_labels(cls, pairs, views: int = 2) -> Hierarchy:
        """The hierarchy of one instance per (superclass, class) pair; it must be balanced
        (every superclass the same number of classes, every class the same number of
        instances) and each class in one superclass.

        >>> Hierarchy.from_labels([("a", 1), ("a", 1), ("a", 2), ("a", 2),
        ...                        ("b", 3), ("b", 3), ("b", 4), ("b", 4)]).describe()
        '2 superclasses x 2 classes x 2 instances x 2 views'
        """
        owner: dict = {}
        sizes: dict = {}
        for sup, cls_ in pairs:
            if owner.setdefault(cls_, sup) != sup:
                raise ValueError(f"class {cls_!r} lies in two superclasses ({owner[cls_]!r} and "
                                 f"{sup!r})")
            sizes[cls_] = sizes.get(cls_, 0) + 1
        per_super: dict = {}
        for cls_, sup in owner.items():
            per_super[sup] = per_super.get(sup, 0) + 1
        if len(set(sizes.values())) > 1 or len(set(per_super.values())) > 1:
            raise ValueError("the hierarchy is not balanced (classes of unequal sizes, or "
                             "superclasses of unequal class counts): the hierarchical solver "
                             "takes a balanced one")
        if not sizes:
            raise ValueError("the labels name no instance")
        return cls(len(per_super), next(iter(per_super.values())), next(iter(sizes.values())),
                   views)

    @property
    def classes(self) -> int:
        """S m, the number of classes."""
        return self.supers * self.classes_per_super

    @property
    def size(self) -> int:
        """M = S m k p, the number of embeddings."""
        return self.classes * self.per_class * self.views

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(S, m, k, p)."""
        return self.supers, self.classes_per_super, self.per_class, self.views

    def describe(self) -> str:
        return (f"{self.supers} superclasses x {self.classes_per_super} classes x "
                f"{self.per_class} instances x {self.views} views")

    def partners(self, index: dict) -> dict:
        """An anchor's partners per pair type, as (count, coordinate index) with the
        coordinates ``index`` names (None: the self entry 1); ``superclass`` lists the
        classes of its superclass, which lie among ``other`` at the class level
        (:func:`~ssem_symbolic.setting.level_parts`)."""
        S, m_, k_, p_ = self.shape
        inner = [((m_ - 1) * k_ * p_, index["superclass"])]
        return {"self": [(1, None)],
                "view": [(p_ - 1, index["view"])] if p_ >= 2 else [],
                "class": [((k_ - 1) * p_, index["class"])] if k_ >= 2 else [],
                "other": inner + [((S - 1) * m_ * k_ * p_, index["other"])],
                "superclass": inner}


def hierarchy_eigenvalues(S, m_, k_, p_, v=v_sym, c=c_sym, u=u_sym, o=o_sym) -> list:
    """(direction, eigenvalue, multiplicity) of the symmetric Gram matrix of a hierarchy (see
    the module docstring)."""
    a = 1 + (p_ - 1) * v + (k_ - 1) * p_ * c
    return [("view", 1 - v, S * m_ * k_ * (p_ - 1)),
            ("within-class", 1 + (p_ - 1) * v - p_ * c, S * m_ * (k_ - 1)),
            ("within-superclass", a - k_ * p_ * u, S * (m_ - 1)),
            ("between-superclass", a + (m_ - 1) * k_ * p_ * u - m_ * k_ * p_ * o, S - 1),
            ("all-ones", a + (m_ - 1) * k_ * p_ * u + (S - 1) * m_ * k_ * p_ * o, 1)]


@functools.lru_cache(maxsize=None)
def hierarchy_polyhedron(S: int, m_: int, k_: int, p_: int) -> Polyhedron:
    """The symmetric Gram polyhedron of a hierarchy, exact: coordinates view (p >= 2), class
    (k >= 2), superclass and other; ``m`` is the number of classes S m."""
    symbols = {"view": v_sym, "class": c_sym, "superclass": u_sym, "other": o_sym}
    coords = tuple(t for t in symbols if not (t == "view" and p_ == 1)
                   and not (t == "class" and k_ == 1))
    names, normal, offset, mult = [], [], [], []
    for name, ev, count in hierarchy_eigenvalues(S, m_, k_, p_):
        if count == 0:
            continue
        ev = sp.expand(ev)
        names.append(name)
        normal.append(tuple(sp.Rational(ev.coeff(symbols[t])) for t in coords))
        offset.append(sp.Rational(ev.subs({s: 0 for s in symbols.values()})))
        mult.append(int(count))
    return Polyhedron(S * m_, k_, p_, coords, tuple(names), tuple(normal), tuple(offset),
                      tuple(mult))


def level_variances(h: Hierarchy, lam: dict) -> dict:
    """The variances of each level from the eigenvalues ``lam`` ({direction: value}; an
    absent direction is 0): within-class, between the classes of a superclass (around its
    mean), between superclasses, the within-superclass sum of the first two, and the total.

    >>> one, two, four = sp.Integer(1), sp.Integer(2), sp.Integer(4)
    >>> out = level_variances(Hierarchy(2, 2, 2, 1), {"within-class": one,
    ...                       "within-superclass": two, "between-superclass": four})
    >>> out["within_class"], out["between_classes_in_superclass"], out["total"]
    (1/2, 1/2, 3/2)
    """
    S, m_, k_, p_ = h.shape
    ev = {name: lam.get(name, 0) for name in HIERARCHY_DIRECTIONS}
    kp = k_ * p_
    within = ((k_ - 1) * ev["within-class"] + k_ * (p_ - 1) * ev["view"]) / kp
    classes = (m_ - 1) * ev["within-superclass"] / (m_ * kp)
    supers = (S - 1) * ev["between-superclass"] / (S * m_ * kp)
    return {"within_class": within, "between_classes_in_superclass": classes,
            "between_superclasses": supers, "within_superclass": within + classes,
            "total": within + classes + supers}


def level_collapse(active, p_: int) -> dict:
    """Per level, from the active directions: ``class`` (each class one point),
    ``classes_merged`` (the classes of a superclass share one mean), ``superclass`` (each
    superclass one point) and ``superclasses_merged`` (every superclass mean the same)."""
    cls_ = "within-class" in active and ("view" in active or p_ == 1)
    merged = "within-superclass" in active
    return {"class": cls_, "classes_merged": merged, "superclass": cls_ and merged,
            "superclasses_merged": merged and "between-superclass" in active}


__all__ = ["HIERARCHY_DIRECTIONS", "Hierarchy", "hierarchy_eigenvalues",
           "hierarchy_polyhedron", "level_collapse", "level_variances", "u_sym"]
