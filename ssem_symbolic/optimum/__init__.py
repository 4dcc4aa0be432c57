"""The global optimum over all unit embeddings of a setting (a batch of any class sizes, or a
dataset under a sampler), its regimes and thresholds: one entry point each (``optimum``,
``regimes``, ``threshold``), with each family's solver behind it; and the exact SSEM
certificate (L5)."""

from ._result import (
    Boundary as Boundary,
    LearnedTemperature as LearnedTemperature,
    Optimum as Optimum,
    Regimes as Regimes,
)
from ._entry import (
    Setting as Setting,
    Threshold as Threshold,
    optimum as optimum,
    regimes as regimes,
    threshold as threshold,
)
from ._balanced import (
    TAU_RANGE as FACE_TAU_RANGE,
    certify_ssem as certify_ssem,
    batch_objective as batch_objective,
    solve_face as solve_face,
    symmetric_objective as symmetric_objective,
)
from ._rank import (
    MULTIPLICITY as MULTIPLICITY,
    rank_formula as rank_formula,
    rank_needed as rank_needed,
)
from ._references import (
    Reference as Reference,
    References as References,
    random_loss as random_loss,
    references as references,
)
from ._certificate import (
    SSEMCertificate as SSEMCertificate,
    established as established,
    SHOWN_OFF_SSEM as SHOWN_OFF_SSEM,
)
from ._dataset import (
    dataset_objective as dataset_objective,
    uniform_objective as uniform_objective,
    UNIFORM_TAU_RANGE as UNIFORM_TAU_RANGE,
)
from ._imbalanced import (
    as_sizes as as_sizes,
    TAU_RANGE as TAU_RANGE,
)

__all__ = [
    "Boundary", "LearnedTemperature", "Optimum", "Regimes", "Setting", "Threshold", "optimum",
    "regimes", "threshold",
    "FACE_TAU_RANGE", "SHOWN_OFF_SSEM", "TAU_RANGE", "UNIFORM_TAU_RANGE", "as_sizes",
    "certify_ssem",
    "SSEMCertificate", "dataset_objective", "established", "solve_face", "Reference",
    "References", "random_loss", "references", "MULTIPLICITY", "rank_formula", "rank_needed",
    "batch_objective", "symmetric_objective", "uniform_objective",
]
