"""--strategy: TF_CONFIG, mirrored replicas, two workers on localhost against one, a killed worker.

Multi-worker runs are `python -m video_lstm.train` subprocesses with a
TF_CONFIG of 127.0.0.1 ports, each bounded in time.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import ROOT, read_steps, tiny, wait_for, weights, write_flagfile

from video_lstm import rundir
from video_lstm.core import cluster
from video_lstm.training import distribute
from video_lstm.training import loop as train_lib

TOLERANCE = dict(rtol=1e-4, atol=1e-5)  # summation order differs across replicas


def start_workers(tmp_path, config, log_dir, *flags, count=2, name="job"):
    """`count` training processes of one multi-worker job; their output goes to tmp_path/<name>-<i>.log."""
    flagfile = write_flagfile(tmp_path / f"{name}.flags", dataclasses.replace(config, strategy="multi_worker"))
    command = [sys.executable, "-m", "video_lstm.train", f"--flagfile={flagfile}", f"--log_dir={log_dir}", *flags]
    processes = []
    for index, tf_config in enumerate(cluster.local_tf_configs(count)):
        output = open(tmp_path / f"{name}-{index}.log", "w")
        processes.append(subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, TF_CONFIG=tf_config),
                                          stdout=output, stderr=subprocess.STDOUT))
    return processes


def finish(processes, seconds=300):
    """Exit statuses, killing whatever is still running after `seconds`."""
    deadline = time.time() + seconds
    try:
        return [p.wait(timeout=max(1, deadline - time.time())) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()


def log_of(tmp_path, name, index):
    return (tmp_path / f"{name}-{index}.log").read_text()


def test_tf_config_is_read_as_tensorflow_defines_it(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster.is_chief()
    workers = {"worker": ["a:1", "b:1", "c:1"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": workers, "task": {"type": "worker", "index": 2}}))
    assert not cluster.is_chief() and cluster.cluster_task() == ("worker", 2)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": workers, "task": {"type": "worker", "index": 0}}))
    assert cluster.is_chief()
    with_chief = {"chief": ["c:1"], "worker": ["a:1", "b:1"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": with_chief, "task": {"type": "worker", "index": 0}}))
    assert not cluster.is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": with_chief, "task": {"type": "chief", "index": 0}}))
    assert cluster.is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": workers, "task": {"type": "worker", "index": 3}}))
    with pytest.raises(ValueError, match="TF_CONFIG: task .* is not in its cluster"):
        cluster.is_chief()
    monkeypatch.setenv("TF_CONFIG", "{nope")
    with pytest.raises(ValueError, match="TF_CONFIG is not JSON"):
        cluster.cluster_task()


def test_worker_rows_split_the_global_batch():
    assert [distribute.worker_rows(8, i, 2) for i in range(2)] == [(0, 4), (4, 8)]
    with pytest.raises(ValueError, match="--batch_size=6 does not divide over 4 workers"):
        distribute.worker_rows(6, 0, 4)


MIRRORED = r"""
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, "tests")
from helpers import tiny, weights
from video_lstm.training import loop
result = {}
for strategy in ("default", "mirrored"):
    config = tiny(steps=4, checkpoint_every=2, strategy=strategy, jit_compile=True, feed="scheduled", weight_decay=1e-3,
                  digits="mnist", mnist_path=sys.argv[2])
    model, step = loop.train(config, sys.argv[1] + "/" + strategy, verbose=0)
    result[strategy] = weights(model)
    print(strategy, step, model.distribute_strategy.num_replicas_in_sync)
