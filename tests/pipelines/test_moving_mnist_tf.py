"""Tests of pipelines.moving_mnist_tf: trajectories, rendering, tf.data, test set."""

import os

import numpy as np
import pytest
import tensorflow as tf

from pipelines import moving_mnist_tf as mm
from pipelines.sources import split_clip


@pytest.fixture(scope="module")
def bank():
    """uint8 (8, 28, 28) digits with every pixel lit, so any clipping shows."""
    return np.random.default_rng(0).integers(1, 256, (8, 28, 28), dtype=np.uint8)


@pytest.fixture
def fresh_memo():
    mm._TEST_SET_MEMO.clear()
    yield
    mm._TEST_SET_MEMO.clear()


def _mass(frames):
    """Sum of each frame: (batch, time)."""
    return np.asarray(frames, np.float64).sum(axis=(2, 3, 4))


def test_make_batch_shape_dtype_range(bank):
    frames = mm.make_batch(bank, seed=0, batch_size=2, num_frames=5)
    assert frames.shape == (2, 5, 64, 64, 1) and frames.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(frames)) and float(tf.reduce_max(frames)) <= 1.0
    assert float(tf.reduce_max(frames)) > 0.5


def test_make_batch_deterministic_per_seed(bank):
    a = mm.make_batch(bank, [3, 9], 2, 4)
    b = mm.make_batch(tf.constant(bank), tf.constant([3, 9], tf.int64), 2, 4)
    c = mm.make_batch(bank, [3, 10], 2, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(mm.make_batch(bank, 5, 2, 4), mm.make_batch(bank, [5, 0], 2, 4))


def test_make_batch_same_in_tf_function(bank):
    digits = tf.constant(bank)
    graph_fn = tf.function(lambda seed: mm.make_batch(digits, seed, 2, 4, num_digits=3))
    seed = tf.constant([11, 2], tf.int64)
    np.testing.assert_array_equal(graph_fn(seed), mm.make_batch(digits, seed, 2, 4, num_digits=3))


def test_train_dataset_batch_i_is_make_batch_of_batch_seed(bank):
    dataset = mm.train_dataset(bank, batch_size=2, num_frames=3, seed=7, num_batches=3)
    assert dataset.element_spec.shape == (2, 3, 64, 64, 1)
    batches = list(dataset)
    assert len(batches) == 3
    for i, batch in enumerate(batches):
        np.testing.assert_array_equal(batch, mm.make_batch(bank, mm.batch_seed(7, i), 2, 3))
    assert not np.array_equal(batches[0], batches[1])


def test_train_dataset_start_batch_resumes(bank):
    full = list(mm.train_dataset(bank, 2, 3, seed=1, num_batches=3))
    resumed = list(mm.train_dataset(bank, 2, 3, seed=1, start_batch=2, num_batches=1))
    endless = list(mm.train_dataset(bank, 2, 3, seed=1, start_batch=1).take(2))
    assert len(resumed) == 1
    np.testing.assert_array_equal(resumed[0], full[2])
    np.testing.assert_array_equal(endless[0], full[1])
    np.testing.assert_array_equal(endless[1], full[2])


def test_trajectories_stay_in_frame_and_reflect(bank):
    free = 64 - 28
    positions = mm.trajectories([0, 1], batch_size=8, num_frames=200, num_digits=3).numpy()
    assert positions.shape == (8, 200, 3, 2) and positions.dtype == np.int32
    assert positions.min() == 0 and positions.max() == free  # walls are reached
    # A direction only reverses at a wall: where consecutive displacements have
    # opposite signs, the turning point is within one step of an edge.
    step = 0.1 * free
    d = np.diff(positions, axis=1)
    turns = d[:, :-1] * d[:, 1:] < 0
    turning_points = positions[:, 1:-1][turns]
    assert turns.sum() > 50
    assert (np.minimum(turning_points, free - turning_points) <= step + 1).all()


def test_trajectories_speed_is_step_length_times_free_range():
    frame_size, step_length = 228, 0.1  # free range 200 -> 20 pixels per frame
    step = step_length * (frame_size - 28)
    positions = mm.trajectories([4, 2], 16, 30, 2, frame_size=frame_size, step_length=step_length)
    positions = positions.numpy().astype(np.float64)
    length = np.linalg.norm(np.diff(positions, axis=1), axis=-1)
    # No wall hit in a step whose endpoint is more than a step from every wall.
    after = positions[:, 1:]
    clear = (np.minimum(after, 200 - after) > step + 1).all(axis=-1)
    assert clear.sum() > 100
    # Both endpoints are rounded (<= 0.5 per axis each): error <= sqrt(2).
    np.testing.assert_allclose(length[clear], step, atol=np.sqrt(2))
    assert abs(length[clear].mean() - step) < 0.2


def test_trajectories_start_uniform_over_free_range():
    start = mm.trajectories([1, 1], 2000, 1, 1).numpy()[:, 0, 0].astype(np.float64)
    assert start.min() <= 2 and start.max() >= 34
    np.testing.assert_allclose(start.mean(axis=0), 18.0, atol=1.0)


def test_single_digit_is_never_clipped():
    digit = np.random.default_rng(1).integers(1, 256, (1, 28, 28), dtype=np.uint8)
    for frame_size in (28, 40, 64):
        frames = mm.make_batch(digit, 3, 4, 30, num_digits=1, frame_size=frame_size)
        np.testing.assert_allclose(_mass(frames), digit.sum() / 255.0, rtol=1e-5)


def test_render_batch_places_digit_at_row_col(bank):
    positions = tf.constant([[[[5, 30]]]], tf.int32)  # (1, 1, 1, 2): row 5, col 30
    frame = mm.render_batch(bank, positions, tf.constant([[3]]), 64).numpy()[0, 0, :, :, 0]
    np.testing.assert_array_equal(np.round(frame[5:33, 30:58] * 255), bank[3])
    frame[5:33, 30:58] = 0
    assert frame.max() == 0


def test_non_overlapping_digits_add_their_masses(bank):
    # Three digits in disjoint squares of a 100x100 frame, over two frames.
    positions = tf.constant([[[[0, 0], [0, 60], [60, 30]], [[70, 70], [0, 0], [40, 10]]]])
    indices = tf.constant([[0, 1, 2]])
    for num_digits in (1, 3):
        frames = mm.render_batch(
            bank, positions[:, :, :num_digits], indices[:, :num_digits], frame_size=100
        )
        expected = bank[:num_digits].astype(np.float64).sum() / 255.0
        np.testing.assert_allclose(_mass(frames), expected, rtol=1e-5)


def test_overlapping_digits_combine_by_max(bank):
    positions = tf.constant([[[[10, 10], [10, 10]]]])
    frames = mm.render_batch(bank, positions, tf.constant([[0, 1]]), 64).numpy()
    expected = np.maximum(bank[0], bank[1])
    np.testing.assert_array_equal(np.round(frames[0, 0, 10:38, 10:38, 0] * 255), expected)


def test_three_digit_frames_mass_between_max_and_sum(bank):
    frames = mm.make_batch(bank, 0, 4, 10, num_digits=3)
    mass = _mass(frames)
    digit_mass = bank.astype(np.float64).sum(axis=(1, 2)) / 255.0
    assert (mass <= 3 * digit_mass.max() + 1e-3).all()
    assert (mass >= digit_mass.min() - 1e-3).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(frame_size=20, num_digits=2, num_frames=10),
            r"frame_size=20 is smaller than a digit \(28 pixels\); expected frame_size >= 28",
        ),
        (dict(frame_size=64, num_digits=0, num_frames=9), "num_digits=0; expected num_digits >= 1"),
        (dict(frame_size=64, num_digits=2, num_frames=0), "num_frames=0; expected num_frames >= 1"),
    ],
)
def test_validate_geometry_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mm.validate_geometry(**kwargs)


