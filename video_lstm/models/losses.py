"""Per-frame losses, written with `keras.ops` so they run on any backend.

Both losses sum over the pixels (or features) of a frame, the convention of the
paper's figures ("cross-entropy per frame"), and return one value per frame so
callers can average over frames, batch, or report them frame by frame.
"""

from keras import ops


def _sum_over_frame(values):
    """float (batch, time, *frame) -> (batch, time)."""
    return ops.sum(ops.reshape(values, ops.shape(values)[:2] + (-1,)), axis=-1)


def frame_cross_entropy(targets, logits):
    """Binary cross-entropy of sigmoid(logits) against targets, summed per frame.

    Computed from logits (`max(z, 0) - z * y + log(1 + exp(-|z|))`), which is
    exact where sigmoid saturates.

    Args:
        targets: float (batch, time, ...) in [0, 1].
        logits: float, same shape.
    Returns:
        float (batch, time).
    """
    targets = ops.cast(targets, logits.dtype)
    per_pixel = ops.relu(logits) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits)))
    return _sum_over_frame(per_pixel)


def frame_squared_error(targets, predictions):
    """Squared error summed per frame.

    Args:
        targets: float (batch, time, ...).
        predictions: float, same shape (linear outputs).
    Returns:
        float (batch, time).
    """
    targets = ops.cast(targets, predictions.dtype)
    return _sum_over_frame(ops.square(predictions - targets))


LOSSES = {"cross_entropy": frame_cross_entropy, "squared_error": frame_squared_error}


def get(name):
    """Returns the per-frame loss function called `name`."""
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[name]
