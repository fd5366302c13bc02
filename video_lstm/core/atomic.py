"""Atomic writes: every file and directory the project writes appears whole or not at all.

A writer works on a temporary sibling of its destination and renames it into
place when complete (`os.replace` for files, `os.rename` for a directory that
must not exist yet), so a reader, a resumed job or TF Serving never sees half
a checkpoint, figure, test-set cache, JSON file or SavedModel, and a killed
writer loses only what it was writing.

Temporaries are named `.tmp-<pid>@<host>~<token>~<name>` (the destination's
name last, so its extension, which Keras and OpenCV read, is kept). Several
workers may write into one directory at once: `remove_stale` deletes only
temporaries whose writer is a dead process of this host, never a live one's
or another host's.

    with atomic.path("run/metrics.json") as temporary:
        write_something(temporary)
"""

import contextlib
import json
import os
import shutil
import socket
import uuid

import numpy as np

PREFIX = ".tmp-"


def check_writable(folder, flag):
    """Raises (one line, naming `flag`) unless `folder` can be written: a file is in its place,
    or it (or the folder it would be made in) is not writable, e.g. on a read-only filesystem."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(f"{flag}={folder} is a file, not a folder")
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is" if existing == os.path.abspath(folder) else f"would be made in {existing}, which is"
        raise PermissionError(f"{flag}={folder} {what} not writable (read-only?)")


def temporary_sibling(path):
    """A fresh temporary name in the directory of `path` (not created)."""
    directory, name = os.path.split(os.path.abspath(path))
    owner = f"{os.getpid()}@{socket.gethostname()}"
    return os.path.join(directory, f"{PREFIX}{owner}~{uuid.uuid4().hex[:8]}~{name}")


def owner_of(name):
    """(pid, host) of a temporary's writer, or None if `name` is no temporary of ours."""
    if not name.startswith(PREFIX) or "~" not in name:
        return None
    pid, _, host = name[len(PREFIX) :].split("~", 1)[0].partition("@")
    if not pid.isdigit() or not host:
        return None
    return int(pid), host


def process_alive(pid):
    """Whether process `pid` of this host lives (also when it is another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale(directory, name_suffix=""):
    """Deletes temporaries in `directory` left by dead writers of this host; returns their names.

    Args:
        name_suffix: only temporaries whose destination name ends with this
            (e.g. ".keras") are considered.
    """
    removed = []
    if not os.path.isdir(directory):
        return removed
    host = socket.gethostname()
    for name in os.listdir(directory):
        owner = owner_of(name)
        if owner is None or not name.endswith(name_suffix):
            continue
        pid, writer_host = owner
        if writer_host != host or pid == os.getpid() or process_alive(pid):
            continue
        target = os.path.join(directory, name)
        if os.path.isdir(target):
            shutil.rmtree(target, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(target)
        removed.append(name)
    return removed


def _discard(temporary):
    if os.path.isdir(temporary):
        shutil.rmtree(temporary, ignore_errors=True)
    elif os.path.exists(temporary):
        os.remove(temporary)


@contextlib.contextmanager
def path(destination, mode=0o644):
    """Yields a temporary path; on success renames it over `destination`.

    The caller writes the file at the yielded path. On an exception the
    temporary is removed and `destination` is untouched; an OSError without a
    file name (a full disk: "[Errno 28] No space left on device") is raised
    again with `destination` as its file name.
    """
    os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
    temporary = temporary_sibling(destination)
    try:
        yield temporary
        if os.path.exists(temporary):
            os.chmod(temporary, mode)
        os.replace(temporary, destination)
    except OSError as error:
        _discard(temporary)
        if error.filename is None and error.errno is not None:
            raise type(error)(error.errno, error.strerror, os.fspath(destination)) from error
        raise
    except BaseException:
        _discard(temporary)
        raise


@contextlib.contextmanager
def directory(destination, refuse=None):
    """Yields a new temporary directory; on success renames it to `destination`.

    `destination` must not exist: if it appears while the directory is being
    written, the exception `refuse(destination)` returns is raised (default a
    FileExistsError) and the temporary is removed.
    """
    temporary = temporary_sibling(destination)
    os.makedirs(temporary)
    try:
        yield temporary
        if os.path.exists(destination):
            if refuse is not None:
                raise refuse(destination)
            raise FileExistsError(f"{destination} appeared while it was being written")
        os.rename(temporary, destination)
    except BaseException:
        _discard(temporary)
        raise


def write_text(destination, text):
    with path(destination) as temporary, open(temporary, "w") as f:
        f.write(text)
    return destination


def write_json(destination, value):
    """`value` as indented, key-sorted JSON."""
    return write_text(destination, json.dumps(value, indent=2, sort_keys=True) + "\n")


def save_npy(destination, array):
    with path(destination) as temporary, open(temporary, "wb") as f:
        np.save(f, array)
    return destination
