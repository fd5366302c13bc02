"""Data sources: where a training run's sequences come from (`--dataset`).

The contract. Each source is one module here (`_MODULES` maps `--dataset`
values to modules: `moving_mnist`; `videos` for ucf101, hmdb51 and folder;
`percepts` for a cache of per-frame convnet features), that owns

- `Options`: a frozen dataclass of its own flags (each field is a flag; its
  help text in `HELP`, its enumerated values in `CHOICES`), with
  `validate(config)` raising ValueError that names the flag;
- `input_spec(config)`: an `InputSpec`, frames `(T, H, W, C)` of any H, W, C
  or feature vectors `(T, D)`: what the model is built on, and what a resumed
  run must agree on;
- `frame_preparation(config)`, sources of pictures only: the
  `video_decode.FramePreparation` (size, stride, colour, patches) that turns
  decoded RGB video into the model's frames, for a video of the user's
  (`pipelines.user_video`; the video sources' training clips use the same);
- `Source(config)`, a `DataSource`: the training stream, deterministic from
  (seed, step) so that a resumed run reads exactly the batches it would have
  read; a few fixed sample inputs for pictures; and the fixed test set. Its
  `check()` raises, before any training, for what can be known about the data
  at start-up (a test set that cannot be read, or does not fit the training
  data); its `skipped()` names the videos found unusable so far.

Options, validation and input specs import no TensorFlow (flags are checked
before it loads); the streams do. Where TensorFlow is not importable
(`video_lstm.core.backend`), a source with a NumPy stream (`numpy_train_clips`,
and test set and samples without TensorFlow: Moving MNIST, whose NumPy
sequences equal its tf.data ones) trains from NumPy batches instead
(`training_inputs`); `build` refuses the others, saying they need TensorFlow.
A new source is a module here, listed in `video_lstm.core.choices.DATASETS`
and `_MODULES` below.

Model inputs, from every source: a dict `{"frames": (batch, input_length,
*frame_shape), "future_frames": (batch, future_length, *frame_shape)}` of
float32 (frames in [0, 1]); an autoencoder gets no `future_frames`.
"""

import contextlib
import dataclasses
import importlib
import os

import numpy as np

from pipelines import percept_records
from video_lstm.core import backend
from video_lstm.core.choices import DATASETS
from video_lstm.core.prefetch import Prefetcher

# --dataset -> the module of its source (several datasets may share one).
_MODULES = {
    "moving_mnist": "pipelines.sources.moving_mnist",
    "ucf101": "pipelines.sources.videos",
    "hmdb51": "pipelines.sources.videos",
    "folder": "pipelines.sources.videos",
    "percepts": "pipelines.sources.percepts",
}
assert set(_MODULES) == set(DATASETS), "every --dataset needs its module"
# The JAX device stream (`DataSource.device_train_batches`) draws the randomness of
# DRAW_CHUNK batches in one go on the host (Moving MNIST: 0.017 ms a batch, against 0.28
# drawn one by one), and has the device paint as many per call as fit in RENDER_BYTES:
# many small batches per call save dispatches; a big batch is best painted alone (at
# paper size, batch 80 on a CPU: 19,072 sequences/s one per call, 7,128 two per call).
DRAW_CHUNK = 64
RENDER_BYTES = 4 * 2**20


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """The shape of one time step of a source's sequences.

    Attributes:
        frame_shape: (height, width, channels) for frames, (features,) for
            feature vectors.
        origin: the flags that decide it, for messages (e.g. "--frame_size=64").
    """

    frame_shape: tuple
    origin: str = ""

    @property
    def kind(self):
        return "frames" if len(self.frame_shape) == 3 else "features"

    def __str__(self):
        return f"{self.kind} (T, {', '.join(str(d) for d in self.frame_shape)})"


@dataclasses.dataclass
class TestSet:
    """A source's fixed test set (or a prefix of it).

    Attributes:
        clips: (N, clip_length, *frame_shape), uint8 (0..255) or float32.
        name: which test set of the source ("generated", "npy", ...).
        info: what to record beside its metrics (e.g. {"test_digits": "mnist"}).
    """

    clips: np.ndarray
    name: str
    info: dict


