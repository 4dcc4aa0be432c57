"""The global optimum over all unit embeddings: balanced, imbalanced and dataset-level
solvers, their regimes and thresholds, and the exact SSEM certificate (L5)."""

from ._balanced import (
    certify_ssem as certify_ssem,
    global_optimum as global_optimum,
    regimes as regimes,
    solve_face as solve_face,
)
from ._certificate import (
    SSEMCertificate as SSEMCertificate,
    established as established,
    SHOWN_OFF_SSEM as SHOWN_OFF_SSEM,
)
from ._dataset import (
    balanced as balanced,
    dataset_alpha_c as dataset_alpha_c,
    dataset_optimum as dataset_optimum,
    dataset_regimes as dataset_regimes,
    dataset_tau_c as dataset_tau_c,
    parse_sampler as parse_sampler,
    uniform as uniform,
    UNIFORM_TAU_RANGE as UNIFORM_TAU_RANGE,
)
from ._imbalanced import (
    as_sizes as as_sizes,
    imbalanced_optimum as imbalanced_optimum,
    imbalanced_regimes as imbalanced_regimes,
    TAU_RANGE as TAU_RANGE,
)

__all__ = [
    "SHOWN_OFF_SSEM", "TAU_RANGE", "UNIFORM_TAU_RANGE", "as_sizes", "balanced", "certify_ssem",
    "SSEMCertificate", "dataset_alpha_c", "dataset_optimum", "dataset_regimes", "dataset_tau_c",
    "established", "global_optimum", "imbalanced_optimum", "imbalanced_regimes",
    "parse_sampler", "regimes", "solve_face", "uniform",
]
