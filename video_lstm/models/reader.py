"""The convolutional reader: frames -> feature vectors for an LSTM to read.

In the paper the LSTM reads raw pixels through its input projection, one
weight per pixel and gate: it must learn a digit's shape at every position
separately. `ConvReader` puts a small strided convnet in front instead, so
the shape features are learned once and shared across positions; the LSTM
reads a coarse grid of them. It is the mirror of `readout.ConvReadout`.

The convolutions have no biases, so a blank frame reads as zero features:
a conditional decoder's first input (no previous frame) means the same with
either reader.

Measured (docs/results.md): in the quickstart's budget it learned slower
than reading raw pixels, so the quickstart does not use it.
"""

import math

import keras
from keras import ops

from video_lstm.models.readout import check_frame_shape


@keras.saving.register_keras_serializable(package="video_lstm")
class ConvReader(keras.layers.Layer):
    """`downsamplings` stride-2 convolutions with ReLU, then flatten.

    Args:
        frame_shape: (height, width, channels) of one input frame; height and
            width must be divisible by `2 ** downsamplings`.
        filters: channels of the last (coarsest) stage; earlier stages have
            half as many each (at least 8).
        downsamplings: number of stride-2 stages (3: a 64x64 frame is read
            as an 8x8 grid).
        kernel_size: side of the convolution kernels.
        seed: int or None, initializer seed.

    Call args:
        frames: float `(..., height, width, channels)`.

    Returns:
        float `(..., features)` with `features = output_dim`
        (`(height / 2**downsamplings) * (width / 2**downsamplings) * filters`).

    Example:
    ```python
    reader = ConvReader((64, 64, 1), filters=32)
    reader(ops.zeros((2, 10, 64, 64, 1))).shape  # (2, 10, 2048)
    ```
    """

    def __init__(self, frame_shape, filters=32, downsamplings=3, kernel_size=3, seed=None, **kwargs):
        super().__init__(**kwargs)
        frame_shape = tuple(int(d) for d in frame_shape)
        check_frame_shape(frame_shape, downsamplings, "reader")
        self.frame_shape = frame_shape
        self.filters = filters
        self.downsamplings = downsamplings
        self.kernel_size = kernel_size
        self.seed = seed
        scale = 2**downsamplings
        self.grid_shape = (frame_shape[0] // scale, frame_shape[1] // scale, filters)
        self.output_dim = math.prod(self.grid_shape)
        self.stages = [
            keras.layers.Conv2D(
                max(filters // 2 ** (downsamplings - 1 - i), 8) if i < downsamplings - 1 else filters,
                kernel_size,
                strides=2,
                padding="same",
                activation="relu",
                use_bias=False,
                kernel_initializer=keras.initializers.HeUniform(None if seed is None else seed + i),
                dtype=self.dtype_policy,
                name=f"downsample_{i}",
            )
            for i in range(downsamplings)
        ]

    def build(self, frames_shape):
        shape = (None,) + self.frame_shape
        for stage in self.stages:
            stage.build(shape)
            shape = stage.compute_output_shape(shape)

    def call(self, frames):
        x = ops.reshape(frames, (-1,) + self.frame_shape)
        for stage in self.stages:
            x = stage(x)
        return ops.reshape(x, ops.shape(frames)[: -len(self.frame_shape)] + (self.output_dim,))

    def compute_output_shape(self, frames_shape):
        return tuple(frames_shape[: -len(self.frame_shape)]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            frame_shape=list(self.frame_shape),
            filters=self.filters,
            downsamplings=self.downsamplings,
            kernel_size=self.kernel_size,
            seed=self.seed,
        )
        return config


def make_reader(layer, frame_shape):
    """The built `ConvReader` of a layer (Encoder, FrameDecoder) whose
    `reader` is "conv", else None. Named "conv_reader", in the layer's dtype."""
    if layer.reader != "conv":
        return None
    reader = ConvReader(
        frame_shape,
        filters=layer.reader_filters,
        seed=layer.seed,
        dtype=layer.dtype_policy,
        name="conv_reader",
    )
    reader.build((None,) + tuple(frame_shape))
    return reader
