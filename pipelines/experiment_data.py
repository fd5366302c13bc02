"""The data of one experiment, as its `Config` describes it.

The bridge between flags and the dataset modules: which digits, the training
stream (tf.data), the fixed test set and its batches. Model inputs are dicts
`{"frames": (batch, input_length, H, W, 1), "future_frames": (batch,
future_length, H, W, 1)}` of float32 in [0, 1]; autoencoders get no
`future_frames`.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from pipelines import digits as digits_lib
from pipelines import moving_mnist

# The fixed test set: always TEST_SET_SIZE sequences generated with TEST_SEED,
# whatever the training seed; --eval_sequences takes a prefix of it.
TEST_SEED = 1234
TEST_SET_SIZE = 10000
SAMPLE_SEED = 4321


@dataclasses.dataclass
class TestSet:
    clips: np.ndarray  # uint8 (N, time, H, W, 1)
    digits: str  # "mnist", "rendered", or the external set's name
    name: str  # "generated", "npy", "tfds"


def digit_bank(config, split):
    """The 28x28 digits of `split` ("train" or "test") the config asks for.

    Rendered test digits are drawn with a fixed seed, so the test set does not
    depend on the training seed.
    """
    return digits_lib.load_digits(
        source=config.digits,
        split=split,
        mnist_path=config.mnist_path or None,
        seed=config.seed if split == "train" else 0,
    )


def _model_inputs(config, clips):
    """Clips (batch, time, ...) -> {"frames", "future_frames"} (no future for autoencoders).

    Works on numpy arrays and on tensors inside tf.data.
    """
    future_length = 0 if config.model == "autoencoder" else config.future_length
    parts = moving_mnist.split_clip(clips, config.input_length, future_length)
    if not future_length:
        parts.pop("future_frames")
    return parts


def split(config, clips):
    """Clips (batch, time, H, W, C), uint8 or float -> model input dict (numpy float32)."""
    clips = np.asarray(clips)
    if clips.dtype == np.uint8:
        clips = clips.astype(np.float32) / 255.0
    return _model_inputs(config, clips)


def train_dataset(config, digits, start_step=0, num_steps=None):
    """Training batches from step `start_step` on: dicts of float32 tensors."""
    dataset = moving_mnist.train_dataset(
        digits.images,
        batch_size=config.batch_size,
        num_frames=config.clip_length,
        num_digits=config.num_digits,
        seed=config.seed,
        frame_size=config.frame_size,
        step_length=config.step_length,
        start_batch=start_step,
        num_batches=num_steps,
    )
    # Splitting is cheap; prefetch again so the step never waits on it.
    dataset = dataset.map(lambda clips: _model_inputs(config, clips), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def sample_inputs(config, digits, count=3):
    """A few fixed training-distribution sequences for pictures during training."""
    clips = moving_mnist.make_batch(
        tf.constant(digits.images),
        tf.constant([SAMPLE_SEED, config.seed], tf.int64),
        count,
        config.clip_length,
        config.num_digits,
        config.frame_size,
        config.step_length,
    )
    return split(config, clips.numpy())


def test_set(config):
    """The fixed test set the config names, cut to eval_sequences and clip length."""
    if config.test_set == "npy":
        clips, digits = moving_mnist.load_canonical_npy(config.test_npy_path), "mnist_test_seq.npy"
    elif config.test_set == "tfds":
        clips, digits = moving_mnist.load_tfds_test(), "tfds:moving_mnist"
    else:
        bank = digit_bank(config, "test")
        clips = moving_mnist.test_sequences(
            tf.constant(bank.images),
            num_sequences=max(TEST_SET_SIZE, config.eval_sequences),
            num_frames=config.clip_length,
            num_digits=config.num_digits,
            seed=TEST_SEED,
            frame_size=config.frame_size,
            step_length=config.step_length,
        )
        digits = bank.source
    if clips.shape[1] < config.clip_length:
        raise ValueError(
            f"test clips have {clips.shape[1]} frames; --input_length + --future_length "
            f"= {config.clip_length} needs more"
        )
    return TestSet(clips[: config.eval_sequences, : config.clip_length], digits, config.test_set)


def test_batches(config, clips, batch_size):
    """Yields model input dicts (numpy float32) of up to batch_size test clips."""
    for start in range(0, len(clips), batch_size):
        yield split(config, clips[start : start + batch_size])
