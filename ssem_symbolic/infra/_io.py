"""Writing result files: atomic for regular files, through for devices and pipes.

* A regular file (or a new name) gets a temporary file in the same folder, written, fsynced,
  given the mode a new file would get (0666 less the umask, or the old file's mode), and
  renamed over the target: a killed run leaves the old file or the new one, never half.
* A symlink is followed to its file, which is replaced; the link stays.
* A device, FIFO or socket (``/dev/stdout``, ``/dev/null``, a named pipe) is written through,
  never replaced.
* Files written together (:func:`together`: a map's .npz and its PNG) are never left as an
  old one beside a new one: all are written to temporary files first, then the old targets
  are removed, then each is renamed in place (a kill in between leaves fewer files, never a
  mismatched pair).
* A symlink loop at the target is an error, not replaced.
* Temporary files carry the writer's process id; one left by a killed run (its process gone)
  is removed by the next write into that folder.

Paths are checked before any work starts (:func:`check_output`), and every failure is an
:class:`OutputError` (an ``OSError``) with a one-line message.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import stat
import tempfile
from pathlib import Path


class OutputError(OSError):
    """A result file cannot be written; the message is one line for the user."""


def check_output(path: str | os.PathLike, what: str = "--out", make_parents: bool = False) -> Path:
    """The target ``path`` resolved (symlinks followed), or OutputError if it cannot be written:
    an empty name, a folder, a missing or read-only parent folder, a read-only file."""
    if not str(path):
        raise OutputError(errno.EINVAL, f"{what} is empty: give a file name")
    try:
        target = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:  # a new name, or a link to one: written there
        target = Path(os.path.realpath(path))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(errno.ELOOP, f"{what} {path} is a symlink loop") from None
        raise OutputError(exc.errno, f"{what} {path}: {exc.strerror}") from None
    if target.is_dir():
        raise OutputError(errno.EISDIR, f"{what} {path} is a folder; give a file name")
    parent = target.parent
    if make_parents:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(exc.errno, f"cannot create folder {parent}: {exc.strerror}") from None
    if not parent.is_dir():
        raise OutputError(errno.ENOENT, f"{what} {path}: folder {parent} does not exist")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise OutputError(errno.EACCES, f"{what} {path} is not writable")
        if not stat.S_ISREG(target.stat().st_mode):
            return target  # a device or pipe: written through
    try:  # a real probe: permissions, read-only file systems and root all answer truly
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.{os.getpid()}.",
                                     suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(exc.errno, f"{what} {path}: cannot write in folder {parent}: "
                                     f"{exc.strerror}") from None
    return target


def atomic_write(path: str | os.PathLike, data: bytes, make_parents: bool = False) -> None:
    """Write ``data`` to ``path`` as the module docstring says."""
    target = check_output(path, "output", make_parents)
    try:
        if target.exists() and not stat.S_ISREG(target.stat().st_mode):
            with open(target, "wb") as fh:  # device, FIFO, socket: write through
                fh.write(data)
            return
        _remove_stale(target)
        mode = (stat.S_IMODE(target.stat().st_mode) if target.exists()
                else 0o666 & ~_umask())
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise _one_line(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        if _pending is not None:  # inside together(): renamed when the block ends
            _pending.append((tmp, target))
            return
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _one_line(exc, path) from None
        raise


_pending: list | None = None


@contextlib.contextmanager
def together():
    """Every :func:`atomic_write` inside the block lands together at its end: all temporary
    files are complete first, then the old targets are removed, then each is renamed in
    place. An error or a kill inside the block leaves the old files."""
    global _pending
    outer, _pending = _pending, []
    done = False
    try:
        yield
        for _, target in _pending:
            if target.exists() and stat.S_ISREG(target.stat().st_mode):
                target.unlink()
        for tmp, target in _pending:
            os.replace(tmp, target)
        done = True
    finally:
        if not done:
            for tmp, _ in _pending:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        _pending = outer


def _one_line(exc: OSError, path) -> OutputError:
    return OutputError(exc.errno, f"cannot write {path}: {exc.strerror or exc}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale(target: Path) -> None:
    """Remove ``.NAME.PID.*.tmp`` files in the target's folder whose process is gone."""
    prefix = f".{target.name}."
    for entry in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = entry.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                entry.unlink()
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: the largest input file read (labels, a training log): a guard against reading a device
MAX_INPUT_BYTES = 256 << 20


def read_regular(path: str | os.PathLike, what: str, limit: int = MAX_INPUT_BYTES,
                 too_large: str = "") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or ValueError in one line
    naming ``what`` and the file (missing, not a regular file, too large). Opened without
    blocking: a FIFO with no writer or a device would block or never end."""
    import stat

    path = Path(path)
    try:
        with open(path, "rb", opener=lambda p, f: os.open(p, f | getattr(os, "O_NONBLOCK", 0))) \
                as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ValueError(f"{what} {path}: not a regular file")
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise ValueError(f"{what} {path}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise ValueError(f"{what} {path}: larger than {limit} bytes" +
                         (f"; {too_large}" if too_large else ""))
    return raw


def read_lines(path: str | os.PathLike, what: str) -> list[str]:
    """The lines of a regular UTF-8 text file of at most :data:`MAX_INPUT_BYTES`
    (:func:`read_regular`), or ValueError in one line naming the file and the line."""
    raw = read_regular(path, what)
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ValueError(f"{what} {path}, line {line}: not UTF-8 text") from None