TestSet.__test__ = False  # not a pytest class, despite its name


def module(dataset):
    """The module of source `dataset`."""
    if dataset not in _MODULES:
        raise ValueError(f"--dataset={dataset!r}; expected one of {list(DATASETS)}")
    return importlib.import_module(_MODULES[dataset])


def options_class(dataset):
    return module(dataset).Options


def validate(config):
    """The source's own checks of `config.data` against the rest of `config`."""
    config.data.validate(config)


def check_choices(options, choices):
    """Raises ValueError naming the first option of `choices` ({field: allowed values})
    whose value in `options` is not allowed; what every source's `Options.validate` does first."""
    for name, allowed in choices.items():
        if getattr(options, name) not in allowed:
            raise ValueError(f"--{name}={getattr(options, name)!r}; expected one of {list(allowed)}")


def input_spec(config):
    return module(config.dataset).input_spec(config)


def frame_preparation(config):
    """How `config`'s source makes its frames from decoded RGB video (a
    `video_decode.FramePreparation`: size, stride, colour, patches), for a video of the user's.

    Raises:
        ValueError: the source gives no pictures (percepts).
    """
    prepare = getattr(module(config.dataset), "frame_preparation", None)
    if prepare is None:
        raise ValueError(f"a model of percepts has no pictures: --dataset={config.dataset} feeds it convnet "
                         "features (T, D), not frames, so it has no frames to predict")
    return prepare(config)


def model_preparation(config):
    """The `video_decode.FramePreparation` through which a model of `config` reads a video: its
    source's (`frame_preparation`), or for a model of percepts that of its percepts' extraction
    (`pipelines.extract_percepts`): every `frame_stride`-th frame at the video's own size, RGB,
    the percept network resizing them (in an exported SavedModel with its convnet, in the graph)."""
    # here: keeps cv2 out of `import pipelines.sources`
    from pipelines import video_decode

    if config.dataset == "percepts":
        stride, data = int(config.data.frame_stride), config.data
        if data.percepts_from == "cache" and data.percepts_dir and os.path.isdir(data.percepts_dir):
            stride = int(percept_records.Manifest.read(data.percepts_dir).frame_stride)  # the cache's own
        return video_decode.FramePreparation(0, stride)
    return frame_preparation(config)


def build(config):
    """The `DataSource` that `config` names.

    Raises:
        ValueError: TensorFlow is not importable and the source needs it.
    """
    source_module = module(config.dataset)
    if not backend.tensorflow_available():
        # A source that runs without TensorFlow has this check of its flags; the others need it.
        check = getattr(source_module, "check_without_tensorflow", None)
        if check is None:
            raise backend.needs_tensorflow_error(f"--dataset={config.dataset}")
        check(config)
    return source_module.Source(config)


# -- what every source shares -------------------------------------------------


def split_clip(clips, input_length, future_length):
    """Clips (batch, time, ...) -> dict(frames=first input_length, future_frames=the next future_length).

    Works on numpy arrays and tensors (also symbolic ones inside tf.data).

    Raises:
        ValueError: time < input_length + future_length (checked when the time
            dimension is known statically; otherwise at run time).
    """
    if input_length < 1 or future_length < 0:
        raise ValueError(
            f"input_length={input_length}, future_length={future_length}; "
            "expected input_length >= 1 and future_length >= 0"
        )
    needed = input_length + future_length
    time = clips.shape[1]
    if time is not None and time < needed:
        raise ValueError(f"clip has {time} frames; input_length + future_length = {needed} needs more")
    if time is None:  # only symbolic tensors have an unknown time dimension
        # here: keeps TensorFlow out of `import pipelines.sources`
        import tensorflow as tf

        check = tf.debugging.assert_greater_equal(
            tf.shape(clips)[1], needed, message="clip shorter than input_length + future_length"
        )
        with tf.control_dependencies([check]):
            clips = tf.identity(clips)
    return {"frames": clips[:, :input_length], "future_frames": clips[:, input_length:needed]}


