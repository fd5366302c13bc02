"""Labelled clips for the classifier: training streams and test clips.

`LabelledData` is what fine-tuning reads, from any source:

- `classes`: the class names (a label indexes this list);
- `train_dataset(batch_size, seed, start_step)`: tf.data batches
  `(frames float32 (batch, time, *frame) in [0, 1] or percepts, labels int32 (batch,))`,
  batch i a pure function of (seed, i), so a resumed run reads the batches it
  would have read;
- `test`: a `TestClips`, the clips of every test video (clips starting every
  `stride` frames) with their video index, read lazily.

Sources: `moving_mnist_task` (labelled Moving MNIST, arrays in memory) and
`videos` (UCF-101, HMDB-51 or a folder of class subfolders, decoded with the
video source's decoder; or the same videos' cached percepts).
"""

import dataclasses

import numpy as np
import tensorflow as tf

from pipelines import action_datasets
from pipelines.sources import LazyClips


@dataclasses.dataclass
class TestClips:
    """The fixed test clips.

    Attributes:
        clips: array-like (N, time, *frame) (numpy or `LazyClips`), uint8 frames or float32 percepts.
        video: int (N,), which test video each clip belongs to.
        labels: int (num_videos,), each video's label.
        names: the test videos' names (num_videos,).
    """

    clips: object
    video: np.ndarray
    labels: np.ndarray
    names: list

    @property
    def clip_labels(self):
        return self.labels[self.video]

    def batches(self, batch_size):
        """Yields float32 batches of clips in order (uint8 scaled to [0, 1])."""
        for start in range(0, len(self.clips), batch_size):
            yield as_float(np.asarray(self.clips[start : start + batch_size]))


def as_float(clips):
    """uint8 frames -> float32 in [0, 1]; float input unchanged."""
    clips = np.asarray(clips)
    return clips.astype(np.float32) / 255.0 if clips.dtype == np.uint8 else clips.astype(np.float32, copy=False)


def _to_float(clips):
    return tf.cast(clips, tf.float32) / 255.0 if clips.dtype == tf.uint8 else tf.cast(clips, tf.float32)


class ArrayData:
    """Labelled clips held in memory (Moving MNIST tasks, or any small set).

    Args:
        classes: class names.
        clips, labels: training clips (N, time, *frame) uint8/float32 and int (N,).
        test: `TestClips`.
        info: dict recorded with the run.
    """

    def __init__(self, classes, clips, labels, test, info=None):
        self.classes, self.clips, self.labels, self.test = list(classes), clips, np.asarray(labels), test
        self.info = info or {}
        check_labels(self.labels, self.classes, "training labels")
        check_labels(test.labels, self.classes, "test labels")

    @property
    def frame_shape(self):
        return tuple(self.clips.shape[2:])

    def subset(self, per_class, seed):
        """This data with a seeded, class-balanced subset of `per_class` training clips per class
        (0: all); raises naming the class that has too few (or none)."""
        if not per_class:
            return self
        chosen = action_datasets.balanced_indices(self.labels, per_class, seed, self.classes, len(self.classes))
        return ArrayData(self.classes, self.clips[chosen], self.labels[chosen], self.test,
                         {**self.info, "labels_per_class": per_class, "train_clips": len(chosen)})

    def train_dataset(self, batch_size, seed, start_step=0, num_steps=None):
        clips, labels = tf.constant(self.clips), tf.constant(self.labels, tf.int32)
        count = len(self.labels)

        def batch(step):
            index = tf.random.stateless_uniform([batch_size], tf.stack([tf.cast(seed, tf.int64), step]),
                                                maxval=count, dtype=tf.int32)
            return _to_float(tf.gather(clips, index)), tf.gather(labels, index)

        steps = tf.data.Dataset.counter(start_step) if num_steps is None else tf.data.Dataset.range(
            start_step, start_step + num_steps)
        return steps.map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)


def check_labels(labels, classes, what):
    """Raises ValueError naming a label outside 0..len(classes)-1."""
    labels = np.asarray(labels)
    bad = labels[(labels < 0) | (labels >= len(classes))] if labels.size else labels
    if bad.size:
        raise ValueError(f"{what} hold label {int(bad[0])}, outside the class list of {len(classes)} classes "
                         f"(0..{len(classes) - 1}: {', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''})")


def moving_mnist_task(task, pool_size, test_size, num_frames, frame_size=64, step_length=0.1, digits="auto",
                      mnist_path=None, seed=0):
    """`ArrayData` of a labelled Moving MNIST task (`pipelines.labelled_moving_mnist`): a training
    pool of `pool_size` sequences from the train digits and a fixed test set of `test_size` from the
    test digits (one clip per video)."""
    from pipelines import digits as digits_lib
    from pipelines import labelled_moving_mnist as lmm

    classes = lmm.class_names(task)
    banks = {split: digits_lib.load_digits(source=digits, split=split, mnist_path=mnist_path or None,
                                           seed=seed if split == "train" else 0) for split in ("train", "test")}
    clips, labels = lmm.labelled_set(banks["train"], task, pool_size, seed, lmm.POOL_STREAM, num_frames,
                                     frame_size, step_length)
    test_clips, test_labels = lmm.labelled_set(banks["test"], task, test_size, lmm.TEST_SEED, lmm.TEST_STREAM,
                                               num_frames, frame_size, step_length)
    test = TestClips(test_clips, np.arange(test_size), test_labels, [f"test_{i}" for i in range(test_size)])
    info = {"task": task, "pool_size": pool_size, "test_size": test_size, "digits": banks["train"].source}
    return ArrayData(classes, clips, labels, test, info)
