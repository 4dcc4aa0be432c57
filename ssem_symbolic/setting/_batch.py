"""A batch: the class sizes it holds and the views of each instance.

A balanced batch is one size group, ``Batch.balanced(m, k, p)``; any list of sizes is an
imbalanced one. Classes of equal size play the same role, so the solvers need one set of
unknowns per size group (:class:`ClassSizes`).

>>> b = Batch.balanced(3, 4)
>>> b.size, b.counts()["other"], b.shape
(24, 16, (3, 4, 2))
>>> Batch("5,3,2", views=2).sizes.groups
((5, 1), (3, 1), (2, 1))
>>> Batch((4, 4, 4)).is_balanced
True
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass

from ..spec import check_batch, pair_counts
from ._sizes import ClassSizes


@dataclass(frozen=True, init=False)
class Batch:
    """Class sizes (in the order given: every per-class report follows it) and ``views``.

    ``sizes``: a :class:`ClassSizes`, a sequence of sizes, or the command-line text
    (``"5,3,2"``, ``"1x20,9x4"``). Checked on construction: at least two classes, sizes and
    views integers >= 1.
    """

    sizes: ClassSizes
    views: int

    def __init__(self, sizes, views: int = 2) -> None:
        if isinstance(sizes, str):
            sizes = ClassSizes.parse(sizes)
        elif not isinstance(sizes, ClassSizes):
            if isinstance(sizes, int) and not isinstance(sizes, bool):
                raise ValueError("a Batch takes class sizes (a list), or use "
                                 f"Batch.balanced(classes, per_class), got {sizes!r}")
            sizes = ClassSizes(tuple(sizes))
        if isinstance(views, bool) or not isinstance(views, int):
            raise ValueError(f"views p must be an integer, got {views!r}")
        if views < 1:
            raise ValueError(f"views p must be >= 1 (every instance has at least one view), "
                             f"got {views}")
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "views", views)

    @classmethod
    def balanced(cls, classes: int, per_class: int, views: int = 2) -> Batch:
        """m = ``classes`` classes of k = ``per_class`` instances, p = ``views`` views.

        The balanced batch needs k >= 2 (same-class partners for the supervised term and
        SSEM)."""
        check_batch(classes, per_class, views)
        return cls(ClassSizes((per_class,) * classes), views)

    @classmethod
    def from_labels(cls, labels, views: int = 2) -> Batch:
        """The batch of one instance per label (any hashable ids), its classes in the order
        they first appear.

        >>> Batch.from_labels(["cat", "dog", "cat", 7, "dog", "cat"]).sizes.sizes
        (3, 2, 1)
        """
        counts: dict = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        if len(counts) < 2:
            raise ValueError(f"the labels name {len(counts)} class(es); a contrastive batch "
                             "needs at least two")
        return cls(ClassSizes(tuple(counts.values())), views)

    @property
    def is_balanced(self) -> bool:
        """One size group (every class the same size)."""
        return self.sizes.balanced

    @property
    def classes(self) -> int:
        """m, the number of classes."""
        return self.sizes.classes

    @property
    def per_class(self) -> int:
        """k, on a balanced batch (ValueError otherwise)."""
        if not self.is_balanced:
            raise ValueError(f"the batch {self.sizes} is not balanced: it has no one k")
        return self.sizes.sizes[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(m, k, p), on a balanced batch."""
        return self.classes, self.per_class, self.views

    @property
    def size(self) -> int:
        """M, the number of embeddings (instances times views)."""
        return self.sizes.instances * self.views

    def counts(self) -> dict[str, int]:
        """Partners of each pair type per anchor, on a balanced batch."""
        return {t: int(c) for t, c in pair_counts(*self.shape).items()}

    def describe(self) -> str:
        if self.is_balanced:
            return f"{self.classes} x {self.per_class} x {self.views} batch"
        return f"batch of class sizes {self.sizes}, {self.views} views"


_BATCH_PARAMS = (("m_", "k_", "p_"), ("m", "k", "p"), ("classes", "per_class", "views"))


def takes_convention(fn):
    """Let ``fn(convention, m, k, p, ...)`` take a balanced :class:`Batch` in place of its
    batch sizes (``fn(convention, batch, ...)``)."""
    params = list(inspect.signature(fn).parameters)
    triple = tuple(params[1:4]) in _BATCH_PARAMS

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if len(args) > 1 and isinstance(args[1], Batch):
            b = args[1]
            if not triple:
                raise TypeError(f"{fn.__name__}() takes no batch")
            if any(name in kwargs for name in params[1:4]):
                raise TypeError(f"{fn.__name__}() got the batch sizes twice (the Batch has "
                                "them)")
            if not b.is_balanced:
                raise ValueError(f"{fn.__name__}() takes a balanced batch; for class sizes "
                                 f"{b.sizes} use optimum(), regimes() or threshold()")
            args = (args[0], *b.shape, *args[2:])
        return fn(*args, **kwargs)
    return wrapper
