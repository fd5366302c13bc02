"""The convolutional reader and read-out: shapes, shared filters across
positions, and every model property the linear ones have (causality, the
shared encoder, saving, bad input)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_clip

from video_lstm import config as config_lib
from video_lstm.models import build_model
from video_lstm.models.reader import ConvReader
from video_lstm.models.readout import ConvReadout

T_IN, T_OUT, SIZE = 3, 2, 16


def clip(batch=2, seed=0, size=SIZE):
    return random_clip(T_IN, T_OUT, size, batch, seed)


def small(kind="composite", **kwargs):
    args = dict(
        units=8, num_layers=1, future_length=T_OUT, readout="conv", readout_filters=16, reader="conv",
        reader_filters=8, seed=3,
    )
    args.update(kwargs)
    return build_model(kind, **args)


def test_shapes_for_sequences_and_single_steps():
    readout = ConvReadout((16, 24, 3), filters=16, upsamplings=3, seed=0)
    assert readout(np.zeros((2, 5, 7), "float32")).shape == (2, 5, 16 * 24 * 3)
    assert readout(np.zeros((4, 7), "float32")).shape == (4, 16 * 24 * 3)
    assert readout.grid_shape == (2, 3, 16)


def test_a_pattern_moved_on_the_grid_is_drawn_moved_in_the_frame():
    """The stages share their filters across positions: moving a grid cell by
    one moves its picture by 2**upsamplings pixels, unchanged (the linear
    read-out has no such property)."""
    readout = ConvReadout((64, 64, 1), filters=8, upsamplings=3, seed=0)
    readout.build((None, 4))
    code = np.random.default_rng(0).normal(size=8).astype("float32")
    grids = np.zeros((3, 8, 8, 8), "float32")
    grids[1, 2, 3], grids[2, 4, 4] = code, code  # moved by (2, 1) cells
    x = grids
    for stage in readout.stages:
        x = stage(x)
    empty, first, second = np.asarray(x)[..., 0]
    first, second = first - empty, second - empty  # what the code drew
    assert np.abs(first).max() > 1e-3
    np.testing.assert_allclose(np.roll(first, (16, 8), axis=(0, 1)), second, atol=1e-5)


def test_reader_shapes_and_a_blank_frame_reads_as_zero():
    reader = ConvReader((16, 24, 3), filters=16, downsamplings=3, seed=0)
    frames = np.random.default_rng(0).uniform(size=(2, 5, 16, 24, 3)).astype("float32")
    features = np.asarray(reader(frames))
    assert features.shape == (2, 5, 2 * 3 * 16) == (2, 5, reader.output_dim)
    assert features.max() > 0
    assert not np.asarray(reader(np.zeros((4, 16, 24, 3), "float32"))).any()


def test_a_pattern_moved_in_the_frame_is_read_moved_on_the_grid():
    reader = ConvReader((64, 64, 1), filters=8, downsamplings=3, seed=0)
    blob = np.random.default_rng(0).uniform(size=(6, 6)).astype("float32")
    frames = np.zeros((2, 64, 64, 1), "float32")
    frames[0, 20:26, 20:26, 0] = blob
    frames[1, 36:42, 28:34, 0] = blob  # moved by (16, 8) pixels = (2, 1) cells
    grids = np.asarray(reader(frames)).reshape(2, 8, 8, 8)
    assert grids[0].max() > 0
    np.testing.assert_allclose(np.roll(grids[0], (2, 1), axis=(0, 1)), grids[1], atol=1e-5)


def test_teacher_forcing_with_the_models_own_frames_equals_running_free():
    """Step 0 of a conditional decoder reads zero features on both paths: a
    blank frame through the bias-free reader, or the skipped first input."""
    model = small("future", feed="teacher")
    x = clip()
    model(x)
    own = model.generate(x["frames"])["future"]
    logits_free = np.asarray(model(x, training=False)["future"])
    logits_teacher = np.asarray(model({**x, "future_frames": np.asarray(own)}, training=True)["future"])
    np.testing.assert_allclose(logits_teacher, logits_free, atol=1e-4)


@pytest.mark.parametrize(
    "conditional, feed", [(True, "teacher"), (True, "scheduled"), (True, "own"), (False, "teacher")]
)
def test_every_decoder_variant_draws_frames(conditional, feed):
    model = small(conditional_reconstruction=conditional, conditional_future=conditional, feed=feed)
    for training in (True, False):
        out = model(clip(), training=training)
        assert out["reconstruction"].shape == (2, T_IN, SIZE, SIZE, 1)
        assert out["future"].shape == (2, T_OUT, SIZE, SIZE, 1)
    assert model.generate(clip()["frames"], future_length=5)["future"].shape == (2, 5, SIZE, SIZE, 1)
    assert not hasattr(model.future_decoder, "output_kernel")


def test_prediction_never_sees_its_own_or_later_ground_truth():
    model = small("future", feed="teacher")
    x = clip()
    base = np.asarray(model(x, training=True)["future"])
    for t in range(T_OUT):
        changed = {**x, "future_frames": x["future_frames"].copy()}
        changed["future_frames"][:, t:] = 1.0 - changed["future_frames"][:, t:]
        out = np.asarray(model(changed, training=True)["future"])
        np.testing.assert_allclose(out[:, : t + 1], base[:, : t + 1], atol=1e-6)
        if t + 1 < T_OUT:
            assert not np.allclose(out[:, t + 1], base[:, t + 1])


def test_both_losses_train_the_shared_encoder_its_reader_and_their_readouts():
    model = small(conditional_future=False)
    x = clip()
    model(x)
    assert model.encoder.conv_reader.trainable_variables
    assert model.reconstruction_decoder.conv_reader is not None and model.future_decoder.conv_reader is None
    for name, decoder in (("reconstruction", model.reconstruction_decoder), ("future", model.future_decoder)):
        variables = model.encoder.trainable_variables + decoder.conv_readout.trainable_variables
        with tf.GradientTape() as tape:
            loss = model.decoder_losses(x, model(x, training=True))[name]
        grads = tape.gradient(loss, variables)
        assert all(float(tf.norm(g)) > 0 for g in grads), name


def test_save_and_reload_give_equal_outputs(tmp_path):
    model = small(feed="scheduled")
    x = clip()
    model(x)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.get_config() == model.get_config()
    for key, value in model.generate(x["frames"]).items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(reloaded.generate(x["frames"])[key]))


def test_fit_lowers_the_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # A bright square that moves one pixel a frame: learnable in a few steps.
    frames = np.zeros((8, T_IN + T_OUT, SIZE, SIZE, 1), "float32")
    for i in range(8):
        row, col = rng.integers(0, SIZE - 6, size=2)
        for t in range(T_IN + T_OUT):
            frames[i, t, row : row + 4, min(col + t, SIZE - 4) : min(col + t, SIZE - 4) + 4] = 1.0
    x = {"frames": frames[:, :T_IN], "future_frames": frames[:, T_IN:]}
    model = small(conditional_reconstruction=False, conditional_future=False, units=16)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    before = float(model.evaluate(x, verbose=0, return_dict=True)["loss"])
    model.fit(x, epochs=30, batch_size=8, verbose=0)
    after = float(model.evaluate(x, verbose=0, return_dict=True)["loss"])
    assert after < 0.5 * before, (before, after)


def test_bad_shapes_are_named():
    model = small(reader="linear")
    vectors = {"frames": np.zeros((2, T_IN, 5), "float32"), "future_frames": np.zeros((2, T_OUT, 5), "float32")}
    with pytest.raises(ValueError, match=r"conv readout works on images \(height, width, channels\).*'linear'"):
        model(vectors)
    with pytest.raises(ValueError, match=r"conv readout needs height and width divisible by 8.*\(12, 12, 1\)"):
        small(reader="linear")(clip(size=12))
    with pytest.raises(ValueError, match="--readout=conv works on an 8x smaller grid; --frame_size=60 is not"):
        config_lib.make(readout="conv", frame_size=60)
    with pytest.raises(ValueError, match=r"--readout='dense'; expected one of \['linear', 'conv'\]"):
        config_lib.Config(readout="dense")
    with pytest.raises(ValueError, match="--reader=conv works on an 8x smaller grid; --frame_size=36"):
        config_lib.make(reader="conv", frame_size=36)
    with pytest.raises(ValueError, match=r"conv reader works on images.*reader='linear'"):
        small(readout="linear")({"frames": np.zeros((2, T_IN, 5), "float32")})
