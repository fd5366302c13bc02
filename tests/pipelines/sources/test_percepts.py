"""--dataset=percepts: training on a percept cache (`pipelines/percept_records.py` format)."""

import os

import numpy as np
import pytest
from helpers import DIM, write_cache

from pipelines import percept_records, sources
from video_lstm import rundir
from video_lstm.config import make


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    base = tmp_path_factory.mktemp("percepts")
    return (write_cache(str(base / "train"), [12, 9, 30, 4, 15]),
            write_cache(str(base / "test"), [10, 7], num_shards=1, seed=1))


def config(cache, **overrides):
    values = dict(dataset="percepts", percepts_dir=cache[0], percepts_test_dir=cache[1], input_length=4,
                  future_length=3, batch_size=4, eval_sequences=50, loss="squared_error", units=16)
    values.update(overrides)
    return make(**values)


def test_records_are_read_by_offset_and_equal_what_was_written(cache):
    source = sources.build(config(cache))
    assert source.input_spec.frame_shape == (DIM,)
    # Videos shorter than a clip (4 frames < 7) and failed ones are not drawn from.
    assert sorted(frames for _, _, frames in source.cache.videos) == [9, 12, 15, 30]
    path, offset, frames = source.cache.videos[0]
    record = percept_records.decode(percept_records.read_at(path, offset))
    assert record["percepts"].shape == (frames, DIM) and list(record["frame_index"]) == list(range(frames))


def test_the_stream_is_a_function_of_seed_and_step_and_the_test_set_covers_the_test_cache(cache):
    source = sources.build(config(cache))
    batch = next(iter(source.train_dataset(start_step=3, num_steps=1)))
    assert batch["frames"].shape == (4, 4, DIM) and batch["future_frames"].shape == (4, 3, DIM)
    np.testing.assert_array_equal(np.concatenate([batch["frames"], batch["future_frames"]], 1), source.batch(3))
    assert not np.array_equal(source.batch(3), source.batch(4))
    test = source.test_set()
    assert test.name == "test" and len(test.clips) == 2 + 1  # 10 frames: 0, 3; 7 frames: 0
    assert test.clips[:3].shape == (3, 7, DIM)
    np.testing.assert_array_equal(test.clips[1], test.clips[:3][1])


def test_a_worker_reads_only_its_rows_of_each_batch(cache):
    """Two workers' rows (0, 2) and (2, 4) of batch 3 are the batch's own rows, and each reads
    only its two clips' records."""
    whole = sources.build(config(cache)).batch(3)
    for rows in ((0, 2), (2, 4)):
        source = sources.build(config(cache))
        batch = next(iter(source.train_dataset(start_step=3, num_steps=1, rows=rows)))
        np.testing.assert_array_equal(np.concatenate([batch["frames"], batch["future_frames"]], 1),
                                      whole[rows[0] : rows[1]])
        assert source.decoded()["clips"] == 2 and source.decoded()["records"] <= 2


def test_bad_caches_are_named(cache, tmp_path):
    with pytest.raises(ValueError, match="--dataset=percepts needs --percepts_dir"):
        make(dataset="percepts")
    with pytest.raises(FileNotFoundError, match="manifest.json not found: is .* a percept cache"):
        sources.build(make(dataset="percepts", loss="squared_error", percepts_dir=str(tmp_path))).input_spec
    broken = write_cache(str(tmp_path / "broken"), [12, 12])
    os.remove(os.path.join(broken, percept_records.shard_name(1, 2)))
    with pytest.raises(FileNotFoundError, match="percepts-00001-of-00002.tfrecord is missing"):
        sources.build(config((broken, broken))).batch(0)
    with pytest.raises(ValueError, match=r"--readout=conv reads images; --dataset=percepts gives features \(T, 12\)"):
        config(cache, readout="conv")


