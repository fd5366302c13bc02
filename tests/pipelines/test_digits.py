"""Tests of pipelines.digits: finding/loading MNIST and rendered fallback digits."""

import logging
import os

import numpy as np
import pytest

from pipelines import digits


def _write_mnist(path, n_train=6, n_test=4, drop=(), x_shape=(28, 28)):
    """Writes a tiny mnist.npz with random contents; returns its arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, *x_shape), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, *x_shape), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    np.savez(path, **{k: v for k, v in arrays.items() if k not in drop})
    return arrays


@pytest.fixture
def no_mnist(monkeypatch, tmp_path):
    """Points $VIDEO_LSTM_DATA_DIR and $KERAS_HOME at empty directories."""
    data_dir, keras_home = tmp_path / "data", tmp_path / "keras"
    data_dir.mkdir()
    keras_home.mkdir()
    monkeypatch.setenv(digits.DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return data_dir, keras_home


def _centre_of_mass(images):
    """float64 (N, 2) (row, col) centres of mass of (N, H, W) images."""
    images = images.astype(np.float64)
    mass = images.sum(axis=(1, 2))
    rows = images.sum(axis=2) @ np.arange(images.shape[1]) / mass
    cols = images.sum(axis=1) @ np.arange(images.shape[2]) / mass
    return np.stack([rows, cols], axis=1)


def test_render_digits_shape_dtype_and_balanced_labels():
    images, labels = digits.render_digits(20, seed=0)
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (20,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 2))
    assert (images.max(axis=(1, 2)) == 255).all()
    assert ((images > 127).sum(axis=(1, 2)) >= 20).all(), "some digit is (nearly) empty"


def test_render_digits_fit_20x20_box_centred_by_mass():
    images, _ = digits.render_digits(30, seed=1)
    nonzero = images > 0
    heights = nonzero.any(axis=2).sum(axis=1)
    widths = nonzero.any(axis=1).sum(axis=1)
    assert (np.maximum(heights, widths) <= 20).all()
    assert (np.maximum(heights, widths) >= 18).all()
    # MNIST puts the centre of mass at (14, 14); ours is within jitter+rounding.
    np.testing.assert_allclose(_centre_of_mass(images), 14.0, atol=1.01)


def test_render_digits_deterministic_per_seed():
    a_images, a_labels = digits.render_digits(10, seed=3)
    b_images, b_labels = digits.render_digits(10, seed=3)
    c_images, _ = digits.render_digits(10, seed=4)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_labels, b_labels)
    assert not np.array_equal(a_images, c_images)


def test_rendered_classes_are_distinguishable():
    """Class means of one seed classify another seed's digits far above chance."""
    train_x, train_y = digits.render_digits(100, seed=0)
    test_x, test_y = digits.render_digits(50, seed=1)
    means = np.stack([train_x[train_y == c].reshape(-1, 784).mean(0) for c in range(10)])
    flat = test_x.reshape(-1, 1, 784).astype(np.float64)
    predicted = ((flat - means[None]) ** 2).sum(-1).argmin(axis=1)
    assert (predicted == test_y).mean() > 0.6  # chance is 0.1


def test_load_digits_rendered_train_and_test_differ():
    train = digits.load_digits("rendered", "train", rendered_count=10, seed=0)
    test = digits.load_digits("rendered", "test", rendered_count=10, seed=0)
    assert (train.source, train.origin) == ("rendered", "opencv-hershey")
    assert train.images.shape == (10, 28, 28) and len(train) == 10
    assert not np.array_equal(train.images, test.images)


def test_load_mnist_npz_reads_valid_file(tmp_path):
    path = tmp_path / "mnist.npz"
    arrays = _write_mnist(path)
    loaded = digits.load_mnist_npz(str(path))
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)


def test_load_mnist_npz_missing_key(tmp_path):
    path = tmp_path / "mnist.npz"
    _write_mnist(path, drop=("x_test",))
    with pytest.raises(ValueError, match=f"mnist.npz at {path} has no key 'x_test'"):
        digits.load_mnist_npz(str(path))


