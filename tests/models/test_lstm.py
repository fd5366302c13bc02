"""The recurrent core against Keras' own LSTM."""

import keras
import numpy as np
import pytest

from video_lstm.models import LSTMStack


def keras_reference(stack, inputs):
    """The same stack built from keras.layers.LSTM with copied weights."""
    x = inputs
    for layer in range(stack.num_layers):
        lstm = keras.layers.LSTM(stack.units, return_sequences=True)
        lstm.build(x.shape)
        lstm.cell.kernel.assign(stack.kernels[layer])
        lstm.cell.recurrent_kernel.assign(stack.recurrent_kernels[layer])
        lstm.cell.bias.assign(stack.biases[layer])
        x = lstm(x)
    return np.asarray(x)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("init_scale", [0.0, 0.3])
def test_matches_keras_lstm(num_layers, init_scale):
    inputs = np.random.default_rng(0).normal(size=(3, 5, 7)).astype("float32")
    stack = LSTMStack(units=6, num_layers=num_layers, init_scale=init_scale, seed=1)
    outputs, states = stack(inputs)
    assert outputs.shape == (3, 5, 6)
    assert len(states) == num_layers
    np.testing.assert_allclose(np.asarray(outputs), keras_reference(stack, inputs), atol=1e-5)
    np.testing.assert_allclose(np.asarray(states[-1][0]), np.asarray(outputs)[:, -1], atol=1e-6)


def test_step_by_step_equals_whole_sequence():
    inputs = np.random.default_rng(1).normal(size=(2, 4, 5)).astype("float32")
    stack = LSTMStack(units=3, num_layers=2, seed=0)
    outputs, final = stack(inputs)
    states = stack.zero_states(2)
    for t in range(4):
        top, states = stack.step(inputs[:, t], states)
        np.testing.assert_allclose(np.asarray(top), np.asarray(outputs)[:, t], atol=1e-6)
    for (h1, c1), (h2, c2) in zip(final, states):
        np.testing.assert_allclose(np.asarray(c1), np.asarray(c2), atol=1e-6)


def test_stack_without_input_is_driven_by_its_state():
    stack = LSTMStack(units=4, num_layers=1, has_input=False, init_scale=0.5, seed=0)
    stack.build(None)
    assert stack.kernels == [None]
    start = [[np.ones((2, 4), "float32"), np.zeros((2, 4), "float32")]]
    outputs, _ = stack(None, initial_states=start, num_steps=3)
    assert outputs.shape == (2, 3, 4)
    assert not np.allclose(np.asarray(outputs)[:, 0], np.asarray(outputs)[:, 1])


def test_forget_bias_defaults_to_one():
    stack = LSTMStack(units=2, init_scale=0.0)
    stack.build((None, None, 3))
    np.testing.assert_array_equal(np.asarray(stack.biases[0]), [0, 0, 1, 1, 0, 0, 0, 0])


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="units >= 1"):
        LSTMStack(units=0)


def test_a_time_axis_known_only_at_run_time_runs_in_the_one_loop():
    """Traced with an unknown time length (as the serving graph is), the stack
    runs `scan_steps` and gives the unrolled path's outputs, for any length."""
    import tensorflow as tf

    stack = LSTMStack(units=5, num_layers=2, init_scale=0.3, seed=2)
    inputs = np.random.default_rng(3).normal(size=(2, 6, 4)).astype("float32")
    unrolled, final = stack(inputs)
    dynamic = tf.function(lambda x: stack(x), input_signature=[tf.TensorSpec((None, None, 4), tf.float32)])
    for length in (6, 2):
        outputs, states = dynamic(tf.constant(inputs[:, :length]))
        np.testing.assert_allclose(np.asarray(outputs), np.asarray(unrolled)[:, :length], atol=1e-6)
    for (h1, c1), (h2, c2) in zip(final, dynamic(tf.constant(inputs))[1]):
        np.testing.assert_allclose(np.asarray(h1), np.asarray(h2), atol=1e-6)
        np.testing.assert_allclose(np.asarray(c1), np.asarray(c2), atol=1e-6)


def test_scan_steps_unrolled_and_scanned_agree():
    from keras import ops

    from video_lstm.models.lstm import scan_steps

    def step(carry, x):
        total = carry[0] + ops.cast(x, "float32")
        return (total,), ops.stack([total[:, 0], 2 * total[:, 0]], axis=-1)

    xs = ops.arange(5)
    start = (ops.ones((3, 1)),)
    (a,), ys_a = scan_steps(step, start, xs, output=ops.zeros((3, 2)))
    (b,), ys_b = scan_steps(step, start, xs, output=ops.zeros((3, 2)), unroll=True)
    assert tuple(ys_a.shape) == (5, 3, 2)
    np.testing.assert_allclose(np.asarray(ys_a), np.asarray(ys_b))
    np.testing.assert_allclose(np.asarray(a), 11.0)
