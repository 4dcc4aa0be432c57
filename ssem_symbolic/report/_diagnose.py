"""A training run's loss curve read against the references of its batch: where the loss sat
at complete collapse, class collapse, random embeddings or the floor, for how many steps, and
how far the run ended from the floor.

A log is a list of entries ``{"step", "loss"}`` (optionally ``"alpha"``, ``"tau"``, ``"lr"``);
:func:`parse_log` reads one from CSV (a header naming the columns) or JSON Lines. Where the log
gives alpha or tau per step they override the fixed values; the references are computed once
per distinct (alpha, tau) (at most :data:`MAX_SETTINGS` of them).

An entry is *at* a reference when its loss, smoothed by a running median of ``smooth``
entries, lies within ``rtol`` of the span between the floor and complete collapse (as in
:func:`~ssem_symbolic.report.explain`); a plateau is a run of at least ``min_entries``
consecutive entries at the same reference.

>>> from ssem_symbolic.setting import Batch
>>> log = [{"step": s, "loss": 3.1355 if s < 50 else 2.03} for s in range(100)]
>>> d = diagnose("supcon", Batch.balanced(3, 4, 2), log, "0.3", "0.5")
>>> [(p.references, p.first_step, p.last_step) for p in d.plateaus][0]
(('complete-collapse', 'random'), 0.0, 49.0)
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..infra import atomic_write
from ..optimum import References, references
from ..setting import Batch, Dataset
from ..spec import LossSpec, get_spec
from ._explain import Explanation, explain, nearest_references

#: the most distinct (alpha, tau) pairs a log may hold (references are solved per pair)
MAX_SETTINGS = 50
#: the columns a log may have; ``step`` and ``loss`` are required
COLUMNS = ("step", "loss", "alpha", "tau", "lr")


def parse_log(lines: list[str], name: str = "log") -> list[dict]:
    """Entries from the lines of a CSV file (first line: the column names) or a JSON Lines
    file (one object per line), or ValueError in one line naming the line."""
    body = [(i, line) for i, line in enumerate(lines, 1) if line.strip()]
    if not body:
        raise ValueError(f"{name}: empty")
    if body[0][1].lstrip().startswith("{"):
        rows = []
        for i, line in body:
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{name}, line {i}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{name}, line {i}: expected an object, got {line[:40]!r}")
            rows.append((i, row))
    else:
        header_line, header = body[0][0], next(csv.reader([body[0][1]]))
        header = [h.strip() for h in header]
        rows = []
        for i, line in body[1:]:
            cells = next(csv.reader([line]))
            if len(cells) != len(header):
                raise ValueError(f"{name}, line {i}: {len(cells)} fields, the header (line "
                                 f"{header_line}) names {len(header)}")
            rows.append((i, dict(zip(header, (c.strip() for c in cells)))))
    out = []
    for i, row in rows:
        entry = {}
        for key in ("step", "loss"):
            if key not in row or row[key] in ("", None):
                raise ValueError(f"{name}, line {i}: no {key!r}")
        for key in COLUMNS:
            if key not in row or row[key] in ("", None):
                continue
            try:
                value = float(row[key])
            except (TypeError, ValueError):
                raise ValueError(f"{name}, line {i}: {key} {row[key]!r} is not a number") \
                    from None
            if not math.isfinite(value):
                raise ValueError(f"{name}, line {i}: {key} is {row[key]!r}, not a finite number")
            entry[key] = value
        if out and entry["step"] < out[-1]["step"]:
            raise ValueError(f"{name}, line {i}: step {entry['step']:g} comes after step "
                             f"{out[-1]['step']:g}")
        out.append(entry)
    if not out:
        raise ValueError(f"{name}: no entries after the header")
    return out


@dataclass(frozen=True)
class Plateau:
    """A run of entries at one reference (several names where references coincide)."""

    references: tuple[str, ...]
    value: float
    first_step: float
    last_step: float
    entries: int

    def as_dict(self) -> dict:
        return {"references": list(self.references), "value": self.value,
                "first_step": self.first_step, "last_step": self.last_step,
                "entries": self.entries}


@dataclass(frozen=True)
class Diagnosis:
    """The curve, the references per (alpha, tau), the plateaus and the reading of the final
    value (the median of the last ``final_entries`` entries)."""

    steps: np.ndarray
    loss: np.ndarray
    settings: tuple  # (alpha, tau) per entry
    references: dict  # (alpha, tau) -> References
    plateaus: tuple[Plateau, ...]
    final: Explanation
    final_value: float
    final_entries: int

    def as_dict(self) -> dict:
        (alpha, tau), refs = list(self.references.items())[-1]
        final = self.final.as_dict()
        return {"entries": int(len(self.loss)), "first_step": float(self.steps[0]),
                "last_step": float(self.steps[-1]),
                "plateaus": [p.as_dict() for p in self.plateaus],
                "final_value": self.final_value, "final_entries": self.final_entries,
                "final": {k: final[k] for k in ("nearest", "gap_to_floor", "floor", "findings",
                                                "advice")},
                "references": final["references"], "notes": final["notes"],
                "varying": len(self.references) > 1}


def diagnose(spec: LossSpec | str, setting: Batch | Dataset, log: list[dict], alpha=None,
             tau=None, *, dim: int | None = None, min_entries: int = 5, smooth: int = 5,
             rtol: float = 0.01) -> Diagnosis:
    """Read a loss curve (``log``: entries as :func:`parse_log` gives) against the references
    of ``setting``; ``alpha`` and ``tau`` apply where the log gives none."""
    spec = get_spec(spec)
    if not log:
        raise ValueError("the log has no entries")
    for name, value, least in (("min_entries", min_entries, 1), ("smooth", smooth, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    settings = []
    for i, e in enumerate(log):
        a, t = e.get("alpha", alpha), e.get("tau", tau)
        if a is None or t is None:
            which = "alpha" if a is None else "tau"
            raise ValueError(f"entry {i + 1} has no {which}: give --{which} or a {which} "
                             "column")
        settings.append((a, t))
    distinct = list(dict.fromkeys(settings))
    if len(distinct) > MAX_SETTINGS:
        raise ValueError(f"the log has {len(distinct)} distinct (alpha, tau) pairs; diagnose "
                         f"solves the references of each, at most {MAX_SETTINGS}")
    refs = {s: references(spec, setting, s[0], s[1], dim=dim) for s in distinct}
    steps = np.array([e["step"] for e in log], dtype=float)
    loss = np.array([e["loss"] for e in log], dtype=float)
    smoothed = _running_median(loss, smooth)
    marks = [_at(refs[s], v, rtol) for s, v in zip(settings, smoothed)]
    plateaus = []
    start = 0
    for i in range(1, len(marks) + 1):
        if i == len(marks) or marks[i] != marks[start]:
            if marks[start] and i - start >= min_entries:
                r = refs[settings[start]][marks[start][0]]
                plateaus.append(Plateau(marks[start], r.value, float(steps[start]),
                                        float(steps[i - 1]), i - start))
            start = i
    k = max(1, min(20, len(loss) // 20))
    final_value = float(np.median(loss[-k:]))
    a, t = settings[-1]
    final = explain(spec, setting, a, t, value=final_value, dim=dim, rtol=rtol)
    return Diagnosis(steps, loss, tuple(settings), refs, tuple(plateaus), final, final_value, k)


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    if width == 1 or len(x) < 2:
        return x
    half = width // 2
    padded = np.pad(x, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.median(windows, axis=1)


def _at(refs: References, value: float, rtol: float) -> tuple[str, ...]:
    """The references ``value`` sits at (:func:`~ssem_symbolic.report.explain`'s reading);
    () where none."""
    names, near, tol = nearest_references(refs, value, rtol)
    return names if near <= tol else ()


_LABELS = {"complete-collapse": "complete collapse", "class-collapse": "class collapse",
           "random": "random (d -> inf)", "random-d": "random (d = {dim})", "ssem": "SSEM",
           "floor": "floor", "dataset-floor": "floor (dataset)"}


def save_png(diag: Diagnosis, path: str | os.PathLike) -> None:
    """The loss against steps with every reference drawn as a labelled line (at the last
    (alpha, tau) of the log), and the plateaus shaded; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    refs = list(diag.references.values())[-1]
    fig, ax = plt.subplots(figsize=(9.0, 4.8), dpi=110)
    ax.plot(diag.steps, diag.loss, color="black", lw=1.0, label="loss")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn: dict = {}
    for i, r in enumerate(refs.items):
        key = round(r.value, 9)
        label = _LABELS[r.name].format(dim=refs.dim)
        if r.name == "floor" and "dataset-floor" in refs:
            label = "floor of one batch"
        if key in drawn:  # coinciding references share one line and one label
            drawn[key][1].append(label)
            continue
        line = ax.axhline(r.value, color=colours[i % len(colours)], ls="--", lw=1.0)
        drawn[key] = (line, [label])
    for line, labels in drawn.values():
        line.set_label(" = ".join(labels))
    for p in diag.plateaus:
        ax.axvspan(p.first_step, p.last_step, color="grey", alpha=0.15)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{refs.spec.name}: the loss against its references")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write(Path(path), buf.getvalue())
