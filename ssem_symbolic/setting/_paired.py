"""A batch of paired modalities (image and text, as CLIP and SigLIP train on): m classes of k
instances, each instance one embedding per modality (u_i an image, v_i its text).

A loss that contrasts across modalities only (a spec's ``contrast = "cross-modal"``) sees an
image's partners among the texts: its own (a ``view`` pair, similarity a), the texts of its
class mates (``class``, c_x) and of other classes (``other``, o_x). The loss is convex in the
Gram matrix and invariant under permuting instances within a class, classes, and swapping the
two modalities, so its minimum over unit embeddings is its minimum over Gram matrices with one
value per pair type and modality pair: a (matched), c_x and o_x across modalities, c_i and o_i
within one (the same in both modalities, by the swap). Such a G is PSD iff, for each nested
contrast of instances, both eigenvalues of its 2 x 2 modality block [[alpha, beta], [beta,
alpha]] are >= 0 (alpha the within-modality sum, beta the cross-modal one):

* ``within-class+`` / ``within-class-``: (1 - c_i) +- (a - c_x)                   (m (k - 1))
* ``between-class+`` / ``between-class-``: (1 + (k-1) c_i - k o_i)
  +- (a + (k-1) c_x - k o_x)                                                        (m - 1)
* ``all-ones+`` / ``all-ones-``: (1 + (k-1) c_i + (m-1) k o_i)
  +- (a + (k-1) c_x + (m-1) k o_x)                                                  (1)

(proved on explicit batches in ``proofs/paired.py``). With k = 1 (no labels: every instance its
own class) the class coordinates and the within-class rows drop out.

What it reports: the modality gap ||mean(u) - mean(v)||^2 = 2 lambda_all-ones- / (m k), and
whether each image equals its text (``within-class-`` and ``between-class-`` active, a = 1 and
the two modalities one set of points).

>>> P = paired_polyhedron(4, 1)
>>> P.coords, P.names
(('view', 'other', 'other[intra]'), ('between-class+', 'between-class-', 'all-ones+', 'all-ones-'))
>>> P.eigenvalues([1, sp.Rational(-1, 3), sp.Rational(-1, 3)])  # the simplex ETF, u_i = v_i
[8/3, 0, 0, 0]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from ._polyhedron import Polyhedron

#: the coordinates of the family: the matched pair, then class and other pairs across and
#: within the modalities
PAIRED_COORDINATES = ("view", "class", "other", "class[intra]", "other[intra]")


@dataclass(frozen=True)
class Paired:
    """m ``classes`` of k instances (``per_class``) of paired modalities; ``Paired(N, 1)``:
    N pairs without labels (each its own class)."""

    classes: int
    per_class: int = 1

    def __post_init__(self) -> None:
        for name, value, least in (("classes m", self.classes, 2),
                                   ("instances per class k", self.per_class, 1)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if value < least:
                raise ValueError(f"{name} must be >= {least}, got {value}")

    @property
    def views(self) -> int:
        """Two modalities: the embeddings of one instance (p = 2)."""
        return 2

    @property
    def pairs(self) -> int:
        """N = m k instances (image-text pairs)."""
        return self.classes * self.per_class

    def describe(self) -> str:
        if self.per_class == 1:
            return f"{self.classes} image-text pairs"
        return f"{self.classes} classes x {self.per_class} image-text pairs"

    def partners(self, index: dict, cross_only: bool) -> dict:
        """An anchor's partners per pair type as (count, coordinate index), across the
        modalities only (``cross_only``) or in both (None: the self entry 1)."""
        m_, k_ = self.classes, self.per_class
        out = {"modalities": [],  # marks partners read per modality (setting.check_part)
               "self": [] if cross_only else [(1, None)],
               "view": [(1, index["view"])],
               "class": [(k_ - 1, index["class"])] if k_ >= 2 else [],
               "other": [((m_ - 1) * k_, index["other"])]}
        if not cross_only:
            if k_ >= 2:
                out["class"].append((k_ - 1, index["class[intra]"]))
            out["other"].append(((m_ - 1) * k_, index["other[intra]"]))
        return out


def paired_eigenvalues(m_: int, k_: int, x: dict) -> list:
    """(direction, eigenvalue, multiplicity) at the coordinates ``x`` ({name: value}; an
    absent class coordinate reads 1)."""
    a, o_x, o_i = x["view"], x["other"], x["other[intra]"]
    c_x, c_i = x.get("class", 1), x.get("class[intra]", 1)
    rows = []
    blocks = [("between-class", 1 + (k_ - 1) * c_i - k_ * o_i,
               a + (k_ - 1) * c_x - k_ * o_x, m_ - 1),
              ("all-ones", 1 + (k_ - 1) * c_i + (m_ - 1) * k_ * o_i,
               a + (k_ - 1) * c_x + (m_ - 1) * k_ * o_x, 1)]
    if k_ >= 2:
        blocks.insert(0, ("within-class", 1 - c_i, a - c_x, m_ * (k_ - 1)))
    for name, alpha_, beta_, mult in blocks:
        rows += [(f"{name}+", alpha_ + beta_, mult), (f"{name}-", alpha_ - beta_, mult)]
    return rows


@functools.lru_cache(maxsize=None)
def paired_polyhedron(m_: int, k_: int) -> Polyhedron:
    """The symmetric Gram polyhedron of m classes x k instances of paired modalities, exact
    (``m`` the classes, ``k`` the instances, ``p`` 2)."""
    coords = tuple(c for c in PAIRED_COORDINATES if k_ >= 2 or "class" not in c)
    symbols = {c: sp.Symbol(c, real=True) for c in coords}
    names, normal, offset, mult = [], [], [], []
    for name, ev, count in paired_eigenvalues(m_, k_, symbols):
        ev = sp.expand(ev)
        names.append(name)
        normal.append(tuple(sp.Rational(ev.coeff(symbols[c])) for c in coords))
        offset.append(sp.Rational(ev.subs({s: 0 for s in symbols.values()})))
        mult.append(int(count))
    return Polyhedron(m_, k_, 2, coords, tuple(names), tuple(normal), tuple(offset),
                      tuple(mult))


__all__ = ["PAIRED_COORDINATES", "Paired", "paired_eigenvalues", "paired_polyhedron"]
