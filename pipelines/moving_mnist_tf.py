"""Moving MNIST, generated with TensorFlow ops.

As in Srivastava et al. 2015, "Unsupervised Learning of Video Representations
using LSTMs": each sequence shows `num_digits` 28x28 digits moving inside a square frame.
Per digit: a start position uniform over the free range [0, frame_size - 28]
on each axis, a direction uniform in [0, 2 pi), a speed of `step_length` times
the free range per frame, and reflection at the edges. Positions are rounded
to whole pixels and digits are combined with an elementwise max, as in the
original generator.

Generation is stateless (`tf.random.stateless_*`): a sequence batch is a pure
function of its seed, the same eagerly, in `tf.function` and in `tf.data`.
Frames are float32 in [0, 1], shape (batch, time, frame_size, frame_size, 1).
"""

import collections
import hashlib
import os

import numpy as np
import tensorflow as tf

from pipelines import trajectory
from pipelines.digits import DIGIT_SIZE
from pipelines.moving_mnist_numpy import CANONICAL_URL, load_canonical_npy  # noqa: F401  (re-exported)
from video_lstm.core import atomic

# Stream ids appended to the user seed, so that the training batches and the
# fixed test set never share random numbers even with equal seeds.
_TRAIN_STREAM = 0
_TEST_STREAM = 1
# Part of the test-set cache's file name: v2 since trajectories are computed in
# float64 (`pipelines.trajectory`), which moved a few digits by a pixel (one
# position of the 800,000 in the default 10,000-sequence test set).
CACHE_VERSION = "v2"
# Sequences rendered at once by `test_sequences`; small chunks stay in CPU
# caches (32 was fastest of 16..256 on CPU) and bound peak memory.
_CHUNK_SIZE = 32
# Training batches whose positions and frames one call paints (`train_dataset`), fewer
# where their frames pass _PAINT_BYTES.
_BATCHES_PER_CALL = 16
_PAINT_BYTES = 64 * 2**20
# In-process memo of `test_sequences`: key -> read-only uint8 array.
_TEST_SET_MEMO = collections.OrderedDict()
_TEST_SET_MEMO_SIZE = 2


def validate_geometry(frame_size, num_digits, num_frames, digit_size=DIGIT_SIZE):
    """Checks the sequence geometry.

    Args:
        frame_size: frame height and width in pixels.
        num_digits: digits per sequence.
        num_frames: frames per sequence.
        digit_size: digit height and width in pixels.

    Raises:
        ValueError: naming the offending argument and the expected range.
    """
    if frame_size < digit_size:
        raise ValueError(
            f"frame_size={frame_size} is smaller than a digit ({digit_size} pixels); "
            f"expected frame_size >= {digit_size}"
        )
    if num_digits < 1:
        raise ValueError(f"num_digits={num_digits}; expected num_digits >= 1")
    if num_frames < 1:
        raise ValueError(f"num_frames={num_frames}; expected num_frames >= 1")


def _as_seed(seed):
    """int or shape-(2,) int -> int64 (2,) stateless seed (an int s is [s, 0])."""
    seed = tf.convert_to_tensor(seed)
    if seed.dtype not in (tf.int32, tf.int64):
        raise TypeError(f"seed has dtype {seed.dtype.name}; expected an int32/int64 seed")
    seed = tf.cast(seed, tf.int64)
    if seed.shape.rank == 0:
        return tf.stack([seed, tf.zeros_like(seed)])
    if seed.shape != (2,):
        raise ValueError(f"seed has shape {seed.shape}; expected a scalar or shape (2,)")
    return seed


def _digit_tensor(digits):
    """Validates a digit bank and returns it as a tensor (dtype unchanged).

    Raises:
        ValueError: not (N, 28, 28) with N >= 1, or neither uint8 nor float.
    """
    digits = tf.convert_to_tensor(digits)
    shape = digits.shape
    if shape.rank != 3 or shape[1:] != (DIGIT_SIZE, DIGIT_SIZE) or shape[0] == 0:
        raise ValueError(f"digits have shape {shape}; expected (N, 28, 28) with N >= 1")
    if digits.dtype != tf.uint8 and not digits.dtype.is_floating:
        raise ValueError(f"digits have dtype {digits.dtype.name}; expected uint8 or float")
    return digits


def batch_seed(seed, index):
    """Stateless seed of training batch `index`: fold_in([seed, 0], index).

    Args:
        seed: int, the training seed.
        index: int or int64 scalar tensor, the batch index.

    Returns:
        int64 (2,) seed for `make_batch`.
    """
    base = tf.constant([seed, _TRAIN_STREAM], tf.int64)
    return tf.random.fold_in(base, tf.cast(index, tf.int64))


