"""Real video behind --dataset=ucf101/hmdb51/folder: the stream, the test set, patches, training.

On videos the tests write (helpers.generated_ucf: MJPG .avi and mp4v .mp4 of moving
shapes), in a UCF-101-shaped folder; the staged UCF-101 clips, where present
($VIDEO_LSTM_DATA_DIR), are an extra check of real files.
"""

import os

import numpy as np
import pytest
from helpers import generated_ucf, moving_shapes, tiny_network, ucf_folder, write_video

from pipelines import sources
from video_lstm.config import make

DATA = os.environ.get("VIDEO_LSTM_DATA_DIR", "")
CLIPS = os.path.join(DATA, "ucf101", "clips")
STAGED = pytest.mark.skipif(not os.path.isdir(CLIPS), reason="staged clips absent: set $VIDEO_LSTM_DATA_DIR")
CLASSES = {"Basketball": ["v_Basketball_g01_c02", "v_Basketball_g07_c04"], "Biking": ["v_Biking_g01_c01"],
           "Fencing": ["v_Fencing_g01_c06"]}
TEST_VIDEOS = {"v_Basketball_g07_c04", "v_Fencing_g01_c06"}


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory):
    """Class folders of generated videos named as in the UCF-101 archive (.avi), with a
    split 1 whose test list holds v_Basketball_g07_c04 and v_Fencing_g01_c06."""
    return generated_ucf(tmp_path_factory.mktemp("ucf"), CLASSES, TEST_VIDEOS)


@STAGED
def test_the_stream_and_test_set_of_real_ucf101_clips(tmp_path):
    """The extra check on real files: the staged clips, linked as the UCF-101 archive names them."""
    classes = {name: [(video, video) for video in videos] for name, videos in CLASSES.items()}
    staged = ucf_folder(tmp_path, CLIPS, classes, TEST_VIDEOS)
    source = sources.build(config(staged))
    assert source.describe()["listed_videos"] == 2
    batch = source.batch(0)
    assert batch.shape == (3, 5, 32, 32, 3) and 0 < np.abs(batch[:, 1:].astype(int) - batch[:, :-1]).mean() < 40
    test = sources.build(config(staged, eval_sequences=1000)).test_set()
    assert {os.path.basename(path) for path, _, _ in test.clips.index} == {f"{v}.avi" for v in TEST_VIDEOS}


def config(video_dir, **overrides):
    values = dict(dataset="ucf101", video_dir=video_dir, frame_size=32, input_length=3, future_length=2,
                  batch_size=3, eval_sequences=5, loss="squared_error", units=16, seed=0)
    values.update(overrides)
    return make(**values)


def test_training_batches_are_clips_of_the_train_list_and_a_function_of_seed_and_step(video_dir):
    source = sources.build(config(video_dir))
    assert source.describe()["listed_videos"] == 2 and source.describe()["classes"] == 3
    batch = next(iter(source.train_dataset(start_step=4, num_steps=1)))
    assert batch["frames"].shape == (3, 3, 32, 32, 3) and batch["future_frames"].shape == (3, 2, 32, 32, 3)
    assert 0.0 <= float(np.min(batch["frames"])) and float(np.max(batch["frames"])) <= 1.0
    again = sources.build(config(video_dir)).batch(4)
    np.testing.assert_array_equal(np.round(np.concatenate([batch["frames"], batch["future_frames"]], 1) * 255),
                                  again)
    assert not np.array_equal(again, source.batch(5))
    # Consecutive frames of a clip are consecutive frames of a video: similar, not equal.
    difference = np.abs(again[:, 1:].astype(int) - again[:, :-1]).mean()
    assert 0 < difference < 40


def test_a_worker_decodes_only_its_rows_of_each_batch(video_dir):
    """Under --strategy=multi_worker a worker's stream gets `rows`: its rows are the global
    batch's own, and it decodes only their clips (counted by the decoder)."""
    whole_source = sources.build(config(video_dir, batch_size=4))
    whole = whole_source.batch(2)
    assert whole_source.decoded()["clips"] == 4
    for rows in ((0, 2), (2, 4)):
        source = sources.build(config(video_dir, batch_size=4))
        batch = next(iter(source.train_dataset(start_step=2, num_steps=1, rows=rows)))
        clips = np.round(np.concatenate([batch["frames"], batch["future_frames"]], 1) * 255)
        np.testing.assert_array_equal(clips, whole[rows[0] : rows[1]])
        decoded = source.decoded()
        assert decoded["clips"] == 2 and decoded["frames"] < whole_source.decoded()["frames"], decoded


