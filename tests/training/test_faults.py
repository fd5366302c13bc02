"""Faults: the log_dir lock, SIGTERM (preemption), a checkpoint write that fails part-way.

(SIGKILL and resume: tests/training/test_loop.py; across workers: tests/training/test_distribute.py.)
"""

import dataclasses
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import ROOT, read_steps, tiny, wait_for, weights, write_flagfile

from video_lstm import rundir
from video_lstm.core import lock
from video_lstm.rundir import CheckpointWriteError
from video_lstm.training import loop as train_lib

HOST = socket.gethostname()
HOLD = (
    "import sys, time; from video_lstm.core import lock; lock.acquire(sys.argv[1]); "
    "print('held', flush=True); time.sleep(300)"
)


def hold_lock(log_dir):
    """A live process holding log_dir's lock (started, and holding, on return)."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(log_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_live_lock_is_refused_and_a_dead_holders_is_taken_over(tmp_path, caplog):
    holder = hold_lock(tmp_path)
    try:
        with pytest.raises(lock.FolderLockedError, match=f"--log_dir={tmp_path} is locked by {HOST}:{holder.pid}$"):
            lock.FolderLock(str(tmp_path)).acquire()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    taken = lock.FolderLock(str(tmp_path)).acquire()
    assert taken.took_over == f"{HOST}:{holder.pid}"
    assert f"took over the stale lock of {HOST}:{holder.pid}, which is not running" in caplog.text
    assert (tmp_path / "lock").read_text().strip() == f"{HOST}:{os.getpid()}"
    taken.release()
    assert not (tmp_path / "lock").exists()


def test_a_stale_lock_file_is_taken_over_and_another_hosts_is_refused(tmp_path):
    (tmp_path / "lock").write_text(f"{HOST}:999999999\n")  # no such process
    taken = lock.FolderLock(str(tmp_path)).acquire()
    assert taken.took_over == f"{HOST}:999999999"
    taken.release()
    (tmp_path / "lock").write_text("elsewhere:42\n")
    with pytest.raises(lock.FolderLockedError, match=r"locked by elsewhere:42 \(another host.*delete .*lock"):
        lock.FolderLock(str(tmp_path)).acquire()


def test_training_releases_its_lock_and_one_process_may_reenter_it(tmp_path):
    run = train_lib.setup(tiny(steps=1, checkpoint_every=1), str(tmp_path))
    assert (tmp_path / "lock").read_text().strip() == f"{HOST}:{os.getpid()}"
    train_lib.train(dataclasses.replace(run.config, steps=2), str(tmp_path), verbose=0)  # same process: allowed
    assert not (tmp_path / "lock").exists()


def test_sigterm_saves_exits_0_and_the_resumed_run_continues_from_that_step(tmp_path, small_mnist, capsys, caplog):
    """Also: while the job runs, a second job on its log_dir is refused. (The job is a
    `python -m video_lstm.train` process; the second job and the resumed one run in this
    process, `cli.call`.)"""
    from video_lstm import train as train_entry
    from video_lstm.core import cli

    config = tiny(steps=5000, checkpoint_every=25, log_every=1, eval_sequences=4, **small_mnist)
    flagfile = write_flagfile(tmp_path / "tiny.flags", config)
    log_dir = tmp_path / "run"
    arguments = [f"--flagfile={flagfile}", f"--log_dir={log_dir}"]
    job = subprocess.Popen([sys.executable, "-m", "video_lstm.train", *arguments], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: rundir.list_checkpoints(str(log_dir)), 180, "the first checkpoint")
        capsys.readouterr()
        assert cli.call(train_entry, arguments) == 1
        assert f"--log_dir={log_dir} is locked by {HOST}:{job.pid}" in capsys.readouterr().err
        wait_for(lambda: 3 <= read_steps(str(log_dir))[-1] % 25 <= 15, 60, "a step between checkpoints")
        sent = time.time()
        job.send_signal(signal.SIGTERM)
        _, stderr = job.communicate(timeout=60)
        seconds = time.time() - sent
    finally:
        job.kill()
    assert job.returncode == 0, stderr[-2000:]
    stopped = rundir.latest(str(log_dir))[0]
    # Usually a step between the interval's checkpoints; under load the job may run on to one, and
    # what matters holds either way: the step it stopped at is saved and nothing is lost.
    assert 25 < stopped < 5000
    assert f"SIGTERM: training stopped at step {stopped}; saved" in stderr
    lost = read_steps(str(log_dir))[-1] - stopped
    print(f"SIGTERM: exit 0 after {seconds:.2f} s, stopped at step {stopped}, steps lost {lost}")
    assert lost == 0 and not (log_dir / "lock").exists()

    target = stopped + 3
    caplog.set_level(logging.INFO, logger="absl")  # (whatever absl.logging.set_verbosity says by now)
    assert cli.call(train_entry, [*arguments, f"--steps={target}"]) == 0, capsys.readouterr().err[-2000:]
    assert "Resuming from" in caplog.text and f"(step {stopped})" in caplog.text
    _, model = rundir.load_latest(str(log_dir))
    assert int(model.optimizer.iterations) == target
    straight, _ = train_lib.train(dataclasses.replace(config, steps=target), str(tmp_path / "straight"), verbose=0)
    for a, b in zip(weights(straight), weights(model)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_checkpoint_write_failing_part_way_keeps_the_previous_one(tmp_path, monkeypatch):
    """A writer that fills the disk half-way: the error names the checkpoint and the kept one."""
    import keras

    log_dir = str(tmp_path)
    train_lib.train(tiny(steps=5), log_dir, verbose=0)
    expected = weights(rundir.load_latest(log_dir)[1])

    def full_disk(self, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(keras.Model, "save", full_disk)
    message = (r"writing checkpoint .*ckpt-00000010\.keras failed \(OSError: \[Errno 28\] No space left on "
               r"device[^)]*\); the previous checkpoint, .*ckpt-00000005\.keras, is kept")
    with pytest.raises(CheckpointWriteError, match=message):
        train_lib.train(tiny(steps=10), log_dir, verbose=0)
    assert [s for s, _ in rundir.list_checkpoints(log_dir)] == [5]
    assert not [n for n in os.listdir(rundir.checkpoint_dir(log_dir)) if n.startswith(".tmp-")]
    monkeypatch.undo()
    for a, b in zip(expected, weights(rundir.load_latest(log_dir)[1])):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "lock").exists()


LIMITED = r"""
import resource, runpy, sys
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
runpy.run_module("video_lstm.train", run_name="__main__", alter_sys=True)
"""


@pytest.mark.large  # a subprocess; failing checkpoint writes stay tested in-process, RLIMIT_FSIZE in test_bad_inputs
def test_a_file_size_limit_while_checkpointing_fails_cleanly(tmp_path, small_mnist):
    """A real write error (RLIMIT_FSIZE: EFBIG, as a full disk's ENOSPC): exit 1, one line
    naming the failed checkpoint and the kept one, which still loads."""
    config = tiny(steps=5, eval_sequences=4, **small_mnist)
    log_dir = tmp_path / "run"
    train_lib.train(config, str(log_dir), verbose=0)
    size = os.path.getsize(rundir.latest(str(log_dir))[1])
    flagfile = write_flagfile(tmp_path / "tiny.flags", dataclasses.replace(config, steps=10))
    result = subprocess.run(
        [sys.executable, "-c", LIMITED, str(size // 2), f"--flagfile={flagfile}", f"--log_dir={log_dir}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "video_lstm.train: error: writing checkpoint" in result.stderr
    assert "File too large" in result.stderr and "ckpt-00000005.keras, is kept" in result.stderr
    assert [s for s, _ in rundir.list_checkpoints(str(log_dir))] == [5]
    rundir.load_latest(str(log_dir))


# -- evaluation: a full disk, a read-only log_dir ------------------------------------


def _trained(tmp_path):
    log_dir = str(tmp_path / "run")
    train_lib.train_and_evaluate(tiny(steps=2, checkpoint_every=2, eval_sequences=2), log_dir, verbose=0)
    return log_dir


def test_a_full_disk_during_evaluation_keeps_the_previous_metrics_and_samples_together(tmp_path, monkeypatch,
                                                                                      capsys):
    """The metrics and samples of one evaluation appear together or not at all; the command
    prints its results before writing them, so a failed write loses nothing it computed."""
    from video_lstm import evaluate
    from video_lstm.core import atomic, cli

    log_dir = _trained(tmp_path)
    before = {name: open(os.path.join(log_dir, name), "rb").read() for name in ("metrics.json", "samples.png")}
    original = atomic.write_text

    def full(destination, text):
        if os.path.basename(destination).endswith("metrics.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(destination, text)

    monkeypatch.setattr(atomic, "write_text", full)
    capsys.readouterr()
    assert cli.call(evaluate, [f"--log_dir={log_dir}"]) == 1
    out, err = capsys.readouterr()
    assert "cross_entropy_per_frame" in out  # the results, printed before the write failed
    assert err.strip().count("\n") == 0 and "could not be written" in err and "No space left" in err
    for name, content in before.items():
        assert open(os.path.join(log_dir, name), "rb").read() == content, name
    assert not [n for n in os.listdir(log_dir) if n.startswith(atomic.PREFIX)]


def test_a_log_dir_that_cannot_be_written_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from video_lstm import evaluate, train, visualize
    from video_lstm.core import cli

    log_dir = _trained(tmp_path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if os.path.abspath(path) == os.path.abspath(
        log_dir) else real_access(path, mode))  # as on a read-only filesystem (root ignores chmod)
    for module in (evaluate, visualize):
        capsys.readouterr()
        assert cli.call(module, [f"--log_dir={log_dir}"]) == 1
        assert f"--log_dir={log_dir} is not writable" in capsys.readouterr().err
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    assert cli.call(train, [f"--log_dir={a_file}", "--steps=1", "--units=4", "--frame_size=28"]) == 1
    err = capsys.readouterr().err
    assert f"--log_dir={a_file} is a file, not a folder" in err and "Traceback" not in err
    assert a_file.read_text() == "not a folder"


def test_a_short_run_shows_its_own_length_in_the_progress_bar(tmp_path, capsys):
    train_lib.train(tiny(steps=4, checkpoint_every=1000), str(tmp_path), verbose=1)
    out = capsys.readouterr().out
    assert "4/4" in out and "1000" not in out
    assert [s for s, _ in rundir.list_checkpoints(str(tmp_path))] == [4]


def test_bad_command_lines_end_in_one_line_without_usage_text(tmp_path):
    """Out of the terminal too (`python -m`): absl would print a page of usage for a usage
    error and two lines for a bad flag."""
    for arguments, expected in (
        (["--units=0"], "video_lstm.train: error: --units=0; expected >= 1"),
        (["--units=abc"], "FATAL Flags parsing error: flag --units=abc"),
        (["stray"], "video_lstm.train: usage error: Unexpected arguments: ['stray']"),
    ):
        result = subprocess.run([sys.executable, "-m", "video_lstm.train", f"--log_dir={tmp_path / 'run'}",
                                 *arguments], capture_output=True, text=True, cwd=ROOT, timeout=120)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert not (tmp_path / "run").exists()


def test_an_exception_text_reaches_the_user_as_one_plain_line():
    from video_lstm.core import cli

    keras_like = ValueError("Exception encountered when calling LSTM.call().\n\n\x1b[1mInput 0 of layer "
                            "'lstm' is incompatible: expected axis -1 to have value 4096, got 2048\x1b[0m\n\n"
                            "Arguments received by LSTM.call():\n  • inputs=tf.Tensor(shape=(2, 4, 2048))")
    line = cli.one_line(keras_like)
    assert "\n" not in line and "\x1b" not in line and "Arguments received" not in line
    assert "expected axis -1 to have value 4096, got 2048" in line
