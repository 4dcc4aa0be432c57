"""A dataset and how training draws batches from it.

A :class:`Dataset` is C classes of n instances (n = None: the limit n -> oo) seen in p views,
with a :class:`Sampler`, a law on batch compositions: ``balanced(m, k)``, ``uniform(B)``,
``all_subsets(B)`` (the same law as ``uniform``) or ``fixed_partition(batches)``.

>>> Dataset(10, 5000, 2, balanced(10, 8)).describe()
'10 x 5000 x 2 dataset, sampler balanced: m = 10 classes, k = 8 instances each'
"""

from __future__ import annotations

from dataclasses import dataclass

from ._polyhedron import dataset_polyhedron

#: the largest uniform batch whose composition varies: the mixture's polynomial powers cost
#: O(B^2) (B = 2000: about 10 s; 8000: minutes)
MAX_UNIFORM_BATCH = 2048


@dataclass(frozen=True)
class Sampler:
    """How training draws a batch from the dataset. ``balanced``: m of the C classes
    uniformly, then k of the n instances of each. ``uniform``: ``batch`` instances uniformly
    from all C n, without replacement. ``all-subsets``: every B-subset of the dataset equally
    often, which as a law on batches is ``uniform`` (the same expected loss). ``fixed-partition``:
    a given list of disjoint batches, each a tuple of (class, instance) members, used equally
    often."""

    kind: str
    m: int = 0
    k: int = 0
    batch: int = 0
    batches: tuple = ()

    @property
    def composition_varies(self) -> bool:
        """Whether batches hold the classes in varying numbers (uniform, all-subsets): then no
        single batch stands for the sampler."""
        return self.kind in ("uniform", "all-subsets")

    @property
    def text(self) -> str:
        """The command-line form, ``balanced:m:k``, ``uniform:B`` or ``all-subsets:B`` (a fixed
        partition has none: it is built in Python)."""
        if self.kind == "balanced":
            return f"balanced:{self.m}:{self.k}"
        if self.kind == "fixed-partition":
            return f"fixed-partition:{len(self.batches)}"
        return f"{self.kind}:{self.batch}"

    def describe(self) -> str:
        """In words, for reports: ``balanced: m = 10 classes, k = 8 instances each``."""
        if self.kind == "balanced":
            return f"balanced: m = {self.m} classes, k = {self.k} instances each"
        if self.kind == "fixed-partition":
            return f"fixed partition: {len(self.batches)} disjoint batches"
        return f"{self.kind}: B = {self.batch}"

    def check(self, classes: int, instances: int) -> None:
        if classes < 2 or (instances is not None and instances < 2):
            raise ValueError(f"a dataset needs C >= 2 classes and n >= 2 instances per class, "
                             f"got C = {classes}, n = {instances}")
        if self.kind == "fixed-partition":
            seen = set()
            for b in self.batches:
                for c, i in b:
                    if not (0 <= c < classes and (instances is None or 0 <= i < instances)):
                        raise ValueError(f"the partition names instance {i} of class {c}, "
                                         f"outside the dataset's {classes} x {instances}")
                    if (c, i) in seen:
                        raise ValueError(f"the partition's batches are not disjoint: instance "
                                         f"{i} of class {c} is in two of them")
                    seen.add((c, i))
            if not self.batches:
                raise ValueError("a fixed partition needs at least one batch")
            return
        if self.composition_varies:
            total = None if instances is None else classes * instances
            if not 2 <= self.batch <= (self.batch if total is None else total):
                raise ValueError(f"the sampler draws B = {self.batch} of the dataset's "
                                 f"{total} instances: need 2 <= B <= C n")
            if self.batch > MAX_UNIFORM_BATCH and self.batch != total:
                raise ValueError(f"a uniform batch of B = {self.batch} is beyond the mixture "
                                 f"solver's {MAX_UNIFORM_BATCH} (its cost grows as B^2)")
            return
        if self.kind != "balanced":
            raise ValueError(f"unknown sampler {self.kind!r}: use balanced, uniform, "
                             "all-subsets or fixed-partition")
        if not 2 <= self.m <= classes:
            raise ValueError(f"the sampler draws m = {self.m} classes of the dataset's "
                             f"{classes}: need 2 <= m <= C")
        if not 2 <= self.k <= (self.k if instances is None else instances):
            raise ValueError(f"the sampler draws k = {self.k} instances of each class's "
                             f"{instances}: need 2 <= k <= n")


def parse_sampler(text: str) -> Sampler:
    """A sampler from its command-line form: ``balanced:m:k``, ``uniform:B`` or
    ``all-subsets:B`` (ValueError, one line, otherwise).

    >>> parse_sampler("balanced:10:8").describe()
    'balanced: m = 10 classes, k = 8 instances each'
    """
    if isinstance(text, Sampler):
        return text
    parts = str(text).split(":")
    try:
        if len(parts) == 3 and parts[0] == "balanced":
            return balanced(int(parts[1]), int(parts[2]))
        if len(parts) == 2 and parts[0] in ("uniform", "all-subsets"):
            return (uniform if parts[0] == "uniform" else all_subsets)(int(parts[1]))
    except ValueError:
        pass
    raise ValueError(f"a sampler is balanced:m:k, uniform:B or all-subsets:B (integers), got "
                     f"{text!r}")


def balanced(m: int, k: int) -> Sampler:
    """The class-balanced sampler: m classes, k instances of each, per batch."""
    return Sampler("balanced", m, k)


def uniform(batch: int) -> Sampler:
    """The uniform sampler: B instances uniformly from the whole dataset."""
    return Sampler("uniform", batch=batch)


def all_subsets(batch: int) -> Sampler:
    """Every B-subset of the dataset's instances, each equally often (Cho et al.'s "N choose
    B"): the same law on batches as :func:`uniform`, so the same expected loss."""
    return Sampler("all-subsets", batch=batch)


def fixed_partition(batches) -> Sampler:
    """A fixed list of disjoint batches, each a sequence of (class, instance) members (every
    view of a member comes with it), used equally often."""
    return Sampler("fixed-partition",
                   batches=tuple(tuple(sorted((int(c), int(i)) for c, i in b))
                                 for b in batches))


@dataclass(frozen=True)
class Dataset:
    """C = ``classes`` classes of n = ``instances`` each (None: n -> oo), ``views`` views per
    instance, and the ``sampler`` that draws training batches; checked on construction."""

    classes: int
    instances: int | None
    views: int
    sampler: Sampler

    def __post_init__(self) -> None:
        for name, value in (("classes", self.classes), ("instances", self.instances),
                            ("views", self.views)):
            if value is None and name == "instances":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"dataset {name} must be an integer, got {value!r}")
        if self.views < 1:
            raise ValueError(f"views p must be >= 1, got {self.views}")
        if not isinstance(self.sampler, Sampler):
            object.__setattr__(self, "sampler", parse_sampler(self.sampler))
        self.sampler.check(self.classes, self.instances)

    @property
    def polyhedron(self):
        """The dataset's symmetric polyhedron (:func:`~ssem_symbolic.setting.
        dataset_polyhedron`), where its symmetric family lies."""
        return dataset_polyhedron(self.classes, self.instances, self.views)

    @property
    def size_text(self) -> str:
        """``"C x n x p"`` (n ``inf`` in the limit of infinitely many instances)."""
        n = "inf" if self.instances is None else self.instances
        return f"{self.classes} x {n} x {self.views}"

    def describe(self) -> str:
        return f"{self.size_text} dataset, sampler {self.sampler.describe()}"
