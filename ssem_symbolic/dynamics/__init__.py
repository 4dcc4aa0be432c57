"""Exact training dynamics in the symmetric family: the gradient flow on the product of
spheres, gradient descent and heavy-ball momentum as exact maps of the Gram values, for a
balanced batch (:class:`Dynamics`, closed forms at collapse) and per size group for unequal
class sizes (:class:`GroupDynamics`), and what they say (plateaus, escape and relaxation
rates, stable step sizes). No torch."""

from ._analysis import (
    EXIT as EXIT,
    Slowing as Slowing,
    critical_slowing as critical_slowing,
    relaxation_at as relaxation_at,
    slowing_prefactor as slowing_prefactor,
    Summary as Summary,
    escape_rates_per_step as escape_rates_per_step,
    parse_group_start as parse_group_start,
    parse_start as parse_start,
    stable_lr as stable_lr,
    summarise as summarise,
    summarise_groups as summarise_groups,
)
from ._groups import (
    GroupDynamics as GroupDynamics,
)
from ._reduced import (
    Dynamics as Dynamics,
    SPACES as SPACES,
    Trajectory as Trajectory,
)

__all__ = ["EXIT", "Dynamics", "GroupDynamics", "SPACES", "Slowing", "Summary", "Trajectory",
           "critical_slowing", "escape_rates_per_step", "parse_group_start", "parse_start",
           "relaxation_at", "slowing_prefactor", "stable_lr", "summarise", "summarise_groups"]
