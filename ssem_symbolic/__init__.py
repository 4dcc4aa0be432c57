"""ssem-symbolic: exact class-collapse conditions for supervised contrastive learning on SSEM.

The symbolic core (spec, model, derive, validity) imports no torch; the numeric pieces
(``SupCLLoss``, ``minimise``) load torch on first use.
"""

from __future__ import annotations

from .derive import (
    Derivation,
    alpha_c_limits,
    alpha_c_value,
    derive,
    loss_value,
    optimal_beta,
    symmetric_loss,
    tau_c_value,
)
from .model import (
    gram_entries,
    measured_variances,
    realise,
    required_dimension,
    ssem_eigenvalues,
    ssem_variances,
    symmetric_gram_eigenvalues,
)
from .spec import PAIR_TYPES, PRESETS, LossSpec, check_setting, get_spec, pair_counts
from .optimum import GlobalOptimum, global_optimum, regimes
from .validity import SSEMCertificate, certify_ssem

__version__ = "0.1.0"

_LAZY = {"SupCLLoss": ("losses", "SupCLLoss"), "pair_type_masks": ("losses", "pair_type_masks"),
         "minimise": ("bruteforce", "minimise"), "supcl_loss": ("losses", "supcl_loss"),
         "optimal_beta_grid": ("solve", "optimal_beta_grid"),
         "kernels": ("solve", "kernels"), "torch_kernel": ("codegen", "torch_kernel"),
         "phase_map": ("phase", "phase_map"), "collapse_monitor": ("monitor", "collapse_monitor"),
         "load_spec": ("specfile", "load_spec")}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PAIR_TYPES", "PRESETS", "Derivation", "GlobalOptimum", "LossSpec", "SSEMCertificate",
    "SupCLLoss", "global_optimum", "regimes",
    "collapse_monitor", "load_spec",
    "alpha_c_limits", "alpha_c_value", "certify_ssem", "check_setting", "derive", "get_spec",
    "gram_entries", "kernels", "loss_value", "measured_variances", "minimise", "optimal_beta",
    "optimal_beta_grid", "phase_map", "supcl_loss", "torch_kernel",
    "pair_counts", "pair_type_masks", "realise", "required_dimension", "ssem_eigenvalues",
    "ssem_variances", "symmetric_gram_eigenvalues", "symmetric_loss", "tau_c_value",
]
