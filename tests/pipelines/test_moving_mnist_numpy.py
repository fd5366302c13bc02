"""The NumPy Moving MNIST equals the tf.data generator: TF's stateless RNG in NumPy, bit for bit,
and the same frames for the same seed (training stream, sample clips, fixed test set)."""

import numpy as np
import pytest

from pipelines import digits as digits_lib
from pipelines import moving_mnist_numpy as npm
from pipelines import stateless_random as sr
from pipelines import trajectory

tf = pytest.importorskip("tensorflow")
from pipelines import moving_mnist_tf as tfm  # noqa: E402  (after the skip when TensorFlow is absent)

SEEDS = ([0, 0], [1234, 1], [-5, 7], [2**62, -(2**63)])


@pytest.fixture(scope="module")
def bank():
    return digits_lib.render_digits(30, seed=3)[0]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(), (3,), (5, 1, 2, 2), (301, 2)])
def test_stateless_draws_equal_tensorflow(seed, shape):
    s = tf.constant(seed, tf.int64)
    cases = (
        (tf.random.stateless_uniform(shape, s), sr.uniform(shape, seed)),
        (tf.random.stateless_uniform(shape, s, maxval=2.0 * np.pi), sr.uniform(shape, seed, maxval=2.0 * np.pi)),
        (tf.random.stateless_uniform(shape, s, 3, 60000, tf.int32), sr.uniform_int(shape, seed, 3, 60000)),
        (tf.random.stateless_uniform(shape, s, None, None, tf.int64), sr.uniform_full_int64(shape, seed)),
    )
    for expected, got in cases:
        assert got.dtype == expected.dtype.as_numpy_dtype and got.shape == tuple(shape)
        np.testing.assert_array_equal(got, expected.numpy())


@pytest.mark.parametrize("seed", SEEDS)
def test_split_and_fold_in_equal_tensorflow(seed):
    s = tf.constant(seed, tf.int64)
    for num in (2, 5):
        np.testing.assert_array_equal(sr.split(seed, num), tf.random.split(s, num).numpy())
    for data in (0, 1, 77, 2**40):
        expected = tf.random.fold_in(s, tf.constant(data, tf.int64)).numpy()
        np.testing.assert_array_equal(sr.fold_in(seed, data), expected)


@pytest.mark.parametrize("count", [1, 4, 7, 18])
def test_draws_of_many_seeds_equal_each_seeds_draws(count):
    seeds = np.array(SEEDS, np.int64)
    bits = sr.random_bits_of_seeds(seeds, count)
    assert bits.dtype == np.uint32 and bits.shape == (len(SEEDS), count)
    for seed, row in zip(SEEDS, bits):
        np.testing.assert_array_equal(row, sr.random_bits(seed, count))
    for seed, pairs in zip(SEEDS, sr.split_seeds(seeds, 3)):
        np.testing.assert_array_equal(pairs, sr.split(seed, 3))


@pytest.mark.parametrize("seed, steps", [(7, [0, 1, 2, 9]), (-3, [2**40, 5]), (2**40, [3])])
def test_batches_drawn_together_equal_each_batch_drawn_alone(seed, steps):
    """sample_steps (the device stream's draws, 16 steps at a time) gives each step's sample."""
    positions, indices = npm.sample_steps(seed, steps, 5, 7, 2, 300, 48, 0.15)
    assert positions.shape == (len(steps), 5, 7, 2, 2) and indices.shape == (len(steps), 5, 2)
    for k, step in enumerate(steps):
        expected = npm.sample(seed, step, 5, 7, 2, 300, 48, 0.15)
        np.testing.assert_array_equal(positions[k], expected[0])
        np.testing.assert_array_equal(indices[k], expected[1])
        assert positions[k].dtype == expected[0].dtype and indices[k].dtype == expected[1].dtype


def test_sin_cos_polynomial_is_accurate():
    angle = np.linspace(0.0, 2 * np.pi, 10001)[:-1]
    sin, cos = trajectory.sin_cos(angle)
    np.testing.assert_allclose(sin, np.sin(angle), rtol=0, atol=1e-14)
    np.testing.assert_allclose(cos, np.cos(angle), rtol=0, atol=1e-14)


def test_training_stream_equals_tf_data(bank):
    """Batches 3..8 of seed 7 (a resumed stream), 20 frames, 2 digits, 64x64."""
    dataset = tfm.train_dataset(bank, batch_size=6, num_frames=20, seed=7, start_batch=3, num_batches=6)
    for step, batch in enumerate(dataset, start=3):
        np.testing.assert_array_equal(npm.make_batch(bank, 7, step, 6, 20), batch.numpy())


