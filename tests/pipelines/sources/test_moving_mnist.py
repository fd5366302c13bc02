"""Data sources: the contract, and the Moving MNIST source's stream, test set and splits."""

import json

import numpy as np
import pytest

from pipelines import sources
from video_lstm import config as config_lib
from video_lstm.config import Config, make


def tiny(**overrides):
    values = dict(frame_size=32, num_digits=1, digits="rendered", input_length=3, future_length=2,
                  batch_size=4, eval_sequences=6)
    values.update(overrides)
    return make(**values)


def source(**overrides):
    return sources.build(tiny(**overrides))


def test_training_stream_yields_model_inputs():
    batch = next(iter(source().train_dataset(num_steps=1)))
    assert batch["frames"].shape == (4, 3, 32, 32, 1)
    assert batch["future_frames"].shape == (4, 2, 32, 32, 1)
    batch = next(iter(source(model="autoencoder").train_dataset(num_steps=1)))
    assert set(batch) == {"frames"} and batch["frames"].shape == (4, 3, 32, 32, 1)


def test_training_stream_resumes_at_a_step():
    stream = list(source().train_dataset(num_steps=3))
    resumed = next(iter(source().train_dataset(start_step=2, num_steps=1)))
    np.testing.assert_array_equal(stream[2]["frames"], resumed["frames"])


def test_eval_sequences_is_a_prefix_of_one_fixed_test_set():
    small, large = source(eval_sequences=3).test_set(), source().test_set()
    assert small.clips.shape == (3, 5, 32, 32, 1) and small.clips.dtype == np.uint8
    np.testing.assert_array_equal(small.clips, large.clips[:3])
    assert small.info == {"test_digits": "rendered"} and small.name == "generated"
    other_seed = source(seed=9, eval_sequences=3).test_set()
    np.testing.assert_array_equal(small.clips, other_seed.clips)  # the training seed does not matter


def test_canonical_npy_test_set(tmp_path):
    canonical = np.random.default_rng(0).integers(0, 256, size=(20, 7, 64, 64), dtype=np.uint8)
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, canonical)
    npy = sources.build(make(test_set="npy", test_npy_path=str(path), eval_sequences=5))
    test = npy.test_set()
    assert test.clips.shape == (5, 20, 64, 64, 1)
    np.testing.assert_array_equal(test.clips[2, :, :, :, 0], canonical[:, 2])
    batches = list(npy.test_batches(test.clips, batch_size=2))
    assert [len(b["frames"]) for b in batches] == [2, 2, 1]
    assert batches[0]["frames"].dtype == np.float32 and batches[0]["frames"].max() <= 1.0
    np.testing.assert_allclose(batches[0]["future_frames"][0], test.clips[0, 10:] / 255.0)


def test_too_short_external_clips_are_named(tmp_path):
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, np.zeros((20, 2, 64, 64), np.uint8))
    config = make(test_set="npy", test_npy_path=str(path), input_length=15, future_length=10)
    with pytest.raises(ValueError, match="test clips have 20 frames"):
        sources.build(config).test_set()


# -- the contract ---------------------------------------------------------------


def test_a_source_owns_its_options_validation_and_input_spec():
    config = tiny(frame_size=40)
    assert config.dataset == "moving_mnist" and config.data.frame_size == 40
    assert config.input_spec == sources.InputSpec((40, 40, 1), "--frame_size=40")
    assert str(config.input_spec) == "frames (T, 40, 40, 1)"
    batch = next(iter(sources.build(config).train_dataset(num_steps=1)))
    assert tuple(batch["frames"].shape[2:]) == config.input_spec.frame_shape
    with pytest.raises(ValueError, match="--num_digits=0; expected >= 1"):
        tiny(num_digits=0)
    with pytest.raises(ValueError, match=r"--dataset='ucf'; expected one of \['moving_mnist', 'ucf101'"):
        tiny(dataset="ucf")


def test_the_stream_is_a_function_of_seed_and_step():
    a = next(iter(source(seed=3).train_dataset(start_step=7, num_steps=1)))
    b = next(iter(source(seed=3).train_dataset(start_step=7, num_steps=1)))
    c = next(iter(source(seed=4).train_dataset(start_step=7, num_steps=1)))
    np.testing.assert_array_equal(a["frames"], b["frames"])
    assert not np.array_equal(a["frames"], c["frames"])


def test_config_json_is_flat_and_older_files_load():
    config = tiny(frame_size=40, units=12)
    values = json.loads(config.to_json())
    assert values["frame_size"] == 40 and values["dataset"] == "moving_mnist" and "data" not in values
    assert Config.from_json(config.to_json()) == config
    del values["dataset"]  # a config.json written before --dataset existed
    assert Config.from_dict(values) == config
    with pytest.raises(ValueError, match=r"unknown keys \['patch_size'\]"):
        Config.from_dict({**values, "patch_size": 32})


def test_resuming_with_another_input_spec_is_refused_by_name():
    with pytest.raises(ValueError, match=r"input spec: frames \(T, 32, 32, 1\) in the log_dir "
                       r"\(--frame_size=32\), frames \(T, 64, 64, 1\) now \(--frame_size=64\)"):
        config_lib.check_same_model(tiny(), tiny(frame_size=64), "run")
    # Options that do not change the input spec (the digits) may change.
    config_lib.check_same_model(tiny(), tiny(digits="auto", num_digits=2), "run")
