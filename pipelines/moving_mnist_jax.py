"""Moving MNIST frames pasted by JAX on the model's device, equal to `moving_mnist_numpy.render`.

A batch's randomness (each digit's positions and which digit it is: a few
hundred integers, `moving_mnist_numpy.sample`) is drawn on the host; the frames
(batch x time x 64 x 64 floats: 84 MB at batch 256) are made where the model
runs, by one compiled function, so neither the host's cores nor the transfer to
an accelerator limit the step. The same positions and digits give the same
frames, bit for bit: digits are pasted as uint8 values, combined by max, then
scaled once by float32(1/255), as in NumPy (tests/pipelines/test_moving_mnist_numpy.py).

    render = renderer(digits, frame_size=64)     # compiled once per shape
    batches = render(positions, indices)          # K of float32 (B, T, S, S, 1), on the device
"""

import jax
import jax.numpy as jnp
import numpy as np


def render(digits, positions, indices, frame_size):
    """Digits pasted into frames, combined by max: float32 (B, T, S, S, 1) in [0, 1].

    Args:
        digits: uint8 (N, 28, 28) (a JAX array on the device, or NumPy).
        positions: int32 (B, T, D, 2), top-left (row, col) of each digit, each in
            [0, frame_size - 28].
        indices: int32 (B, D), which digit of `digits` each one is.
        frame_size: int, frame height and width (static under `jax.jit`).
    """
    digits = jnp.asarray(digits)
    glyphs = digits[indices]  # (B, D, 28, 28)
    size = glyphs.shape[-1]

    def frame(glyphs, where):  # glyphs (D, 28, 28), where (D, 2) -> one frame (S, S)
        pixels = jnp.zeros((frame_size, frame_size), digits.dtype)
        for d in range(glyphs.shape[0]):  # digits in turn, each max-ed into its square
            corner = (where[d, 0], where[d, 1])
            square = jax.lax.dynamic_slice(pixels, corner, (size, size))
            pixels = jax.lax.dynamic_update_slice(pixels, jnp.maximum(square, glyphs[d]), corner)
        return pixels

    per_time = jax.vmap(frame, in_axes=(None, 0))  # the same glyphs at every time step
    frames = jax.vmap(per_time, in_axes=(0, 0))(glyphs, positions).astype(jnp.float32)  # (B, T, S, S)
    scale = np.float32(1.0 / 255.0) if digits.dtype == jnp.uint8 else np.float32(1.0)
    return (frames * scale)[..., None]


def renderer(digits, frame_size, then=None):
    """`(positions, indices) -> [then(frames of batch k) for k]`, compiled (`jax.jit`), for
    the stacked draws of K batches (positions int32 (K, B, T, D, 2), indices int32 (K, B, D):
    `moving_mnist_numpy.sample_steps`): one transfer and one dispatch make K batches, each
    its own arrays. The digits are placed on the device once; `then`: a function of one
    batch's frames traced into the same program (e.g. cutting clips into model inputs), or
    None."""
    bank = jax.device_put(np.asarray(digits))
    then = then or (lambda frames: frames)

    def render_all(positions, indices):
        k, b = positions.shape[:2]
        frames = render(bank, positions.reshape(k * b, *positions.shape[2:]), indices.reshape(k * b, -1), frame_size)
        frames = frames.reshape(k, b, *frames.shape[1:])
        return [then(frames[i]) for i in range(k)]

    return jax.jit(render_all)
