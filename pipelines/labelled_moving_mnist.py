"""Labelled Moving MNIST: classification tasks read from the generator, offline.

Sequences are exactly `moving_mnist.make_batch`'s (one digit, same stateless
draws); the label comes from the same draws:

- `appearance`: which digit it is, the MNIST class (0-9) of the digit drawn;
- `motion`: which way it moves at the start, its initial velocity angle in 8
  bins of 45 degrees, bin 0 centred on "right" (image coordinates: row down).

One digit per sequence, so that each label names what is on screen: with two
digits, "the first digit's class" could not be told from the frames (they are
symmetric), and a rule such as "the larger class" would test that rule rather
than the representation.

A task's training pool (train digits, `POOL_STREAM`) and its fixed test set
(test digits, `TEST_SEED`) are pure functions of their arguments.

`labelled_batch` and `labelled_set` draw with TensorFlow (`moving_mnist_tf`);
`labelled_batch_numpy` and `labelled_set_numpy` give the same sequences and
labels, byte for byte, with NumPy alone (`moving_mnist_numpy`, TensorFlow's
stateless random numbers reproduced in `stateless_random`), for processes
without TensorFlow; they return every task's labels at once (the sequences do
not depend on the task). Importing this module imports no TensorFlow.
"""

import numpy as np

from pipelines import moving_mnist_numpy, stateless_random
from pipelines.digits import DIGIT_SIZE

