"""User-facing computations: phase maps, the alpha/tau guide and formula sheets (L7)."""

from ._entry import (
    guide as guide,
    phase_map as phase_map,
)
from ._export import (
    export as export,
)
from ._guide import (
    balanced_batch as balanced_batch,
)
from ._phase import (
    DatasetPhaseMap as DatasetPhaseMap,
    ImbalancedPhaseMap as ImbalancedPhaseMap,
    PhaseMap as PhaseMap,
    grid as grid,
    save_dataset as save_dataset,
    save_imbalanced as save_imbalanced,
    save_npz as save_npz,
    save_png as save_png,
    validity_note as validity_note,
)

__all__ = [
    "DatasetPhaseMap", "ImbalancedPhaseMap", "PhaseMap", "balanced_batch", "export", "grid",
    "guide", "phase_map", "save_dataset", "save_imbalanced", "save_npz", "save_png",
    "validity_note",
]
