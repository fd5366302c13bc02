import keras
import numpy as np

from video_lstm.models import losses


def test_cross_entropy_is_keras_bce_summed_per_frame():
    rng = np.random.default_rng(0)
    targets = rng.uniform(size=(2, 3, 4, 4, 1)).astype("float32")
    logits = rng.normal(scale=3, size=targets.shape).astype("float32")
    ours = np.asarray(losses.frame_cross_entropy(targets, logits))
    reference = keras.losses.binary_crossentropy(
        targets.reshape(2, 3, -1, 1), logits.reshape(2, 3, -1, 1), from_logits=True
    )
    assert ours.shape == (2, 3)
    np.testing.assert_allclose(ours, np.asarray(reference).sum(-1), rtol=1e-5)


def test_cross_entropy_stays_finite_for_saturated_logits():
    targets = np.array([[[0.0, 1.0]]], "float32")
    logits = np.array([[[-200.0, 200.0]]], "float32")
    value = np.asarray(losses.frame_cross_entropy(targets, logits))
    assert np.isfinite(value).all() and value[0, 0] < 1e-6


def test_squared_error_sums_over_the_frame():
    targets = np.zeros((1, 2, 3), "float32")
    predictions = np.ones((1, 2, 3), "float32")
    np.testing.assert_array_equal(np.asarray(losses.frame_squared_error(targets, predictions)), [[3, 3]])


def test_unknown_loss_is_named():
    import pytest

    with pytest.raises(ValueError, match="'l1'"):
        losses.get("l1")
