"""Long free-running rollouts of the future decoder, and how well digits persist.

Three pieces:

- `tracked_sequences`: Moving MNIST sequences whose per-digit trajectories
  are kept, so each digit's true centre of mass is known at every frame (the
  ground truth of a rollout, for any number of digits and any length).
- `rollout_chunks`: the future decoder run free for `horizon` frames in
  compiled chunks of `chunk_size` steps (the decoder's own free-running loop,
  `FrameDecoder(..., previous=, return_state=True)`), the LSTM states and the
  last activated frame carried from chunk to chunk. One chunk is one traced
  function, reused for every chunk, so neither the graph nor the memory grows
  with the horizon; frames are yielded chunk by chunk for the caller to
  stream to disk.
- `persistence_rows`: per-frame metrics of predicted against true frames: do
  digits fade (`intensity_ratio`), drift (`centre_error_px`), and the usual
  squared error summed over a frame's pixels (`mse`, as `mse_per_frame`).

Metrics and sequences are numpy; the decoder runs in `keras.ops`, compiled
with `tf.function` or `jax.jit` (eager under other backends).
"""

import dataclasses
import math
import weakref

import numpy as np
import tensorflow as tf
from keras import ops

from pipelines import moving_mnist_tf
from pipelines.digits import DIGIT_SIZE
from video_lstm.analysis.options import DEFAULT_CHUNK_SIZE, check_horizon
from video_lstm.core import backend

# A rollout longer than this is refused: at 64x64 and 2048 units, 10,000
# frames are already hours of CPU time, and an absurd value is more likely a
# typo than a wish.
METRIC_KEYS = ("frame", "intensity_ratio", "centre_error_px", "mse")
# decoder -> its compiled chunk function, so that rollouts of one model (the
# rollout and the out-of-domain ones) share traces.
_COMPILED = weakref.WeakKeyDictionary()


# -- ground truth with known digit centres -------------------------------------


@dataclasses.dataclass(frozen=True)
class TrackedSequences:
    """Moving MNIST sequences with their per-digit trajectories.

    Frames are rendered on demand, a time range at a time, so a sequence of
    thousands of frames costs only its positions until it is drawn.

    Attributes:
        digits: uint8 (N, 28, 28), the digit bank.
        positions: int32 (batch, time, num_digits, 2), top-left (row, col) of
            each digit.
        indices: int32 (batch, num_digits), which digits of the bank.
        frame_size: int, frame height and width.
    """

    digits: np.ndarray
    positions: np.ndarray
    indices: np.ndarray
    frame_size: int

    @property
    def num_sequences(self):
        return self.positions.shape[0]

    @property
    def num_frames(self):
        return self.positions.shape[1]

    @property
    def num_digits(self):
        return self.positions.shape[2]

    def frames(self, start, stop):
        """float32 (batch, stop - start, S, S, 1) in [0, 1]: all digits, combined by max."""
        return self._render(self.positions[:, start:stop], self.indices)

    def digit_frames(self, start, stop):
        """float32 (batch, stop - start, num_digits, S, S, 1): each digit alone."""
        alone = [
            self._render(self.positions[:, start:stop, d : d + 1], self.indices[:, d : d + 1])
            for d in range(self.num_digits)
        ]
        return np.stack(alone, axis=2)

    def centres(self, start, stop):
        """float64 (batch, stop - start, num_digits, 2): each digit's (row, col) centre of mass."""
        return self.positions[:, start:stop].astype(np.float64) + self._glyph_centres()[:, None]

    def _glyph_centres(self):
        """(batch, num_digits, 2) centre of mass of each chosen glyph in its 28x28 field."""
        glyphs = self.digits[self.indices].astype(np.float64)  # (B, D, 28, 28)
        return centre_of_mass(glyphs, default=(DIGIT_SIZE - 1) / 2.0)

    def _render(self, positions, indices):
        frames = moving_mnist_tf.render_batch(
            tf.constant(self.digits), tf.constant(positions), tf.constant(indices), self.frame_size
        )
        return frames.numpy()


