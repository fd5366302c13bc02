"""Training callbacks: checkpoints, the step limit, the NaN guard, TensorBoard.

They cost the step nothing they can avoid: each knows the global step by
counting batch ends (`StepCounter`), not by reading the optimizer's step from
the device (which waits for the step, and under JAX copies the whole training
state back into the model); they read the loss only from the logs Keras already
made; TensorBoard files are written in a thread of their own; the sample
pictures come from a compiled `generate`. With `steps_per_execution` k > 1 a
batch end arrives every k steps (`training.loop` makes k divide every interval,
so each boundary still falls on one).

TensorBoard writing uses `tf.summary` where TensorFlow is importable, else
the tensorboard package's own writer (`training.summaries`); nothing here
imports TensorFlow itself.
"""

import signal
import threading
import time

import keras
import numpy as np
from absl import logging

from video_lstm import rundir
from video_lstm.analysis import figures
from video_lstm.core import backend
from video_lstm.core.step_counter import StepCounter, global_step
from video_lstm.training import summaries


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class TrainingStopped(Exception):
    """Training stopped early on a signal (SIGTERM: preemption), after saving a checkpoint."""


class CallbackList(keras.callbacks.CallbackList):
    """Keras' list of callbacks, but a batch end hands the step's logs to this module's
    callbacks (`takes_device_logs`) as they are, the backend's arrays: Keras would convert
    them to Python numbers first, which waits for the device to finish the steps (and
    empties its queue) after every call of `steps_per_execution` steps. Each of ours reads
    what it needs when it needs it. Other callbacks that look at batch ends get numbers,
    as from Keras (a progress bar that draws every batch: `verbose=1`)."""

    def on_train_batch_end(self, batch, logs=None):
        numbers = None
        for callback in self.callbacks:
            if getattr(callback, "takes_device_logs", False) or not _reads_batch_ends(callback):
                callback.on_train_batch_end(batch, logs=logs)
            else:
                numbers = numbers if numbers is not None else _numbers(logs)
                callback.on_train_batch_end(batch, logs=numbers)


def _reads_batch_ends(callback):
    if isinstance(callback, keras.callbacks.ProgbarLogger):
        return callback.verbose == 1  # verbose=2 prints at epoch ends only
    return type(callback).on_train_batch_end is not keras.callbacks.Callback.on_train_batch_end


def _numbers(logs):
    return {key: float(keras.ops.convert_to_numpy(value)) if np.ndim(value) == 0 else value
            for key, value in (logs or {}).items()}


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every epoch (checkpoint interval); `weights_only`:
    as `.weights.h5` (the TensorFlow-free path) rather than `.keras`."""

    def __init__(self, log_dir, keep=2, weights_only=False):
        super().__init__()
        self.log_dir = log_dir
        self.keep = keep
        self.weights_only = weights_only

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        path = rundir.save(self.model, self.log_dir, step, keep=self.keep, weights_only=self.weights_only)
        logging.info("Step %d: saved %s", step, path)


class StopOnSignal(StepCounter):
    """SIGTERM (what a cluster sends before preemption) or SIGINT (Ctrl-C) ends training after the
    current step (with `steps_per_execution` k, after the current k steps); a second Ctrl-C
    stops at once.

    The handler only records the signal; at the end of the step this callback
    stops `fit`, whose epoch then ends, so the `Checkpointer` (which saves at
    every epoch end) saves that step, and `loop.fit` raises `TrainingStopped`.
    The handler is installed at construction (so a signal during setup is not
    lost) and the previous one is put back by `restore()` (called at the end
    of training; a signal during evaluation ends the process as usual).

    Args:
        agree: optional `flag -> flag` that makes every worker of a
            multi-worker job stop at the same step (an all-reduce of the flag);
            a signal reaches one worker, the collective step needs all of them.
        signals: which signals stop training.
    """

    def __init__(self, agree=None, signals=(signal.SIGTERM, signal.SIGINT)):
        super().__init__()
        self.agree = agree
        self.received = None  # name of the signal received, if any
        self.stopped_at = None  # the step training stopped at, if it did
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for number in signals:
                self._previous[number] = signal.signal(number, self._handle)

    def _handle(self, number, frame):
        if number == signal.SIGINT and self.received is not None:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.received = signal.Signals(number).name
        logging.warning("%s received: training stops after this step and saves a checkpoint%s", self.received,
                        " (Ctrl-C again to stop at once)" if number == signal.SIGINT else "")

    def should_stop(self):
        """Whether a signal arrived (on any worker, when `agree` is set)."""
        stop = self.received is not None
        return bool(self.agree(stop)) if self.agree is not None else stop

    def on_steps_end(self, logs):
        if self.should_stop():
            self.received = self.received or "SIGTERM (on another worker)"
            self.stopped_at = self.step
            self._model.stop_training = True  # (not `model`: under JAX that copies the state back)

    def restore(self):
        """Puts the previous handlers back."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}


