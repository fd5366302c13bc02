"""Moving MNIST in NumPy alone (no TensorFlow), for machines without it.

The geometry and the trajectory rule are those of `pipelines/moving_mnist.py`
(Srivastava et al. 2015): each sequence shows `num_digits` 28x28 digits
moving inside a square frame. Per digit: a start position uniform over the
free range [0, frame_size - 28] on each axis, a direction uniform in
[0, 2 pi), a speed of `step_length` times the free range per frame, and
reflection at the edges, in closed form (a triangle wave of the unreflected
path); positions are rounded to whole pixels and digits are combined with an
elementwise max.

The random numbers come from NumPy's Philox generator seeded by
`SeedSequence([seed, stream, step])`: batch `step` of a stream is a pure
function of `(seed, step)`, whatever was drawn before, in any thread. The
stream is therefore NOT bit-equal to the TensorFlow generator of
`pipelines/moving_mnist.py` (different random numbers; the rule that turns
them into sequences is the same, as tests/test_accelerator.py checks).

Rendering is split from sampling: `sample` draws the (tiny) positions and
digit indices, `render` pastes digits into frames. A fast consumer can do the
rendering elsewhere (bench/accelerator_train.py renders on the GPU with
jax.numpy, from the same positions and indices).

Frames are float32 in [0, 1], shape (batch, time, frame_size, frame_size, 1).
The digits are `pipelines.digits.load_digits`'s (MNIST or OpenCV-rendered);
the geometry is checked where the config is made
(`pipelines.sources.moving_mnist.Options.validate`).
"""

import threading

import numpy as np

from pipelines.digits import DIGIT_SIZE

TRAIN_STREAM = 0
TEST_STREAM = 1


def triangle_wave(x):
    """Reflects x into [0, 1] off the walls at 0 and 1: x -> 1 - |x mod 2 - 1|."""
    return 1.0 - np.abs(np.mod(x, 2.0) - 1.0)


def trajectories(start, angle, num_frames, frame_size=64, digit_size=DIGIT_SIZE, step_length=0.1):
    """Top-left positions of bouncing digits, from their start and direction.

    The rule of `pipelines.moving_mnist.trajectories`, in float32 as there:
    unit = triangle_wave(start + step_length * (sin a, cos a) * t), position =
    round(unit * (frame_size - digit_size)).

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
    start = np.asarray(start, np.float32)[:, None]  # (B, 1, D, 2)
    angle = np.asarray(angle, np.float32)[:, None]  # (B, 1, D)
    velocity = np.float32(step_length) * np.stack([np.sin(angle), np.cos(angle)], axis=-1)
    time = np.arange(num_frames, dtype=np.float32)[None, :, None, None]
    unit = triangle_wave(start + velocity * time)
    free = np.float32(frame_size - digit_size)
    return np.round(unit * free).astype(np.int32)


def generator(seed, step, stream=TRAIN_STREAM):
    """The NumPy generator of batch `step`: Philox seeded by SeedSequence([seed, stream, step])."""
    return np.random.Generator(np.random.Philox(np.random.SeedSequence([seed, stream, step])))


def sample(seed, step, batch_size, num_frames, num_digits=2, num_available=60000,
           frame_size=64, step_length=0.1, stream=TRAIN_STREAM):
    """(positions, digit_indices) of batch `step`, a pure function of (seed, stream, step).

    Returns:
        positions: int32 (batch_size, num_frames, num_digits, 2), top-left (row, col).
        digit_indices: int32 (batch_size, num_digits) in [0, num_available).
    """
    rng = generator(seed, step, stream)
    start = rng.random((batch_size, num_digits, 2), dtype=np.float32)
    angle = rng.random((batch_size, num_digits), dtype=np.float32) * np.float32(2.0 * np.pi)
    indices = rng.integers(0, num_available, size=(batch_size, num_digits), dtype=np.int32)
    return trajectories(start, angle, num_frames, frame_size, DIGIT_SIZE, step_length), indices


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
    return frames[..., None].astype(np.float32) * scale


def make_batch(digits, seed, step, batch_size, num_frames, num_digits=2, frame_size=64,
               step_length=0.1, stream=TRAIN_STREAM):
    """Batch `step` of a stream, float32 (batch, time, frame_size, frame_size, 1) in [0, 1]."""
    positions, indices = sample(seed, step, batch_size, num_frames, num_digits, len(digits),
                                frame_size, step_length, stream)
    return render(digits, positions, indices, frame_size)


class Prefetcher:
    """Produces `fn(step)` for step = start, start + 1, ... in background threads.

    Items come out in step order; `threads` workers keep up to `depth` items
    ready, so a fast consumer is not kept waiting by the generator.

    Example:
        with Prefetcher(lambda i: sample(0, i, 16, 20)) as batches:
            positions, indices = next(batches)
    """

    def __init__(self, fn, start=0, depth=8, threads=2):
        self._fn = fn
        self._next_step = start
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._slots = {}
        self._ready = threading.Condition()
        self._want = start
        self._room = threading.Semaphore(depth)
        self._workers = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]
        for worker in self._workers:
            worker.start()

    def _work(self):
        while not self._stop.is_set():
            if not self._room.acquire(timeout=0.1):
                continue
            with self._lock:
                step = self._next_step
                self._next_step += 1
            try:
                item = (True, self._fn(step))
            except BaseException as e:  # handed to the consumer
                item = (False, e)
            with self._ready:
                self._slots[step] = item
                self._ready.notify_all()

    def __iter__(self):
        return self

    def __next__(self):
        with self._ready:
            while self._want not in self._slots:
                self._ready.wait()
            ok, item = self._slots.pop(self._want)
        self._want += 1
        self._room.release()
        if not ok:
            raise item
        return item

    def close(self):
        """Stops the workers and waits for them (a daemon thread still inside native code
        when the interpreter exits can abort the process)."""
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_set(digits, num_sequences=10000, num_frames=20, num_digits=2, seed=1234,
             frame_size=64, step_length=0.1):
    """(positions, digit_indices) of a fixed test set: one draw from stream TEST_STREAM.

    Render with `render(digits, positions[i:j], indices[i:j])` in chunks: the
    whole set as float32 frames would be 3.3 GB at 10,000 sequences.
    """
    return sample(seed, 0, num_sequences, num_frames, num_digits, len(digits), frame_size,
                  step_length, stream=TEST_STREAM)


test_set.__test__ = False  # not a pytest test
