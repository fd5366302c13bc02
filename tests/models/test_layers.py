"""Every layer and model class of video_lstm/models through one check (`helpers.run_layer_test`,
in keras-hub's manner): config round trip, build from shapes, call, one fit step, mixed
precision, save and load. Tiny shapes; each class's own properties are tested in its file."""

import keras
import numpy as np
import pytest
from helpers import run_layer_test

from video_lstm.models import Autoencoder, CompositeModel, Encoder, FrameDecoder, FuturePredictor, LSTMStack
from video_lstm.models.reader import ConvReader
from video_lstm.models.readout import ConvReadout
from video_lstm.models.step_random import StepDropout

B, T, K, SIZE = 2, 3, 2, 8


def uniform(*shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def decode(decoder, h):
    """A decoder's call by its owner: initial states from a (batch, units) array, K steps."""
    h = keras.ops.convert_to_tensor(h)
    return decoder([[h, keras.ops.tanh(h)]], num_steps=K)


LAYERS = {
    "LSTMStack": (LSTMStack, dict(units=4, num_layers=2, seed=0), uniform(B, T, 5), None, None, (B, T, 4), True),
    "ConvReader": (ConvReader, dict(frame_shape=(SIZE, SIZE, 1), filters=8, downsamplings=2, seed=0),
                   uniform(B, T, SIZE, SIZE, 1), None, None, (B, T, 2 * 2 * 8), True),
    "ConvReadout": (ConvReadout, dict(frame_shape=(SIZE, SIZE, 1), filters=8, upsamplings=2, seed=0),
                    uniform(B, T, 5), None, None, (B, T, SIZE * SIZE), True),
    "Encoder": (Encoder, dict(units=4, num_layers=2, seed=0), uniform(B, T, 6, 6, 1), None, None, (B, T, 4), True),
    "Encoder-conv": (Encoder, dict(units=4, reader="conv", reader_filters=8, seed=0), uniform(B, T, SIZE, SIZE, 1),
                     None, None, (B, T, 4), True),
    "FrameDecoder": (FrameDecoder, dict(units=4, conditional=True, init_scale=0.1, seed=0), uniform(B, 4),
                     decode, (6, 6, 1), (B, K, 6, 6, 1), True),
    "FrameDecoder-conv": (FrameDecoder, dict(units=4, conditional=False, readout_kind="conv", readout_filters=8,
                                             seed=0), uniform(B, 4), decode, (SIZE, SIZE, 1), (B, K, SIZE, SIZE, 1),
                          True),
    "StepDropout": (StepDropout, dict(rate=0.5, seed=0), uniform(B, T, 5),
                    lambda layer, x: layer(x, training=True, step=3), None, (B, T, 5), False),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer(name, tmp_path):
    cls, kwargs, x, call, build_shape, expected, trains = LAYERS[name]
    run_layer_test(cls, kwargs, x, call=call, build_shape=build_shape, expected_shape=expected,
                   tmp_path=tmp_path, trains=trains)


MODELS = {"CompositeModel": CompositeModel, "Autoencoder": Autoencoder, "FuturePredictor": FuturePredictor}


@pytest.mark.parametrize("name", list(MODELS))
def test_model(name, tmp_path):
    clip = {"frames": uniform(B, T, 6, 6, 1), "future_frames": uniform(B, K, 6, 6, 1, seed=1)}
    kwargs = dict(units=4, num_layers=1, future_length=K, init_scale=0.1, seed=0)
    expected = (B, K if name == "FuturePredictor" else T, 6, 6, 1)
    run_layer_test(MODELS[name], kwargs, clip, expected_shape=expected, tmp_path=tmp_path)


def test_every_class_is_checked():
    """A new layer or model class in video_lstm/models joins the tables above."""
    import inspect

    from video_lstm import models
    from video_lstm.models import composite, decoder, encoder, lstm, reader, readout, step_random

    found = {name for module in (models, composite, decoder, encoder, lstm, reader, readout, step_random)
             for name, obj in inspect.getmembers(module, inspect.isclass)
             if issubclass(obj, keras.layers.Layer) and obj.__module__.startswith("video_lstm.models")}
    checked = {cls.__name__ for cls, *_ in LAYERS.values()} | set(MODELS)
    assert found == checked, found ^ checked