class StopAtStep(StepCounter):
    """Ends training once the global step reaches `last_step`."""

    def __init__(self, last_step):
        super().__init__()
        self.last_step = last_step

    def on_steps_end(self, logs):
        if self.step >= self.last_step:
            self._model.stop_training = True


class NanGuard(StepCounter):
    """Stops training at the first non-finite loss, naming the step and the checkpoint kept.

    A good checkpoint is one whose next step was finite. The loss of step s is computed from
    the weights of step s - 1, so a non-finite loss at step s makes the checkpoint of step
    s - 1 (if one was saved) not good: it is set aside as `<name>.nonfinite` (kept, never
    loaded), and a resume starts from the one before it.

    The loss read is the one Keras hands every batch end (the epoch's running mean, which is
    non-finite from the first non-finite step on). With `steps_per_execution` k > 1 that
    is every k steps, so a non-finite loss is known to lie in those k steps: the
    checkpoints from the step before them on are set aside (with k = 1, exactly as above).
    Each batch end reads the loss of the call before it (finished by then: reading the
    newest would make the device wait for the host); the epoch's end, before its
    checkpoint is saved, reads the last one. So training runs one call past a
    non-finite loss, and no checkpoint after it is ever saved.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._checked, self._unread = self.step, None

    def on_steps_end(self, logs):
        unread, self._unread = self._unread, (self.step, logs.get("loss"))
        if unread is not None:
            self._check(*unread)

    def on_epoch_end(self, epoch, logs=None):
        unread, self._unread = self._unread, None
        if unread is not None:
            self._check(*unread)

    def _check(self, step, loss):
        loss = float(keras.ops.convert_to_numpy(loss)) if loss is not None else 0.0
        first, self._checked = self._checked + 1, step
        if not np.isfinite(loss):
            set_aside = rundir.set_aside_from(self.log_dir, first - 1, ".nonfinite")
            found = rundir.latest(self.log_dir)
            kept_text = (f"the last good checkpoint, {found[1]}, is kept" if found
                         else "no good checkpoint is left, so a rerun starts afresh")
            aside_text = (f"; {', '.join(set_aside)} (whose next step gave it) set aside as *.nonfinite"
                          if set_aside else "")
            where = (f"at step {step}" if first == step else
                     f"at one of steps {first}..{step} (run in one call: --steps_per_execution={step - first + 1})")
            raise NonFiniteLossError(
                f"loss became {loss} {where}; training stopped{aside_text}; {kept_text}. "
                "Rerun with a lower --learning_rate or a --clip_norm (both may change on resume)."
            )


class TensorBoardSummaries(StepCounter):
    """Scalars every `log_every` steps and image strips every `image_every`.

    Scalars: the loss of each decoder and the total (means over the steps
    since the last write), learning rate, step time and sequences/s. Images:
    input | reconstruction | ground truth | prediction for a few fixed
    sequences, drawn by `generate` compiled once, each row named at its left
    (`figures.labelled_sample_strips`); `write_rollout` a longer free-running
    prediction (the trainer's, at the end of training). The event files are written
    in a thread of their own (`summaries.writer(background=True)`); `close()`
    waits for them.

    Args:
        log_dir: where the `train/` event files go.
        sample_inputs: dict with `frames` (and `future_frames`) of a few
            sequences to draw; None for no pictures (a classifier).
        batch_size: sequences per step (for sequences/s).
        log_every, image_every: intervals in steps.
    """

    def __init__(self, log_dir, sample_inputs, batch_size, log_every=50, image_every=250):
        super().__init__()
        self.writer = summaries.writer(rundir.path(log_dir, rundir.TRAIN_EVENTS), background=True)
        self.sample_inputs = sample_inputs
        self.batch_size = batch_size
        self.log_every = log_every
        self.image_every = image_every
        self._generate = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._learning_rate = learning_rate_of(self.model.optimizer)

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._since = {}  # running-mean bookkeeping restarts with each fit epoch
        self._last_count = 0
        self._last_time = time.perf_counter()

    def on_steps_end(self, logs):
        if self.step % self.log_every == 0:
            self._write_scalars(self.step, self.steps_in_epoch, logs)
        if self.step % self.image_every == 0:
            self.write_images(self.step)

    def _write_scalars(self, step, count, logs):
        now = time.perf_counter()
        steps = count - self._last_count
        seconds = (now - self._last_time) / max(steps, 1)
        scalars = {}
        for name, value in logs.items():
            # Keras reports running means over the epoch; recover the mean
            # over the last interval from two of them.
            previous = self._since.get(name, 0.0)
            interval = (float(value) * count - previous * self._last_count) / max(steps, 1)
            self._since[name] = float(value)
            scalars[f"loss/{name}"] = interval
        scalars["train/learning_rate"] = self._learning_rate(step)
        scalars["train/step_time_s"] = seconds
        scalars["train/sequences_per_s"] = self.batch_size / seconds
        self.writer.scalars(step, scalars)
        self._last_count, self._last_time = count, now

    def write_images(self, step):
        if self.sample_inputs is None or not figures.are_images(self.sample_inputs["frames"]):
            return  # feature vectors (percepts) have no picture
        if self._generate is None:
            self._generate = compiled_generate(self.model)
        strips = figures.labelled_sample_strips(self.model, self.sample_inputs, generate=self._generate)
        self.writer.images(step, "samples", np.stack(strips)[..., :3])

    def write_rollout(self, step, horizon_factor=3, count=2):
        """The `rollout` image at `step`: the future decoder run free for `horizon_factor` times
        the frames it was trained to predict, from `count` of the sample sequences (a model with a
        future decoder and frames that are images)."""
        if (self.sample_inputs is None or not figures.are_images(self.sample_inputs["frames"])
                or getattr(self.model, "future_decoder", None) is None):
            return
        frames = np.asarray(self.sample_inputs["frames"])[:count]
        length = self.model.future_length
        future = figures.numpy(self.model.generate(frames, future_length=horizon_factor * length)["future"])
        strips = [figures.rollout_strip(frames[i], future[i], length) for i in range(len(frames))]
        self.writer.images(step, "rollout", np.stack(strips)[..., :3])

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        """Waits until every summary handed over is written (raises what writing raised)."""
        self.writer.flush()


def learning_rate_of(optimizer):
    """`step -> the optimizer's learning rate at that step` (a float), from its config: reading
    `optimizer.learning_rate` during `fit` would, under JAX, first copy the whole training
    state back into the model (and its step count is stale until then)."""
    value = optimizer.get_config()["learning_rate"]
    if isinstance(value, dict):  # a schedule
        schedule = keras.optimizers.schedules.deserialize(value)
        return lambda step: float(keras.ops.convert_to_numpy(schedule(step)))
    return lambda step: float(value)


def compiled_generate(model):
    """`frames -> model.generate(frames)`, compiled by the model's backend, reading the
    model's weights as they are at each call (eager generation costs more than a hundred
    training steps of a small model). Under JAX, whose compiled functions would keep the
    weights they were traced with, the weights are arguments."""
    if keras.backend.backend() != "jax":
        return backend.compile_function(model.generate)
    variables = list(model.trainable_variables) + list(model.non_trainable_variables)

    def generate(values, frames):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return model.generate(frames)

    compiled = backend.compile_function(generate)
    return lambda frames: compiled([v.value for v in variables], frames)
