"""TensorBoard event files, with TensorFlow or without it.

`writer(directory)` gives `tf.summary`'s writer where TensorFlow is
importable; without it, the `tensorboard` package's own event writer
(`EventFileWriter`, no TensorFlow: scalars as simple values, images as PNGs
encoded with OpenCV); without either, a writer that writes nothing (said once
in the log). All three take the same calls:

    w = writer("runs/x/train")
    w.scalars(step, {"loss/loss": 0.5})
    w.images(step, "samples", images)   # uint8 (n, H, W, 1 or 3)
    w.flush()
"""

import time

import numpy as np
from absl import logging

from video_lstm.core import backend


def writer(directory):
    """The best event writer available here for `directory`."""
    if backend.tensorflow_available():
        return TensorFlowWriter(directory)
    try:
        return EventWriter(directory)
    except ImportError as error:
        logging.warning("No TensorBoard summaries: neither TensorFlow nor the tensorboard package (%s)", error)
        return NullWriter()


class TensorFlowWriter:
    """`tf.summary` into `directory`."""

    def __init__(self, directory):
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

    def flush(self):
        self._writer.flush()


class EventWriter:
    """The tensorboard package's event writer, no TensorFlow (raises ImportError without the package)."""

    def __init__(self, directory):
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

    def flush(self):
        self._writer.flush()


class NullWriter:
    """Writes nothing."""

    def scalars(self, step, values):
        pass

    def images(self, step, name, images):
        pass

    def flush(self):
        pass
