"""The fast recurrent core equals stock `keras.layers.LSTM`, forward and backward.

`LSTMStack` hoists input projections and has a hand-written backward pass
(`lstm.lstm_sequence`); every role it plays is checked here against the same
weights in Keras' own LSTM layers, differentiated by TensorFlow's autodiff:
the encoder, a teacher-forced conditional decoder, a free-running conditional
decoder, and an unconditioned decoder. Gradients are compared for every weight
and for the initial states (through which the encoder learns).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from video_lstm.models import Encoder, FrameDecoder

UNITS, FRAME, BATCH, STEPS = 5, (3, 3, 1), 2, 4
DIM = 9


def stock_lstms(stack, input_dim):
    """keras.layers.LSTM layers with `stack`'s weights (zeros for a missing kernel)."""
    layers = []
    for layer in range(stack.num_layers):
        in_dim = input_dim if layer == 0 else stack.units
        lstm = keras.layers.LSTM(stack.units, return_sequences=True, return_state=True)
        lstm.build((None, None, in_dim))
        kernel = stack.kernels[layer]
        lstm.cell.kernel.assign(np.zeros((in_dim, 4 * stack.units)) if kernel is None else kernel)
        lstm.cell.recurrent_kernel.assign(stack.recurrent_kernels[layer])
        lstm.cell.bias.assign(stack.biases[layer])
        layers.append(lstm)
    return layers


def run_stock(layers, inputs, initial_states=None):
    states = []
    for layer, lstm in enumerate(layers):
        start = None if initial_states is None else list(initial_states[layer])
        inputs, h, c = lstm(inputs, initial_state=start)
        states.append([h, c])
    return inputs, states


def stock_weights(layers, stack):
    weights = []
    for layer, lstm in enumerate(layers):
        if stack.kernels[layer] is not None:
            weights.append(lstm.cell.kernel)
        weights += [lstm.cell.recurrent_kernel, lstm.cell.bias]
    return weights


def our_weights(stack):
    weights = []
    for layer in range(stack.num_layers):
        if stack.kernels[layer] is not None:
            weights.append(stack.kernels[layer])
        weights += [stack.recurrent_kernels[layer], stack.biases[layer]]
    return weights


def gradients(forward, variables, watched):
    """Value and grads of a fixed random projection of forward()'s output."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(watched)
        out = forward()
        probe = tf.constant(np.random.default_rng(9).normal(size=out.shape).astype("float32"))
        loss = tf.reduce_sum(out * probe)
    grads = tape.gradient(loss, list(variables) + list(watched))
    return np.asarray(out), [np.asarray(g) for g in grads]


def assert_all_close(ours, stock):
    out_a, grads_a = ours
    out_b, grads_b = stock
    np.testing.assert_allclose(out_a, out_b, atol=1e-5)
    assert len(grads_a) == len(grads_b)
    for a, b in zip(grads_a, grads_b):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def initial_states(num_layers, seed=3):
    rng = np.random.default_rng(seed)
    return [
        [tf.constant(rng.normal(size=(BATCH, UNITS)).astype("float32")) for _ in "hc"]
        for _ in range(num_layers)
    ]


def decoder(num_layers, conditional, feed="teacher"):
    dec = FrameDecoder(UNITS, num_layers, conditional=conditional, feed=feed, init_scale=0.5, seed=4)
    dec.build(FRAME)
    return dec


@pytest.mark.parametrize("num_layers", [1, 2])
def test_encoder_matches_stock_lstm(num_layers):
    frames = tf.constant(np.random.default_rng(0).uniform(size=(BATCH, STEPS) + FRAME).astype("float32"))
    encoder = Encoder(UNITS, num_layers, init_scale=0.5, seed=1)
    encoder.build(frames.shape)
    stock = stock_lstms(encoder.lstm, DIM)

    def ours():
        rep = encoder(frames)
        return tf.concat([rep["outputs"][:, -1], rep["states"][0][1]], axis=-1)

    def reference():
        outputs, states = run_stock(stock, tf.reshape(frames, (BATCH, STEPS, DIM)))
        return tf.concat([outputs[:, -1], states[0][1]], axis=-1)

    assert_all_close(
        gradients(ours, our_weights(encoder.lstm), [frames]),
        gradients(reference, stock_weights(stock, encoder.lstm), [frames]),
    )


@pytest.mark.parametrize("num_layers", [1, 2])
def test_teacher_forced_decoder_matches_stock_lstm(num_layers):
    dec = decoder(num_layers, conditional=True)
    stock = stock_lstms(dec.lstm, DIM)
    teacher = np.random.default_rng(1).uniform(size=(BATCH, STEPS) + FRAME).astype("float32")
    flat = teacher.reshape(BATCH, STEPS, DIM)
    shifted = tf.constant(np.concatenate([np.zeros_like(flat[:, :1]), flat[:, :-1]], axis=1))
    start = initial_states(num_layers)
    watched = [s for pair in start for s in pair]

    def ours():
        return dec(start, num_steps=STEPS, teacher_frames=teacher, training=True)

    def reference():
        hidden, _ = run_stock(stock, shifted, start)
        return tf.reshape(hidden @ dec.output_kernel + dec.output_bias, (BATCH, STEPS) + FRAME)

    weights = [dec.output_kernel, dec.output_bias]
    assert_all_close(
        gradients(ours, our_weights(dec.lstm) + weights, watched),
        gradients(reference, stock_weights(stock, dec.lstm) + weights, watched),
    )


@pytest.mark.parametrize("num_layers", [1, 2])
def test_unconditioned_decoder_matches_stock_lstm(num_layers):
    dec = decoder(num_layers, conditional=False)
    stock = stock_lstms(dec.lstm, 1)  # stock LSTMs need an input: a zero scalar
    start = initial_states(num_layers)
    watched = [s for pair in start for s in pair]

    def ours():
        return dec(start, num_steps=STEPS, training=True)

    def reference():
        hidden, _ = run_stock(stock, tf.zeros((BATCH, STEPS, 1)), start)
        return tf.reshape(hidden @ dec.output_kernel + dec.output_bias, (BATCH, STEPS) + FRAME)

    weights = [dec.output_kernel, dec.output_bias]
    assert_all_close(
        gradients(ours, our_weights(dec.lstm) + weights, watched),
        gradients(reference, stock_weights(stock, dec.lstm) + weights, watched),
    )


def test_free_running_decoder_matches_stock_cell_loop():
    dec = decoder(num_layers=1, conditional=True, feed="own")
    (stock,) = stock_lstms(dec.lstm, DIM)
    start = initial_states(1)
    watched = start[0]

    def ours():
        return dec(start, num_steps=STEPS, training=True)

    def reference():
        state, frame, logits = list(start[0]), tf.zeros((BATCH, DIM)), []
        for _ in range(STEPS):
            h, state = stock.cell(frame, state)
            logits.append(h @ dec.output_kernel + dec.output_bias)
            frame = tf.sigmoid(logits[-1])
        return tf.reshape(tf.stack(logits, axis=1), (BATCH, STEPS) + FRAME)

    weights = [dec.output_kernel, dec.output_bias]
    assert_all_close(
        gradients(ours, our_weights(dec.lstm) + weights, watched),
        gradients(reference, stock_weights([stock], dec.lstm) + weights, watched),
    )
