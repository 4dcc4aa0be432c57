"""results.jsonl: one JSON object per finished configuration, appended durably.

Each append is one ``os.write`` of whole lines to a file opened with O_APPEND, followed by
``fsync``: a killed run leaves whole lines, or at worst one partial trailing line. On reading,
a corrupt trailing line is reported and ignored (and cut off before the next append), never
fatal; a corrupt line anywhere else is an error, since it means the file was edited. A last
record without its newline gets one before the next append; duplicate records (a folder two
runs wrote into before locking existed) are reported and removed.

A run holds an exclusive lock on the folder (``.lock``, ``flock``) while it writes, so two runs
into one folder cannot interleave: the second is refused at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ..infra import atomic_write


class ResultsFile:
    def __init__(self, path: str | os.PathLike,
                 warn: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.warn = warn or (lambda message: None)

    def load(self) -> dict[str, dict]:
        """Records by their ``key``; repairs a partial trailing line (reported via ``warn``)."""
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        records: dict[str, dict] = {}
        duplicates = 0
        good_end = 0
        for i, line in enumerate(lines):
            if not line.strip():
                good_end += len(line) + (1 if i < len(lines) - 1 else 0)
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict) or "key" not in rec:
                    raise ValueError("not a result record")
            except ValueError:
                if i >= len(lines) - 2 and all(not rest.strip() for rest in lines[i + 1:]):
                    self.warn(f"{self.path}: ignoring a corrupt trailing line "
                              f"({len(line)} bytes), left by an interrupted run")
                    self._truncate(good_end)
                    break
                raise ValueError(f"{self.path}: line {i + 1} is corrupt; the file was edited "
                                 "or damaged, not just interrupted") from None
            duplicates += rec["key"] in records
            records[rec["key"]] = rec
            good_end += len(line) + 1
        if duplicates:
            self.warn(f"{self.path}: removed {duplicates} duplicate record(s), written by two "
                      "runs into one folder; the last of each is kept")
            self._rewrite(records)
        elif raw and not raw.endswith(b"\n") and good_end >= len(raw):
            self._append_bytes(b"\n")  # a whole last record that lost only its newline
        return records

    def _rewrite(self, records: dict[str, dict]) -> None:
        atomic_write(self.path, "".join(json.dumps(r, sort_keys=True) + "\n"
                                        for r in records.values()).encode())

    def _truncate(self, size: int) -> None:
        with open(self.path, "r+b") as fh:
            fh.truncate(size)
            fh.flush()
            os.fsync(fh.fileno())

    def reset(self) -> None:
        """Start an empty file (a run without --resume)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()

    def append(self, records: list[dict]) -> None:
        """Append whole lines in one write, then fsync."""
        if not records:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # never glue a record onto the last one
                    data = b"\n" + data
        self._append_bytes(data)

    def _append_bytes(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock; ValueError at once if another run holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent / ".lock", os.O_WRONLY | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValueError(f"another ssem crosscheck is writing into {self.path.parent}; "
                                 "wait for it, or give another --out") from None
            yield
        finally:
            os.close(fd)
