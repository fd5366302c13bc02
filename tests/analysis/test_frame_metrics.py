import numpy as np
import pytest
import tensorflow as tf

from video_lstm.analysis import frame_metrics


def frames(seed, shape=(2, 3, 16, 16, 1)):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def test_ssim_matches_tensorflow():
    truth, predicted = frames(0), frames(1)
    predicted = 0.5 * predicted + 0.5 * truth  # correlated, so SSIM is far from 0
    ours = np.asarray(frame_metrics.ssim(truth, predicted))
    reference = tf.image.ssim(truth, predicted, max_val=1.0).numpy()
    assert ours.shape == (2, 3)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_perfect_prediction_scores_perfectly():
    truth = (frames(0) > 0.5).astype("float32")
    logits = (truth * 2 - 1) * 30.0
    result = frame_metrics.batch_metrics(truth, logits)
    assert result["cross_entropy"].max() < 1e-6
    assert result["squared_error"].max() < 1e-9
    np.testing.assert_allclose(result["ssim"], 1.0, atol=1e-4)


def test_frame_metrics_average_per_frame_sums():
    truth = np.zeros((4, 2, 16, 16, 1), "float32")
    logits = np.zeros_like(truth)  # sigmoid -> 0.5 everywhere
    accumulator = frame_metrics.FrameMetrics()
    accumulator.update(truth[:3], logits[:3])
    accumulator.update(truth[3:], logits[3:])
    result = accumulator.result()
    assert result["num_sequences"] == 4
    np.testing.assert_allclose(result["mse_per_frame"], 256 * 0.25)
    np.testing.assert_allclose(result["mae_per_frame"], 256 * 0.5)
    np.testing.assert_allclose(result["cross_entropy_per_frame"], 256 * np.log(2), rtol=1e-5)
    assert len(result["by_frame"]["ssim"]) == 2


def test_squared_error_models_report_no_cross_entropy():
    accumulator = frame_metrics.FrameMetrics()
    accumulator.update(np.zeros((1, 2, 5), "float32"), np.ones((1, 2, 5), "float32"), loss="squared_error")
    result = accumulator.result()
    assert result["cross_entropy_per_frame"] is None and result["ssim"] is None
    assert result["mse_per_frame"] == 5.0


def test_empty_and_tiny_inputs_are_refused():
    with pytest.raises(ValueError, match="no sequences"):
        frame_metrics.FrameMetrics().result()
    with pytest.raises(ValueError, match="11x11"):
        frame_metrics.ssim(np.zeros((1, 1, 8, 8, 1), "float32"), np.zeros((1, 1, 8, 8, 1), "float32"))
