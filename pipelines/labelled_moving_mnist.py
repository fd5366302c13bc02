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
"""

import numpy as np
import tensorflow as tf

from pipelines import moving_mnist_tf

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
