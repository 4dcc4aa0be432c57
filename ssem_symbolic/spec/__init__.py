"""Loss conventions as data: :class:`LossSpec`, the presets, the registry and spec files
(L1)."""

from ._file import (
    load_spec as load_spec,
    SpecFileError as SpecFileError,
    spec_from_dict as spec_from_dict,
    to_toml as to_toml,
)
from ._resolve import (
    examples as examples,
    check_alpha as check_alpha,
    check_setting as check_setting,
    get_spec as get_spec,
    register as register,
)
from ._lossspec import (
    check_batch as check_batch,
    Denominator as Denominator,
    alpha as alpha,
    beta as beta,
    k as k,
    LossSpec as LossSpec,
    m as m,
    NoSolution as NoSolution,
    p as p,
    pair_counts as pair_counts,
    PAIR_TYPES as PAIR_TYPES,
    PRESETS as PRESETS,
    pull_weights as pull_weights,
    tau as tau,
    TERMS as TERMS,
    UnsupportedConvention as UnsupportedConvention,
)

__all__ = [
    "examples",
    "check_batch", "Denominator", "SpecFileError", "load_spec", "register", "LossSpec",
    "NoSolution",
    "PAIR_TYPES", "PRESETS", "TERMS", "UnsupportedConvention", "alpha", "beta", "check_alpha",
    "check_setting",
    "get_spec", "k", "m", "p", "pair_counts", "pull_weights", "spec_from_dict",
    "tau", "to_toml",
]
