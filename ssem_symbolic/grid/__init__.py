"""Torch engines: kernels generated from the engine's expressions, the vectorised beta*
and the batched face solver (L6, imports torch)."""

from ._codegen import (
    stabilise as stabilise,
)
from ._dynamics import (
    DynamicsGrid as DynamicsGrid,
    dynamics_grid as dynamics_grid,
)
from ._optimum import (
    global_optimum_grid as global_optimum_grid,
    OFF_SSEM_TAU as OFF_SSEM_TAU,
)
from ._solve import (
    GRID_TAU_RANGE as GRID_TAU_RANGE,
    kernels as kernels,
    optimal_beta_grid as optimal_beta_grid,
)

__all__ = [
    "DynamicsGrid", "dynamics_grid", "GRID_TAU_RANGE", "OFF_SSEM_TAU", "global_optimum_grid",
    "kernels", "optimal_beta_grid",
    "stabilise",
]
