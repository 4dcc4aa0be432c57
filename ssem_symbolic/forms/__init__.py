"""The loss form as data: a :class:`LossForm` strategy per form (softmax, sigmoid) with
its SSEM reduction, collapse margin and closed forms, and the numeric primitives they share
(L3)."""

from ._forms import (
    form_of as form_of,
    FORMS as FORMS,
    LossForm as LossForm,
)
from ._numeric import (
    bracketed_newton as bracketed_newton,
    CollapseRule as CollapseRule,
    guard_digits as guard_digits,
)
from ._sigmoid import (
    alpha_c as alpha_c,
    Objective as Objective,
    SCAN as SCAN,
    Separable as Separable,
    TAU_SCAN as TAU_SCAN,
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
    "ARGS", "CollapseRule", "Derivation", "FORMS", "LossForm", "Objective", "Reduced", "SCAN",
    "Separable", "TAU_SCAN", "alpha_c", "bracketed_newton", "form_of", "guard_digits", "r",
    "term_pieces", "sigmoid",
]
