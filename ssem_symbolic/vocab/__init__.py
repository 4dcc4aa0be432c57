"""The one vocabulary: pair types (self, view, class, other) with their Gram symbols and
groups, and the exact reading of alpha and tau shared by every command (L0, sympy only)."""

from ._numbers import (
    Learnable as Learnable,
    check_tau as check_tau,
    exact as exact,
    mp as mp,
)
from ._pairs import (
    by_type as by_type,
    c_sym as c_sym,
    GROUPS as GROUPS,
    LEVELS as LEVELS,
    o_sym as o_sym,
    PAIR_TYPES as PAIR_TYPES,
    TABLE as TABLE,
    to_groups as to_groups,
    v_sym as v_sym,
)

__all__ = [
    "GROUPS", "LEVELS", "Learnable", "PAIR_TYPES", "TABLE", "by_type", "c_sym", "check_tau",
    "exact", "mp", "o_sym", "to_groups", "v_sym",
]