def test_other_geometry_equals_tf_data(bank):
    dataset = tfm.train_dataset(bank, 4, 7, num_digits=3, seed=2, frame_size=40, step_length=0.2, num_batches=2)
    for step, batch in enumerate(dataset):
        expected = npm.make_batch(bank, 2, step, 4, 7, num_digits=3, frame_size=40, step_length=0.2)
        np.testing.assert_array_equal(expected, batch.numpy())


def test_seeded_batch_equals_tensorflow(bank):
    expected = tfm.make_batch(tf.constant(bank), tf.constant([4321, 5], tf.int64), 3, 20).numpy()
    np.testing.assert_array_equal(npm.make_batch_seeded(bank, [4321, 5], 3, 20), expected)


def test_fixed_test_set_equals_tensorflow(bank):
    expected = tfm.test_sequences(bank, num_sequences=300, num_frames=20, seed=1234)
    positions, indices = npm.test_set(bank, num_sequences=300, num_frames=20, seed=1234)
    frames = npm.render(bank, positions, indices)
    np.testing.assert_array_equal(np.round(frames * 255).astype(np.uint8), expected)
    # A smaller set is a prefix of a larger one (evaluation takes a prefix of 10,000).
    small = npm.test_set(bank, num_sequences=40, num_frames=20, seed=1234)
    np.testing.assert_array_equal(small[0], positions[:40])


def test_source_numpy_paths_equal_tensorflow_paths(bank):
    """The Moving MNIST source's TF-free stream, samples and test set equal its tf.data ones."""
    from pipelines import sources
    from video_lstm import config as config_lib

    config = config_lib.make(
        digits="rendered", units=8, batch_size=3, input_length=4, future_length=3, eval_sequences=5, seed=3
    )
    source = sources.build(config)
    reference = list(source.train_dataset(start_step=2, num_steps=2).as_numpy_iterator())
    with source.numpy_train_batches(start_step=2) as batches:
        for expected in reference:
            got = next(batches)
            assert set(got) == set(expected)
            for name in expected:
                np.testing.assert_array_equal(got[name], expected[name])
    np.testing.assert_array_equal(source.sample_clips(2, tensorflow=False), source.sample_clips(2))
    np.testing.assert_array_equal(source.test_set(tensorflow=False).clips, source.test_set().clips)


def test_frames_pasted_by_jax_equal_numpys_bit_for_bit(bank):
    """pipelines/moving_mnist_jax.py (the frames made on the model's device under JAX) gives
    NumPy's frames exactly, for one and three digits, on 28 and 40 pixel frames."""
    jax = pytest.importorskip("jax")
    from pipelines import moving_mnist_jax

    for step, (digits, size) in enumerate(((1, 28), (3, 40))):
        positions, indices = npm.sample_steps(5, [step, step + 1], 4, 6, digits, len(bank), size, 0.2)
        render = moving_mnist_jax.renderer(bank, size)
        batches = render(positions, indices)
        assert len(batches) == 2
        for k, batch in enumerate(batches):
            frames = np.asarray(jax.device_get(batch))
            assert frames.dtype == np.float32
            np.testing.assert_array_equal(frames, npm.render(bank, positions[k], indices[k], size))


def test_the_device_stream_equals_the_numpy_stream(small_mnist, monkeypatch):
    """DataSource.device_train_batches (JAX) gives numpy_train_batches' model inputs from any step,
    across the chunks of its draws and of its render calls."""
    pytest.importorskip("jax")
    from pipelines import sources
    from video_lstm.config import make

    config = make(units=4, frame_size=28, num_digits=2, input_length=3, future_length=2, batch_size=3, seed=4,
                  **small_mnist)
    source = sources.build(config)
    batch_bytes = 4 * 3 * 5 * 28 * 28
    assert source.render_chunk(64) == 64 and source.render_chunk(8, max_bytes=3 * batch_bytes) == 2
    monkeypatch.setattr(sources, "RENDER_BYTES", 2 * batch_bytes)
    assert source.render_chunk(4) == 2
    # Draws of 4 batches, rendered 2 per call: batches 7..16 cross both kinds of boundary.
    with source.device_train_batches(start_step=7, chunk=4) as device, \
            source.numpy_train_batches(start_step=7) as host:
        for _ in range(10):
            made, expected = next(device), next(host)
            assert sorted(made) == ["frames", "future_frames"]
            for key in made:
                np.testing.assert_array_equal(np.asarray(made[key]), expected[key])