def test_load_mnist_npz_corrupt_file(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(ValueError, match="not a readable .npz"):
        digits.load_mnist_npz(str(path))


def test_load_mnist_npz_wrong_shape(tmp_path):
    path = tmp_path / "mnist.npz"
    _write_mnist(path, x_shape=(28, 27))
    with pytest.raises(ValueError, match=r"x_train is uint8 \(6, 28, 27\); expected uint8"):
        digits.load_mnist_npz(str(path))


def test_find_mnist_search_order(no_mnist, tmp_path):
    data_dir, keras_home = no_mnist
    assert digits.find_mnist() is None
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        digits.find_mnist(str(tmp_path / "missing.npz"))
    (keras_home / "datasets").mkdir()
    cached = keras_home / "datasets" / "mnist.npz"
    _write_mnist(cached)
    assert digits.find_mnist() == str(cached)
    _write_mnist(data_dir / "mnist.npz")
    assert digits.find_mnist() == str(data_dir / "mnist.npz")
    explicit = tmp_path / "mine.npz"
    _write_mnist(explicit)
    assert digits.find_mnist(str(explicit)) == str(explicit)


def test_load_digits_mnist_from_data_dir(no_mnist):
    data_dir, _ = no_mnist
    arrays = _write_mnist(data_dir / "mnist.npz")
    bank = digits.load_digits("mnist", "test", allow_download=False)
    assert (bank.source, bank.origin) == ("mnist", str(data_dir / "mnist.npz"))
    np.testing.assert_array_equal(bank.images, arrays["x_test"])
    assert bank.labels.dtype == np.int64
    np.testing.assert_array_equal(bank.labels, arrays["y_test"])


def test_load_digits_mnist_required_but_absent(no_mnist):
    with pytest.raises(digits.MnistNotFoundError, match="mnist.npz") as info:
        digits.load_digits("mnist", allow_download=False)
    assert isinstance(info.value, FileNotFoundError)
    assert digits.DATA_DIR_ENV in str(info.value) and "--mnist_path" in str(info.value)


def test_load_digits_explicit_missing_path_raises_even_in_auto(tmp_path):
    with pytest.raises(digits.MnistNotFoundError, match="nope.npz"):
        digits.load_digits("auto", mnist_path=str(tmp_path / "nope.npz"))


def test_load_digits_auto_falls_back_with_one_warning(no_mnist, caplog):
    with caplog.at_level(logging.WARNING):
        bank = digits.load_digits("auto", allow_download=False, rendered_count=10)
    assert (bank.source, bank.origin) == ("rendered", "opencv-hershey")
    assert bank.images.shape == (10, 28, 28)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "mnist.npz" in warnings[0].getMessage()


def test_load_digits_rejects_unknown_source_and_split():
    with pytest.raises(ValueError, match=r"source='emnist'; expected one of .*rendered"):
        digits.load_digits("emnist")
    with pytest.raises(ValueError, match="split='val'"):
        digits.load_digits("rendered", split="val")


def test_real_mnist_from_data_dir(monkeypatch, tmp_path):
    data_dir = os.environ.get(digits.DATA_DIR_ENV)
    if not data_dir or not os.path.isfile(os.path.join(data_dir, "mnist.npz")):
        pytest.skip(f"real MNIST absent: set ${digits.DATA_DIR_ENV} to a folder with mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # No download, no Keras cache.
    train = digits.load_digits("mnist", "train", allow_download=False)
    test = digits.load_digits("mnist", "test", allow_download=False)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.origin == os.path.join(data_dir, "mnist.npz")
    np.testing.assert_array_equal(np.unique(test.labels), np.arange(10))
    # MNIST digits are centred by centre of mass too.
    np.testing.assert_allclose(_centre_of_mass(test.images[:500]).mean(0), 14.0, atol=0.3)