def test_a_squared_error_composite_learns_on_cached_percepts(cache, tmp_path):
    from video_lstm.training import loop

    cfg = config(cache, steps=60, checkpoint_every=60, learning_rate=1e-2, init_scale=0.1, image_every=60,
                 jit_compile=False)
    source = sources.build(cfg)
    fixed = source.split(source.batch(1000))
    model = loop.new_model(cfg, source.sample_inputs())
    before = float(model.evaluate(fixed, verbose=0, return_dict=True)["loss"])
    metrics = loop.train_and_evaluate(cfg, str(tmp_path), verbose=0)
    model = rundir.load_latest(str(tmp_path))[1]
    after = float(model.evaluate(fixed, verbose=0, return_dict=True)["loss"])
    assert after < 0.7 * before, (before, after)
    assert metrics["num_sequences"] == 3 and metrics["test_set"] == "test"


def test_a_percept_model_exports_takes_percept_sequences_and_matches_keras(cache, tmp_path):
    """Export accepts feature-vector models: `encode` / `reconstruct_and_predict` take
    `percepts` (batch, time, D) float32; a fresh process without video_lstm agrees with Keras."""
    import tensorflow as tf

    from export import saved_model as export_encoder
    from export import verification as export_verify
    from video_lstm.training import loop

    cfg = config(cache, steps=2, checkpoint_every=2, jit_compile=False, init_scale=0.1)
    loop.train(cfg, str(tmp_path / "run"), verbose=0)
    version = export_encoder.export_log_dir(str(tmp_path / "run"), str(tmp_path / "exported"))
    lines = []
    assert export_verify.verify(version, log_dir=str(tmp_path / "run"), out=lines.append), "\n".join(lines)
    loaded = tf.saved_model.load(version)
    assert set(loaded.signatures) == {"encode", "reconstruct_and_predict", "serving_default"}
    percepts = tf.random.normal((2, 5, DIM))
    out = loaded.signatures["reconstruct_and_predict"](percepts=percepts, future_steps=tf.constant(4))
    assert out["future"].shape == (2, 4, DIM) and out["reconstruction"].shape == (2, 5, DIM)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"percepts must be \(batch, time, {DIM}\).*feature size"):
        loaded.signatures["encode"](percepts=tf.zeros((1, 3, DIM + 1)))


def test_partial_videos_are_used_and_too_short_ones_named_in_one_warning(tmp_path, caplog):
    import logging

    directory = write_cache(str(tmp_path / "c"), [12, 3, 9, 2, 15], statuses=["ok", "ok", "partial", "ok", "ok"])
    caplog.set_level(logging.WARNING, logger="absl")
    source = sources.build(config((directory, directory)))
    assert [row["video"] for row in source.cache.rows] == ["v0", "v2", "v4"]  # v2 is partial, still used
    warnings = [r.getMessage() for r in caplog.records if "shorter than one clip" in r.getMessage()]
    assert len(warnings) == 1 and "2 of its 5 videos" in warnings[0] and "(v1, v3)" in warnings[0], warnings


def test_check_refuses_a_test_cache_of_another_network_or_none_at_start_up(cache, tmp_path):
    sources.build(config(cache)).check()
    other = write_cache(str(tmp_path / "inception"), [10, 9], dim=DIM + 4, network="inception_v3")
    with pytest.raises(ValueError, match=rf"--percepts_test_dir=.*inception holds {DIM + 4}-d inception_v3 "
                                         rf"\(random weights\) rgb percepts; --percepts_dir=.* holds {DIM}-d vgg16"):
        sources.build(config((cache[0], other))).check()
    with pytest.raises(FileNotFoundError, match="--percepts_test_dir=.*nowhere is not a folder"):
        sources.build(config((cache[0], str(tmp_path / "nowhere")))).check()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="--percepts_test_dir=.*empty: .*manifest.json not found"):
        sources.build(config((cache[0], str(tmp_path / "empty")))).check()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="--percepts_dir=.*bad: manifest.json is not readable"):
        sources.build(config((str(tmp_path / "bad"), cache[1]))).check()