def initial_motion(seed, batch_size, num_digits):
    """Where each digit starts and which way it moves: the randomness of `trajectories`.

    Args:
        seed: int or shape-(2,) int stateless seed (the one `trajectories` gets).
        batch_size, num_digits: ints.

    Returns:
        start: float32 (batch_size, 1, num_digits, 2), (row, col) in units of
            the free range, in [0, 1).
        angle: float32 (batch_size, 1, num_digits) in [0, 2 pi); the velocity is
            step_length * (sin angle, cos angle) in (row, col): 0 moves right,
            pi / 2 down.
    """
    start_seed, angle_seed = tf.unstack(tf.random.split(_as_seed(seed), 2))
    start = tf.random.stateless_uniform([batch_size, 1, num_digits, 2], start_seed)
    angle = tf.random.stateless_uniform([batch_size, 1, num_digits], angle_seed, maxval=2.0 * np.pi)
    return start, angle


def trajectories(
    seed,
    batch_size,
    num_frames,
    num_digits,
    frame_size=64,
    digit_size=DIGIT_SIZE,
    step_length=0.1,
):
    """Top-left positions of bouncing digits.

    Positions are computed in closed form (`pipelines.trajectory.pixel_path`,
    in float64): the unreflected path start + v t in units of the free range,
    folded into [0, 1] by a triangle wave (which is reflection at both walls),
    scaled to pixels and rounded.

    Args:
        seed: int or shape-(2,) int stateless seed.
        batch_size: number of sequences.
        num_frames: frames per sequence.
        num_digits: digits per sequence.
        frame_size: frame height and width in pixels.
        digit_size: digit height and width in pixels.
        step_length: distance moved per frame, as a fraction of the free range
            frame_size - digit_size.

    Returns:
        int32 (batch_size, num_frames, num_digits, 2), (row, col) of each digit's
        top-left corner, each in [0, frame_size - digit_size].
    """
    validate_geometry(frame_size, num_digits, num_frames, digit_size)
    start, angle = initial_motion(seed, batch_size, num_digits)
    return positions_of(start, angle, num_frames, frame_size, digit_size, step_length)


def positions_of(start, angle, num_frames, frame_size=64, digit_size=DIGIT_SIZE, step_length=0.1):
    """`trajectories` from `initial_motion`'s (start, angle), of any number of sequences at
    once (elementwise float64: the same bits in any batch). int32 (batch, num_frames,
    num_digits, 2)."""
    time = tf.range(num_frames, dtype=tf.float64)[None, :, None, None]
    pixels = trajectory.pixel_path(
        tf.cast(start, tf.float64), tf.cast(angle, tf.float64), time, frame_size - digit_size,
        step_length, tf.stack,
    )
    return tf.cast(tf.round(pixels), tf.int32)


def _digit_indices(seed, batch_size, num_digits, num_available):
    """int32 (batch_size, num_digits) uniform indices into a digit bank."""
    return tf.random.stateless_uniform(
        [batch_size, num_digits], seed, minval=0, maxval=num_available, dtype=tf.int32
    )


def render_batch(digits, positions, digit_indices, frame_size):
    """Pastes digits into frames at the given positions, combined by max.

    Pasting is a product with one-hot shift matrices, P[i, y] = 1 iff
    y = position + i: frame = P_row^T @ digit @ P_col, for all digits at once.
    Each output pixel is a sum with a single nonzero term, so it is exact.
    uint8 digits are pasted as the integers 0..255, exact even in TF32
    matmuls (recent GPUs), so frames are bit-identical on CPU and GPU; the
    1/255 scale comes after.

    Args:
        digits: (N, 28, 28), uint8 in 0..255 or float in [0, 1].
        positions: int (batch, time, num_digits, 2), top-left (row, col), each in
            [0, frame_size - 28]; pixels falling outside the frame are dropped.
        digit_indices: int (batch, num_digits), indices into `digits`.
        frame_size: frame height and width in pixels.

    Returns:
        float32 (batch, time, frame_size, frame_size, 1) in [0, 1].
    """
    digits = _digit_tensor(digits)
    scale = 1.0 / 255.0 if digits.dtype == tf.uint8 else 1.0
    glyphs = tf.cast(tf.gather(digits, tf.cast(digit_indices, tf.int32)), tf.float32)
    positions = tf.cast(positions, tf.int32)
    offsets = tf.range(DIGIT_SIZE)
    rows = tf.one_hot(positions[..., 0, None] + offsets, frame_size)  # (b, t, d, i, y)
    cols = tf.one_hot(positions[..., 1, None] + offsets, frame_size)  # (b, t, d, j, x)
    placed_cols = tf.einsum("bdij,btdjx->btdix", glyphs, cols)
    frames = tf.einsum("btdiy,btdix->btdyx", rows, placed_cols)
    return tf.reduce_max(frames, axis=2)[..., None] * scale


