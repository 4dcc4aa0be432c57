"""Exact training dynamics in the symmetric family: the gradient flow on the product of
spheres, gradient descent and heavy-ball momentum as exact maps of the Gram values, and what
they say (plateaus, escape and relaxation rates, stable step sizes). No torch."""

from ._analysis import (
    Slowing as Slowing,
    critical_slowing as critical_slowing,
    relaxation_at as relaxation_at,
    Summary as Summary,
    escape_rates_per_step as escape_rates_per_step,
    parse_start as parse_start,
    stable_lr as stable_lr,
    summarise as summarise,
)
from ._reduced import (
    Dynamics as Dynamics,
    SPACES as SPACES,
    Trajectory as Trajectory,
)

__all__ = ["Dynamics", "SPACES", "Slowing", "Summary", "Trajectory", "critical_slowing",
           "escape_rates_per_step", "relaxation_at",
           "parse_start", "stable_lr", "summarise"]