def tracked_sequences(
    digits, num_sequences, num_frames, num_digits, seed, frame_size=64, step_length=0.1
):
    """Moving MNIST sequences with known trajectories, a pure function of `seed`.

    The same motion model as `moving_mnist.make_batch` (bouncing digits,
    combined by max), for any `num_digits`.

    Args:
        digits: uint8 (N, 28, 28) digit bank.
        num_sequences, num_frames, num_digits: int.
        seed: int or (2,) int stateless seed.
        frame_size: int, frame height and width.
        step_length: float, distance per frame as a fraction of frame_size - 28.
    Returns:
        TrackedSequences.
    """
    moving_mnist_tf.validate_geometry(frame_size, num_digits, num_frames)
    digits = np.asarray(digits)
    seed = np.array([seed, 0] if np.ndim(seed) == 0 else seed, np.int64)
    trajectory_seed, index_seed = tf.unstack(tf.random.split(tf.constant(seed), 2))
    positions = moving_mnist_tf.trajectories(
        trajectory_seed, num_sequences, num_frames, num_digits, frame_size, step_length=step_length
    )
    indices = tf.random.stateless_uniform(
        [num_sequences, num_digits], index_seed, minval=0, maxval=len(digits), dtype=tf.int32
    )
    return TrackedSequences(digits, positions.numpy(), indices.numpy(), frame_size)


# -- the chunked rollout ------------------------------------------------------


def _compiled_steps(decoder):
    """`decoder` running free for a static number of steps, from given states and
    previous frame, compiled by the backend (eager where there is no compiler).
    One per decoder, traced once per chunk length."""
    if decoder not in _COMPILED:
        reference = weakref.ref(decoder)  # the cache must not keep the decoder alive

        def function(states, previous, num_steps):
            decoder = reference()
            logits, previous, states = decoder(states, num_steps=num_steps, previous=previous, return_state=True)
            return decoder.activate(logits), previous, states

        function = backend.compile_function(function, static_argnums=(2,))  # chunk lengths are static
        _COMPILED[decoder] = function
    return _COMPILED[decoder]


def rollout_chunks(model, frames, horizon, chunk_size=DEFAULT_CHUNK_SIZE):
    """Runs the future decoder free for `horizon` frames, a chunk at a time.

    Equal to `model.generate(frames, future_length=horizon)["future"]` (up to
    float rounding), but the decoder graph holds `chunk_size` steps whatever
    the horizon, and only one chunk of frames is in memory at a time.

    Args:
        model: a built CompositeModel with a future decoder.
        frames: float (batch, input_length, *frame_shape) in [0, 1].
        horizon: int, frames to predict, 1..MAX_HORIZON.
        chunk_size: int >= 1, decoder steps per compiled call.
    Returns:
        An iterator of (start, predicted): int index of the chunk's first
        frame, and float32 numpy (batch, k, *frame_shape), k <= chunk_size.
    Raises:
        ValueError (at the call, not at the first chunk): no future decoder,
        horizon out of range, chunk_size < 1.
    """
    decoder = model.future_decoder
    if decoder is None:
        raise ValueError("a rollout needs a future decoder; this model only reconstructs (an autoencoder)")
    check_horizon(horizon)
    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size}; expected chunk_size >= 1")
    return _chunks(model, decoder, frames, horizon, chunk_size)


def _chunks(model, decoder, frames, horizon, chunk_size):
    frames = ops.convert_to_tensor(np.asarray(frames, np.float32))
    states = model.encode(frames)["states"]
    batch = frames.shape[0]
    previous = ops.zeros((batch, math.prod(decoder.frame_shape)), dtype=decoder.compute_dtype)
    run = _compiled_steps(decoder)
    for start in range(0, horizon, chunk_size):
        steps = min(chunk_size, horizon - start)
        predicted, previous, states = run(states, previous, steps)
        yield start, np.asarray(ops.convert_to_numpy(ops.cast(predicted, "float32")))


# -- persistence metrics ------------------------------------------------------


