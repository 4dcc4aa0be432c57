"""_io.atomic_write: atomic for files, through for devices and pipes, symlinks followed, the
umask's mode, and no temporary file outliving its writer."""

import os
import stat
import threading

import pytest

from ssem_symbolic.infra import OutputError, atomic_write, check_output


def test_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", b"hello")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_bytes() == b"hello"
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write(path, b"new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_symlink_is_followed_and_kept(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("stale")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write(link, b"fresh")
    assert link.is_symlink() and target.read_text() == "fresh"


def test_fifo_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    atomic_write(fifo, b"through the pipe")
    reader.join(timeout=30)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    dead = 2**22 + 12345  # above the default pid_max of 4194304: never a live process
    stale = tmp_path / f".a.npz.{dead}.abcd.tmp"
    live = tmp_path / f".a.npz.{os.getpid()}.efgh.tmp"
    other = tmp_path / f".b.npz.{dead}.ijkl.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"x" * 10)
    atomic_write(tmp_path / "a.npz", b"data")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "a.npz").read_bytes() == b"data"


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from ssem_symbolic.infra import _io

    path = tmp_path / "a.txt"
    path.write_text("old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_io.os, "replace", boom)
    with pytest.raises(OutputError, match="No space left"):
        atomic_write(path, b"new")
    assert path.read_text() == "old" and sorted(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("name, words", [("", "empty"), ("missing/x.txt", "does not exist"),
                                         (".", "folder")])
def test_check_output_refuses(tmp_path, name, words):
    with pytest.raises(OutputError, match=words):
        check_output(str(tmp_path / name) if name else "")
