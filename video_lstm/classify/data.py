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
video source's decoder; or the same videos' cached percepts). Video train and
test lists are those of the video source (`pipelines.sources.videos.list_videos`):
a split's lists, or for a folder its held-out split (`--test_fraction`) or
`--test_dir`, never its training videos. Cached percepts of status "ok" and
"partial" are used.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from pipelines import action_datasets
from pipelines import digits as digits_lib
from pipelines import labelled_moving_mnist as lmm
from pipelines.sources import LazyClips
from pipelines.sources import percepts as percepts_lib
from pipelines.sources import videos as videos_lib
from video_lstm.core.settings import count_text


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
        (None: all); raises naming the class that has too few (or none)."""
        if per_class is None:
            return self
        chosen = action_datasets.balanced_indices(self.labels, per_class, seed, self.classes, len(self.classes))
        return ArrayData(self.classes, self.clips[chosen], self.labels[chosen], self.test,
                         {**self.info, "labels_per_class": count_text(per_class), "train_clips": len(chosen)})

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


# -- real video and percept caches --------------------------------------------


class SourceData:
    """Labelled clips of a video or percept source (`pipelines.sources`), decoded per batch.

    Args:
        source: a `StepwiseSource` whose `draw(rng)` picks training clips (only of the
            labelled videos) and `read(video, wanted)` reads them.
        classes: class names.
        label_of: {video key (as `draw` returns it): label}.
        test: `TestClips`.
        info: dict recorded with the run.
    """

    def __init__(self, source, classes, label_of, test, info):
        self.source, self.classes, self.label_of, self.test, self.info = source, list(classes), label_of, test, info
        check_labels(np.array(list(label_of.values())), self.classes, "training labels")
        check_labels(test.labels, self.classes, "test labels")

    @property
    def frame_shape(self):
        return tuple(self.source.input_spec.frame_shape)

    def batch(self, step, batch_size, seed):
        """(clips, int32 labels) of training batch `step`, a pure function of (seed, step)."""
        rng = np.random.default_rng([seed, 0, int(step)])
        entries = [self.source.draw(rng) for _ in range(batch_size)]
        labels = np.array([self.label_of[video] for video, _, _ in entries], np.int32)
        return LazyClips(entries, self.source.read)[:], labels

    def train_dataset(self, batch_size, seed, start_step=0, num_steps=None):
        length = self.source.config.clip_length
        shape = (batch_size, length) + self.frame_shape
        dtype = tf.as_dtype(self.source.clip_dtype)

        def read(step):
            clips, labels = tf.numpy_function(lambda s: self.batch(s, batch_size, seed), [step], (dtype, tf.int32),
                                              stateful=False)
            clips.set_shape(shape)
            labels.set_shape((batch_size,))
            return _to_float(clips), labels

        steps = tf.data.Dataset.counter(start_step) if num_steps is None else tf.data.Dataset.range(
            start_step, start_step + num_steps)
        return steps.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)


def _test_clips(videos, length, stride, read):
    """`TestClips` of [(key, frames, label, name)]: clips of `length` starting every `stride` frames
    (at least one per video long enough)."""
    index, video, labels, names = [], [], [], []
    for key, frames, label, name in videos:
        if frames < length:
            continue
        for start in range(0, frames - length + 1, stride):
            index.append((key, start, (0, 0)))
            video.append(len(labels))
        labels.append(label)
        names.append(name)
    if not index:
        raise ValueError(f"no test video gives a clip of {length} frames")
    return TestClips(LazyClips(index, read), np.array(video), np.array(labels), names)


def video_data(config, labels_per_class, seed, stride, missing="error"):
    """`SourceData` of `--dataset=ucf101|hmdb51|folder`: the split's train list (or its seeded
    class-balanced subset of `labels_per_class` videos per class, None: all) and its test list, clips
    starting every `stride` frames. `missing="error"` refuses a split naming absent videos."""
    source = videos_lib.Source(config)
    train, test = (videos_lib.list_videos(config, subset, missing=missing) for subset in ("train", "test"))
    videos_lib.log_folder_split(config, train, test)
    if not test.items:
        raise ValueError(f"{test.describe()}: no test videos to evaluate the classifier on")
    items = train.items
    if labels_per_class is not None:
        items = [items[i] for i in action_datasets.balanced_indices(
            [item.label for item in items], labels_per_class, seed, train.classes, len(train.classes))]
    else:  # all of them; still refuse a class with no training video
        action_datasets.balanced_indices([item.label for item in items], 1, seed, train.classes, len(train.classes))
    source._train, source._test = dataclasses.replace(train, items=items), test
    test_videos = [(item.path, source.decoder.usable_frames(item.path), item.label, item.relative_path)
                   for item in test.items]
    test_clips = _test_clips(test_videos, config.clip_length, stride, source.read)
    label_of = {item.path: item.label for item in items}
    info = {"dataset": config.dataset, "train_videos": len(items), "test_videos": len(test_clips.labels),
            "test_clips": len(test_clips.video), "labels_per_class": count_text(labels_per_class),
            "train_list": train.describe(), "test_list": test.describe()}
    return SourceData(source, train.classes, label_of, test_clips, info)


def percept_data(config, labels_per_class, seed, stride):
    """`SourceData` of `--dataset=percepts`: labels from the cache's manifest, the test cache
    (`--percepts_test_dir`) covered by clips starting every `stride` steps."""
    if not config.data.percepts_test_dir:
        raise ValueError("--dataset=percepts needs --percepts_test_dir to evaluate a classifier on held-out videos")
    source = percepts_lib.Source(config)
    cache, length = source.cache, config.clip_length
    classes = cache.manifest.classes
    labels = [row["label"] for row in cache.rows]
    # All of them still refuses a class with no video (one per class must be there).
    chosen = action_datasets.balanced_indices(labels, 1 if labels_per_class is None else labels_per_class, seed,
                                              classes, len(classes))
    if labels_per_class is not None:
        cache.videos, cache.rows = [cache.videos[i] for i in chosen], [cache.rows[i] for i in chosen]
    label_of = {(path, offset): row["label"] for (path, offset, _), row in zip(cache.videos, cache.rows)}
    test_cache = percepts_lib.Cache(config.data.percepts_test_dir, length)
    if test_cache.manifest.classes != classes:
        raise ValueError(f"--percepts_test_dir={config.data.percepts_test_dir} lists other classes than "
                         f"--percepts_dir={config.data.percepts_dir}")

    def read(video, wanted):
        return test_cache.clips(*video, [start for start, _ in wanted], length)

    test_videos = [((path, offset), frames, row["label"], row["video"])
                   for (path, offset, frames), row in zip(test_cache.videos, test_cache.rows)]
    info = {"dataset": "percepts", "train_videos": len(cache.videos),
            "labels_per_class": count_text(labels_per_class),
            "percepts_dir": config.data.percepts_dir, "percepts_test_dir": config.data.percepts_test_dir}
    return SourceData(source, classes, label_of, _test_clips(test_videos, length, stride, read), info)


def run_labelled_data(config):
    """The labelled clips of a video or percept training run, for its linear probe: every
    training video, the test list covered by clips one clip length apart."""
    stride = max(1, config.clip_length)
    if config.dataset == "percepts":
        return percept_data(config, None, 0, stride)
    return video_data(config, None, 0, stride, missing="skip")