def test_make_batch_rejects_small_frames(bank):
    with pytest.raises(ValueError, match="frame_size=20"):
        mm.make_batch(bank, 0, 1, 2, frame_size=20)


def test_test_sequences_deterministic_uint8_and_chunk_independent(bank, fresh_memo, monkeypatch):
    kwargs = dict(num_sequences=5, num_frames=4, seed=3)
    first = mm.test_sequences(bank, **kwargs)
    assert first.shape == (5, 4, 64, 64, 1) and first.dtype == np.uint8
    assert mm.test_sequences(bank, **kwargs) is first  # memoised
    mm._TEST_SET_MEMO.clear()
    monkeypatch.setattr(mm, "_CHUNK_SIZE", 2)  # 3 chunks instead of 1
    np.testing.assert_array_equal(mm.test_sequences(bank, **kwargs), first)
    assert not np.array_equal(mm.test_sequences(bank, num_sequences=5, num_frames=4, seed=4), first)
    # Same digits and trajectories as make_batch with the test stream's seed.
    frames = mm.make_batch(bank, [3, mm._TEST_STREAM], 5, 4)
    np.testing.assert_array_equal(np.round(frames.numpy() * 255), first)


def test_test_sequences_disk_cache_round_trip(bank, fresh_memo, tmp_path, monkeypatch):
    kwargs = dict(num_sequences=3, num_frames=2, seed=5, cache_dir=str(tmp_path))
    generated = mm.test_sequences(bank, **kwargs)
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].endswith(".npy")
    assert "n3_t2_d2_s5_f64_step0.1_" in files[0]
    mm._TEST_SET_MEMO.clear()

    def fail(*args, **kwargs):
        raise AssertionError("regenerated instead of reading the cache")

    monkeypatch.setattr(mm, "_generate_test_set", fail)
    np.testing.assert_array_equal(mm.test_sequences(bank, **kwargs), generated)
    # Another digit bank has another file name, so it is not served this cache.
    with pytest.raises(AssertionError, match="regenerated"):
        mm.test_sequences(bank[::-1], **kwargs)


