"""User-facing computations: phase maps, the alpha/tau guide and formula sheets (L7)."""

from ._export import (
    export as export,
)
from ._guide import (
    balanced_batch as balanced_batch,
    guide as guide,
    guide_imbalanced as guide_imbalanced,
    guide_uniform as guide_uniform,
)
from ._phase import (
    grid as grid,
    phase_map as phase_map,
    phase_map_dataset as phase_map_dataset,
    phase_map_imbalanced as phase_map_imbalanced,
    save_dataset as save_dataset,
    save_imbalanced as save_imbalanced,
    save_npz as save_npz,
    save_png as save_png,
    validity_note as validity_note,
)

__all__ = [
    "balanced_batch", "export", "grid", "guide", "guide_imbalanced", "guide_uniform",
    "phase_map", "phase_map_dataset", "phase_map_imbalanced", "save_dataset", "save_imbalanced",
    "save_npz", "save_png", "validity_note",
]
