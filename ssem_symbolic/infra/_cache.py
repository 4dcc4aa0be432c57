"""A small on-disk cache of derived SymPy expressions (srepr text, written atomically).

Location: ``$SSEM_CACHE_DIR`` or ``~/.cache/ssem-symbolic``. The key folds in the package
sources and the SymPy version, so a changed derivation never reads a stale entry. Any
failure to read or write silently falls back to deriving again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import sympy as sp

from ._io import atomic_write

_SOURCES = ("spec/_lossspec.py", "setting/_model.py", "forms/_softmax.py")


def _cache_dir() -> Path:
    return Path(os.environ.get("SSEM_CACHE_DIR") or Path.home() / ".cache" / "ssem-symbolic")


def _key(name: str) -> str:
    h = hashlib.sha256(name.encode())
    h.update(sp.__version__.encode())
    here = Path(__file__).parent.parent
    for src in _SOURCES:
        h.update((here / src).read_bytes())
    return h.hexdigest()[:32]


def load(name: str) -> dict[str, sp.Expr] | None:
    """The cached expressions stored under ``name``, or None."""
    if os.environ.get("SSEM_NO_CACHE"):
        return None
    path = _cache_dir() / f"{_key(name)}.json"
    try:
        raw = json.loads(path.read_text())
        return {key: sp.sympify(text) for key, text in raw.items()}
    except Exception:  # missing, unreadable or corrupt: derive again
        return None


def store(name: str, exprs: dict[str, sp.Expr]) -> None:
    """Store ``exprs`` under ``name`` atomically (temp file, fsync, rename)."""
    if os.environ.get("SSEM_NO_CACHE"):
        return
    try:
        text = json.dumps({key: sp.srepr(e) for key, e in exprs.items()})
        atomic_write(_cache_dir() / f"{_key(name)}.json", text.encode(), make_parents=True)
    except OSError:
        pass
