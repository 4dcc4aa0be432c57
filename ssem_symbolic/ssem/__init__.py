"""The SSEM model's answers for any spec and form: the exact derivation, alpha_c, tau_c,
beta* and the collapsed-vertex multipliers (L4)."""

from ..forms import (
    CollapseRule as CollapseRule,
    Derivation as Derivation,
)
from ._api import (
    alpha_c_limits as alpha_c_limits,
    alpha_c_value as alpha_c_value,
    alpha_side as alpha_side,
    collapse_rule as collapse_rule,
    collapses as collapses,
    derive as derive,
    loss_value as loss_value,
    optimal_beta as optimal_beta,
    reduced as reduced,
    symmetric_loss as symmetric_loss,
    tau_c_value as tau_c_value,
)
from ._faces import (
    collapse_boundaries as collapse_boundaries,
    vertex_multipliers as vertex_multipliers,
)

__all__ = [
    "CollapseRule", "Derivation", "alpha_c_limits", "alpha_c_value", "alpha_side",
    "collapse_boundaries", "collapse_rule", "collapses", "derive", "loss_value", "optimal_beta",
    "reduced", "symmetric_loss", "tau_c_value", "vertex_multipliers",
]
