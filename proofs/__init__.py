"""Machine-checked derivations of every result ssem-symbolic states.

Each module holds propositions: a statement and the steps that establish it from the
definitions in ``docs/conventions.md`` and ``docs/theory.md`` (``_defs.py``), independently
of the engine's code path, then a comparison of the engine's output with the result.
``python -m proofs`` checks them all and prints name, statement, method and status.
"""

from __future__ import annotations

import importlib

from ._core import REGISTRY, Outcome, Proof, Proposition, verify

MODULES = ("ssem_realisation", "variances", "reduced_loss", "convexity", "collapse",
           "monotone", "symmetry", "peers", "global_optimum", "imbalanced", "dataset",
           "dynamics", "extensions", "hierarchy", "paired")


def load() -> list[Proposition]:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return list(REGISTRY)


def verify_all(only: str | None = None) -> list[Outcome]:
    return [verify(prop) for prop in load() if only is None or prop.name.startswith(only)]


__all__ = ["MODULES", "Outcome", "Proof", "Proposition", "load", "verify", "verify_all"]