def _draw(seed, batch_size, num_digits, num_available):
    """(start, angle, digit_indices) of a batch: all of its randomness (`initial_motion`'s and
    `_digit_indices`'), from a stateless seed split in two."""
    trajectory_seed, index_seed = tf.unstack(tf.random.split(_as_seed(seed), 2))
    start, angle = initial_motion(trajectory_seed, batch_size, num_digits)
    return start, angle, _digit_indices(index_seed, batch_size, num_digits, num_available)


def _sample(seed, batch_size, num_frames, num_digits, num_available, frame_size, step_length):
    """(positions, digit_indices) of a batch; the randomness of `make_batch`."""
    validate_geometry(frame_size, num_digits, num_frames)
    start, angle, indices = _draw(seed, batch_size, num_digits, num_available)
    return positions_of(start, angle, num_frames, frame_size, DIGIT_SIZE, step_length), indices


def make_batch(
    digits, seed, batch_size, num_frames, num_digits=2, frame_size=64, step_length=0.1
):
    """A batch of Moving MNIST sequences, a pure function of `seed`.

    Args:
        digits: (N, 28, 28) digit bank, uint8 in 0..255 or float in [0, 1].
        seed: int or shape-(2,) int stateless seed.
        batch_size: number of sequences.
        num_frames: frames per sequence.
        num_digits: digits per sequence, drawn uniformly with replacement.
        frame_size: frame height and width in pixels.
        step_length: distance per frame as a fraction of frame_size - 28.

    Returns:
        float32 (batch_size, num_frames, frame_size, frame_size, 1) in [0, 1].
    """
    digits = _digit_tensor(digits)
    positions, indices = _sample(
        seed, batch_size, num_frames, num_digits, tf.shape(digits)[0], frame_size, step_length
    )
    return render_batch(digits, positions, indices, frame_size)


