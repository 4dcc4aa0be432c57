"""The loss form as data: a :class:`LossForm` strategy per form (softmax, sigmoid) with
its SSEM reduction, collapse margin and closed forms, and the numeric primitives they share
(L3)."""

from ._forms import (
    FORMS as FORMS,
    LossForm as LossForm,
    Sigmoid as Sigmoid,
    Softmax as Softmax,
    form_of as form_of,
    reduced_loss as reduced_loss,
)
from ._objective import (
    FamilyObjective as FamilyObjective,
    LogSumExp as LogSumExp,
    Stretched as Stretched,
)
from ._numeric import (
    bracketed_newton as bracketed_newton,
    CollapseRule as CollapseRule,
    golden as golden,
    guard_digits as guard_digits,
)
from ._sigmoid import (
    Separable as Separable,
)
from ._softmax import (
    ARGS as ARGS,
    Derivation as Derivation,
    r as r,
    Reduced as Reduced,
    term_pieces as term_pieces,
)
from . import _sigmoid as sigmoid  # the sigmoid form's closed forms and scan

__all__ = [
    "ARGS", "CollapseRule", "Derivation", "FORMS", "FamilyObjective", "LogSumExp", "LossForm",
    "Stretched",
    "Reduced", "Separable", "Sigmoid", "Softmax", "bracketed_newton", "form_of",
    "golden", "guard_digits", "r", "reduced_loss", "sigmoid", "term_pieces",
]
