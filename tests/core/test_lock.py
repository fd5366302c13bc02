"""The one folder lock (`video_lstm.core.lock`): never writes through a link, refuses what is not its
own regular file, names the folder by its flag, and its release never masks a job's own error."""

import os
import socket

import pytest

from video_lstm.core import lock

HOST = socket.gethostname()


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "lock").symlink_to(victim)
    with pytest.raises(lock.BadLockError, match=rf"--out={out}: its lock {out}/lock is a symbolic link, not a "
                                               "regular file"):
        lock.FolderLock(str(out), "--out").acquire()
    assert victim.read_text() == "precious\n"


def test_a_dangling_symlink_creates_nothing(tmp_path):
    (tmp_path / "lock").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(lock.BadLockError, match="symbolic link"):
        lock.FolderLock(str(tmp_path), "--log_dir").acquire()
    assert not (tmp_path / "elsewhere.txt").exists()


@pytest.mark.parametrize("kind", ["fifo", "folder", "hard link"])
def test_a_lock_that_is_not_a_regular_file_of_its_own_is_refused(tmp_path, kind):
    path = tmp_path / ".extract.lock"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        (tmp_path / "victim.txt").write_text("precious\n")
        os.link(tmp_path / "victim.txt", path)
    words = {"fifo": "a FIFO", "folder": "a folder", "hard link": "a hard link to another file"}[kind]
    with pytest.raises(lock.BadLockError, match=f"--out={tmp_path}: its lock .* is {words}, not a regular file"):
        lock.FolderLock(str(tmp_path), "--out", ".extract.lock").acquire()
    if kind == "hard link":
        assert (tmp_path / "victim.txt").read_text() == "precious\n"


def test_messages_name_the_flag_and_a_second_holder_is_refused(tmp_path):
    first = lock.FolderLock(str(tmp_path), "--out").acquire()
    assert (tmp_path / "lock").read_text() == f"{HOST}:{os.getpid()}\n"
    with pytest.raises(lock.FolderLockedError, match=rf"^--out={tmp_path} is locked by {HOST}:{os.getpid()}$"):
        lock.FolderLock(str(tmp_path), "--out").acquire()
    first.release()
    assert not (tmp_path / "lock").exists()


def test_a_release_that_cannot_remove_the_file_does_not_raise(tmp_path, monkeypatch, caplog):
    held = lock.FolderLock(str(tmp_path), "--out").acquire()

    def read_only(path):
        raise PermissionError(1, "Operation not permitted", path)

    monkeypatch.setattr(os, "remove", read_only)
    with pytest.raises(OSError, match="the write that failed"):
        try:
            raise OSError("the write that failed")
        finally:
            held.release()
    assert not held.held and "could not remove the lock" in caplog.text


def test_held_releases_on_error(tmp_path):
    with pytest.raises(ValueError):
        with lock.held(str(tmp_path), "--export_dir"):
            assert (tmp_path / "lock").exists()
            raise ValueError("boom")
    assert not (tmp_path / "lock").exists()
