"""The Moving MNIST trajectory rule, written once for NumPy arrays and TensorFlow tensors.

Per digit: a start position in units of the free range [0, 1) on each axis,
a direction `angle` in [0, 2 pi), a speed of `step_length` free ranges per
frame, and reflection at both walls. In closed form: the unreflected path
`start + step_length * (sin a, cos a) * t` folded into [0, 1] by a triangle
wave, times the free range `frame_size - digit_size` in pixels (the callers
round it to whole pixels).

Both generators (`pipelines/moving_mnist_tf.py` in tf ops, `moving_mnist_numpy.py`
in NumPy) call `pixel_path` with float64 arrays or tensors, so they do the same
IEEE float64 operations in the same order and agree bit for bit. That is why
sine and cosine are a polynomial of + and * here: NumPy's and Eigen's library
`sin` differ in the last bit (in float32, ~5% of angles), which moves a digit
by a pixel where a position rounds near .5.
"""

import math

# Taylor coefficients of sin(x) / x and cos(x) in x**2, highest first; on
# |x| <= pi the first omitted terms are below 1e-16.
_SIN = tuple((-1) ** k / math.factorial(2 * k + 1) for k in reversed(range(15)))
_COS = tuple((-1) ** k / math.factorial(2 * k) for k in reversed(range(15)))


def _horner(coefficients, x2):
    value = coefficients[0] * x2 + coefficients[1]
    for c in coefficients[2:]:
        value = value * x2 + c
    return value


def sin_cos(angle):
    """(sin, cos) of float64 `angle` in [0, 2 pi), by + and * only (same bits in NumPy and TF).

    With x = angle - pi in [-pi, pi): sin(angle) = -sin(x), cos(angle) = -cos(x).
    """
    x = angle - math.pi
    x2 = x * x
    return -(x * _horner(_SIN, x2)), -_horner(_COS, x2)


def triangle_wave(x):
    """Reflects x into [0, 1] off the walls at 0 and 1: x -> 1 - |x mod 2 - 1| (floored mod)."""
    return 1.0 - abs(x % 2.0 - 1.0)


def pixel_path(start, angle, time, free, step_length, stack):
    """Unrounded top-left positions in pixels, float64.

    Args:
        start: float64 (batch, 1, num_digits, 2), (row, col) in [0, 1) of the free range.
        angle: float64 (batch, 1, num_digits), in [0, 2 pi).
        time: float64 (1, num_frames, 1, 1), 0, 1, 2, ...
        free: the free range frame_size - digit_size, in pixels.
        step_length: distance per frame as a fraction of the free range.
        stack: `np.stack` or `tf.stack`.

    Returns:
        float64 (batch, num_frames, num_digits, 2) in [0, free].
    """
    sin, cos = sin_cos(angle)
    velocity = step_length * stack([sin, cos], axis=-1)
    return triangle_wave(start + velocity * time) * float(free)