def test_test_sequences_replaces_corrupt_cache(bank, fresh_memo, tmp_path):
    kwargs = dict(num_sequences=2, num_frames=2, seed=6, cache_dir=str(tmp_path))
    generated = mm.test_sequences(bank, **kwargs)
    (path,) = tmp_path.iterdir()
    path.write_bytes(b"truncated")
    mm._TEST_SET_MEMO.clear()
    np.testing.assert_array_equal(mm.test_sequences(bank, **kwargs), generated)
    np.testing.assert_array_equal(np.load(path), generated)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left


def test_digit_bank_is_validated():
    expected = r"digits have shape \(4, 28, 27\); expected \(N, 28, 28\)"
    with pytest.raises(ValueError, match=expected):
        mm.make_batch(np.zeros((4, 28, 27), np.uint8), 0, 1, 2)
    with pytest.raises(ValueError, match="digits have dtype int32"):
        mm.make_batch(np.zeros((4, 28, 28), np.int32), 0, 1, 2)


def test_load_canonical_npy_transposes_to_sequence_major(tmp_path):
    time_major = np.random.default_rng(0).integers(0, 256, (20, 3, 64, 64), dtype=np.uint8)
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, time_major)
    sequences = mm.load_canonical_npy(str(path))
    assert sequences.shape == (3, 20, 64, 64, 1) and sequences.dtype == np.uint8
    np.testing.assert_array_equal(sequences[2, 7, :, :, 0], time_major[7, 2])
    np.testing.assert_array_equal(sequences[..., 0], time_major.transpose(1, 0, 2, 3))


def test_load_canonical_npy_rejects_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        mm.load_canonical_npy(str(tmp_path / "missing.npy"))
    wrong_shape = tmp_path / "wrong_shape.npy"
    np.save(wrong_shape, np.zeros((3, 20, 64, 64), np.uint8))
    expected = r"wrong_shape.npy holds uint8 \(3, 20, 64, 64\).*layout uint8 \(20, N, 64, 64\)"
    with pytest.raises(ValueError, match=expected):
        mm.load_canonical_npy(str(wrong_shape))
    wrong_dtype = tmp_path / "wrong_dtype.npy"
    np.save(wrong_dtype, np.zeros((20, 2, 64, 64), np.float32))
    with pytest.raises(ValueError, match="wrong_dtype.npy holds float32"):
        mm.load_canonical_npy(str(wrong_dtype))


