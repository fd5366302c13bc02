"""Moving MNIST in NumPy alone (no TensorFlow), equal to the TensorFlow generator.

The same sequences as `pipelines/moving_mnist_tf.py`, frame for frame, for the
same seed: each sequence shows `num_digits` 28x28 digits moving inside a
square frame (Srivastava et al. 2015); per digit a start position uniform
over the free range [0, frame_size - 28] on each axis, a direction uniform in
[0, 2 pi), a speed of `step_length` times the free range per frame, and
reflection at the edges (the rule: `pipelines/trajectory.py`, shared with the
TensorFlow generator); positions are rounded to whole pixels and digits are
combined with an elementwise max.

The random numbers are TensorFlow's stateless ones, reproduced in NumPy
(`pipelines/stateless_random.py`), drawn in the same order: training batch
`step` is drawn from `fold_in([seed, TRAIN_STREAM], step)`, the fixed test set
from `[seed, TEST_STREAM]`; each draw splits its seed into a trajectory seed
(split again into start and angle seeds) and a digit-index seed. So batch
`step` is a pure function of `(seed, step)`, in any thread, and equal to
`moving_mnist.make_batch(digits, moving_mnist.batch_seed(seed, step), ...)`
(tests/pipelines/test_moving_mnist_numpy.py checks it).

Rendering is split from sampling: `sample` draws the (tiny) positions and
digit indices, `render` pastes digits into frames. A fast consumer can do the
rendering elsewhere (bench/accelerator_train.py renders on the GPU with
jax.numpy, from the same positions and indices).

Frames are float32 in [0, 1], shape (batch, time, frame_size, frame_size, 1).
The digits are `pipelines.digits.load_digits`'s (MNIST or OpenCV-rendered);
the geometry is checked where the config is made
(`pipelines.sources.moving_mnist.Options.validate`).
"""

import os

import numpy as np

from pipelines import stateless_random, trajectory
from pipelines.digits import DIGIT_SIZE
from video_lstm.core import files

TRAIN_STREAM = 0
TEST_STREAM = 1
CANONICAL_URL = "http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy"
# Test sequences rendered at once by `test_sequences` (bounds the float work).
_CHUNK_SIZE = 256


def trajectories(start, angle, num_frames, frame_size=64, digit_size=DIGIT_SIZE, step_length=0.1):
    """Top-left positions of bouncing digits, from their start and direction.

    `pipelines.trajectory.pixel_path` in float64, rounded half to even, as
    `pipelines.moving_mnist_tf.trajectories` does.

    Args:
        start: float (batch, num_digits, 2) in [0, 1), (row, col) in units of
            the free range.
        angle: float (batch, num_digits) in [0, 2 pi).
        num_frames: frames per sequence.
        frame_size, digit_size: pixels.
        step_length: distance per frame as a fraction of the free range.
    Returns:
        int32 (batch, num_frames, num_digits, 2), each in [0, frame_size - digit_size].
    """
    start = np.asarray(start, np.float64)[:, None]  # (B, 1, D, 2)
    angle = np.asarray(angle, np.float64)[:, None]  # (B, 1, D)
    time = np.arange(num_frames, dtype=np.float64)[None, :, None, None]
    pixels = trajectory.pixel_path(start, angle, time, frame_size - digit_size, step_length, np.stack)
    return np.round(pixels).astype(np.int32)


def batch_seed(seed, step):
    """The stateless seed of training batch `step`: fold_in([seed, TRAIN_STREAM], step), int64 (2,)."""
    return stateless_random.fold_in([seed, TRAIN_STREAM], step)


def sample_seeded(seed, batch_size, num_frames, num_digits=2, num_available=60000, frame_size=64,
                  step_length=0.1):
    """(positions, digit_indices) drawn from a stateless seed, as `moving_mnist._sample`.

    Args:
        seed: int or (2,) int stateless seed.
    Returns:
        positions: int32 (batch_size, num_frames, num_digits, 2), top-left (row, col).
        digit_indices: int32 (batch_size, num_digits) in [0, num_available).
    """
    trajectory_seed, index_seed = stateless_random.split(seed, 2)
    start_seed, angle_seed = stateless_random.split(trajectory_seed, 2)
    count = batch_size * num_digits
    start_bits, angle_bits, index_bits = stateless_random.random_bits_many(  # one Philox pass
        [(start_seed, 2 * count), (angle_seed, count), (index_seed, count)]
    )
    start = stateless_random.bits_to_uniform(start_bits, (batch_size, num_digits, 2))
    angle = stateless_random.bits_to_uniform(angle_bits, (batch_size, num_digits), maxval=2.0 * np.pi)
    indices = stateless_random.bits_to_uniform_int(index_bits, (batch_size, num_digits), 0, num_available)
    return trajectories(start, angle, num_frames, frame_size, DIGIT_SIZE, step_length), indices