def centre_of_mass(images, default=np.nan):
    """(..., H, W) non-negative images -> (..., 2) (row, col) centre of mass.

    `default` where an image has no mass.
    """
    images = np.asarray(images, np.float64)
    height, width = images.shape[-2:]
    mass = images.sum(axis=(-2, -1))
    rows = (images.sum(axis=-1) * np.arange(height)).sum(axis=-1)
    cols = (images.sum(axis=-2) * np.arange(width)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.stack([rows / mass, cols / mass], axis=-1)
    return np.where((mass > 0)[..., None], centre, default)


def _intensity(frames):
    """(..., H, W, C) -> (..., H, W): channels summed, negatives (linear outputs) clipped."""
    return np.clip(np.asarray(frames, np.float64), 0.0, None).sum(axis=-1)


def region_centre_errors(truth, predicted, centres):
    """Distance between predicted and true centres of mass, per digit.

    Every pixel belongs to the nearest true digit centre; within each region
    the centre of mass of predicted intensity is compared with that of true
    intensity.

    Args:
        truth, predicted: float (M, H, W, C) frames.
        centres: float (M, D, 2), the true (row, col) centre of each digit.
    Returns:
        float64 (M, D) distances in pixels; NaN where a region holds no
        predicted (or no true) intensity.
    """
    truth, predicted = _intensity(truth), _intensity(predicted)
    regions = nearest_centre(centres, truth.shape[-2:])  # (M, H, W)
    errors = []
    for d in range(centres.shape[1]):  # one (M, H, W) array at a time, not (M, D, H, W)
        inside = regions == d
        difference = centre_of_mass(inside * predicted) - centre_of_mass(inside * truth)
        errors.append(np.linalg.norm(difference, axis=-1))
    return np.stack(errors, axis=-1)


def nearest_centre(centres, shape):
    """int (M, H, W): index of the centre (of (M, D, 2)) nearest to each pixel; ties to the first."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    nearest = np.zeros((centres.shape[0],) + tuple(shape), np.int64)
    best = np.full(nearest.shape, np.inf)
    for d in range(centres.shape[1]):
        distance = (rows - centres[:, d, 0, None, None]) ** 2 + (cols - centres[:, d, 1, None, None]) ** 2
        closer = distance < best
        nearest[closer], best[closer] = d, distance[closer]
    return nearest


def persistence_rows(truth, predicted, centres, first_frame=1):
    """One metrics row per frame, averaged over the sequences of a batch.

    Args:
        truth, predicted: float (batch, time, H, W, C) in [0, 1].
        centres: float (batch, time, num_digits, 2), true digit centres.
        first_frame: int, the number given to the first frame (1 = the first
            predicted frame of a rollout).
    Returns:
        list of `time` dicts with keys METRIC_KEYS: `intensity_ratio` (sum of
        predicted over sum of true intensity, over the batch), `centre_error_px`
        (mean over digits and sequences of `region_centre_errors`; None if no
        region holds predicted intensity), `mse` (squared error summed over a
        frame's pixels, mean over sequences).
    """
    truth = np.asarray(truth, np.float64)
    predicted = np.asarray(predicted, np.float64)
    batch, time = truth.shape[:2]
    flat = lambda x: x.reshape((batch * time,) + x.shape[2:])  # noqa: E731
    errors = region_centre_errors(flat(truth), flat(predicted), flat(np.asarray(centres, np.float64)))
    errors = errors.reshape(batch, time, -1)
    true_sum = _intensity(truth).sum(axis=(0, 2, 3))  # (time,)
    predicted_sum = _intensity(predicted).sum(axis=(0, 2, 3))
    squared = np.square(predicted - truth).reshape(batch, time, -1).sum(axis=-1).mean(axis=0)
    rows = []
    for t in range(time):
        defined = errors[:, t][np.isfinite(errors[:, t])]
        rows.append(
            {
                "frame": first_frame + t,
                "intensity_ratio": float(predicted_sum[t] / true_sum[t]) if true_sum[t] > 0 else None,
                "centre_error_px": float(defined.mean()) if defined.size else None,
                "mse": float(squared[t]),
            }
        )
    return rows
