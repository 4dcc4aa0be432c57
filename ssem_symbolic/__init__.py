"""ssem-symbolic: exact class-collapse conditions for supervised contrastive learning, on SSEM
and beyond it (the global optimum over all unit embeddings).

The top level holds the short public API (:data:`__all__`): the loss convention
(:class:`LossSpec`), the setting (:class:`Batch`, :class:`Dataset`), the SSEM closed forms
(:func:`derive`, :func:`optimal_beta`, :func:`certify_ssem`), one entry point per operation,
each of ``(spec, setting, ...)`` (:func:`threshold`, :func:`optimum`, :func:`regimes`,
:func:`phase_map`, :func:`guide`), and the training loss :class:`SupCLLoss`. Everything else
lives in its layer package (``ssem_symbolic.spec``, ``.setting``, ``.forms``, ``.ssem``,
``.optimum``, ``.grid``, ``.loss``, ``.report``, ``.harness``). The symbolic core imports no
torch; ``SupCLLoss`` and ``phase_map`` load it on first use.

>>> import ssem_symbolic as ss
>>> ss.threshold("paper", ss.Batch.balanced(3, 10, 2), alpha="0.1").tau_c  # alpha = 1/k
0.0
"""

from __future__ import annotations

import importlib

from .optimum import certify_ssem, optimum, regimes, threshold
from .setting import Batch, Dataset
from .spec import LossSpec
from .ssem import derive, optimal_beta

__version__ = "0.1.0"

_LAZY = {"SupCLLoss": "loss", "phase_map": "report", "guide": "report"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LossSpec", "Batch", "Dataset", "derive", "optimal_beta", "certify_ssem", "threshold",
    "optimum", "regimes", "phase_map", "guide", "SupCLLoss",
]