class DataSource:
    """The base of every source: what the trainer, evaluation and pictures call.

    Subclasses implement `train_clips`, `sample_clips`, `test_set` and
    `describe`; this class cuts clips into model inputs.

    Args:
        config: the `video_lstm.config.Config` of the run.
    """

    def __init__(self, config):
        self.config = config

    @property
    def input_spec(self):
        return input_spec(self.config)

    @property
    def future_length(self):
        return 0 if self.config.model == "autoencoder" else self.config.future_length

    # -- what a source implements ---------------------------------------------

    def check(self):
        """Everything about the data that can be known at start-up, before any training: raises
        ValueError / FileNotFoundError with one line naming the flag or file and what was
        expected. Cheap (no video is decoded). The default checks nothing."""

    def skipped(self):
        """{video (relative path, or path): reason} of the videos found unusable so far
        (undecodable, shorter than one clip); {} for a source without video files."""
        return {}

    def describe(self):
        """A dict recorded in `<log_dir>/data.json`: what training reads."""
        raise NotImplementedError

    def train_clips(self, start_step, num_steps, rows=None):
        """tf.data.Dataset of training clips, batch `start_step` first:
        float32 (batch_size, clip_length, *frame_shape); endless if num_steps is None.
        `rows` (start, stop): only those rows of every batch, and a source that reads files
        reads (decodes) only theirs."""
        raise NotImplementedError

    def decoded(self):
        """{what: count} this process has read or decoded so far (videos opened, clips,
        frames, percept records), for sources that read files; {} for the others."""
        return {}

    def sample_clips(self, count):
        """A few fixed training-distribution clips (numpy) for pictures."""
        raise NotImplementedError

    def numpy_train_clips(self, step):
        """Training batch `step` without TensorFlow, equal to that of `train_clips`: numpy
        float32 (batch_size, clip_length, *frame_shape). Only sources that can run
        without TensorFlow implement it (their module has `check_without_tensorflow(config)`)."""
        raise backend.needs_tensorflow_error(f"--dataset={self.config.dataset}")

    def test_set(self):
        """The fixed `TestSet`, cut to `eval_sequences` clips of `clip_length`."""
        raise NotImplementedError

    def test_set_name(self):
        """Which test set `test_set()` returns (without loading it)."""
        raise NotImplementedError

    def evaluation_key(self):
        """Names the evaluation the config asks for: its test set and size."""
        return f"{self.test_set_name()}_{self.config.eval_sequences}"

    # -- model inputs ---------------------------------------------------------

    def model_inputs(self, clips):
        """Clips (batch, time, ...) -> the model input dict; works on tensors in tf.data."""
        parts = split_clip(clips, self.config.input_length, self.future_length)
        if not self.future_length:
            parts.pop("future_frames")
        return parts

    def split(self, clips):
        """Clips, uint8 or float -> the model input dict of numpy float32."""
        clips = np.asarray(clips)
        if clips.dtype == np.uint8:
            clips = clips.astype(np.float32) / 255.0
        return self.model_inputs(clips.astype(np.float32, copy=False))

    def train_dataset(self, start_step=0, num_steps=None, rows=None):
        """Training batches of model inputs from step `start_step` on (tf.data).

        Args:
            rows: (start, stop): only these rows of every batch (one worker's
                share of the global batch under tf.distribute), the only ones
                read; all if None.
        """
        # here: keeps TensorFlow out of `import pipelines.sources`
        import tensorflow as tf

        dataset = self.train_clips(start_step, num_steps, rows=rows)
        # Splitting is cheap; prefetch again so the step never waits on it.
        dataset = dataset.map(self.model_inputs, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    @contextlib.contextmanager
    def numpy_train_batches(self, start_step=0, depth=8, threads=None):
        """Training batches of model inputs (numpy float32 dicts) from step `start_step`
        on, endless, made by `numpy_train_clips` in background threads; no TensorFlow.

        `threads` default: 4, or fewer cores (on an H200 machine's 16 cores the paper-size
        stream gave 3,643 sequences/s with 2 threads, 6,743 with 4, 5,788 with 8:
        bench/numpy_stream_speed.py)."""
        if threads is None:
            threads = max(1, min(4, os.cpu_count() or 1))

        with Prefetcher(lambda step: self.split(self.numpy_train_clips(step)), start_step, depth, threads) as batches:
            yield batches

    # -- batches made on the model's device (JAX, no TensorFlow) ------------------

    def train_draws(self, step):
        """The random part of training batch `step` (a few small NumPy arrays, a pure function
        of (seed, step)), for a source whose frames are made on the device from it
        (`device_renderer`); None for a source that makes none there (the default)."""
        return None

    def train_draws_many(self, first, count):
        """The random parts of training batches first .. first + count - 1, stacked: a tuple
        of NumPy arrays with a leading axis of `count` (`train_draws` of each step, stacked);
        a source may draw them together, cheaper per batch (Moving MNIST: `sample_steps`)."""
        per_step = [self.train_draws(step) for step in range(first, first + count)]
        return tuple(np.stack(parts) for parts in zip(*per_step))

    def device_renderer(self):
        """A compiled function `(*train_draws_many(first, count)) -> [model inputs of batch
        first, ..., of batch first + count - 1]`, made where the model runs (JAX): one call
        (one transfer of draws, one dispatch) per `count` batches; only sources with
        `train_draws` have one."""
        raise NotImplementedError

    def render_chunk(self, chunk=None, max_bytes=None):
        """Batches made per `device_renderer` call: the largest power of two up to `chunk`
        (default DRAW_CHUNK) whose float32 frames stay within `max_bytes` (default
        RENDER_BYTES; at least 1)."""
        chunk, max_bytes = chunk or DRAW_CHUNK, max_bytes or RENDER_BYTES
        batch_bytes = 4 * self.config.batch_size * self.config.clip_length * int(np.prod(self.input_spec.frame_shape))
        count = 1
        while count * 2 <= chunk and count * 2 * batch_bytes <= max_bytes:
            count *= 2
        return count

    @contextlib.contextmanager
    def device_train_batches(self, start_step=0, chunk=DRAW_CHUNK):
        """Training batches of model inputs (JAX arrays on the model's device) from step
        `start_step` on, endless, equal to `numpy_train_batches`' batches. A background thread
        draws the randomness of `chunk` batches at once (`train_draws_many`, a power of two);
        the device paints their frames, `render_chunk()` batches per call of the compiled
        `device_renderer()` (dispatched asynchronously as the batches are wanted): the host
        neither paints frames nor sends them."""
        render, per_call = self.device_renderer(), self.render_chunk(chunk)

        def batches(chunks):
            for drawn in chunks:
                for first in range(0, chunk, per_call):
                    made = render(*(part[first : first + per_call] for part in drawn))[::-1]
                    while made:  # each batch let go once taken
                        yield made.pop()

        with Prefetcher(lambda i: self.train_draws_many(start_step + i * chunk, chunk), 0, depth=2,
                        threads=1) as chunks:
            yield batches(chunks)

    def makes_batches_on_device(self):
        """Whether the TensorFlow-free training stream is `device_train_batches` (the model
        runs on JAX and the source draws its batches' randomness apart from their frames)."""
        return type(self).train_draws is not DataSource.train_draws and backend.keras_backend() == "jax"

    @contextlib.contextmanager
    def training_inputs(self, start_step=0):
        """What `model.fit` reads from step `start_step` on: `train_dataset` (tf.data)
        where TensorFlow is importable, else a generator of `device_train_batches` (on JAX,
        where the source has them) or of `numpy_train_batches`."""
        if backend.tensorflow_available():
            yield self.train_dataset(start_step)
            return
        stream = self.device_train_batches if self.makes_batches_on_device() else self.numpy_train_batches
        with stream(start_step) as batches:
            # Keras takes a generator (not any iterator) of (x,) tuples.
            yield ((batch,) for batch in batches)

    def sample_inputs(self, count=3):
        return self.split(self.sample_clips(count))

    def test_batches(self, clips, batch_size):
        """Yields model input dicts (numpy float32) of up to batch_size test clips."""
        for start in range(0, len(clips), batch_size):
            yield self.split(clips[start : start + batch_size])


class LazyClips:
    """Clips read on demand: `len()`, and indexing by int or slice gives arrays
    `(clip_length, *frame)` / `(n, clip_length, *frame)`, each video read once per call.

    Args:
        index: list of (video, start, extra) entries in order; `video` is any
            hashable key of a video, `extra` what the reader needs besides the
            start (a patch position, or None).
        read: `(video, [(start, extra), ...]) -> array (n, clip_length, *frame)`.
    """

    def __init__(self, index, read):
        self.index, self.read = index, read

    def __len__(self):
        return len(self.index)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._many(self.index[key])
        return self._many([self.index[key]])[0]

    def _many(self, entries):
        if not entries:
            raise IndexError("an empty selection of clips")
        by_video = {}
        for position, (video, start, extra) in enumerate(entries):
            by_video.setdefault(video, []).append((position, start, extra))
        result = [None] * len(entries)
        for video, wanted in by_video.items():
            clips = self.read(video, [(start, extra) for _, start, extra in wanted])
            for (position, _, _), clip in zip(wanted, clips):
                result[position] = clip
        return np.stack(result)


class StepwiseSource(DataSource):
    """A source whose training batch i is drawn from `np.random.default_rng([seed, 0, i])`
    and read with numpy inside tf.data (a parallel, deterministic map): resuming
    at step i reads exactly the batches an uninterrupted run would have.

    Subclasses implement `draw(rng)` (one clip's (video, start, extra) entry)
    and `read(video, wanted)` (see `LazyClips`), and set `clip_dtype` ("uint8"
    frames are scaled to [0, 1]; "float32" features are kept).
    """

    clip_dtype = "uint8"
    SAMPLE_STEP = 4321  # the sample pictures' clips: stream 1, this step

    def draw(self, rng):
        raise NotImplementedError

    def read(self, video, wanted):
        raise NotImplementedError

    def batch(self, step, count=None, stream=0, rows=None):
        """(count, clip_length, *frame) in `clip_dtype`: batch `step` of `stream`,
        a pure function of (seed, stream, step). `rows` (start, stop): only those rows,
        the only clips read (every clip of the batch is drawn, so each row is the
        batch's own)."""
        rng = np.random.default_rng([self.config.seed, stream, int(step)])
        entries = [self.draw(rng) for _ in range(count or self.config.batch_size)]
        if rows is not None:
            entries = entries[rows[0] : rows[1]]
        return LazyClips(entries, self.read)[:]

    def sample_clips(self, count=3):
        return self.batch(self.SAMPLE_STEP, count, stream=1)

    def train_clips(self, start_step=0, num_steps=None, rows=None):
        # here: keeps TensorFlow out of `import pipelines.sources`
        import tensorflow as tf

        clips = self.raw_train_clips(start_step, num_steps, rows)
        if self.clip_dtype == "uint8":
            return clips.map(lambda c: tf.cast(c, tf.float32) / 255.0)
        return clips

    def raw_train_clips(self, start_step=0, num_steps=None, rows=None):
        """tf.data.Dataset of training batches as `read` gives them (`clip_dtype`, uint8 frames
        unscaled); `rows` (start, stop): only those rows of each, the only ones read."""
        # here: keeps TensorFlow out of `import pipelines.sources`
        import tensorflow as tf

        count = self.config.batch_size if rows is None else rows[1] - rows[0]
        shape = (count, self.config.clip_length) + tuple(self.frame_shape)
        if num_steps is None:
            steps = tf.data.Dataset.counter(start=start_step)
        else:
            steps = tf.data.Dataset.range(start_step, start_step + num_steps)
        dtype = tf.as_dtype(self.clip_dtype)

        def read(step):
            clips = tf.numpy_function(lambda s: self.batch(int(s), rows=rows), [step], dtype, stateful=False)
            clips.set_shape(shape)
            return clips

        return steps.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    @property
    def frame_shape(self):
        """The shape of one step of what `read` gives (the input spec's, unless a later stage changes it)."""
        return tuple(self.input_spec.frame_shape)
