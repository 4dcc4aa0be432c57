"""Loss conventions from files: TOML or JSON, validated once, with one-line errors naming the
field.

A file with today's fields reads as it looks::

    name = "my-loss"
    mean = "anchors"                       # or "pairs"
    denominator = ["view", "class", "other"]
    sup = ["view"]                         # positives of the (1 - alpha) term
    self = ["class"]                       # positives of the alpha term
    description = "optional words"
    # optional: a denominator per term instead of one list, e.g. a class-conditional
    # self-supervised term: denominator = { sup = ["view", "class", "other"],
    #                                       self = ["view", "class"] }
    weights = { sup = [1, 0], self = [0, 1] }   # optional: W = a0 + a1 alpha per term
                                                # (default: 1 - alpha and alpha)
    # optional: weights of pair types inside the denominators (one per type, in every
    # denominator holding it) and inside a term's positives (default 1; 0 removes the type)
    pair_weights = { denominator = { class = "1/2" }, sup = { view = 2 } }
    # optional: the pairwise sigmoid form (SigLIP style): every pair of the denominator gets
    # log(1 + exp(-y (s/tau + bias))), y = +1 for the term's positives, -1 for the rest
    form = "sigmoid"
    bias = "-1/2"
    # optional: what an implementation does beyond the pair types
    scale = "tau/base_temperature"          # a factor on the loss (exact in tau and the
    parameters = { base_temperature = 0.07 } # parameters): the value, never the geometry
    no_positive = "zero"                    # an anchor without a positive: "drop" (out of the
                                            # mean, the default) or "zero" (a loss of 0)
    views = 2                               # the implementation is defined for 2 views only

Positives may lie outside the denominator (a decoupled loss).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..infra import read_regular
from ._lossspec import PRESETS, LossSpec, UnsupportedConvention

_FIELDS = {"name": str, "mean": str, "denominator": (list, dict), "sup": list, "self": list,
           "description": str, "weights": dict, "pair_weights": dict, "form": str,
           "bias": (int, float, str), "scale": (int, float, str), "parameters": dict,
           "no_positive": str, "views": int, "temperatures": dict,
           "hard_negatives": (int, float, str), "levels": dict,
           "contrast": str}
_REQUIRED = ("denominator", "sup", "self", "mean")


class SpecFileError(ValueError):
    """A spec file that cannot be read or is malformed; one line, naming the file and field."""


#: the largest spec file read (a spec is a few hundred bytes)
MAX_BYTES = 1 << 20


def load_spec(path: str | os.PathLike) -> LossSpec:
    """Read a TOML (``.toml``) or JSON (``.json``) spec file into a canonical LossSpec.

    Only a regular file of at most :data:`MAX_BYTES` is read (a FIFO or a device would block
    or never end); JSON objects may not repeat a key (TOML refuses that itself); a file may
    not take a preset's name with other content."""
    path = Path(path)
    try:
        raw = read_regular(path, "spec file", MAX_BYTES, "a spec is a few lines")
    except ValueError as exc:
        raise SpecFileError(str(exc)) from None
    kind = path.suffix[1:] or "TOML"
    try:
        if path.suffix == ".json":
            data = json.loads(raw, object_pairs_hook=_unique_keys)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(raw.decode())
    except RecursionError:
        raise SpecFileError(f"spec file {path}: not valid {kind}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecFileError(f"spec file {path}: not valid {kind}: {first}") from None
    spec = spec_from_dict(data, source=str(path))
    if spec.name in PRESETS and spec != PRESETS[spec.name]:
        raise SpecFileError(f"spec file {path}: takes the preset name {spec.name!r} with other "
                            "content; give it another name")
    return spec


def _unique_keys(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ValueError(f"duplicate key {twice[0]!r}")
    return dict(pairs)


def spec_from_dict(data: dict, source: str = "spec") -> LossSpec:
    """A LossSpec from a mapping with the file keys (``self`` for the alpha term)."""
    if not isinstance(data, dict):
        raise SpecFileError(f"{source}: expected a table of fields, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise SpecFileError(f"{source}: unknown field {unknown[0]!r}; fields are "
                            f"{', '.join(_FIELDS)}")
    for field in _REQUIRED:
        if field not in data:
            raise SpecFileError(f"{source}: missing field {field!r}")
    for field, kind in _FIELDS.items():
        if field in data and not isinstance(data[field], kind):
            what = {list: "list of pair types", str: "string", int: "whole number",
                    dict: ("table of term weights, e.g. {sup = [1, 0], self = [0, 1]}"
                           if field == "weights" else "table of parameters, e.g. "
                           "{base_temperature = 0.07}" if field == "parameters" else
                           "table of pair-type weights per place, "
                           'e.g. {denominator = {class = "1/2"}, sup = {view = 2}}'),
                    (int, float, str): ("number or an expression in tau, such as "
                                        '"tau/base_temperature"' if field == "scale" else
                                        "number (or a string such as \"-1/2\")"),
                    (list, dict): "list of pair types, or a table of one list per term, e.g. "
                    '{sup = ["view", "class", "other"], self = ["view", "class"]}'}[kind]
            raise SpecFileError(f"{source}: field {field!r} must be a {what}, got "
                                f"{data[field]!r}")
    name = data.get("name") or Path(source).stem
    try:
        extra = {key: data[key] for key in ("weights", "pair_weights", "form", "bias", "scale",
                                            "parameters", "no_positive", "views",
                                            "temperatures", "hard_negatives", "levels",
                                            "contrast")
                 if key in data}
        return LossSpec(name=name, denominator=data["denominator"], sup=data["sup"],
                        self_=data["self"], mean=data["mean"],
                        description=data.get("description", ""), **extra)
    except UnsupportedConvention as exc:
        raise UnsupportedConvention(f"{source}: {exc}") from None


def to_toml(spec: LossSpec) -> str:
    """The canonical form as a TOML spec file (round-trips through :func:`load_spec`)."""
    def value(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return "[" + ", ".join(json.dumps(x) for x in v) + "]" if isinstance(v, list) else \
            json.dumps(v)
    return "".join(f"{key} = {value(v)}\n" for key, v in spec.canonical().items())
