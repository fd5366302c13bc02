"""One training job per log_dir: `<log_dir>/lock`, held while the job runs.

The lock is an exclusive `flock` on the file, which the kernel releases when
its process ends however it ends (SIGKILL included), and the file says who
holds it (`<host>:<pid>`). A second job on a log_dir that a live job holds is
refused (`LogDirLockedError`: "log_dir ... is locked by <host>:<pid>"). A lock
whose holder is gone is taken over, and a warning names the dead holder.

A lock written by another host whose flock this filesystem does not share
(some network filesystems) cannot be checked: it is refused too, and the
message says which file to delete once that job is known to be gone.

In a multi-worker job only the chief takes the lock (the other workers write
nothing into the log_dir).
"""

import contextlib
import fcntl
import os
import socket

from absl import logging

from video_lstm import rundir
from video_lstm.core.atomic import process_alive

LOCK_NAME = rundir.LOCK
_HELD = {}  # realpath of a lock file -> LogDirLock held by this process


class LogDirLockedError(RuntimeError):
    """Another live job holds the log_dir."""


def _parse(text):
    """(host, pid) from `<host>:<pid>`, or None for an empty or foreign file."""
    host, _, pid = text.strip().rpartition(":")
    return (host, int(pid)) if host and pid.isdigit() else None


class LogDirLock:
    """The lock of one log_dir, held by this process until `release()`.

    Args:
        log_dir: the run directory (created if absent).
    Raises:
        LogDirLockedError: a live job (or an unverifiable one on another host)
            holds it.
    """

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.path = os.path.join(log_dir, LOCK_NAME)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._file = None
        self.took_over = None  # "<host>:<pid>" of a dead holder taken over, if any

    def acquire(self):
        os.makedirs(self.log_dir, exist_ok=True)
        while True:
            handle = open(self.path, "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(handle)
                handle.close()
                raise LogDirLockedError(f"log_dir {self.log_dir} is locked by {holder or 'another process'}")
            # The file may have been deleted (released) between open and flock.
            if _same_file(handle, self.path):
                break
            handle.close()
        try:
            self._check_previous(_read(handle))
        except BaseException:
            handle.close()
            raise
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(self.owner + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as error:  # a full disk, a file-size limit: the lock is not taken
            for undo in (lambda: os.remove(self.path), handle.close):  # (close flushes, and fails again)
                with contextlib.suppress(OSError):
                    undo()
            raise OSError(error.errno, f"cannot write the lock {self.path}: {error.strerror}") from None
        self._file = handle
        return self

    def _check_previous(self, text):
        previous = _parse(text)
        if previous is None or text.strip() == self.owner:
            return
        host, pid = previous
        if host != socket.gethostname():
            raise LogDirLockedError(
                f"log_dir {self.log_dir} is locked by {host}:{pid} (another host: its process cannot be "
                f"checked from here). If that job is gone, delete {self.path}."
            )
        state = "is not running" if not process_alive(pid) else "holds no lock on the file"
        self.took_over = f"{host}:{pid}"
        logging.warning("log_dir %s: took over the stale lock of %s, which %s", self.log_dir, self.took_over, state)

    def release(self):
        """Deletes the lock file, then lets go of it; idempotent."""
        if self._file is None:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        self._file.close()
        self._file = None

    @property
    def held(self):
        return self._file is not None


def _read(handle):
    handle.seek(0)
    return handle.read().strip()


def _same_file(handle, path):
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def acquire(log_dir):
    """This process's lock of `log_dir` (the one already held, or a new one)."""
    key = os.path.realpath(os.path.join(log_dir, LOCK_NAME))
    held = _HELD.get(key)
    if held is None or not held.held:
        held = _HELD[key] = LogDirLock(log_dir).acquire()
    return held


def release(log_dir):
    """Releases this process's lock of `log_dir`, if it holds one."""
    held = _HELD.pop(os.path.realpath(os.path.join(log_dir, LOCK_NAME)), None)
    if held is not None:
        held.release()
