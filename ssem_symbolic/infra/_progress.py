"""Progress on stderr for work that can take longer than a couple of seconds: one tqdm bar,
shown only where stderr is a terminal (never in pipes, logs or tests' captured output)."""

from __future__ import annotations

import functools


def progress(desc: str, total: int | None = None, unit: str = "solve"):
    """A tqdm bar on stderr (disabled where stderr is not a terminal); ``update()`` per step."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=None)


def counted(bar, fn):
    """``fn`` that advances ``bar`` by one per call."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        bar.update(1)
        return out
    return wrapper