def sample(seed, step, batch_size, num_frames, num_digits=2, num_available=60000,
           frame_size=64, step_length=0.1, stream=TRAIN_STREAM):
    """(positions, digit_indices) of batch `step` of a stream, a pure function of (seed, stream, step).

    Stream TRAIN_STREAM is the training stream (`batch_seed`); TEST_STREAM has
    one draw, step 0, the fixed test set's.

    Returns:
        positions: int32 (batch_size, num_frames, num_digits, 2), top-left (row, col).
        digit_indices: int32 (batch_size, num_digits) in [0, num_available).
    """
    if stream == TRAIN_STREAM:
        seed_pair = batch_seed(seed, step)
    elif stream == TEST_STREAM and step == 0:
        seed_pair = [seed, TEST_STREAM]
    else:
        raise ValueError(f"stream={stream}, step={step}; expected TRAIN_STREAM, or TEST_STREAM with step 0")
    return sample_seeded(seed_pair, batch_size, num_frames, num_digits, num_available, frame_size,
                         step_length)


def sample_steps(seed, steps, batch_size, num_frames, num_digits=2, num_available=60000, frame_size=64,
                 step_length=0.1):
    """`sample(seed, step, ...)` of many training batches at once, in one vectorised pass.

    The same numbers, bit for bit, at a fraction of the host's time per batch: one
    `sample` is a few hundred NumPy calls on tiny arrays (about half a millisecond), the
    same calls here serve all `steps` (what the JAX path's device stream draws ahead).

    Args:
        steps: int (K,) training steps.
    Returns:
        positions: int32 (K, batch_size, num_frames, num_digits, 2).
        digit_indices: int32 (K, batch_size, num_digits).
    """
    steps = np.asarray(steps, np.int64).reshape(-1)
    # fold_in([seed, TRAIN_STREAM], step) = [the same int64 for every step, step].
    head = batch_seed(seed, 0)[0]
    seeds = np.stack([np.full_like(steps, head), steps], axis=1)
    trajectory_seed, index_seed = np.moveaxis(stateless_random.split_seeds(seeds, 2), 1, 0)
    start_seed, angle_seed = np.moveaxis(stateless_random.split_seeds(trajectory_seed, 2), 1, 0)
    k, count = len(steps), batch_size * num_digits
    start_bits = stateless_random.random_bits_of_seeds(start_seed, 2 * count)
    angle_bits = stateless_random.random_bits_of_seeds(angle_seed, count)
    index_bits = stateless_random.random_bits_of_seeds(index_seed, count)
    start = stateless_random.bits_to_uniform(start_bits, (k * batch_size, num_digits, 2))
    angle = stateless_random.bits_to_uniform(angle_bits, (k * batch_size, num_digits), maxval=2.0 * np.pi)
    indices = stateless_random.bits_to_uniform_int(index_bits, (k, batch_size, num_digits), 0, num_available)
    positions = trajectories(start, angle, num_frames, frame_size, DIGIT_SIZE, step_length)
    return positions.reshape(k, batch_size, num_frames, num_digits, 2), indices


def render(digits, positions, digit_indices, frame_size=64):
    """Pastes digits into frames at the given positions, combined by max.

    Args:
        digits: uint8 (N, 28, 28) in 0..255 (or float in [0, 1]).
        positions: int (batch, time, num_digits, 2), each in [0, frame_size - 28].
        digit_indices: int (batch, num_digits).
    Returns:
        float32 (batch, time, frame_size, frame_size, 1) in [0, 1].
    """
    digits = np.asarray(digits)
    scale = np.float32(1.0 / 255.0) if digits.dtype == np.uint8 else np.float32(1.0)
    return paste(digits, positions, digit_indices, frame_size)[..., None].astype(np.float32) * scale


def paste(digits, positions, digit_indices, frame_size=64):
    """`render` before the scale: (batch, time, frame_size, frame_size) in the digits' dtype
    (uint8 0..255 for uint8 digits)."""
    digits = np.asarray(digits)
    positions = np.asarray(positions)
    batch, time, num_digits, _ = positions.shape
    frames = np.zeros((batch, time, frame_size, frame_size), digits.dtype)
    offsets = np.arange(DIGIT_SIZE)
    b = np.arange(batch)[:, None, None, None]
    t = np.arange(time)[None, :, None, None]
    for d in range(num_digits):
        glyphs = digits[np.asarray(digit_indices)[:, d]][:, None]  # (B, 1, 28, 28)
        rows = (positions[:, :, d, 0, None] + offsets)[:, :, :, None]  # (B, T, 28, 1)
        cols = (positions[:, :, d, 1, None] + offsets)[:, :, None, :]  # (B, T, 1, 28)
        frames[b, t, rows, cols] = np.maximum(frames[b, t, rows, cols], glyphs)
    return frames


