"""Training callbacks: checkpoints, the step limit, the NaN guard, TensorBoard.

TensorBoard writing uses `tf.summary` (the training driver is TensorFlow's
side of the project; the models are not).
"""

import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from video_lstm.analysis import figures
from video_lstm.training import checkpoint


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


def global_step(model):
    """The optimizer's step count, which survives restarts (it is checkpointed)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint at the end of every epoch (checkpoint interval)."""

    def __init__(self, log_dir, keep=2):
        super().__init__()
        self.log_dir = log_dir
        self.keep = keep

    def on_epoch_end(self, epoch, logs=None):
        step = global_step(self.model)
        path = checkpoint.save(self.model, self.log_dir, step, keep=self.keep)
        logging.info("Step %d: saved %s", step, path)


class StopAtStep(keras.callbacks.Callback):
    """Ends training once the global step reaches `last_step`."""

    def __init__(self, last_step):
        super().__init__()
        self.last_step = last_step

    def on_train_batch_end(self, batch, logs=None):
        if global_step(self.model) >= self.last_step:
            self.model.stop_training = True


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss, naming the step and the kept checkpoint."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not np.isfinite(loss):
            step = global_step(self.model)
            found = checkpoint.latest(self.log_dir)
            kept = found and found[1]
            kept_text = f"the last good checkpoint, {kept}, is kept" if kept else "no checkpoint was saved yet"
            raise NonFiniteLossError(
                f"loss became {loss} at step {step}; training stopped and {kept_text}. "
                "Try a lower --learning_rate or --clip_norm."
            )


class TensorBoardSummaries(keras.callbacks.Callback):
    """Scalars every `log_every` steps and image strips every `image_every`.

    Scalars: the loss of each decoder and the total (means over the steps
    since the last write), learning rate, step time and sequences/s. Images:
    input | reconstruction | ground truth | prediction for a few fixed
    sequences.

    Args:
        log_dir: where the `train/` event files go.
        sample_inputs: dict with `frames` (and `future_frames`) of a few
            sequences to draw; None for no pictures (a classifier).
        batch_size: sequences per step (for sequences/s).
        log_every, image_every: intervals in steps.
    """

    def __init__(self, log_dir, sample_inputs, batch_size, log_every=50, image_every=250):
        super().__init__()
        self.writer = tf.summary.create_file_writer(f"{log_dir}/train")
        self.sample_inputs = sample_inputs
        self.batch_size = batch_size
        self.log_every = log_every
        self.image_every = image_every

    def on_epoch_begin(self, epoch, logs=None):
        self._since = {}  # running-mean bookkeeping restarts with each fit epoch
        self._last_count = 0
        self._last_time = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.log_every == 0:
            self._write_scalars(step, batch + 1, logs or {})
        if step % self.image_every == 0:
            self.write_images(step)

    def _write_scalars(self, step, count, logs):
        now = time.perf_counter()
        steps = count - self._last_count
        seconds = (now - self._last_time) / max(steps, 1)
        with self.writer.as_default(step=step):
            for name, value in logs.items():
                # Keras reports running means over the epoch; recover the mean
                # over the last interval from two of them.
                previous = self._since.get(name, 0.0)
                interval = (float(value) * count - previous * self._last_count) / max(steps, 1)
                self._since[name] = float(value)
                tf.summary.scalar(f"loss/{name}", interval)
            learning_rate = self.model.optimizer.learning_rate
            tf.summary.scalar("train/learning_rate", float(keras.ops.convert_to_numpy(learning_rate)))
            tf.summary.scalar("train/step_time_s", seconds)
            tf.summary.scalar("train/sequences_per_s", self.batch_size / seconds)
        self.writer.flush()
        self._last_count, self._last_time = count, now

    def write_images(self, step):
        if self.sample_inputs is None or not figures.are_images(self.sample_inputs["frames"]):
            return  # feature vectors (percepts) have no picture
        strips = figures.sample_strips(self.model, self.sample_inputs)
        with self.writer.as_default(step=step):
            tf.summary.image("samples", np.stack(strips)[..., :3], step=step, max_outputs=len(strips))
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.flush()

