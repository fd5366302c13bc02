"""TensorBoard event files, with TensorFlow or without it.

`writer(directory)` gives `tf.summary`'s writer where TensorFlow is
importable; without it, the `tensorboard` package's own event writer
(`EventFileWriter`, no TensorFlow: scalars as simple values, images as PNGs
encoded with OpenCV); without either, a writer that writes nothing (said once
in the log). All three take the same calls:

    w = writer("runs/x/train")
    w.scalars(step, {"loss/loss": 0.5})
    w.images(step, "samples", images)   # uint8 (n, H, W, 1 or 3)
    w.session({"units": 256})           # HParams: a session's settings (`training.hparams`)
    w.flush()

`writer(directory, background=True)` (the trainer's) writes in a thread of its
own: a call hands its values over and returns; `flush()` waits until all are
written and raises what writing raised.
"""

import queue
import threading
import time

import numpy as np
from absl import logging

from video_lstm.core import backend


def writer(directory, background=False):
    """The best event writer available here for `directory`; `background`: writing in a
    thread of its own (`BackgroundWriter`)."""
    if backend.tensorflow_available():
        found = TensorFlowWriter(directory)
    else:
        try:
            found = EventWriter(directory)
        except ImportError as error:
            logging.warning("No TensorBoard summaries: neither TensorFlow nor the tensorboard package (%s)", error)
            return NullWriter()
    return BackgroundWriter(found) if background else found


class BackgroundWriter:
    """Another writer's calls, made in order in a daemon thread, so that the caller (the
    training loop) does not wait for event files and their flushes."""

    def __init__(self, writer):
        self._writer = writer
        self._calls = queue.Queue()
        self._error = None
        threading.Thread(target=self._work, daemon=True, name="summaries").start()

    def _work(self):
        while True:
            method, args = self._calls.get()
            try:
                if self._error is None:
                    getattr(self._writer, method)(*args)
            except BaseException as error:  # handed to the caller at its next flush
                self._error = error
            finally:
                self._calls.task_done()

    def scalars(self, step, values):
        self._calls.put(("scalars", (step, dict(values))))

    def images(self, step, name, images):
        self._calls.put(("images", (step, name, np.array(images))))

    def session(self, values):
        self._calls.put(("session", (dict(values),)))

    def flush(self):
        self._calls.put(("flush", ()))
        self._calls.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error


class TensorFlowWriter:
    """`tf.summary` into `directory`."""

    def __init__(self, directory):
        # here: keeps TensorFlow out of `import video_lstm.training.summaries`
        import tensorflow as tf

        self._tf = tf
        self._writer = tf.summary.create_file_writer(directory)

    def scalars(self, step, values):
        with self._writer.as_default(step=step):
            for name, value in values.items():
                self._tf.summary.scalar(name, value)
        self._writer.flush()

    def images(self, step, name, images):
        with self._writer.as_default(step=step):
            self._tf.summary.image(name, images, step=step, max_outputs=len(images))
        self._writer.flush()

    def session(self, values):
        with self._writer.as_default(step=0):
            self._tf.summary.experimental.write_raw_pb(session_pb(values).SerializeToString(), step=0)
        self._writer.flush()

    def flush(self):
        self._writer.flush()


class EventWriter:
    """The tensorboard package's event writer, no TensorFlow (raises ImportError without the package)."""

    def __init__(self, directory):
        # here: keeps TensorBoard out of `import video_lstm.training.summaries`
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._event, self._summary = event_pb2.Event, summary_pb2.Summary
        self._writer = EventFileWriter(directory)

    def _write(self, step, values):
        summary = self._summary(value=values)
        self._writer.add_event(self._event(wall_time=time.time(), step=int(step), summary=summary))
        self._writer.flush()

    def scalars(self, step, values):
        self._write(step, [self._summary.Value(tag=n, simple_value=float(v)) for n, v in values.items()])

    def images(self, step, name, images):
        # here: keeps cv2 out of `import video_lstm.training.summaries`
        import cv2

        values = []
        for i, image in enumerate(np.asarray(images, np.uint8)):
            channels = image.shape[-1]
            ok, png = cv2.imencode(".png", image[..., ::-1] if channels == 3 else image)
            if not ok:
                raise OSError(f"could not encode image {i} of {name} as PNG")
            picture = self._summary.Image(
                height=image.shape[0], width=image.shape[1], colorspace=channels, encoded_image_string=png.tobytes()
            )
            values.append(self._summary.Value(tag=f"{name}/image/{i}", image=picture))
        self._write(step, values)

    def session(self, values):
        summary = session_pb(values)
        self._writer.add_event(self._event(wall_time=time.time(), step=0, summary=summary))
        self._writer.flush()

    def flush(self):
        self._writer.flush()


class NullWriter:
    """Writes nothing."""

    def scalars(self, step, values):
        pass

    def images(self, step, name, images):
        pass

    def session(self, values):
        pass

    def flush(self):
        pass


def session_pb(values):
    """The HParams plugin's session-start summary of `values` ({name: bool, int, float or str}),
    from the tensorboard package alone (`summary_v2.hparams_pb`: no TensorFlow)."""
    from tensorboard.plugins.hparams import summary_v2

    return summary_v2.hparams_pb(values)
