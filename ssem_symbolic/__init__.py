"""ssem-symbolic: exact class-collapse conditions for supervised contrastive learning, on SSEM
and beyond it (the global optimum over all unit embeddings).

The top level holds the short public API (:data:`__all__`); everything else lives in its
layer package (``ssem_symbolic.ssem``, ``.optimum``, ``.grid``, ``.loss``, ...). The symbolic core
imports no torch; ``SupCLLoss`` and ``phase_map`` load it on first use.
"""

from __future__ import annotations

import importlib

from .optimum import certify_ssem, global_optimum, imbalanced_optimum, regimes
from .setting import ClassSizes
from .spec import PRESETS, Batch, LossSpec, load_spec
from .ssem import alpha_c_value, derive, optimal_beta

__version__ = "0.1.0"

_LAZY = {"SupCLLoss": "loss", "phase_map": "report"}

def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRESETS", "Batch", "LossSpec", "load_spec", "derive", "alpha_c_value", "optimal_beta",
    "certify_ssem", "global_optimum", "regimes", "ClassSizes", "imbalanced_optimum",
    "SupCLLoss", "phase_map",
]
