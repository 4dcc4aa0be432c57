"""Plumbing with no mathematics: atomic files, progress bars and the derivation cache
(L0)."""

from ._cache import (
    load as cache_load,
    store as cache_store,
)
from ._io import (
    atomic_write as atomic_write,
    check_output as check_output,
    OutputError as OutputError,
    read_lines as read_lines,
    read_regular as read_regular,
    together as together,
)
from ._progress import (
    counted as counted,
    progress as progress,
)

__all__ = [
    "OutputError", "atomic_write", "cache_load", "cache_store", "check_output", "counted",
    "progress", "read_lines", "read_regular", "together",
]
