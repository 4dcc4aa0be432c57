"""The training loss: :class:`SupCLLoss`, the per-pair brute force and the collapse
monitor (L6, imports torch)."""

from ._device import (
    resolve_device as resolve_device,
)
from ._losses import (
    LabelPattern as LabelPattern,
    pair_type_masks as pair_type_masks,
    supcl_loss as supcl_loss,
    SupCLLoss as SupCLLoss,
)

__all__ = ['resolve_device', 'LabelPattern', 'SupCLLoss', 'pair_type_masks', 'supcl_loss']
