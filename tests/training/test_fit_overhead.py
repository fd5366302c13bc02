"""The trainer's fit without per-step overhead: steps per execution, step counting, background summaries."""

import dataclasses
import glob
import os
import threading

import numpy as np
import pytest
from helpers import tiny, weights

from video_lstm import rundir
from video_lstm.training import loop as train_lib
from video_lstm.training import summaries


def test_steps_per_execution_divides_every_interval_and_the_start_step():
    config = tiny(steps=1000, checkpoint_every=500, log_every=50, image_every=250, steps_per_execution=10)
    assert train_lib.steps_per_execution(config.fit, 0) == 10
    assert train_lib.steps_per_execution(config.fit, 500) == 10
    assert train_lib.steps_per_execution(config.fit, 505) == 5  # resumed where a SIGTERM stopped it
    assert train_lib.steps_per_execution(dataclasses.replace(config, log_every=25).fit, 0) == 5
    assert train_lib.steps_per_execution(tiny(steps=12, checkpoint_every=500, log_every=4, image_every=8,
                                              steps_per_execution=10).fit, 0) == 2  # the run shorter than an interval
    assert train_lib.steps_per_execution(tiny(probe_every=3, steps=30, checkpoint_every=30, log_every=30,
                                              image_every=30, steps_per_execution=10).fit, 0) == 1


def test_a_distributed_strategy_runs_one_step_per_call():
    """Keras 3.15's loop of k steps fails under mirrored and multi_worker strategies."""
    import tensorflow as tf

    config = tiny(steps=1000, checkpoint_every=500, log_every=50, image_every=250, steps_per_execution=10)
    assert train_lib.steps_per_execution(config.fit, 0, tf.distribute.get_strategy()) == 10
    assert train_lib.steps_per_execution(config.fit, 0, tf.distribute.MirroredStrategy(["/cpu:0"])) == 1


def scalars(log_dir):
    """{step: {tag: value}} of log_dir's training events."""
    import tensorflow as tf

    found = {}
    for path in glob.glob(os.path.join(log_dir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith("loss/"):
                    found.setdefault(event.step, {})[value.tag] = float(tf.make_ndarray(value.tensor))
    return found


def test_a_run_of_four_steps_per_call_trains_logs_and_checkpoints_as_one_step_per_call(tmp_path):
    """The same weights bit for bit, checkpoints at the same steps, the same loss scalars at
    the same steps, and sample pictures, with Keras running 4 steps per call."""
    runs = {}
    for k in (1, 4):
        config = tiny(steps=8, checkpoint_every=4, log_every=4, image_every=4, steps_per_execution=k,
                      feed="scheduled")
        assert train_lib.steps_per_execution(config.fit, 0) == k
        log_dir = str(tmp_path / f"k{k}")
        model, step = train_lib.train(config, log_dir, verbose=0)
        assert step == 8 and int(model.optimizer.iterations) == 8
        runs[k] = weights(model), [s for s, _ in rundir.list_checkpoints(log_dir)], scalars(log_dir)
    for a, b in zip(runs[1][0], runs[4][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[1][1] == runs[4][1] == [4, 8]
    assert sorted(runs[4][2]) == sorted(runs[1][2]) == [4, 8]
    for step in (4, 8):
        for tag, value in runs[1][2][step].items():
            assert runs[4][2][step][tag] == pytest.approx(value, rel=1e-6), (step, tag)


class _Recorder:
    def __init__(self, fail_on=None):
        self.calls, self.fail_on, self.threads = [], fail_on, set()

    def scalars(self, step, values):
        self.threads.add(threading.current_thread().name)
        if step == self.fail_on:
            raise OSError("disk full")
        self.calls.append(("scalars", step, values))

    def images(self, step, name, images):
        self.calls.append(("images", step, name, images.shape))

    def flush(self):
        self.calls.append(("flush",))


def test_the_background_writer_keeps_order_and_hands_errors_to_flush():
    recorder = _Recorder()
    writer = summaries.BackgroundWriter(recorder)
    values = {"loss/loss": 1.0}
    for step in range(3):
        writer.scalars(step, values)
    values["loss/loss"] = 2.0  # what was handed over is kept as it was
    writer.images(3, "samples", np.zeros((2, 4, 4, 1), np.uint8))
    writer.flush()
    assert recorder.calls == [("scalars", 0, {"loss/loss": 1.0}), ("scalars", 1, {"loss/loss": 1.0}),
                              ("scalars", 2, {"loss/loss": 1.0}), ("images", 3, "samples", (2, 4, 4, 1)),
                              ("flush",)]
    assert recorder.threads == {"summaries"}

    failing = summaries.BackgroundWriter(_Recorder(fail_on=1))
    for step in range(3):
        failing.scalars(step, values)
    with pytest.raises(OSError, match="disk full"):
        failing.flush()
