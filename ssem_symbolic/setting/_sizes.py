"""Class sizes of an imbalanced batch: k_1, ..., k_m as data, grouped by size.

Classes of equal size play the same role (the loss is invariant under permuting them), so the
symmetric reduction needs one set of unknowns per *size group*, not per class: a long-tailed
batch of 100 classes in two sizes is a two-group problem. :class:`ClassSizes` keeps the sizes in
the order the user gave them (every per-class report is aligned with that order) and the groups
in decreasing size.

>>> s = ClassSizes.parse("5,3,2")
>>> s.groups, s.instances
(((5, 1), (3, 1), (2, 1)), 10)
>>> ClassSizes.parse("1x20,9x4").groups  # count x size
((20, 1), (4, 9))
>>> ClassSizes((4, 4, 4)).balanced
True
"""

from __future__ import annotations

import collections
import functools
import re
from dataclasses import dataclass

#: the most classes a batch may have (beyond it the per-class report is not useful, and the
#: pairwise class table of a merge report has 5e7 entries)
MAX_CLASSES = 10_000


@dataclass(frozen=True)
class ClassSizes:
    """Instances per class, ``sizes[i]`` for class i (the user's order), each an integer >= 1.

    ``groups`` lists (size, count) by decreasing size; ``group_of[i]`` is class i's group.
    """

    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        sizes = self.sizes
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise ValueError(f"class sizes must be a list of integers, got {sizes!r}")
        sizes = tuple(sizes)
        if not sizes:
            raise ValueError("class sizes: the list is empty")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int):
                raise ValueError(f"class sizes must be integers, got {s!r}")
            if s < 1:
                raise ValueError(f"class sizes must be >= 1, got {s}")
        if len(sizes) < 2:
            raise ValueError("class sizes: a contrastive batch needs at least two classes")
        if len(sizes) > MAX_CLASSES:
            raise ValueError(f"class sizes: at most {MAX_CLASSES} classes, got {len(sizes)}")
        object.__setattr__(self, "sizes", sizes)

    @classmethod
    def parse(cls, text: str) -> ClassSizes:
        """From ``"5,3,2"`` (one size per class) or ``"1x20,9x4"`` (count x size), mixed freely.

        A malformed item is a one-line ValueError naming it.
        """
        items = [t.strip() for t in str(text).split(",")]
        if not any(items):
            raise ValueError("class sizes: the list is empty")
        sizes: list[int] = []
        for item in items:
            match = re.fullmatch(r"(?:(\d+)\s*[xX*]\s*)?(\d+)", item)
            if not match:
                raise ValueError(f"class sizes: {item!r} is not a size or count x size "
                                 "(integers, e.g. 5,3,2 or 1x20,9x4)")
            count = int(match.group(1)) if match.group(1) else 1
            if count < 1:
                raise ValueError(f"class sizes: {item!r} has a count below 1")
            if len(sizes) + count > MAX_CLASSES:
                raise ValueError(f"class sizes: at most {MAX_CLASSES} classes")
            sizes.extend([int(match.group(2))] * count)
        return cls(tuple(sizes))

    @property
    def classes(self) -> int:
        """m, the number of classes."""
        return len(self.sizes)

    @property
    def instances(self) -> int:
        """sum of k_c."""
        return sum(self.sizes)

    @functools.cached_property
    def groups(self) -> tuple[tuple[int, int], ...]:
        """(size, count) per size group, by decreasing size (computed once: O(classes))."""
        counts = collections.Counter(self.sizes)
        return tuple((s, counts[s]) for s in sorted(counts, reverse=True))

    @functools.cached_property
    def group_of(self) -> tuple[int, ...]:
        """The group index of every class, aligned with :attr:`sizes` (computed once)."""
        order = {s: g for g, (s, _) in enumerate(self.groups)}
        return tuple(order[s] for s in self.sizes)

    @property
    def balanced(self) -> bool:
        """Whether every class has the same size."""
        return len(set(self.sizes)) == 1

    def members(self, group: int) -> tuple[int, ...]:
        """The class indices of one size group."""
        return tuple(i for i, g in enumerate(self.group_of) if g == group)

    def __str__(self) -> str:
        return ",".join(f"{n}x{s}" if n > 1 else f"{s}" for s, n in self.groups)
