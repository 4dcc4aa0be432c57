"""User-facing computations: phase maps, the alpha/tau guide, what a loss value means and
formula sheets (L7)."""

from ._entry import (
    guide as guide,
    phase_map as phase_map,
)
from ._diagnose import (
    Diagnosis as Diagnosis,
    Plateau as Plateau,
    diagnose as diagnose,
    parse_log as parse_log,
    save_png as save_diagnosis_png,
)
from ._dimension import (
    in_dimension as in_dimension,
)
from ._dynamics import (
    save_dynamics_grid as save_dynamics_grid,
    save_trajectory as save_trajectory,
)
from ._explain import (
    Explanation as Explanation,
    explain as explain,
)
from ._export import (
    export as export,
)
from ._guide import (
    Guide as Guide,
    balanced_batch as balanced_batch,
)
from ._phase import (
    PhaseMap as PhaseMap,
    grid as grid,
    save_npz as save_npz,
    save_phase_map as save_phase_map,
    save_png as save_png,
    validity_note as validity_note,
)

__all__ = [
    "Diagnosis", "Explanation", "Plateau", "diagnose", "parse_log",
    "save_diagnosis_png", "save_dynamics_grid", "save_trajectory",
    "Guide", "PhaseMap", "balanced_batch",
    "explain", "export", "grid", "in_dimension",
    "guide", "phase_map", "save_phase_map", "save_npz", "save_png",
    "validity_note",
]
