"""The one atomic writer: whole files or nothing, and other writers' temporaries left alone."""

import json
import os
import socket
import subprocess
import sys

import helpers
import numpy as np
import pytest

from video_lstm.core import atomic


def test_files_appear_whole_and_a_failed_write_leaves_the_old_one(tmp_path):
    path = tmp_path / "sub" / "metrics.json"
    atomic.write_json(str(path), {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    with pytest.raises(RuntimeError):
        with atomic.path(str(path)) as temporary:
            with open(temporary, "w") as f:
                f.write('{"a": 2, "half')
            raise RuntimeError("disk full")
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(path.parent) == ["metrics.json"]
    atomic.save_npy(str(tmp_path / "x.npy"), np.arange(3))
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.arange(3))


def test_the_temporary_keeps_the_extension_and_names_its_writer(tmp_path):
    temporary = atomic.temporary_sibling(str(tmp_path / "ckpt-00000005.keras"))
    name = os.path.basename(temporary)
    assert name.endswith("~ckpt-00000005.keras") and os.path.dirname(temporary) == str(tmp_path)
    assert atomic.owner_of(name) == (os.getpid(), socket.gethostname())
    assert atomic.owner_of("ckpt-00000005.keras") is None


def test_only_dead_writers_temporaries_of_this_host_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    host = socket.gethostname()
    names = {
        "dead": f".tmp-{dead}@{host}~abc~ckpt-1.keras",
        "live": f".tmp-{os.getppid()}@{host}~abc~ckpt-2.keras",  # another live process (a worker)
        "other_host": f".tmp-{dead}@elsewhere~abc~ckpt-3.keras",
        "mine": f".tmp-{os.getpid()}@{host}~abc~ckpt-4.keras",
        "other_kind": f".tmp-{dead}@{host}~abc~samples.png",
    }
    for name in names.values():
        (tmp_path / name).write_text("partial")
    assert atomic.remove_stale(str(tmp_path), ".keras") == [names["dead"]]
    assert sorted(os.listdir(tmp_path)) == sorted(v for k, v in names.items() if k != "dead")


def test_a_directory_is_renamed_into_place_only_when_complete(tmp_path):
    final = tmp_path / "1"
    with atomic.directory(str(final)) as temporary:
        (open(os.path.join(temporary, "saved_model.pb"), "w")).close()
        assert not final.exists()
    assert (final / "saved_model.pb").exists()
    with pytest.raises(FileExistsError, match="appeared while it was being written"):
        with atomic.directory(str(final)):
            pass
    with pytest.raises(ValueError, match=f"version {final} is taken"):
        with atomic.directory(str(final), refuse=lambda path: ValueError(f"version {path} is taken")):
            pass
    assert os.listdir(tmp_path) == ["1"]


UMASK_WRITER = """
import os, sys
os.umask(0o077)
from video_lstm.core import atomic
atomic.write_json(os.path.join(sys.argv[1], "metrics.json"), {"a": 1})
atomic.save_npy(os.path.join(sys.argv[1], "x.npy"), [1, 2])
with atomic.path(os.path.join(sys.argv[1], "private.bin")) as temporary:  # a library that makes 0o600 files
    os.close(os.open(temporary, os.O_CREAT | os.O_WRONLY, 0o600))
with atomic.directory(os.path.join(sys.argv[1], "saved")) as temporary:
    open(os.path.join(temporary, "saved_model.pb"), "w").close()
print(oct(atomic.umask()))
"""


def test_files_get_the_umasks_mode_not_a_forced_one(tmp_path):
    """umask 077: files -rw------- (not -rw-r--r--); umask 022: a library's 0o600 file comes out 0o644."""
    env = {**os.environ, "PYTHONPATH": helpers.ROOT}
    done = subprocess.run([sys.executable, "-c", UMASK_WRITER, str(tmp_path)], capture_output=True, text=True,
                          env=env, check=True)
    assert done.stdout.strip() == "0o77"
    for name in ("metrics.json", "x.npy", "private.bin", "saved/saved_model.pb"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    assert (tmp_path / "saved").stat().st_mode & 0o777 == 0o700
    (tmp_path / "022").mkdir()
    done = subprocess.run([sys.executable, "-c", UMASK_WRITER.replace("0o077", "0o022"), str(tmp_path / "022")],
                          capture_output=True, text=True, env=env, check=True)
    assert (tmp_path / "022" / "private.bin").stat().st_mode & 0o777 == 0o644


def test_the_umask_is_read_without_setting_it(monkeypatch):
    monkeypatch.setattr(atomic, "_UMASK", [])
    monkeypatch.setattr(os, "umask", lambda *a: pytest.fail("os.umask called: it is process-global"))
    if os.path.exists("/proc/self/status"):
        assert 0 <= atomic.umask() <= 0o777
        assert atomic.file_mode() == 0o666 & ~atomic.umask()


def test_a_file_is_fsynced_before_its_rename_and_its_folder_after(tmp_path, monkeypatch):
    events = []
    monkeypatch.setattr(atomic, "fsync_path", lambda p: events.append(("fsync", os.path.basename(p))))
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("rename", os.path.basename(b))),
                                                     real_replace(a, b)))
    atomic.write_json(str(tmp_path / "m.json"), {})
    assert events[0][0] == "fsync" and events[0][1].endswith("~m.json")
    assert events[1:] == [("rename", "m.json"), ("fsync", tmp_path.name)]


def test_a_tensorflow_write_error_is_an_os_error_naming_the_file_and_one_line(tmp_path):
    """A full disk under a TFRecordWriter raises ResourceExhaustedError: the writer raises it as an
    OSError naming the destination, and cli.one_line gives a TensorFlow error's message on one line."""
    import tensorflow as tf

    from video_lstm.core import cli

    destination = str(tmp_path / "percepts-00000-of-00001.tfrecord")
    full = tf.errors.ResourceExhaustedError(None, None, "tmp.tfrecord; No space left on device\n\tother details")
    message = "ResourceExhaustedError: tmp.tfrecord; No space left on device other details"
    with pytest.raises(OSError, match=message) as info:
        with atomic.path(destination) as temporary:
            open(temporary, "w").close()
            raise full
    assert info.value.filename == destination and not os.listdir(tmp_path)
    assert cli.one_line(full) == message
    assert cli.tensorflow_error(full) and not cli.tensorflow_error(OSError("x"))


def test_cli_knows_tensorflow_errors_without_importing_tensorflow():
    code = ("import sys; from video_lstm.core import cli; assert not cli.tensorflow_error(ValueError('x')); "
            "assert cli.one_line(ValueError('a\\nb')) == 'a b'; assert 'tensorflow' not in sys.modules")
    env = {**os.environ, "PYTHONPATH": helpers.ROOT}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