def test_patches_are_held_fixed_across_a_clip_and_grey_has_one_channel(video_dir):
    whole = sources.build(config(video_dir, seed=3)).batch(0)
    patches = sources.build(config(video_dir, seed=3, patch_size=16))
    assert patches.input_spec.frame_shape == (16, 16, 3)
    clip = patches.batch(0)
    assert clip.shape == (3, 5, 16, 16, 3)
    # Each patch is one window of the whole frames, the same for every frame of its clip.
    for whole_clip, patch_clip in zip(whole, clip):
        found = [(top, left) for top in range(17) for left in range(17)
                 if np.array_equal(whole_clip[:, top:top + 16, left:left + 16], patch_clip)]
        assert len(found) >= 1
    grey = sources.build(config(video_dir, color="grey")).batch(0)
    assert grey.shape == (3, 5, 32, 32, 1)


def test_the_test_set_covers_the_test_videos_lazily(video_dir):
    source = sources.build(config(video_dir, eval_sequences=1000))
    test = source.test_set()
    assert test.name == "test" and "split 1 test" in test.info["test_videos"]
    paths = {os.path.basename(path) for path, _, _ in test.clips.index}
    assert paths == {"v_Basketball_g07_c04.avi", "v_Fencing_g01_c06.avi"}
    first = test.clips[:2]
    assert first.shape == (2, 5, 32, 32, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(test.clips[1], first[1])
    short = sources.build(config(video_dir, eval_sequences=3)).test_set()
    assert len(short.clips) == 3
    np.testing.assert_array_equal(short.clips[:3], test.clips[:3])


def test_bad_videos_are_skipped_and_bad_flags_named(video_dir, tmp_path):
    root = tmp_path / "folder"
    (root / "good").mkdir(parents=True)
    (root / "bad").mkdir()
    write_video(root / "good" / "a.mp4", moving_shapes(30, seed=7))
    (root / "bad" / "zero.avi").write_bytes(b"")
    (root / "bad" / "noise.avi").write_bytes(np.random.default_rng(0).bytes(5000))
    source = sources.build(config(str(root), dataset="folder"))
    batch = source.batch(0)
    assert batch.shape == (3, 5, 32, 32, 3)  # every clip came from the one good video
    assert source.decoder.usable_frames(str(root / "bad" / "zero.avi")) == 0
    assert source.skipped()["bad/zero.avi"] == "empty: file is empty (0 bytes)"
    with pytest.raises(ValueError, match="--dataset=ucf101 needs --video_dir"):
        config("")
    with pytest.raises(FileNotFoundError, match="--video_dir=/nowhere is not a folder"):
        sources.build(config("/nowhere"))
    with pytest.raises(ValueError, match=r"--patch_size=40; expected 0 \(whole frames\) or 1..--frame_size"):
        config(video_dir, patch_size=40)


def test_a_squared_error_composite_learns_on_patches(video_dir, tmp_path):
    from video_lstm.training import loop

    cfg = config(video_dir, patch_size=16, steps=30, checkpoint_every=30, learning_rate=3e-3, jit_compile=False,
                 conditional_reconstruction=True, conditional_future=True, init_scale=0.1, image_every=30)
    source = sources.build(cfg)
    fixed = source.split(source.batch(1000))
    model = loop.new_model(cfg, source.sample_inputs())
    before = float(model.evaluate(fixed, verbose=0, return_dict=True)["loss"])
    model, step = loop.train(cfg, str(tmp_path), verbose=0)
    after = float(model.evaluate(fixed, verbose=0, return_dict=True)["loss"])
    assert step == 30 and after < 0.7 * before, (before, after)


def test_a_video_run_evaluates_draws_and_exports(video_dir, tmp_path):
    """The driver end to end on videos: metrics of the lazily decoded test set,
    the pictures that apply (no Moving MNIST rollouts), an export."""
    import json

    from export import saved_model as export_encoder
    from video_lstm.analysis import visualization
    from video_lstm.analysis.options import VisualizeOptions
    from video_lstm.training import loop

    cfg = config(video_dir, patch_size=16, steps=2, checkpoint_every=2, eval_sequences=4, jit_compile=False)
    metrics = loop.train_and_evaluate(cfg, str(tmp_path / "run"), verbose=0)
    assert metrics["num_sequences"] == 4 and metrics["cross_entropy_per_frame"] is None
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["mse_per_frame"] == pytest.approx(metrics["mse_per_frame"])
    paths = visualization.visualize_log_dir(str(tmp_path / "run"), VisualizeOptions(num_sequences=2))
    assert {os.path.basename(p) for p in paths} >= {"samples.png", "encoder_input_gate_weights.png"}
    assert not any("rollout" in p for p in paths)
    exported = export_encoder.export_log_dir(str(tmp_path / "run"), str(tmp_path / "exported"))
    assert os.path.exists(os.path.join(exported, "saved_model.pb"))


# -- percepts computed inline (--dataset=percepts --percepts_from=videos) ------


def inline_config(video_dir, **overrides):
    values = dict(dataset="percepts", percepts_from="videos", percept_videos="ucf101", video_dir=video_dir,
                  percept_network="inception_v3", percept_weights="random", frame_stride=4, input_length=3,
                  future_length=2, batch_size=2, eval_sequences=3, loss="squared_error", units=8, seed=0)
    values.update(overrides)
    return make(**values)


def test_inline_percepts_are_the_network_on_the_video_sources_clips(video_dir, monkeypatch):
    """Batch i of the inline source = the percept network on batch i of the videos
    source (frames decoded at the network's size), in tf.data as in numpy."""
    from pipelines import percept_networks

    network = tiny_network()
    monkeypatch.setattr(percept_networks, "make_network", lambda name, weights: network)
    cfg = inline_config(video_dir)
    source = sources.build(cfg)
    assert cfg.input_spec.frame_shape == (2048,) and source.describe()["videos"]["listed_videos"] == 2
    videos = source.videos.batch(3)
    assert videos.shape == (2, 5, 299, 299, 3) and videos.dtype == np.uint8
    expected = percept_networks.extract(network, videos)
    batch = next(iter(source.train_dataset(start_step=3, num_steps=1)))
    got = np.concatenate([batch["frames"], batch["future_frames"]], 1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    test = source.test_set()
    assert test.name == "test_videos" and test.clips[:3].shape == (3, 5, 2048)
    np.testing.assert_allclose(test.clips[1], percept_networks.extract(network, source.videos.test_set().clips[1]),
                               rtol=1e-5, atol=1e-5)


def test_inline_percepts_train_evaluate_and_export_with_their_convnet(video_dir, monkeypatch, tmp_path):
    """The driver on inline percepts; the model exported with its percept network takes
    raw uint8 frames of any size (serving_default), and a fresh process agrees with
    Keras (the network, then the encoder)."""
    import tensorflow as tf

    from export import saved_model as export_encoder
    from export import verification as export_verify
    from pipelines import percept_networks
    from video_lstm import rundir
    from video_lstm.training import loop

    network = tiny_network()
    monkeypatch.setattr(percept_networks, "make_network", lambda name, weights: network)
    run = str(tmp_path / "run")
    cfg = inline_config(video_dir, steps=2, checkpoint_every=2, jit_compile=False)
    metrics = loop.train_and_evaluate(cfg, run, verbose=0)
    assert metrics["num_sequences"] == 3 and np.isfinite(metrics["mse_per_frame"])

    with pytest.raises(export_encoder.ExportError, match="random weights whose seed is not recorded"):
        export_encoder.percept_network_of(run)
    _, model = rundir.load_latest(run)
    version = export_encoder.export_model(model, rundir.load_config(run), str(tmp_path / "exported"), "inline",
                                          percept_network=network)
    lines = []
    assert export_verify.verify(version, log_dir=run, out=lines.append, convnet=network), "\n".join(lines)
    assert any(line.startswith("encode_frames:") for line in lines)
    loaded = tf.saved_model.load(version)
    assert set(loaded.signatures) == {"encode", "encode_frames", "reconstruct_and_predict", "serving_default"}
    frames = np.random.default_rng(0).integers(0, 256, (2, 4, 50, 70, 3), dtype=np.uint8)
    served = loaded.signatures["serving_default"](frames=tf.constant(frames))
    expected = model.encode(percept_networks.extract(network, frames))
    np.testing.assert_allclose(served["outputs"], expected["outputs"], atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"frames must be \(batch, time, height, width, 3\) uint8"):
        loaded.signatures["encode_frames"](frames=tf.zeros((1, 2, 8, 8, 1), tf.uint8))


def test_export_with_convnet_names_what_it_cannot_rebuild(tmp_path):
    import json

    from export import saved_model as export_encoder

    for data, message in [({"dataset": "ucf101"}, "trained on --dataset=ucf101, not on percepts"),
                          ({"dataset": "percepts", "stream": "flow", "network": "vgg16", "weights": "imagenet"},
                           "flow percepts, whose flow images OpenCV computes outside the graph")]:
        (tmp_path / "data.json").write_text(json.dumps(data))
        with pytest.raises(export_encoder.ExportError, match=message):
            export_encoder.percept_network_of(str(tmp_path))


def test_inline_percepts_name_their_bad_flags_and_weights(video_dir, tmp_path):
    from pipelines import percept_networks

    with pytest.raises(ValueError,
                       match="--percepts_from=videos --percept_videos=ucf101: --dataset=ucf101 needs --video_dir"):
        inline_config("")
    with pytest.raises(ValueError, match="--percept_network='alexnet'; expected one of"):
        inline_config(video_dir, percept_network="alexnet")
    with pytest.raises(ValueError, match="needs --percepts_dir .* or --percepts_from=videos"):
        make(dataset="percepts")
    missing = str(tmp_path / "vgg.h5")
    source = sources.build(inline_config(video_dir, percept_network="vgg16", percept_weights=missing))
    with pytest.raises(percept_networks.WeightsNotFoundError, match=f"weights file {missing} for vgg16 does not exist"):
        source.sample_inputs()


# -- a folder is tested on held-out videos, never on its training videos --------


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    """Two classes of five short generated videos each, one .avi of 3 frames among them."""
    root = tmp_path_factory.mktemp("folder")
    for c, name in enumerate(("run", "walk")):
        (root / name).mkdir()
        for i in range(5):
            write_video(root / name / f"{name}{i}.avi", moving_shapes(12 if i else 3, 24, 32, seed=10 * c + i))
    return str(root)


def test_a_folder_tests_on_a_held_out_fraction_of_each_class_and_says_so(class_folder, caplog):
    import logging

    from pipelines import action_datasets

    cfg = config(class_folder, dataset="folder", test_fraction=0.4, eval_sequences=1000)
    source = sources.build(cfg)
    caplog.set_level(logging.INFO, logger="absl")  # (whatever absl.logging.set_verbosity says by now)
    source.check()
    train = {item.video_id for item in source.train_videos.items}
    test_items = source.test_videos.items
    assert len(train) == 6 and len(test_items) == 4 and not train & {item.video_id for item in test_items}
    assert {item.video_id for item in test_items} == action_datasets.held_out(
        action_datasets.folder(class_folder).items, 0.4)
    assert any("holding out 40% of each class's videos (--test_fraction): 6 train, 4 test" in r.getMessage()
               for r in caplog.records)
    described = source.describe()
    assert (described["listed_videos"], described["test_videos"], described["test_fraction"]) == (6, 4, 0.4)
    assert "held-out 40% per class, 4 videos" in described["test_list"]
    test = source.test_set()
    assert test.name == "test" and {path for path, _, _ in test.clips.index} <= {i.path for i in test_items}
    for _ in range(3):
        source.batch(_)
    too_short = {f"{name}/{name}0.avi" for name in ("run", "walk")}
    assert set(source.skipped()) <= too_short and all(
        reason.startswith("too short: 3 frames") for reason in source.skipped().values())
    assert source.skipped()  # the held-out or drawn 3-frame videos were counted and named


def test_a_folder_tests_on_test_dir_with_the_same_classes_and_refuses_no_test_set(class_folder, tmp_path):
    test_dir = tmp_path / "test"
    for name in ("run", "walk"):
        (test_dir / name).mkdir(parents=True)
        write_video(test_dir / name / "t.avi", moving_shapes(12, 24, 32, seed=99))
    source = sources.build(config(class_folder, dataset="folder", test_dir=str(test_dir)))
    source.check()
    assert len(source.train_videos) == 10 and [i.video_id for i in source.test_videos.items] == [
        "run/t.avi", "walk/t.avi"]
    assert source.describe()["test_dir"] == str(test_dir) and "test_fraction" not in source.describe()
    (test_dir / "jump").mkdir()
    write_video(test_dir / "jump" / "j.avi", moving_shapes(12, 24, 32))
    with pytest.raises(ValueError, match=r"other classes than --video_dir=.*only in --test_dir: jump; only in "
                                         r"--video_dir: none"):
        sources.build(config(class_folder, dataset="folder", test_dir=str(test_dir))).check()
    with pytest.raises(ValueError, match="--test_fraction=0 holds out no video of --video_dir: pass --test_dir"):
        config(class_folder, dataset="folder", test_fraction=0.0)
    with pytest.raises(ValueError, match=r"--test_fraction=1.0; expected a fraction in \[0, 1\)"):
        config(class_folder, dataset="folder", test_fraction=1.0)
    with pytest.raises(ValueError, match="--test_dir is for --dataset=folder"):
        config(class_folder, test_dir=str(test_dir))
    with pytest.raises(FileNotFoundError, match="--test_dir=.*nowhere is not a folder"):
        sources.build(config(class_folder, dataset="folder", test_dir=str(tmp_path / "nowhere")))
    single = tmp_path / "single"
    (single / "run").mkdir(parents=True)
    write_video(single / "run" / "only.avi", moving_shapes(12, 24, 32))
    with pytest.raises(ValueError, match="no test videos under .*a class of one video is train only"):
        sources.build(config(str(single), dataset="folder")).check()


def test_a_ucf101_check_names_a_missing_split_file(video_dir, tmp_path, monkeypatch):
    import shutil

    monkeypatch.delenv("VIDEO_LSTM_DATA_DIR", raising=False)  # no fallback to the staged split files
    broken = tmp_path / "ucf"
    shutil.copytree(video_dir, broken)
    (broken / "ucfTrainTestlist" / "testlist01.txt").unlink()
    with pytest.raises(FileNotFoundError, match="testlist01.txt not found"):
        sources.build(config(str(broken))).check()


def test_data_json_names_the_videos_found_unusable(tmp_path):
    """data.json counts listed videos, not usable ones; what training and evaluation found
    unusable is added to it, by name."""
    from video_lstm import rundir
    from video_lstm.training import loop

    for root in ("train", "test"):
        for name in ("run", "walk"):
            (tmp_path / root / name).mkdir(parents=True)
            for i in range(2):
                write_video(tmp_path / root / name / f"{i}.avi", moving_shapes(12, 24, 32, seed=i))
    (tmp_path / "test" / "walk" / "garbage.avi").write_bytes(np.random.default_rng(0).bytes(2000))
    cfg = config(str(tmp_path / "train"), dataset="folder", test_dir=str(tmp_path / "test"), steps=2,
                 checkpoint_every=2, eval_sequences=50, jit_compile=False)
    log_dir = str(tmp_path / "run_dir")
    loop.train_and_evaluate(cfg, log_dir, verbose=0)
    data = rundir.data_description(log_dir)
    assert data["listed_videos"] == 4
    skipped = data["skipped_videos"]
    assert list(skipped) == ["walk/garbage.avi"] and "undecodable" in next(
        iter(skipped.values()))


def test_training_logs_once_the_entries_a_folder_does_not_take(class_folder, tmp_path, caplog):
    """Issue 29: a FIFO, a folder named like a video and a nested video are named in the source's log."""
    import logging
    import shutil

    folder = tmp_path / "videos"
    shutil.copytree(class_folder, folder)
    os.mkfifo(folder / "run" / "pipe.avi")
    (folder / "walk" / "folder.avi").mkdir()
    source = sources.build(config(str(folder), dataset="folder", test_fraction=0.4, eval_sequences=1000))
    caplog.set_level(logging.WARNING, logger="absl")
    source.check()
    lines = [r.getMessage() for r in caplog.records if "not taken" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("2 entries of folder") and "run/pipe.avi: not a regular" in lines[0]
    assert "walk/folder.avi: a folder, not a video file" in lines[0]
