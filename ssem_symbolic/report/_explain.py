"""What a loss value means: the references of a setting and, for an observed value, the
nearest one, the gap to the floor and what is worth trying, as ``{kind, values}`` records
(the words are the CLI's, :mod:`ssem_symbolic.cli`).

A value is "at" a reference when it lies within ``rtol`` of the span between the floor and
complete collapse (1 % by default): a training loss is noisy, and the references of one
setting are usually far apart on that scale.

>>> from ssem_symbolic.setting import Batch
>>> e = explain("supcon", Batch.balanced(3, 4, 2), "0.3", "0.5", value=3.1355)
>>> e.nearest
('complete-collapse', 'random')
"""

from __future__ import annotations

from dataclasses import dataclass

from ..optimum import References, references
from ..setting import Batch, Dataset
from ..spec import LossSpec, get_spec

@dataclass(frozen=True)
class Explanation:
    """The references, and for an observed ``value`` its reading: the ``nearest`` references
    (several where they coincide), ``gap`` = value - floor, and ``findings`` and ``advice``
    as ``{"kind": ..., values}`` records."""

    references: References
    value: float | None
    nearest: tuple[str, ...]
    gap: float | None
    findings: tuple[dict, ...]
    advice: tuple[dict, ...]

    def as_dict(self) -> dict:
        out = self.references.as_dict()
        floor = self.references.floor
        out["floor"] = None if floor is None else floor.name
        if self.value is not None:
            out |= {"value": self.value, "nearest": list(self.nearest), "gap_to_floor": self.gap}
        return out | {"findings": list(self.findings), "advice": list(self.advice)}


def explain(spec: LossSpec | str, setting: Batch | Dataset, alpha, tau, *,
            value: float | None = None, dim: int | None = None,
            rtol: float = 0.01) -> Explanation:
    """The references of ``setting`` at (alpha, tau) (:func:`~ssem_symbolic.optimum.
    references`) and the reading of an observed loss ``value``."""
    spec = get_spec(spec)
    refs = references(spec, setting, alpha, tau, dim=dim)
    if value is not None:
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"the observed value must be a finite number, got {value}")
    findings = list(_facts(refs))
    floor = refs.floor
    if value is None:
        return Explanation(refs, None, (), None, tuple(findings), ())
    nearest, near, tol = nearest_references(refs, value, rtol)
    gap = None if floor is None else value - floor.value
    advice = []
    # one batch's loss can lie below the dataset-level floor (an expectation over batches),
    # never below its own batch's floor
    least = min((r for r in refs.items if r.name in ("floor", "dataset-floor")),
                key=lambda r: r.value, default=None)
    if least is not None and value < least.value - max(tol, least.error):
        if least.name == "dataset-floor" and isinstance(setting, Dataset) and \
                setting.sampler.composition_varies:
            # an expectation over batches: one batch of another composition can go below it
            findings.append({"kind": "below_expected_floor", "value": value,
                             "floor": floor.value, "gap": gap})
        else:
            findings.append({"kind": "below_floor", "value": value, "floor": floor.value,
                             "gap": gap})
            advice.append({"kind": "check_the_setting"})
    elif near <= tol:
        findings.append({"kind": "at_reference", "references": list(nearest), "value": value,
                         "distance": near})
        advice.append(_advice_at(nearest, refs, gap))
    else:
        below = [r for r in refs.items if r.value < value]
        above = [r for r in refs.items if r.value > value]
        lo = max(below, key=lambda r: r.value) if below else None
        hi = min(above, key=lambda r: r.value) if above else None
        findings.append({"kind": "between", "lower": None if lo is None else lo.name,
                         "upper": None if hi is None else hi.name, "value": value,
                         "fraction": None if lo is None or hi is None else
                         (value - lo.value) / (hi.value - lo.value)})
        if gap is not None:
            advice.append({"kind": "still_descending", "gap": gap})
    return Explanation(refs, value, nearest, gap, tuple(findings), tuple(advice))


def nearest_references(refs: References, value: float, rtol: float
                       ) -> tuple[tuple[str, ...], float, float]:
    """The references nearest ``value`` (several where they coincide within 1e-9, in the
    references' order), its distance to them, and the tolerance within which a value is *at*
    a reference: ``rtol`` of the span between the floor and complete collapse."""
    top = refs["complete-collapse"].value
    floor = refs.floor
    span = abs(top - floor.value) if floor is not None else abs(top)
    near = min(abs(r.value - value) for r in refs.items)
    names = tuple(r.name for r in refs.items if abs(r.value - value) <= near + 1e-9)
    return names, near, rtol * max(span, 1e-12)


def _facts(refs: References):
    """What the references themselves say, whatever the value."""
    cc, rnd = refs["complete-collapse"], refs["random"]
    if abs(cc.value - rnd.value) <= 1e-9 * (1 + abs(cc.value)):
        yield {"kind": "collapse_equals_random", "value": cc.value}
    floor = refs.floor
    if floor is not None and floor.geometry.get("collapsed"):
        yield {"kind": "optimum_collapsed", "floor": floor.name}
    if "ssem" in refs and not refs["ssem"].geometry.get("reaches_floor"):
        yield {"kind": "ssem_below_optimum", "ssem": refs["ssem"].value}
    if "floor" in refs and "dataset-floor" in refs:
        yield {"kind": "dataset_floor_above_batch_floor",
               "difference": refs["dataset-floor"].value - refs["floor"].value}


def _advice_at(nearest: tuple, refs: References, gap) -> dict:
    floor = refs.floor
    if floor is not None and floor.name in nearest:
        return {"kind": "converged", "collapsed": bool(floor.geometry.get("collapsed"))}
    if "floor" in nearest:  # a dataset's per-batch floor: below what the sampler allows
        return {"kind": "at_batch_floor", "gap": gap}
    if set(nearest) & {"complete-collapse", "random", "random-d"}:
        return {"kind": "no_structure_yet", "gap": gap}
    if "class-collapse" in nearest:
        collapsed = floor is not None and bool(floor.geometry.get("collapsed"))
        return {"kind": "class_collapse_is_optimal" if collapsed else "stuck_at_class_collapse",
                "gap": gap}
    return {"kind": "near_ssem", "gap": gap}