def test_damaged_test_files_are_named_without_misleading_advice(tmp_path):
    """Random bytes, a truncated file and too few sequences are refused in one line (checked
    from the header at start-up); numpy's own advice (allow_pickle) never reaches the user."""
    from pipelines import digits, moving_mnist_numpy

    random_bytes = tmp_path / "random.npy"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(3000))
    truncated = tmp_path / "truncated.npy"
    np.save(truncated, np.zeros((20, 4, 64, 64), np.uint8))
    truncated.write_bytes(truncated.read_bytes()[:20000])
    ten = tmp_path / "ten.npy"
    np.save(ten, np.zeros((20, 10, 64, 64), np.uint8))
    for path, message in ((random_bytes, "random.npy is not a .npy file"),
                          (truncated, "truncated.npy is not a readable .npy file")):
        for load in (mm.load_canonical_npy, lambda p: moving_mnist_numpy.check_canonical_npy(p, 1)):
            with pytest.raises(ValueError, match=message) as raised:
                load(str(path))
            assert "allow_pickle" not in str(raised.value) and "\n" not in str(raised.value)
    assert moving_mnist_numpy.check_canonical_npy(str(ten), 10) == 10
    with pytest.raises(ValueError, match=r"ten.npy holds 10 sequences; --eval_sequences=64 asks for more"):
        moving_mnist_numpy.check_canonical_npy(str(ten), 64)
    with pytest.raises(ValueError, match="random.npy is not an .npz file") as raised:
        digits.load_mnist_npz(str(random_bytes))
    assert "allow_pickle" not in str(raised.value)


def test_split_clip_numpy_and_tensor():
    clips = np.arange(2 * 6 * 2 * 2 * 1).reshape(2, 6, 2, 2, 1)
    for frames in (clips, tf.constant(clips)):
        parts = split_clip(frames, input_length=4, future_length=2)
        np.testing.assert_array_equal(parts["frames"], clips[:, :4])
        np.testing.assert_array_equal(parts["future_frames"], clips[:, 4:6])
    assert split_clip(clips, 3, 0)["future_frames"].shape == (2, 0, 2, 2, 1)
    with pytest.raises(ValueError, match="clip has 6 frames"):
        split_clip(clips, 4, 3)


def test_split_clip_in_dataset_map(bank):
    dataset = mm.train_dataset(bank, 2, 5, num_batches=1).map(lambda f: split_clip(f, 3, 2))
    parts = next(iter(dataset))
    assert parts["frames"].shape == (2, 3, 64, 64, 1)
    assert parts["future_frames"].shape == (2, 2, 64, 64, 1)


def test_split_clip_checks_unknown_time_at_run_time():
    spec = tf.TensorSpec((None, None, 2, 2, 1), tf.float32)
    split = tf.function(lambda f: split_clip(f, 3, 2)["future_frames"], input_signature=[spec])
    assert split(tf.zeros((1, 6, 2, 2, 1))).shape == (1, 2, 2, 2, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="input_length"):
        split(tf.zeros((1, 4, 2, 2, 1)))


def test_tfds_moving_mnist_builder_gets_past_imports_offline(tmp_path):
    # tensorflow-datasets reads its own files through importlib_resources (via
    # etils) without installing it; without it, preparing or loading died with
    # ModuleNotFoundError. Here nothing is prepared, so TFDS must say so.
    import tensorflow_datasets as tfds

    builder = tfds.builder("moving_mnist", data_dir=str(tmp_path))
    assert os.path.isfile(type(builder).code_path)  # what download_and_prepare imports it for
    with pytest.raises(Exception, match="download_and_prepare") as info:
        tfds.load("moving_mnist", split="test", data_dir=str(tmp_path), download=False)
    assert not isinstance(info.value, ImportError)
