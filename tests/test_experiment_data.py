"""The data of one Config: the training stream, the fixed test set, splits."""

import numpy as np
import pytest

from pipelines import experiment_data
from video_lstm.config import Config


def tiny(**overrides):
    values = dict(frame_size=32, num_digits=1, digits="rendered", input_length=3, future_length=2,
                  batch_size=4, eval_sequences=6)
    values.update(overrides)
    return Config(**values)


def test_training_stream_yields_model_inputs():
    config = tiny()
    digits = experiment_data.digit_bank(config, "train")
    batch = next(iter(experiment_data.train_dataset(config, digits, num_steps=1)))
    assert batch["frames"].shape == (4, 3, 32, 32, 1)
    assert batch["future_frames"].shape == (4, 2, 32, 32, 1)
    autoencoder = tiny(model="autoencoder")
    batch = next(iter(experiment_data.train_dataset(autoencoder, digits, num_steps=1)))
    assert set(batch) == {"frames"} and batch["frames"].shape == (4, 3, 32, 32, 1)


def test_training_stream_resumes_at_a_step():
    config = tiny()
    digits = experiment_data.digit_bank(config, "train")
    stream = list(experiment_data.train_dataset(config, digits, num_steps=3))
    resumed = next(iter(experiment_data.train_dataset(config, digits, start_step=2, num_steps=1)))
    np.testing.assert_array_equal(stream[2]["frames"], resumed["frames"])


def test_eval_sequences_is_a_prefix_of_one_fixed_test_set():
    small, large = experiment_data.test_set(tiny(eval_sequences=3)), experiment_data.test_set(tiny())
    assert small.clips.shape == (3, 5, 32, 32, 1) and small.clips.dtype == np.uint8
    np.testing.assert_array_equal(small.clips, large.clips[:3])
    assert small.digits == "rendered" and small.name == "generated"
    other_seed = experiment_data.test_set(tiny(seed=9, eval_sequences=3))
    np.testing.assert_array_equal(small.clips, other_seed.clips)  # the training seed does not matter


def test_canonical_npy_test_set(tmp_path):
    canonical = np.random.default_rng(0).integers(0, 256, size=(20, 7, 64, 64), dtype=np.uint8)
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, canonical)
    config = Config(test_set="npy", test_npy_path=str(path), input_length=10, future_length=10, eval_sequences=5)
    test = experiment_data.test_set(config)
    assert test.clips.shape == (5, 20, 64, 64, 1)
    np.testing.assert_array_equal(test.clips[2, :, :, :, 0], canonical[:, 2])
    batches = list(experiment_data.test_batches(config, test.clips, batch_size=2))
    assert [len(b["frames"]) for b in batches] == [2, 2, 1]
    assert batches[0]["frames"].dtype == np.float32 and batches[0]["frames"].max() <= 1.0
    np.testing.assert_allclose(batches[0]["future_frames"][0], test.clips[0, 10:] / 255.0)


def test_too_short_external_clips_are_named(tmp_path):
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, np.zeros((20, 2, 64, 64), np.uint8))
    config = Config(test_set="npy", test_npy_path=str(path), input_length=15, future_length=10)
    with pytest.raises(ValueError, match="test clips have 20 frames"):
        experiment_data.test_set(config)
