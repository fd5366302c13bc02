"""The encoder: reads a sequence and keeps its final LSTM states."""

import math

import keras
from keras import ops

from video_lstm.core.choices import READERS
from video_lstm.models.lstm import LSTMStack
from video_lstm.models.reader import make_reader


def flatten_frames(frames):
    """float (batch, time, *frame_shape) -> (batch, time, prod(frame_shape))."""
    feature_dim = math.prod(frames.shape[2:])
    return ops.reshape(frames, ops.shape(frames)[:2] + (feature_dim,))


@keras.saving.register_keras_serializable(package="video_lstm")
class Encoder(keras.layers.Layer):
    """An LSTM stack that reads frames or feature vectors.

    Its representation of a sequence is the final `[h, c]` of every layer; the
    decoders start from it.

    Args:
        units: int, hidden units per layer.
        num_layers: int, number of stacked LSTM layers.
        init_scale: float, see `LSTMStack`.
        reader: "linear" (the paper: the LSTM reads raw pixels) or "conv"
            (`reader.ConvReader` in front; image frames only).
        reader_filters: int, channels of the conv reader's last stage.
        seed: int or None, initializer seed.

    Call args:
        inputs: float `(batch, time, height, width, channels)` frames or
            `(batch, time, features)` vectors (percepts, patches).

    Returns:
        A dict with `outputs`, float `(batch, time, units)` (top layer's h at
        every step) and `states`, a list of `num_layers` `[h, c]`, each
        `(batch, units)`.

    Example:
    ```python
    encoder = Encoder(units=64)
    rep = encoder(ops.zeros((2, 10, 64, 64, 1)))
    rep["states"][0][0].shape  # (2, 64)
    ```
    """

    def __init__(
        self, units, num_layers=1, init_scale=0.0, reader="linear", reader_filters=32, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        if reader not in READERS:
            raise ValueError(f"reader={reader!r}; expected one of {READERS}")
        self.units = units
        self.reader = reader
        self.reader_filters = reader_filters
        self.num_layers = num_layers
        self.init_scale = init_scale
        self.seed = seed
        self.lstm = LSTMStack(
            units,
            num_layers,
            has_input=True,
            init_scale=init_scale,
            seed=seed,
            dtype=self.dtype_policy,
            name="lstm",
        )

    def build(self, input_shape):
        self.conv_reader = make_reader(self, input_shape[2:])
        feature_dim = self.conv_reader.output_dim if self.conv_reader else math.prod(input_shape[2:])
        self.lstm.build((None, None, feature_dim))

    def read(self, frames):
        """float (batch, time, *frame_shape) -> (batch, time, features): what the LSTM reads."""
        return self.conv_reader(frames) if self.conv_reader else flatten_frames(frames)

    def call(self, inputs):
        outputs, states = self.lstm(self.read(inputs))
        return {"outputs": outputs, "states": states}

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            num_layers=self.num_layers,
            init_scale=self.init_scale,
            reader=self.reader,
            reader_filters=self.reader_filters,
            seed=self.seed,
        )
        return config