def train_dataset(
    digits,
    batch_size,
    num_frames,
    num_digits=2,
    seed=0,
    frame_size=64,
    step_length=0.1,
    start_batch=0,
    num_batches=None,
):
    """Endless (or `num_batches` long) stream of freshly generated batches.

    Batch i is `make_batch(digits, batch_seed(seed, i), ...)`, so a run resumed
    with `start_batch=k` sees exactly the batches k, k+1, ... it would have seen.

    Args:
        digits: (N, 28, 28) training digit bank, uint8 or float in [0, 1].
        batch_size: sequences per batch.
        num_frames: frames per sequence.
        num_digits: digits per sequence.
        seed: int training seed.
        frame_size: frame height and width in pixels.
        step_length: distance per frame as a fraction of frame_size - 28.
        start_batch: index of the first batch.
        num_batches: number of batches (start_batch .. start_batch + num_batches
            - 1); None for an endless stream.

    Returns:
        tf.data.Dataset of float32 (batch_size, num_frames, frame_size, frame_size,
        1) tensors in [0, 1].
    """
    validate_geometry(frame_size, num_digits, num_frames)
    if num_batches is None:
        indices = tf.data.Dataset.counter(start=start_batch)
    else:
        indices = tf.data.Dataset.range(start_batch, start_batch + num_batches)
    digits = _digit_tensor(digits)
    num_available = tf.shape(digits)[0]

    def draw(index):  # batch `index`'s randomness: a few ops
        return _draw(batch_seed(seed, index), batch_size, num_digits, num_available)

    def paint(start, angle, indices):  # (k, batch, ...) -> k batches of frames, in one pass
        flat = lambda x: tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))  # noqa: E731
        positions = positions_of(flat(start), flat(angle), num_frames, frame_size, DIGIT_SIZE, step_length)
        frames = render_batch(digits, positions, flat(indices), frame_size)
        return tf.reshape(frames, [-1, batch_size, num_frames, frame_size, frame_size, 1])

    # Each batch depends only on its index (stateless seeds), so parallel map workers cannot
    # change the content; deterministic=True keeps the output order equal to the index order,
    # so element k is batch start_batch + k. The randomness is drawn per batch; the positions
    # and frames (most of the ops: the trajectory's polynomials, the paste) of up to
    # _BATCHES_PER_CALL batches at once, which spares ops per batch (the same bits: elementwise, and exact sums).
    # Batches need no shuffling: every batch is new random data.
    per_call = max(1, min(_BATCHES_PER_CALL, _PAINT_BYTES // (4 * batch_size * num_frames * frame_size**2)))
    dataset = (
        indices.map(draw, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(per_call)
        .map(paint, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .unbatch()
    )
    # Generation overlaps the training step that consumes the previous batch.
    return dataset.prefetch(tf.data.AUTOTUNE)


def _fingerprint(digits):
    """Short hex hash of a digit bank's dtype, shape and bytes."""
    digits = np.ascontiguousarray(digits)
    h = hashlib.sha256(f"{digits.dtype.str}{digits.shape}".encode())
    h.update(digits.tobytes())
    return h.hexdigest()[:12]


def _to_uint8(frames):
    """float32 [0, 1] -> uint8 0..255 (exact for frames made from uint8 digits)."""
    return tf.cast(tf.round(tf.clip_by_value(frames, 0.0, 1.0) * 255.0), tf.uint8)


def _generate_test_set(
    digits, num_sequences, num_frames, num_digits, seed, frame_size, step_length
):
    """uint8 (num_sequences, num_frames, frame_size, frame_size, 1) test sequences.

    All positions and digit choices are drawn at once, then rendered in chunks,
    so the result does not depend on the chunk size.
    """
    digits = tf.convert_to_tensor(digits)
    positions, indices = _sample(
        tf.constant([seed, _TEST_STREAM], tf.int64),
        num_sequences,
        num_frames,
        num_digits,
        tf.shape(digits)[0],
        frame_size,
        step_length,
    )
    render = tf.function(
        lambda p, i: _to_uint8(render_batch(digits, p, i, frame_size)), reduce_retracing=True
    )
    out = np.empty((num_sequences, num_frames, frame_size, frame_size, 1), np.uint8)
    for start in range(0, num_sequences, _CHUNK_SIZE):
        end = min(start + _CHUNK_SIZE, num_sequences)
        out[start:end] = render(positions[start:end], indices[start:end]).numpy()
    return out


def _load_cached(path, shape):
    """The cached array at `path` if it is a readable uint8 array of `shape`."""
    if not os.path.isfile(path):
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if array.dtype != np.uint8 or array.shape != shape:
        return None
    return array


def test_sequences(
    digits,
    num_sequences=10000,
    num_frames=20,
    num_digits=2,
    seed=1234,
    frame_size=64,
    step_length=0.1,
    cache_dir=None,
):
    """The fixed Moving MNIST test set, generated deterministically.

    Memoised in-process (the latest few sets); with `cache_dir`, also stored as
    an .npy named by all parameters and a hash of the digit bank, and reused.

    Args:
        digits: (N, 28, 28) test-split digit bank, uint8 or float in [0, 1]
            (numpy or tensor).
        num_sequences: number of sequences.
        num_frames: frames per sequence.
        num_digits: digits per sequence.
        seed: int seed of the test set.
        frame_size: frame height and width in pixels.
        step_length: distance per frame as a fraction of frame_size - 28.
        cache_dir: optional directory for the .npy cache.

    Returns:
        Read-only uint8 (num_sequences, num_frames, frame_size, frame_size, 1),
        0..255.
    """
    validate_geometry(frame_size, num_digits, num_frames)
    if num_sequences < 1:
        raise ValueError(f"num_sequences={num_sequences}; expected num_sequences >= 1")
    digits = _digit_tensor(digits).numpy()
    params = (num_sequences, num_frames, num_digits, seed, frame_size, step_length)
    key = (_fingerprint(digits),) + params
    path = None
    if cache_dir is not None:
        name = (
            f"moving_mnist_test_n{num_sequences}_t{num_frames}_d{num_digits}_s{seed}"
            f"_f{frame_size}_step{step_length}_{key[0]}_{CACHE_VERSION}.npy"
        )
        path = os.path.join(cache_dir, name)

    shape = (num_sequences, num_frames, frame_size, frame_size, 1)
    array = _TEST_SET_MEMO.pop(key, None)
    stored = path is not None and array is not None and os.path.isfile(path)
    if array is None and path is not None:
        array = _load_cached(path, shape)
        stored = array is not None
    if array is None:
        array = _generate_test_set(digits, *params)
    if path is not None and not stored:
        atomic.save_npy(path, array)
    array.flags.writeable = False
    _TEST_SET_MEMO[key] = array  # Most recently used last.
    while len(_TEST_SET_MEMO) > _TEST_SET_MEMO_SIZE:
        _TEST_SET_MEMO.popitem(last=False)
    return array


test_sequences.__test__ = False  # Not a pytest test, despite its name.


def load_tfds_test(data_dir=None):
    """The TFDS `moving_mnist` test split (10,000 sequences), as one array.

    Args:
        data_dir: TFDS data directory; None for the TFDS default.

    Returns:
        uint8 (N, 20, 64, 64, 1).
    """
    import tensorflow_datasets as tfds  # Lazy: optional at import time.

    dataset = tfds.load("moving_mnist", split="test", data_dir=data_dir)
    dataset = dataset.map(lambda example: example["image_sequence"]).batch(1000)
    return np.concatenate(list(tfds.as_numpy(dataset)), axis=0)