print("maxdiff", max(float(np.abs(a - b).max()) for a, b in zip(result["default"], result["mirrored"])))
"""


@pytest.mark.large  # 12 s; distribution stays tested across two workers
def test_mirrored_over_two_devices_matches_one_device(tmp_path, small_mnist):
    """Two logical CPUs: the hand-written LSTM backward pass, the loss scaling and the L2
    term per replica, and scheduled sampling's step give one device's weights."""
    result = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path), small_mnist["mnist_path"]], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "default 4 1" in result.stdout and "mirrored 4 2" in result.stdout
    assert float(result.stdout.split("maxdiff")[1]) < 1e-5, result.stdout


def test_two_workers_match_one_worker_and_their_checkpoint_resumes_on_one(tmp_path, small_mnist):
    """2 workers x 2 rows = 1 worker x 4 rows, step for step; then the two-worker checkpoint
    resumes on one worker. (One worker's checkpoint resumed on two: the killed-worker test.)
    The workers are `python -m video_lstm.train --flagfile=...` run to the end: the train
    command's subprocess smoke test (test_loop.py calls it in this process)."""
    config = tiny(steps=4, checkpoint_every=2, eval_sequences=4, weight_decay=1e-3, **small_mnist)
    log_dir = tmp_path / "two"
    assert finish(start_workers(tmp_path, config, log_dir)) == [0, 0], log_of(tmp_path, "job", 0)[-3000:]
    assert [s for s, _ in rundir.list_checkpoints(str(log_dir))] == [2, 4]
    assert (log_dir / "metrics.json").exists() and "the chief evaluates" in log_of(tmp_path, "job", 1)
    straight = str(tmp_path / "one")
    one, _ = train_lib.train(config, straight, verbose=0)
    _, two = rundir.load_latest(str(log_dir))
    for a, b in zip(weights(one), weights(two)):
        np.testing.assert_allclose(a, b, **TOLERANCE)

    resumed, _ = train_lib.train(dataclasses.replace(config, steps=6), str(log_dir), verbose=0)  # two -> one worker
    one, _ = train_lib.train(dataclasses.replace(config, steps=6), straight, verbose=0)
    assert int(resumed.optimizer.iterations) == 6
    for a, b in zip(weights(one), weights(resumed)):
        np.testing.assert_allclose(a, b, **TOLERANCE)


@pytest.mark.large  # 20 s, three processes; the two-worker tests stay
def test_a_killed_worker_restarted_lets_the_job_finish(tmp_path, small_mnist):
    """SIGKILL worker 1 after the first checkpoint: the chief's next collective fails and it
    exits. The job resumes from the last checkpoint, first on one worker for 2 steps, then
    on two workers again (a one-worker checkpoint resumed on two), and finishes with the
    weights of an uninterrupted run."""
    config = tiny(steps=3000, checkpoint_every=5, log_every=1, eval_sequences=4, **small_mnist)
    log_dir = tmp_path / "run"
    chief, worker = start_workers(tmp_path, config, log_dir)
    try:
        wait_for(lambda: rundir.list_checkpoints(str(log_dir)), 180, "the first checkpoint")
        worker.kill()
        worker.wait()
        status = finish([chief], seconds=120)[0]
    finally:
        finish([chief, worker], seconds=1)
    assert status != 0, "the chief should fail when its peer dies"
    saved = rundir.latest(str(log_dir))[0]
    lost = read_steps(str(log_dir))[-1] - saved
    print(f"killed worker: chief exited {status}; last checkpoint {saved}, steps lost {lost}")
    assert 0 <= lost <= 5 and saved < 3000

    train_lib.train(dataclasses.replace(config, steps=saved + 2), str(log_dir), verbose=0)  # on one worker
    target = saved + 4
    restarted = start_workers(tmp_path, dataclasses.replace(config, steps=target), log_dir, name="restarted")
    assert finish(restarted) == [0, 0], log_of(tmp_path, "restarted", 0)[-3000:]
    assert f"(step {saved + 2})" in log_of(tmp_path, "restarted", 0)
    assert f"(step {saved + 2})" in log_of(tmp_path, "restarted", 1)
    _, model = rundir.load_latest(str(log_dir))
    assert int(model.optimizer.iterations) == target
    straight, _ = train_lib.train(dataclasses.replace(config, steps=target), str(tmp_path / "one"), verbose=0)
    for a, b in zip(weights(straight), weights(model)):
        np.testing.assert_allclose(a, b, **TOLERANCE)


@pytest.mark.large  # three processes; one process's SIGTERM stays tested in tests/training/test_faults.py
def test_sigterm_to_one_worker_stops_the_job_at_one_saved_step(tmp_path, small_mnist):
    """A cluster preempts one machine: both workers stop after the same step, the
    chief saves it, both exit 0."""
    config = tiny(steps=3000, checkpoint_every=500, log_every=1, eval_sequences=4, **small_mnist)
    log_dir = tmp_path / "run"
    processes = start_workers(tmp_path, config, log_dir)
    try:
        wait_for(lambda: (log_dir / "train").exists() and read_steps(str(log_dir)), 180, "the first steps")
        processes[1].send_signal(signal.SIGTERM)
        statuses = finish(processes, seconds=120)
    finally:
        finish(processes, seconds=1)
    assert statuses == [0, 0], log_of(tmp_path, "job", 0)[-3000:]
    stopped = rundir.latest(str(log_dir))[0]
    assert 0 < stopped < 3000 and read_steps(str(log_dir))[-1] == stopped
    assert f"training stopped at step {stopped}; saved" in log_of(tmp_path, "job", 0)
    assert f"SIGTERM: training stopped at step {stopped}" in log_of(tmp_path, "job", 1)


MIRRORED_FINETUNE = r"""
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from video_lstm.classify import run as run_lib
from video_lstm.config import FinetuneOptions, FinetuneSettings
from video_lstm.config import make
from video_lstm import rundir
result = {}
for strategy in ("default", "mirrored"):
    config = make(dataset="moving_mnist", digits="mnist", mnist_path=sys.argv[2], num_digits=1, frame_size=28,
                  model="autoencoder", units=4, input_length=3, batch_size=4, steps=3, checkpoint_every=3,
                  jit_compile=False, seed=0, strategy=strategy)
    # Plain SGD: its steps scale with the gradient, so a loss summed over replicas would show.
    settings = FinetuneSettings(units=4, batch_size=4, steps=3, checkpoint_every=3, optimizer="sgd", momentum=0.0,
                                 learning_rate=0.5, output_dropout=0.0, jit_compile=False)
    options = FinetuneOptions(inits=("scratch",), pool_size=40, test_size=8)
    log_dir = sys.argv[1] + "/" + strategy
    run_lib.FinetuneRun(config, options, settings, log_dir).run(verbose=0)
    step, model = rundir.load_latest(log_dir + "/scratch")
    result[strategy] = [np.asarray(w) for w in model.get_weights()]
    print(strategy, step)
print("maxdiff", max(float(np.abs(a - b).max()) for a, b in zip(result["default"], result["mirrored"])))
"""


@pytest.mark.large  # the trainer under mirrored stays tested by test_mirrored_over_two_devices_matches_one_device
def test_finetune_mirrored_over_two_devices_matches_one_device(tmp_path, small_mnist):
    """--strategy for video_lstm.finetune: the classifier's loss is scaled per replica like the
    composite's, so two logical CPUs give one device's weights."""
    result = subprocess.run([sys.executable, "-c", MIRRORED_FINETUNE, str(tmp_path), small_mnist["mnist_path"]],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "default 3" in result.stdout and "mirrored 3" in result.stdout
    assert float(result.stdout.split("maxdiff")[1].split()[0]) < 1e-5, result.stdout
