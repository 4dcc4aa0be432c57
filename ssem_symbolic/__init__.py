"""ssem-symbolic: exact class-collapse conditions for supervised contrastive learning, on SSEM
and beyond it (the global optimum over all unit embeddings).

The top level holds the short public API (:data:`__all__`); everything else lives in its
submodule (``ssem_symbolic.derive``, ``.model``, ``.solve``, ``.losses``, ...). The symbolic core
imports no torch; ``SupCLLoss`` and ``phase_map`` load it on first use.

Names that used to be top-level still work for one release, with a DeprecationWarning that
names their submodule.
"""

from __future__ import annotations

import importlib
import warnings

from .derive import alpha_c_value, derive, optimal_beta
from .optimum import global_optimum, regimes
from .optimum_imbalanced import imbalanced_optimum
from .sizes import ClassSizes
from .spec import PRESETS, Batch, LossSpec
from .specfile import load_spec
from .validity import certify_ssem

__version__ = "0.1.0"

_LAZY = {"SupCLLoss": "losses", "phase_map": "phase"}

#: former top-level names -> their submodule (deprecated at the top level)
_MOVED = {
    "Derivation": "derive", "alpha_c_limits": "derive", "loss_value": "derive",
    "symmetric_loss": "derive", "tau_c_value": "derive",
    "gram_entries": "model", "measured_variances": "model", "realise": "model",
    "required_dimension": "model", "ssem_eigenvalues": "model", "ssem_variances": "model",
    "symmetric_gram_eigenvalues": "model",
    "PAIR_TYPES": "spec", "check_setting": "spec", "get_spec": "spec", "pair_counts": "spec",
    "SSEMCertificate": "validity", "GlobalOptimum": "optimum",
    "pair_type_masks": "losses", "supcl_loss": "losses", "minimise": "bruteforce",
    "optimal_beta_grid": "solve", "kernels": "solve", "torch_kernel": "codegen",
    "collapse_monitor": "monitor",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _MOVED:
        module = f"{__name__}.{_MOVED[name]}"
        warnings.warn(f"ssem_symbolic.{name} is deprecated at the top level; import it from "
                      f"{module}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRESETS", "Batch", "LossSpec", "load_spec", "derive", "alpha_c_value", "optimal_beta",
    "certify_ssem", "global_optimum", "regimes", "ClassSizes", "imbalanced_optimum",
    "SupCLLoss", "phase_map",
]
