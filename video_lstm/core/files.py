"""Reading a file that must be a regular file: a FIFO, a device or a folder in its place is
refused in one line instead of blocking the reader forever (a FIFO named ckpt-9.keras,
/dev/zero linked as config.json).

    with files.open_regular(path) as f: ...      # opened without blocking, then checked
    files.check_regular(path, "checkpoint ...")  # before a library opens it by name

Imports nothing of the project.
"""

import fcntl
import os
import stat

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISLNK, "a symbolic link"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotRegularFileError(ValueError):
    """A path that should hold a file holds a FIFO, a device, a socket or a folder."""


def describe_mode(mode):
    """What a file that is not regular is, in words ("a FIFO", ...), from its `st_mode`."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def not_regular(path):
    """None if `path` is a regular file (a link to one included), else what it is, in words;
    FileNotFoundError if there is nothing there."""
    mode = os.stat(path).st_mode
    return None if stat.S_ISREG(mode) else describe_mode(mode)


def _refusal(path, kind, what):
    return NotRegularFileError(f"{what or path} is {kind}, not a regular file")


def check_regular(path, what=None):
    """Raises NotRegularFileError (`<what> is a FIFO, not a regular file`; `what` default the
    path) unless `path` is a regular file; FileNotFoundError if there is nothing there."""
    kind = not_regular(path)
    if kind is not None:
        raise _refusal(path, kind, what)
    return path


def open_regular(path, mode="rb", what=None):
    """`open(path, mode)` for reading a regular file: opened without blocking (a FIFO would
    block until a writer came), checked, then read as usual. Raises NotRegularFileError."""
    if any(c in mode for c in "wax+"):
        raise ValueError(f"open_regular reads; mode {mode!r}")
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise _refusal(path, describe_mode(status.st_mode), what)
        fcntl.fcntl(descriptor, fcntl.F_SETFL, fcntl.fcntl(descriptor, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(descriptor, mode)
    except BaseException:
        os.close(descriptor)
        raise
