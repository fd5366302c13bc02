"""The naive baseline: the composite model from stock Keras layers.

What a Keras user would write first: a `keras.layers.LSTM` encoder with
`return_state=True`, and decoders as a plain Python loop over
`keras.layers.LSTMCell` steps with a `keras.layers.Dense` read-out, each
conditional decoder reading the ground-truth previous frame (teacher forcing)
or a zero frame at the first step. Same arithmetic as `CompositeModel`
(`copy_weights` makes the two equal; tests/bench/test_bench.py checks it), none of
its speed work.
"""

import math

import keras
from keras import ops

from video_lstm.models import losses


class NaiveComposite(keras.Model):
    """Stock-layer composite. Inputs and losses as `video_lstm.models.CompositeModel`.

    Args:
        units, num_layers, future_length: as `CompositeModel`.
        conditional_reconstruction, conditional_future: bool.
        frame_shape: tuple, one frame, e.g. (64, 64, 1).
        loss: "cross_entropy" or "squared_error".
    """

    def __init__(self, units, num_layers, future_length, conditional_reconstruction,
                 conditional_future, frame_shape, loss="cross_entropy", **kwargs):
        super().__init__(**kwargs)
        self.frame_shape = tuple(frame_shape)
        self.frame_dim = math.prod(self.frame_shape)
        self.future_length = future_length
        self.conditional = {"reconstruction": conditional_reconstruction, "future": conditional_future}
        self.frame_loss = losses.get(loss)
        self.encoder = [
            keras.layers.LSTM(units, return_sequences=True, return_state=True)
            for _ in range(num_layers)
        ]
        self.cells = {
            name: [keras.layers.LSTMCell(units) for _ in range(num_layers)]
            for name in ("reconstruction", "future")
        }
        self.readouts = {name: keras.layers.Dense(self.frame_dim) for name in self.cells}
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def encode(self, frames):
        x, states = frames, []
        for lstm in self.encoder:
            x, h, c = lstm(x)
            states.append([h, c])
        return states

    def decode(self, name, states, teacher):
        """A Python loop over steps; teacher (batch, steps, frame_dim)."""
        batch = ops.shape(teacher)[0]
        conditional = self.conditional[name]
        previous = ops.zeros((batch, self.frame_dim if conditional else 1))
        logits = []
        for t in range(teacher.shape[1]):
            x = previous
            for layer, cell in enumerate(self.cells[name]):
                x, states[layer] = cell(x, states[layer])
            logits.append(self.readouts[name](x))
            if conditional:
                previous = teacher[:, t]
        return ops.stack(logits, axis=1)

    def call(self, inputs, training=False):
        frames = ops.reshape(inputs["frames"], (ops.shape(inputs["frames"])[0], -1, self.frame_dim))
        future = ops.reshape(inputs["future_frames"], (ops.shape(frames)[0], -1, self.frame_dim))
        states = self.encode(frames)
        return {
            "reconstruction": self.decode("reconstruction", list(states), ops.flip(frames, axis=1)),
            "future": self.decode("future", list(states), future),
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        frames = ops.reshape(x["frames"], ops.shape(y_pred["reconstruction"]))
        future = ops.reshape(x["future_frames"], ops.shape(y_pred["future"]))
        loss = ops.mean(self.frame_loss(ops.flip(frames, axis=1), y_pred["reconstruction"]))
        loss = loss + ops.mean(self.frame_loss(future, y_pred["future"]))
        self.loss_tracker.update_state(loss)
        return loss


def build(config):
    """A NaiveComposite for a composite `Config`."""
    if config.model != "composite":
        raise ValueError(f"the naive baseline is a composite model, got model={config.model!r}")
    return NaiveComposite(
        config.units, config.num_layers, config.future_length, config.conditional_reconstruction,
        config.conditional_future, tuple(config.input_spec.frame_shape), config.loss,
    )


def copy_weights(ours, naive):
    """Copies a built `CompositeModel`'s weights into a built NaiveComposite."""
    for layer, lstm in enumerate(naive.encoder):
        _copy_cell(ours.encoder.lstm, layer, lstm.cell)
    for name, decoder in (("reconstruction", ours.reconstruction_decoder), ("future", ours.future_decoder)):
        for layer, cell in enumerate(naive.cells[name]):
            _copy_cell(decoder.lstm, layer, cell)
        naive.readouts[name].kernel.assign(decoder.output_kernel)
        naive.readouts[name].bias.assign(decoder.output_bias)


def _copy_cell(stack, layer, cell):
    kernel = stack.kernels[layer]
    cell.kernel.assign(ops.zeros(cell.kernel.shape) if kernel is None else kernel)
    cell.recurrent_kernel.assign(stack.recurrent_kernels[layer])
    cell.bias.assign(stack.biases[layer])