def make_batch(digits, seed, step, batch_size, num_frames, num_digits=2, frame_size=64,
               step_length=0.1, stream=TRAIN_STREAM):
    """Batch `step` of a stream, float32 (batch, time, frame_size, frame_size, 1) in [0, 1]."""
    positions, indices = sample(seed, step, batch_size, num_frames, num_digits, len(digits),
                                frame_size, step_length, stream)
    return render(digits, positions, indices, frame_size)


def make_batch_seeded(digits, seed, batch_size, num_frames, num_digits=2, frame_size=64, step_length=0.1):
    """`moving_mnist.make_batch` of a stateless seed: float32 (batch, time, frame_size, frame_size, 1)."""
    positions, indices = sample_seeded(seed, batch_size, num_frames, num_digits, len(digits), frame_size,
                                       step_length)
    return render(digits, positions, indices, frame_size)


def test_set(digits, num_sequences=10000, num_frames=20, num_digits=2, seed=1234,
             frame_size=64, step_length=0.1):
    """(positions, digit_indices) of a fixed test set: one draw from stream TEST_STREAM.

    The sequences of `moving_mnist.test_sequences` with the same arguments; a
    smaller `num_sequences` gives a prefix of a larger one's. Render with
    `render(digits, positions[i:j], indices[i:j])` in chunks: the whole set as
    float32 frames would be 3.3 GB at 10,000 sequences.
    """
    return sample(seed, 0, num_sequences, num_frames, num_digits, len(digits), frame_size,
                  step_length, stream=TEST_STREAM)


test_set.__test__ = False  # not a pytest test


def test_sequences(digits, num_sequences=10000, num_frames=20, num_digits=2, seed=1234, frame_size=64,
                   step_length=0.1, count=None):
    """The fixed test set as uint8 frames, equal to `moving_mnist.test_sequences`.

    Args:
        digits: uint8 (N, 28, 28) test-split digit bank.
        num_sequences: the size of the set drawn (its random numbers).
        count: render only the first `count` sequences (default all).
    Returns:
        uint8 (count, num_frames, frame_size, frame_size, 1), 0..255.
    """
    digits = np.asarray(digits)
    if digits.dtype != np.uint8:
        raise ValueError(f"digits have dtype {digits.dtype}; expected uint8 (a DigitBank's images)")
    count = num_sequences if count is None else min(count, num_sequences)
    positions, indices = test_set(digits, num_sequences, num_frames, num_digits, seed, frame_size, step_length)
    out = np.empty((count, num_frames, frame_size, frame_size, 1), np.uint8)
    for start in range(0, count, _CHUNK_SIZE):
        end = min(start + _CHUNK_SIZE, count)
        out[start:end, ..., 0] = paste(digits, positions[start:end], indices[start:end], frame_size)
    return out


test_sequences.__test__ = False  # not a pytest test


def load_canonical_npy(path):
    """Reads the canonical `mnist_test_seq.npy` (Srivastava et al.'s test set).

    Args:
        path: path to the file, laid out time-major: uint8 (20, N, 64, 64).

    Returns:
        uint8 (N, 20, 64, 64, 1), sequence-major.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: not a readable .npy, or not uint8 (20, N, 64, 64).
    """
    array = _open_npy(path, mmap_mode=None)
    return np.ascontiguousarray(array.transpose(1, 0, 2, 3))[..., None]


def check_canonical_npy(path, needed):
    """Raises (one line, naming the file) unless `path` is a canonical-layout .npy of at least
    `needed` sequences; reads its header only (memory-mapped). Returns how many it holds."""
    count = _open_npy(path, mmap_mode="r").shape[1]
    if count < needed:
        raise ValueError(f"{path} holds {count} sequences; --eval_sequences={needed} asks for more "
                         f"(pass --eval_sequences={count} or fewer)")
    return count


def _open_npy(path, mmap_mode):
    """The canonical test array of `path` (memory-mapped with mmap_mode="r"), checked for its
    layout; FileNotFoundError / ValueError in one line naming the file."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"mnist_test_seq.npy not found at {path}; download it from {CANONICAL_URL}"
        )
    with files.open_regular(path) as f:
        if f.read(6) != b"\x93NUMPY":
            raise ValueError(f"{path} is not a .npy file (no NumPy header); expected mnist_test_seq.npy")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable .npy file ({e})") from None
    layout_ok = array.ndim == 4 and array.shape[0] == 20 and array.shape[2:] == (64, 64)
    if array.dtype != np.uint8 or not layout_ok:
        raise ValueError(
            f"{path} holds {array.dtype} {array.shape}; expected the canonical "
            "mnist_test_seq.npy layout uint8 (20, N, 64, 64), time-major"
        )
    return array
