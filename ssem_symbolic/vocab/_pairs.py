"""The pair types: the one vocabulary every layer uses.

Relative to an anchor embedding a, every embedding b of a batch lies in a smallest common
group of the nested groups ``self`` (a itself) within ``instance`` (its views) within
``class`` within ``batch``; that group names b's pair type. One table holds, per type:

* its name;
* the group that defines it: the mask rule (in that group, not in the next inner one) and the
  group-sum rule (the sum over those pairs is the group's sum minus the inner group's sum);
* its count per anchor on a balanced batch (m classes x k instances x p views);
* its value in a Gram matrix with one value per pair type (1 for ``self``; symbols v, c, o).

Adding a pair type means adding a row here (and its nested group).

>>> [t.name for t in TABLE]
['self', 'view', 'class', 'other']
>>> TABLE[2].count(3, 4, 2), TABLE[3].gram
(6, o)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

#: the nested groups, innermost first
GROUPS: tuple[str, ...] = ("self", "instance", "class", "batch")

#: the Gram coordinates of the symmetric family: view, class, other similarities
v_sym, c_sym, o_sym = sp.symbols("v c o", real=True)

#: the label levels of a hierarchy, finest first: an instance's class, and the superclass
#: that holds its class. Two embeddings of different classes in one superclass are still an
#: ``other`` pair (the pair types are read at the class level); a loss that sums its
#: supervised term over the levels (a spec's ``levels``) reads that term once per level, at
#: the superclass level with each superclass taken as one class.
LEVELS: tuple[str, ...] = ("class", "superclass")


@dataclass(frozen=True)
class PairType:
    name: str
    group: str  #: the smallest common group of anchor and partner (see module docstring)
    count: Callable  #: (m, k, p) -> partners of this type per anchor, balanced batch
    gram: sp.Expr  #: its entry of a Gram matrix with one value per pair type

    @property
    def inner(self) -> str | None:
        """The next inner group, whose pairs are subtracted (None for the innermost)."""
        i = GROUPS.index(self.group)
        return GROUPS[i - 1] if i else None


TABLE: tuple[PairType, ...] = (
    PairType("self", "self", lambda m, k, p: 1, sp.Integer(1)),
    PairType("view", "instance", lambda m, k, p: p - 1, v_sym),
    PairType("class", "class", lambda m, k, p: (k - 1) * p, c_sym),
    PairType("other", "batch", lambda m, k, p: (m - 1) * k * p, o_sym),
)
BY_NAME: dict[str, PairType] = {t.name: t for t in TABLE}
PAIR_TYPES: tuple[str, ...] = tuple(t.name for t in TABLE)


def by_type(groups: dict, minus: Callable = operator.sub) -> dict:
    """Per pair type, from per-group values by the table's rule: the type's group minus its
    inner group. Sums use ``-`` (the default); masks pass ``minus=lambda a, b: a & ~b``.

    >>> by_type({"self": 1, "instance": 3, "class": 12, "batch": 36})
    {'self': 1, 'view': 2, 'class': 9, 'other': 24}
    """
    return {t.name: groups[t.group] if t.inner is None
            else minus(groups[t.group], groups[t.inner]) for t in TABLE}


def to_groups(per_type: dict) -> dict:
    """The adjoint of :func:`by_type`: per group, the weight that a weighted sum over pair
    types puts on that group's sum. ``sum_t w_t (Q_group(t) - Q_inner(t)) = sum_g W_g Q_g``
    with ``W_g`` the weights of the types whose group is g minus those whose inner group is g.
    Types absent from ``per_type`` weigh nothing; groups that no type touches are left out.

    >>> to_groups({"view": 1, "class": 2})
    {'instance': -1, 'self': -1, 'class': 2}
    """
    out: dict = {}
    for t in TABLE:
        if t.name not in per_type:
            continue
        w = per_type[t.name]
        out[t.group] = out[t.group] + w if t.group in out else w
        if t.inner is not None:
            out[t.inner] = out[t.inner] - w if t.inner in out else -w
    return out
