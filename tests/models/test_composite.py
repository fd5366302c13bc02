"""Every model variant: shapes, causality, reversal, shared encoder, feedback, saving."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import random_clip

from video_lstm.models import Autoencoder, CompositeModel, FrameDecoder, FuturePredictor, build_model

T_IN, T_OUT, SIZE = 3, 4, 6


def clip(batch=2, seed=0, size=SIZE):
    return random_clip(T_IN, T_OUT, size, batch, seed)


def small(kind="composite", **kwargs):
    args = dict(units=8, num_layers=2, future_length=T_OUT, init_scale=0.1, seed=3)
    args.update(kwargs)
    return build_model(kind, **args)


@pytest.mark.parametrize("kind", ["composite", "autoencoder", "future"])
@pytest.mark.parametrize("conditional", [True, False])
@pytest.mark.parametrize("feed", ["teacher", "own", "scheduled"])
def test_output_shapes(kind, conditional, feed):
    model = small(kind, conditional_reconstruction=conditional, conditional_future=conditional, feed=feed)
    for training in (True, False):
        out = model(clip(), training=training)
        assert set(out) == {"composite": {"reconstruction", "future"}, "autoencoder": {"reconstruction"},
                            "future": {"future"}}[kind]
        if "reconstruction" in out:
            assert out["reconstruction"].shape == (2, T_IN, SIZE, SIZE, 1)
        if "future" in out:
            assert out["future"].shape == (2, T_OUT, SIZE, SIZE, 1)
    generated = model.generate(clip()["frames"], future_length=9)
    if "future" in generated:
        assert generated["future"].shape == (2, 9, SIZE, SIZE, 1)
        values = np.asarray(generated["future"])
        assert values.min() >= 0 and values.max() <= 1  # sigmoid frames


def test_feature_vectors_with_squared_error():
    model = small(loss_name="squared_error")
    x = {"frames": np.ones((2, T_IN, 5), "float32"), "future_frames": np.ones((2, T_OUT, 5), "float32")}
    out = model(x)
    assert out["future"].shape == (2, T_OUT, 5)
    assert model.future_decoder.output_activation == "linear"


@pytest.mark.parametrize("feed", ["teacher", "scheduled"])
def test_prediction_never_sees_its_own_or_later_ground_truth(feed):
    model = small("future", feed=feed, schedule_decay=1e6)  # scheduled: mostly teacher
    x = clip()
    model(x)
    # Scheduled sampling draws coins and counts steps: replay both calls from
    # the same decoder state so they see the same coins.
    start = [np.asarray(v) for v in model.future_decoder.non_trainable_variables]

    def run(inputs):
        for variable, value in zip(model.future_decoder.non_trainable_variables, start):
            variable.assign(value)
        return np.asarray(model(inputs, training=True)["future"])

    base = run(x)
    for k in range(T_OUT):
        perturbed = {**x, "future_frames": x["future_frames"].copy()}
        perturbed["future_frames"][:, k:] = 1.0 - perturbed["future_frames"][:, k:]
        out = run(perturbed)
        np.testing.assert_allclose(out[:, : k + 1], base[:, : k + 1], atol=1e-6,
                                   err_msg=f"prediction <= {k} changed with ground truth >= {k}")
        if k + 1 < T_OUT and feed == "teacher":
            assert not np.allclose(out[:, k + 1], base[:, k + 1]), "teacher frame k is not fed to step k+1"


def test_free_running_ignores_ground_truth():
    model = small("future", feed="teacher")
    x = clip()
    other = {**x, "future_frames": 1.0 - x["future_frames"]}
    np.testing.assert_array_equal(np.asarray(model(x)["future"]), np.asarray(model(other)["future"]))


def test_reconstruction_target_is_the_reversed_input():
    model = small("autoencoder")
    x = clip()
    frames = (x["frames"] > 0.5).astype("float32")
    x = {"frames": frames}
    model(x)
    as_logits = lambda f: (f * 2 - 1) * 20.0  # noqa: E731  near-certain predictions of f
    reversed_loss = model.decoder_losses(x, {"reconstruction": as_logits(frames[:, ::-1])})
    forward_loss = model.decoder_losses(x, {"reconstruction": as_logits(frames)})
    assert float(reversed_loss["reconstruction"]) < 1e-3
    assert float(forward_loss["reconstruction"]) > 10.0


def test_both_decoders_send_gradients_into_the_one_shared_encoder():
    model = small()
    x = clip()
    model(x)
    encoders = [layer for layer in model._flatten_layers() if type(layer).__name__ == "Encoder"]
    assert len(encoders) == 1
    encoder_vars = model.encoder.trainable_variables
    for name in ("reconstruction", "future"):
        with tf.GradientTape() as tape:
            loss = model.decoder_losses(x, model(x, training=True))[name]
        grads = tape.gradient(loss, encoder_vars)
        norms = [float(tf.norm(g)) for g in grads]
        assert all(n > 0 for n in norms), f"{name} loss sends no gradient to {encoder_vars}"


@pytest.mark.parametrize("conditional", [True, False])
def test_conditional_decoder_feeds_back_its_output(conditional):
    decoder = FrameDecoder(units=5, conditional=conditional, feed="own", init_scale=0.5, seed=0)
    decoder.build((4,))
    rng = np.random.default_rng(0)
    states = [[rng.normal(size=(2, 5)).astype("float32"), np.zeros((2, 5), "float32")]]
    logits = np.asarray(decoder(states, num_steps=3))  # (2, 3, 4)
    # Replay the loop by hand: step t+1 reads activate(output t) ...
    first, next_states = decoder.step(np.zeros((2, 4), "float32"), states)
    np.testing.assert_allclose(np.asarray(first), logits[:, 0], atol=1e-6)
    second, _ = decoder.step(decoder.activate(first), next_states)
    np.testing.assert_allclose(np.asarray(second), logits[:, 1], atol=1e-6)
    # ... so changing the output at t changes t+1 (only if conditional).
    changed, _ = decoder.step(1.0 - decoder.activate(first), next_states)
    assert np.allclose(np.asarray(changed), np.asarray(second)) != conditional


def test_scheduled_sampling_moves_from_teacher_to_own():
    decoder = FrameDecoder(units=4, feed="scheduled", schedule_decay=10.0, seed=0)
    decoder.build((3,))
    assert float(decoder.teacher_probability(0)) > 0.9
    assert float(decoder.teacher_probability(200)) < 0.01


def test_scheduled_sampling_reads_the_optimizers_step_and_assigns_nothing():
    """The decay follows optimizer.iterations (safe under tf.distribute: no
    variable is assigned in call); at probability ~1 the scheduled decoder's
    free-running loop computes what teacher forcing computes."""
    x = clip()
    kwargs = dict(units=8, future_length=T_OUT, init_scale=0.1, seed=0)
    scheduled = CompositeModel(feed="scheduled", schedule_decay=1e6, **kwargs)
    teacher = CompositeModel(feed="teacher", **kwargs)
    scheduled(x), teacher(x)
    teacher.set_weights(scheduled.get_weights()[: len(teacher.get_weights())])
    assert not [v for v in scheduled.non_trainable_weights if "iterations" in v.path]
    for key, value in teacher(x, training=True).items():
        np.testing.assert_allclose(np.asarray(scheduled(x, training=True)[key]), np.asarray(value), atol=1e-5)
    scheduled.compile(optimizer=keras.optimizers.SGD(0.01))
    before = [np.asarray(v) for v in scheduled.non_trainable_weights]
    scheduled.train_on_batch(x)
    assert int(scheduled.training_step()) == int(scheduled.optimizer.iterations) == 1
    assert len(before) == len(scheduled.non_trainable_weights)


@pytest.mark.parametrize("cls", [CompositeModel, Autoencoder, FuturePredictor])
def test_save_and_reload_give_equal_outputs(cls, tmp_path):
    model = cls(units=8, num_layers=2, future_length=T_OUT, feed="scheduled", init_scale=0.1, seed=0)
    x = clip()
    model(x)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded) is cls
    assert reloaded.get_config() == model.get_config()
    for key, value in model.generate(x["frames"]).items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(reloaded.generate(x["frames"])[key]))


def test_config_round_trip_rebuilds_the_same_architecture():
    model = small(conditional_future=False, feed="own")
    clone = CompositeModel.from_config(model.get_config())
    model(clip()), clone(clip())
    assert [v.shape for v in model.weights] == [v.shape for v in clone.weights]
    assert not clone.future_decoder.conditional


def test_a_runs_settings_give_every_constructor_argument_the_kind_does_not_fix():
    """`core.settings.MODEL_ARGUMENTS` (what `Config.model_kwargs` hands on) is the constructor's
    arguments, as `get_config` saves them: a new argument is written once, in the constructor."""
    from video_lstm.config import Config
    from video_lstm.core.settings import MODEL_ARGUMENTS

    saved = set(small().get_config()) - set(keras.Model().get_config())
    assert saved == {"reconstruct", "predict_future", *MODEL_ARGUMENTS}
    assert set(Config().model_kwargs()) == {"kind", "dtype", *MODEL_ARGUMENTS}


def test_bad_inputs_are_named():
    model = small()
    model(clip())
    with pytest.raises(ValueError, match=r"frames must have shape \(batch, time\) \+ \(6, 6, 1\)"):
        model({"frames": np.zeros((2, T_IN, 8, 8, 1), "float32")})
    with pytest.raises(ValueError, match="must be float"):
        model({"frames": np.zeros((2, T_IN, SIZE, SIZE, 1), "uint8")})
    with pytest.raises(ValueError, match="future_length=0"):
        small(future_length=0)
    with pytest.raises(ValueError, match=r"\(batch, time, height, width, channels\)"):
        small()(np.zeros((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match="feed='bogus'"):
        small(feed="bogus")
