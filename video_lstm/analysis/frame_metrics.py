"""Evaluation metrics of predicted frames, accumulated over a test set.

Conventions: "per frame" figures are *summed over the pixels of a frame* and
averaged over frames and sequences, as in the paper's tables (its Moving MNIST
figure is the cross-entropy per frame). SSIM is the usual mean SSIM of a frame
(Gaussian window 11, sigma 1.5, as `tf.image.ssim`). Batch computations use
`keras.ops`; accumulation is numpy.
"""

import math

import numpy as np
from keras import ops

from video_lstm.models import losses


def _gaussian_kernel(size=11, sigma=1.5):
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    kernel = np.exp(-(coords**2) / (2.0 * sigma**2))
    return (kernel / kernel.sum()).astype("float32")


def _band_matrix(length, kernel):
    """(length - size + 1, length) matrix whose rows slide `kernel`: a 'valid' 1-D filter."""
    size = kernel.shape[0]
    band = np.zeros((length - size + 1, length), np.float32)
    for row in range(length - size + 1):
        band[row, row : row + size] = kernel
    return band


def _blur(images, rows, cols):
    """Separable 'valid' filter of (N, H, W) images as two matmuls: rows @ x @ cols^T.

    Matmuls, rather than a 1-channel convolution, because BLAS is an order of
    magnitude faster at this on CPUs.
    """
    return ops.matmul(ops.matmul(rows, images), ops.transpose(cols))


def ssim(truth, predicted, max_value=1.0):
    """Mean SSIM of each frame.

    Args:
        truth, predicted: float (batch, time, height, width, channels).
    Returns:
        float (batch, time).
    """
    shape = ops.shape(truth)
    height, width, channels = truth.shape[2:]
    if min(height, width) < 11:
        raise ValueError(f"SSIM needs frames of at least 11x11 pixels, got {height}x{width}")
    # Channels are folded into the batch: each channel is compared on its own.
    def fold(x):
        x = ops.transpose(ops.cast(x, "float32"), (0, 1, 4, 2, 3))
        return ops.reshape(x, (-1, height, width))

    x, y = fold(truth), fold(predicted)
    kernel = _gaussian_kernel()
    rows = ops.convert_to_tensor(_band_matrix(height, kernel))
    cols = ops.convert_to_tensor(_band_matrix(width, kernel))
    blur = lambda images: _blur(images, rows, cols)  # noqa: E731
    c1, c2 = (0.01 * max_value) ** 2, (0.03 * max_value) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    per_image = ops.mean(ssim_map, axis=(1, 2))
    return ops.mean(ops.reshape(per_image, (shape[0], shape[1], channels)), axis=-1)


def batch_metrics(truth, logits, loss="cross_entropy"):
    """Per-sequence, per-frame metrics of one batch.

    Args:
        truth: float (batch, time, ...) in [0, 1].
        logits: float, same shape: the decoder's pre-activation outputs.
        loss: the model's loss; cross-entropy is reported for sigmoid models.
    Returns:
        dict of numpy (batch, time) arrays: cross_entropy (sigmoid models
        only), squared_error, absolute_error (sums over a frame's pixels),
        and ssim (image frames only).
    """
    truth = ops.cast(truth, "float32")
    logits = ops.cast(logits, "float32")
    predicted = ops.sigmoid(logits) if loss == "cross_entropy" else logits
    error = predicted - truth
    flat = lambda x: ops.sum(ops.reshape(x, ops.shape(x)[:2] + (-1,)), axis=-1)  # noqa: E731
    result = {
        "squared_error": flat(ops.square(error)),
        "absolute_error": flat(ops.abs(error)),
    }
    if loss == "cross_entropy":
        result["cross_entropy"] = losses.frame_cross_entropy(truth, logits)
    if len(truth.shape) == 5:
        result["ssim"] = ssim(truth, ops.clip(predicted, 0.0, 1.0))
    return {k: np.asarray(ops.convert_to_numpy(v), np.float64) for k, v in result.items()}


class FrameMetrics:
    """Sums batch metrics frame by frame over a test set."""

    def __init__(self):
        self.sums = {}
        self.num_sequences = 0
        self.pixels_per_frame = None

    def update(self, truth, logits, loss="cross_entropy"):
        self.pixels_per_frame = math.prod(truth.shape[2:])
        for name, values in batch_metrics(truth, logits, loss).items():
            self.sums[name] = self.sums.get(name, 0.0) + values.sum(axis=0)  # (time,)
        self.num_sequences += truth.shape[0]

    def result(self):
        """JSON-ready dict: per-frame averages and a by-frame breakdown."""
        if not self.num_sequences:
            raise ValueError("no sequences were evaluated")
        by_frame = {k: (v / self.num_sequences).tolist() for k, v in self.sums.items()}
        summary = {
            "cross_entropy_per_frame": _mean(by_frame.get("cross_entropy")),
            "mse_per_frame": _mean(by_frame["squared_error"]),
            "mae_per_frame": _mean(by_frame["absolute_error"]),
            "mse_per_pixel": _mean(by_frame["squared_error"]) / self.pixels_per_frame,
            "ssim": _mean(by_frame.get("ssim")),
            "num_sequences": self.num_sequences,
            "by_frame": by_frame,
        }
        return summary


def _mean(values):
    return None if values is None else float(np.mean(values))
