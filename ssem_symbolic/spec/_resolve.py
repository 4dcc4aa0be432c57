"""Resolving a convention once, at the boundary: a :class:`LossSpec` passes through, a name
is a preset or a registered spec, anything else a spec file; and the one check of a batch."""

from __future__ import annotations

import os
from pathlib import Path

import sympy as sp

from ..vocab import check_tau, exact
from ._file import load_spec
from ._lossspec import _ALPHA, PRESETS, TERMS, LossSpec, check_batch, pair_counts


_REGISTRY: dict[str, LossSpec] = {}


def register(spec: LossSpec) -> LossSpec:
    """Make ``spec`` known by its name to :func:`get_spec` and the CLI's ``--loss``."""
    if not isinstance(spec, LossSpec):
        raise TypeError(f"register() takes a LossSpec, got {type(spec).__name__}")
    if spec.name in PRESETS and PRESETS[spec.name] != spec:
        raise ValueError(f"{spec.name!r} is a preset name; give the spec another name")
    _REGISTRY[spec.name] = spec
    return spec


#: the example spec files that ship with the package (``examples/specs`` in the repository)
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def examples() -> dict[str, Path]:
    """The shipped example spec files by name (their file stem), sorted.

    >>> [name for name in ("dcl", "supcontrast", "siglip") if name in examples()]
    ['dcl', 'supcontrast', 'siglip']
    """
    return {p.stem: p for p in sorted(EXAMPLES_DIR.glob("*.toml"))}


def get_spec(convention) -> LossSpec:
    """Resolve a convention once, at the boundary: a :class:`LossSpec` passes through; a
    name is a preset, a registered spec or a shipped example (:func:`examples`); anything else
    is a path to a TOML or JSON spec file (:func:`~ssem_symbolic.spec.load_spec`)."""
    if isinstance(convention, LossSpec):
        return convention
    name = str(convention)
    if name in PRESETS:
        return PRESETS[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.endswith((".toml", ".json")) or "/" in name or os.sep in name:
        return load_spec(name)
    shipped = examples()
    if name in shipped:
        return load_spec(shipped[name])
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join([*PRESETS, *_REGISTRY])}"
                     f", a shipped example ({', '.join(shipped)}), or give a .toml/.json spec "
                     "file")


def check_alpha(alpha_) -> sp.Rational:
    """alpha read exactly, or ValueError (one line) unless it lies in [0, 1].

    >>> check_alpha("0.25")
    1/4
    """
    try:
        a = exact(alpha_)
    except (ValueError, TypeError):
        raise ValueError(f"alpha must lie in [0, 1], got {alpha_!r}") from None
    if not 0 <= a <= 1:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha_}")
    return a


def check_setting(convention: str | LossSpec, m_: int, k_: int, p_: int,
                  alpha: float | None = None, tau: float | None = None) -> None:
    """Raise ValueError (one line) unless (m, k, p, alpha, tau) is a valid batch for ``convention``.

    ``alpha=None`` means both terms may carry weight (a threshold over alpha).
    """
    spec = get_spec(convention)
    check_batch(m_, k_, p_)
    spec.check_views(p_)
    if alpha is not None:
        alpha = check_alpha(alpha)
    if tau is not None:
        check_tau(tau)
    counts = {t: int(c) for t, c in pair_counts(m_, k_, p_).items()}
    for term in TERMS:
        used = alpha is None or (alpha < 1 if term == "sup" else alpha > 0)
        if used and sum(counts[t] for t in spec.positives(term)) == 0:
            label = "supervised" if term == "sup" else "self-supervised"
            raise ValueError(
                f"views p must be >= 2: the {label} term of {spec.name!r} needs another view "
                f"of the anchor, got p = {p_}")
    for den, weight in spec.denominators():
        used = alpha is None or sp.sympify(weight).subs(_ALPHA, alpha) != 0
        if used and sum(int(c) for c in den.counts(m_, k_, p_).values()) == 0:
            raise ValueError(
                f"the denominator of {spec.name!r} ({' + '.join(den)}) holds no pair on a batch "
                f"of m = {m_}, k = {k_}, p = {p_}: the loss does not exist there")