TASKS = ("appearance", "motion")
DIRECTIONS = ("right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
POOL_STREAM = 2
TEST_STREAM = 3
TEST_SEED = 1234
_CHUNK = 128


def class_names(task):
    """The class list of `task`: a label is an index into it."""
    if task not in TASKS:
        raise ValueError(f"task={task!r}; expected one of {list(TASKS)}")
    return DIGIT_CLASSES if task == "appearance" else DIRECTIONS


def direction_bin(angle, bins=8):
    """Angle in radians (row, col image coordinates; 0 = right, pi/2 = down) ->
    int bin 0..bins-1, bin k centred on k * 2 pi / bins."""
    width = 2.0 * np.pi / bins
    return np.floor(np.asarray(angle) / width + 0.5).astype(np.int64) % bins


def labelled_batch(digits, digit_labels, task, seed, batch_size, num_frames, frame_size=64, step_length=0.1):
    """One batch of one-digit sequences and their labels.

    Args:
        digits: (N, 28, 28) uint8 digit bank; digit_labels: int (N,) its classes.
        task: "appearance" or "motion".
        seed: int (2,) stateless seed (as `make_batch`'s).
        batch_size, num_frames, frame_size, step_length: as `make_batch`.

    Returns:
        (uint8 (batch, num_frames, frame_size, frame_size, 1), int64 (batch,) labels).
    """
    # here: keeps TensorFlow out of `import pipelines.labelled_moving_mnist`
    import tensorflow as tf

    # here: keeps TensorFlow out of `import pipelines.labelled_moving_mnist`
    from pipelines import moving_mnist_tf

    class_names(task)
    digits = tf.convert_to_tensor(digits)
    seed = moving_mnist_tf._as_seed(seed)
    positions, indices = moving_mnist_tf._sample(
        seed, batch_size, num_frames, 1, tf.shape(digits)[0], frame_size, step_length
    )
    frames = moving_mnist_tf.render_batch(digits, positions, indices, frame_size)
    clips = moving_mnist_tf._to_uint8(frames).numpy()
    if task == "appearance":
        labels = np.asarray(digit_labels)[indices.numpy()[:, 0]]
    else:
        trajectory_seed, _ = tf.unstack(tf.random.split(seed, 2))
        _, angle = moving_mnist_tf.initial_motion(trajectory_seed, batch_size, 1)
        labels = direction_bin(angle.numpy()[:, 0, 0])
    return clips, labels.astype(np.int64)


def labelled_set(bank, task, size, seed, stream, num_frames, frame_size=64, step_length=0.1):
    """`size` labelled sequences, generated in chunks; a pure function of the arguments.

    Args:
        bank: a `pipelines.digits.DigitBank` (images and labels).
        seed, stream: chunk i is drawn from fold_in([seed, stream], i).

    Returns:
        (uint8 (size, num_frames, frame_size, frame_size, 1), int64 (size,)).
    """
    # here: keeps TensorFlow out of `import pipelines.labelled_moving_mnist`
    import tensorflow as tf

    # here: keeps TensorFlow out of `import pipelines.labelled_moving_mnist`
    from pipelines import moving_mnist_tf

    if size < 1:
        raise ValueError(f"size={size}; expected >= 1 labelled sequences")
    moving_mnist_tf.validate_geometry(frame_size, 1, num_frames)
    base = tf.constant([seed, stream], tf.int64)
    clips, labels = [], []
    for chunk, start in enumerate(range(0, size, _CHUNK)):
        count = min(_CHUNK, size - start)
        c, y = labelled_batch(
            bank.images, bank.labels, task, tf.random.fold_in(base, chunk), count, num_frames, frame_size, step_length
        )
        clips.append(c)
        labels.append(y)
    return np.concatenate(clips), np.concatenate(labels)


# -- the same without TensorFlow ---------------------------------------------------


def labelled_batch_numpy(digits, digit_labels, seed, batch_size, num_frames, frame_size=64, step_length=0.1):
    """`labelled_batch` in NumPy, for every task at once.

    Args:
        as `labelled_batch` (`seed`: an int64 (2,) stateless seed, or an int s = [s, 0]).

    Returns:
        (uint8 (batch, num_frames, frame_size, frame_size, 1), {task: int64 (batch,) labels}),
        equal to `labelled_batch(..., task, ...)` of each task.
    """
    seed = np.array([seed, 0] if np.ndim(seed) == 0 else seed, np.int64)
    digits = np.asarray(digits)
    positions, indices = moving_mnist_numpy.sample_seeded(seed, batch_size, num_frames, 1, len(digits), frame_size,
                                                          step_length)
    clips = moving_mnist_numpy.paste(digits, positions, indices, frame_size)[..., None]
    if clips.dtype != np.uint8:  # float digits in [0, 1], as `moving_mnist_tf._to_uint8`
        clips = np.round(np.clip(clips.astype(np.float32), 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)
    trajectory_seed, _ = stateless_random.split(seed, 2)
    _, angle_seed = stateless_random.split(trajectory_seed, 2)
    angle = stateless_random.uniform((batch_size, 1), angle_seed, maxval=2.0 * np.pi)
    labels = {"appearance": np.asarray(digit_labels)[indices[:, 0]].astype(np.int64),
              "motion": direction_bin(angle[:, 0]).astype(np.int64)}
    return clips, labels


def _fold_in_int32(seed, data):
    """`tf.random.fold_in(seed, data)` of a Python int `data`, as `labelled_set` calls it: TensorFlow draws
    the new seed's first word at `data`'s dtype, int32 (one Philox word), not int64 as
    `stateless_random.fold_in` does."""
    first = stateless_random.random_bits(seed, 1).view(np.int32)[0]
    return np.array([first, data], np.int64)


def labelled_set_numpy(bank, size, seed, stream, num_frames, frame_size=64, step_length=0.1):
    """`labelled_set` in NumPy, every task's labels at once.

    Returns:
        (uint8 (size, num_frames, frame_size, frame_size, 1), {task: int64 (size,)}), equal to
        `labelled_set(bank, task, size, seed, stream, ...)` of each task.
    """
    if size < 1:
        raise ValueError(f"size={size}; expected >= 1 labelled sequences")
    if frame_size < DIGIT_SIZE:
        raise ValueError(f"frame_size={frame_size} is smaller than a digit ({DIGIT_SIZE} pixels)")
    if num_frames < 1:
        raise ValueError(f"num_frames={num_frames}; expected num_frames >= 1")
    clips = np.empty((size, num_frames, frame_size, frame_size, 1), np.uint8)
    labels = {task: np.empty(size, np.int64) for task in TASKS}
    for chunk, start in enumerate(range(0, size, _CHUNK)):
        count = min(_CHUNK, size - start)
        c, y = labelled_batch_numpy(bank.images, bank.labels, _fold_in_int32([seed, stream], chunk), count,
                                    num_frames, frame_size, step_length)
        clips[start : start + count] = c
        for task in TASKS:
            labels[task][start : start + count] = y[task]
    return clips, labels
