"""One job per folder it writes: `<folder>/lock`, held while the job runs.

Every job that writes a folder takes it: training and fine-tuning their `--log_dir`, embed
and extract_percepts their `--out` (the latter as `.extract.lock`). Messages name the
folder by its flag (`--log_dir=...`, `--out=...`).

The lock is an exclusive `flock` on the file, which the kernel releases when its process
ends however it ends (SIGKILL included), and the file says who holds it (`<host>:<pid>`).
A second job on a folder that a live job holds is refused (`FolderLockedError`: "--out=...
is locked by <host>:<pid>"). A lock whose holder is gone is taken over, and a warning names
the dead holder.

The lock file is opened without following a symbolic link (`O_NOFOLLOW`, also when it is
created), and a lock that is not a regular file of one name (a symlink, a FIFO, a folder,
a hard link to another file) is refused in one line: the lock never writes anywhere but
into its own file.

A lock written by another host whose flock this filesystem does not share (some network
filesystems) cannot be checked: it is refused too, and the message says which file to
delete once that job is known to be gone.

Releasing deletes the file; where that fails (the folder turned read-only) it is only
logged: a job's own error is what it reports, and the file left behind is a dead holder's,
taken over by the next job. In a multi-worker job only the chief takes the lock.
"""

import contextlib
import errno
import fcntl
import os
import socket
import stat

from absl import logging

from video_lstm.core.atomic import file_mode, process_alive
from video_lstm.core.files import describe_mode

NAME = "lock"
_HELD = {}  # realpath of a lock file -> FolderLock held by this process


class FolderLockedError(RuntimeError):
    """Another live job holds the folder."""


class BadLockError(OSError):
    """The lock's path holds something the lock will not write into (a symlink, a FIFO...)."""


def _parse(text):
    """(host, pid) from `<host>:<pid>`, or None for an empty or foreign file."""
    host, _, pid = text.strip().rpartition(":")
    return (host, int(pid)) if host and pid.isdigit() else None


class FolderLock:
    """The lock of one folder, held by this process until `release()`.

    Args:
        folder: the folder (created if absent).
        flag: the flag that names it, for messages ("--log_dir", "--out", "--export_dir").
        name: the lock file's name in it.
    Raises:
        FolderLockedError: a live job (or an unverifiable one on another host) holds it.
        BadLockError: the lock's path is not a regular file of one name.
    """

    def __init__(self, folder, flag="--log_dir", name=NAME):
        self.folder, self.flag = folder, flag
        self.path = os.path.join(folder, name)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._file = None
        self.took_over = None  # "<host>:<pid>" of a dead holder taken over, if any

    @property
    def where(self):
        return f"{self.flag}={self.folder}"

    def _refuse(self, what):
        return BadLockError(errno.EINVAL, f"{self.where}: its lock {self.path} is {what}, not a regular file; "
                                          "remove it (a job writes its lock there)")

    def _open(self):
        """The lock file, opened for reading and writing without following a link nor blocking on a FIFO."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(self.path, flags, file_mode())
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise self._refuse("a symbolic link") from None
            if error.errno in (errno.EISDIR, errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP):
                raise self._refuse(describe_mode(os.lstat(self.path).st_mode)) from None
            raise
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_nlink > 1:
            os.close(descriptor)
            raise self._refuse("a hard link to another file" if stat.S_ISREG(status.st_mode)
                               else describe_mode(status.st_mode))
        fcntl.fcntl(descriptor, fcntl.F_SETFL, fcntl.fcntl(descriptor, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(descriptor, "r+")

    def acquire(self):
        os.makedirs(self.folder, exist_ok=True)
        while True:
            handle = self._open()
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(handle)
                handle.close()
                raise FolderLockedError(f"{self.where} is locked by {holder or 'another process'}") from None
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
            raise OSError(error.errno, f"{self.where}: cannot write the lock {self.path}: {error.strerror}") from None
        self._file = handle
        return self

    def _check_previous(self, text):
        previous = _parse(text)
        if previous is None or text.strip() == self.owner:
            return
        host, pid = previous
        if host != socket.gethostname():
            raise FolderLockedError(
                f"{self.where} is locked by {host}:{pid} (another host: its process cannot be "
                f"checked from here). If that job is gone, delete {self.path}."
            )
        state = "is not running" if not process_alive(pid) else "holds no lock on the file"
        self.took_over = f"{host}:{pid}"
        logging.warning("%s: took over the stale lock of %s, which %s", self.where, self.took_over, state)

    def release(self):
        """Deletes the lock file, then lets go of it; idempotent. Never raises for the file:
        a folder turned read-only leaves it behind (logged), for the next job to take over."""
        if self._file is None:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        except OSError as error:
            logging.warning("%s: could not remove the lock %s (%s); the next job takes it over",
                            self.where, self.path, error.strerror)
        with contextlib.suppress(OSError):
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
        return os.fstat(handle.fileno()).st_ino == os.lstat(path).st_ino
    except FileNotFoundError:
        return False


def acquire(folder, flag="--log_dir", name=NAME):
    """This process's lock of `folder` (the one already held, or a new one)."""
    key = os.path.realpath(os.path.join(folder, name))
    held = _HELD.get(key)
    if held is None or not held.held:
        held = _HELD[key] = FolderLock(folder, flag, name).acquire()
    return held


def release(folder, name=NAME):
    """Releases this process's lock of `folder`, if it holds one."""
    held = _HELD.pop(os.path.realpath(os.path.join(folder, name)), None)
    if held is not None:
        held.release()


@contextlib.contextmanager
def held(folder, flag, name=NAME):
    """Holds `folder`'s lock while the block runs (a job's own error is never masked by the release)."""
    taken = FolderLock(folder, flag, name).acquire()
    try:
        yield taken
    finally:
        taken.release()
