"""The training loss: :class:`SupCLLoss`, the per-pair brute force over free unit vectors and
the collapse monitor (L6, imports torch)."""

from ._bruteforce import (
    minimise as minimise,
    minimise_sizes as minimise_sizes,
)
from ._dimension import (
    best_in_dim as best_in_dim,
    shared_simplex as shared_simplex,
    symmetric_candidate as symmetric_candidate,
)
from ._device import (
    resolve_device as resolve_device,
)
from ._losses import (
    LabelPattern as LabelPattern,
    SupCLLoss as SupCLLoss,
    pair_type_masks as pair_type_masks,
    supcl_loss as supcl_loss,
)
from ._monitor import (
    CollapseMonitor as CollapseMonitor,
    collapse_monitor as collapse_monitor,
)

__all__ = ["CollapseMonitor", "LabelPattern", "SupCLLoss", "best_in_dim", "collapse_monitor",
           "minimise", "minimise_sizes", "pair_type_masks", "resolve_device", "shared_simplex",
           "supcl_loss", "symmetric_candidate"]
