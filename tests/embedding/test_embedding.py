"""python -m video_lstm.embed and video_lstm.embedding (issue 22, item 2).

On videos written here (helpers: MJPG .avi of moving shapes) and a tiny untrained run of
`--dataset=folder` (16x16 grey frames, 4 units: a run directory as training writes it, its
weights never trained, which the properties here do not need) and its SavedModel; the staged
UCF-101 clips, where present ($VIDEO_LSTM_DATA_DIR), are an extra check of real files.
"""

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import helpers
import numpy as np
import pytest
from helpers import call_embed as call
from helpers import moving_shapes, per_video, tree_hashes, ucf_folder, untrained_run, write_folder, write_video

from pipelines import action_datasets, fingerprints, video_decode
from video_lstm import embedding, rundir

ROOT = helpers.ROOT
DATA = os.environ.get("VIDEO_LSTM_DATA_DIR", "")
CLIPS = os.path.join(DATA, "ucf101", "clips")
STAGED = pytest.mark.skipif(not os.path.isdir(CLIPS), reason="staged clips absent: set $VIDEO_LSTM_DATA_DIR")
FRAMES = 12  # per generated video: 4 clips of 3 side by side


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("videos"))


@pytest.fixture(scope="module")
def run(tmp_path_factory, videos):
    """(log_dir, SavedModel version dir) of the tiny grey 16x16 video run."""
    from export.encoder import export_log_dir

    base = tmp_path_factory.mktemp("run")
    log_dir = untrained_run(str(base / "run"), dataset="folder", video_dir=videos, frame_size=16, color="grey",
                            units=4, input_length=3, future_length=2, seed=0)
    return log_dir, export_log_dir(log_dir, str(base / "exported"), model_name="encoder")


# -- the outputs ------------------------------------------------------------------------------


def test_a_folder_from_a_log_dir_and_from_its_saved_model_gives_the_same_embeddings(run, videos, tmp_path):
    log_dir, version_dir = run
    outs = {kind: str(tmp_path / kind) for kind in ("log_dir", "saved_model")}
    for kind, pretrained in zip(outs, run):
        assert call(f"--pretrained={pretrained}", f"--video_dir={videos}", f"--out={outs[kind]}") == 0
    found = {kind: embedding.load_embeddings(out) for kind, out in outs.items()}
    names = [f"{c}/{c}{i}.avi" for c in "AB" for i in range(3)]
    for arrays in found.values():
        assert list(arrays) == ["names", "labels", "classes", "clips", "pooled"]
        assert arrays["names"].tolist() == names and arrays["labels"].tolist() == [0, 0, 0, 1, 1, 1]
        assert arrays["classes"].tolist() == ["A", "B"] and arrays["clips"].tolist() == [4] * 6
        assert arrays["pooled"].shape == (6, 8) and arrays["pooled"].dtype == np.float32  # [h, c] of 4 units
    np.testing.assert_allclose(found["saved_model"]["pooled"], found["log_dir"]["pooled"], rtol=1e-5, atol=1e-5)
    assert sorted(os.listdir(outs["log_dir"])) == ["clips", "embeddings.npz", "manifest.json", "metadata.tsv",
                                                   "projector_config.pbtxt", "sprite.png", "tensors.tsv"]

    # Each video's file: the clips side by side (clip length 3, stride 3), their mean pooled,
    # and each state the encoder's final [h, c] after reading that clip alone.
    from video_lstm.analysis.probe import encoder_states
    from video_lstm.classify import pretrained

    encoder = pretrained.load_encoder(log_dir)[0]
    for name in names:
        stored = {kind: per_video(out, name) for kind, out in outs.items()}
        states = stored["log_dir"]["states"]
        assert states.shape == (4, 8) and stored["log_dir"]["starts"].tolist() == [0, 3, 6, 9]
        assert str(stored["log_dir"]["video"]) == name and str(stored["log_dir"]["status"]) == "ok"
        np.testing.assert_allclose(stored["log_dir"]["pooled"], states.mean(0), rtol=1e-6)
        np.testing.assert_allclose(stored["saved_model"]["states"], states, rtol=1e-5, atol=1e-5)
        frames = np.stack(list(video_decode.read_frames(os.path.join(videos, name), size=16)))
        grey = np.round(frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
        clips = grey.astype(np.uint8).reshape(4, 3, 16, 16, 1)
        np.testing.assert_allclose(encoder_states(encoder, clips), states, rtol=1e-6, atol=1e-7)
    manifests = {kind: json.load(open(os.path.join(out, "manifest.json"))) for kind, out in outs.items()}
    assert manifests["log_dir"]["complete"] and manifests["log_dir"]["summary"]["clips"] == 24
    assert manifests["saved_model"]["settings"]["model"]["signature"] == "encode"
    first = fingerprints.fingerprint(os.path.join(videos, "A", "A0.avi"))
    assert manifests["log_dir"]["videos"][0] == {"video": "A/A0.avi", "label": 0, "class_name": "A", "status": "ok",
                                                 "clips": 4, "file": embedding.video_file("A/A0.avi"),
                                                 "fingerprint": first}
    assert manifests["log_dir"]["refused"] == [] and manifests["log_dir"]["removed"] == []


def test_clips_start_every_stride_kept_frames_and_batches_change_nothing(run, videos):
    model = embedding.load_model(run[0])
    path = os.path.join(videos, "A", "A1.avi")
    # 12 frames, every 2nd kept: 6; clips of 2 kept frames every 3 kept frames start at kept 0, 3.
    one = embedding.embed_video(model, path, embedding.ClipSettings(2, 3, 2, batch_clips=1))
    two = embedding.embed_video(model, path, embedding.ClipSettings(2, 3, 2, batch_clips=2))
    assert one.status == "ok" and one.starts.tolist() == [0, 6] and one.states.shape == (2, 8)
    np.testing.assert_allclose(one.states, two.states, rtol=1e-6, atol=1e-7)
    overlapping = embedding.embed_video(model, path, embedding.ClipSettings(3, 1, 1, batch_clips=4))
    assert overlapping.starts.tolist() == list(range(10))


def test_bad_and_short_videos_are_skipped_with_their_reasons_and_counted(run, videos, tmp_path, capsys):
    folder = tmp_path / "videos"
    shutil.copytree(videos, folder)
    (folder / "A" / "empty.avi").write_bytes(b"")
    (folder / "A" / "text.avi").write_bytes(b"not a video\n" * 50)
    write_video(folder / "B" / "short.avi", moving_shapes(2, 32, 32))
    out = str(tmp_path / "out")
    assert call(f"--pretrained={run[0]}", f"--video_dir={folder}", f"--out={out}") == 0
    printed = capsys.readouterr().out
    assert "embedded 6 of 9 videos (24 clips" in printed
    assert "skipped 3 (empty 1, too short 1, undecodable 1)" in printed
    rows = {row["video"]: row for row in json.load(open(os.path.join(out, "manifest.json")))["videos"]}
    assert rows["A/empty.avi"]["status"] == "skipped" and rows["A/empty.avi"]["reason"].startswith("empty:")
    assert rows["A/text.avi"]["reason"].startswith("undecodable:")
    assert rows["B/short.avi"]["reason"].startswith("too short: 2 frames")
    assert "A/text.avi" not in embedding.load_embeddings(out)["names"].tolist()


# -- resuming ---------------------------------------------------------------------------------


class Killed(BaseException):
    """What the monkeypatched per-video step raises: the job dies mid-way, as under SIGKILL."""


def test_a_job_killed_midway_resumes_to_the_same_bytes_as_one_never_killed(run, videos, tmp_path, monkeypatch):
    flags = [f"--pretrained={run[0]}", f"--video_dir={videos}", "--stride=2"]
    whole, resumed = str(tmp_path / "whole"), str(tmp_path / "resumed")
    assert call(*flags, f"--out={whole}") == 0

    real, calls = embedding.embed_video, []

    def dies_after_two(model, path, settings):
        if len(calls) == 2:
            raise Killed()
        calls.append(path)
        return real(model, path, settings)

    monkeypatch.setattr(embedding, "embed_video", dies_after_two)
    with pytest.raises(Killed):
        call(*flags, f"--out={resumed}")
    manifest = json.load(open(os.path.join(resumed, "manifest.json")))
    assert not manifest["complete"] and manifest["summary"]["pending"] == 6  # recorded at start
    assert len(os.listdir(os.path.join(resumed, "clips"))) == 2
    assert not os.path.exists(os.path.join(resumed, "embeddings.npz"))

    monkeypatch.setattr(embedding, "embed_video", lambda *args: calls.append(args[1]) or real(*args))
    assert call(*flags, f"--out={resumed}") == 0
    assert len(calls) == 6  # two before the kill, the other four after it
    assert tree_hashes(resumed) == tree_hashes(whole)
    before = tree_hashes(resumed)
    assert call(*flags, f"--out={resumed}") == 0 and tree_hashes(resumed) == before and len(calls) == 6


def test_per_video_files_are_equal_bytes_whatever_order_and_time_the_videos_are_done_in(run, videos, tmp_path,
                                                                                          monkeypatch):
    """What item 3 (Beam) leans on: a video's file depends on that video alone, and the outputs on
    the files, not on the order they were written in, nor when (zip members carry no clock time)."""
    import time

    options = embedding.EmbedOptions(pretrained=run[0], video_dir=videos, progress=False)
    model = embedding.load_model(run[0])
    now = time.time()
    for name, order in (("forward", 1), ("backward", -1)):
        monkeypatch.setattr(time, "time", lambda: now + 86400 * (order < 0))  # a day later
        job = embedding.prepare(dataclasses.replace(options, out=str(tmp_path / name)), model=model)
        job.start()
        for item in job.dataset.items[::order]:
            job.write(item, embedding.embed_video(model, item.path, job.settings))
        job.finish()
        job.release()
    assert tree_hashes(str(tmp_path / "forward")) == tree_hashes(str(tmp_path / "backward"))


# -- listings and models ------------------------------------------------------------------------


def test_a_list_file_names_videos_by_path_and_has_no_labels(run, videos, tmp_path):
    listed = tmp_path / "videos.txt"
    listed.write_text(f"# two videos and one that is not there\n{os.path.join(videos, 'B', 'B2.avi')}\n\n"
                      "gone.avi\n")
    shutil.copy(os.path.join(videos, "A", "A0.avi"), tmp_path / "A0.avi")
    with open(listed, "a") as f:
        f.write("  A0.avi  \n")
    out = str(tmp_path / "out")
    assert call(f"--pretrained={run[0]}", "--dataset=list", f"--list_file={listed}", f"--out={out}") == 0
    arrays = embedding.load_embeddings(out)
    assert set(arrays) == {"names", "clips", "pooled"}
    assert arrays["names"].tolist() == [os.path.join(videos, "B", "B2.avi"), "A0.avi"]
    rows = json.load(open(os.path.join(out, "manifest.json")))["videos"]
    assert rows[1] == {"video": "gone.avi", "status": "skipped", "reason": "missing: no such file", "fingerprint": None}
    with pytest.raises(ValueError, match="videos.txt:2: video A0.avi is listed twice"):
        listed.write_text("A0.avi\n A0.avi\n")
        action_datasets.list_file(str(listed))


def test_a_split_lists_its_train_videos_then_its_test_videos(tmp_path):
    from helpers import write_ucf101_splits

    lists = write_ucf101_splits(tmp_path / "splits", ["Archery", "Bowling"], groups=4, clips=1)
    everything = action_datasets.listing("ucf101", str(tmp_path), 1, "all", str(tmp_path / "splits"),
                                         missing="keep")
    assert [item.video_id for item in everything.items] == lists[1][0] + lists[1][1]
    test = action_datasets.listing("ucf101", str(tmp_path), 1, "test", str(tmp_path / "splits"), missing="keep")
    assert [item.video_id for item in test.items] == lists[1][1]


def test_a_percept_model_exported_with_its_convnet_embeds_frames_as_its_network_and_encoder_do(videos, tmp_path):
    from helpers import tiny_network

    from export.encoder import export_model
    from pipelines import percept_networks
    from video_lstm.analysis.probe import encoder_states

    network = tiny_network()
    log_dir = untrained_run(str(tmp_path / "run"), dataset="percepts", percepts_from="videos",
                            percept_videos="folder", video_dir=videos, percept_network="inception_v3",
                            percept_weights="random", input_length=3, future_length=2, loss="squared_error",
                            units=4, seed=0)
    with pytest.raises(ValueError, match="trained on percepts.*--with_convnet"):
        embedding.load_model(log_dir)
    _, model = rundir.load_latest(log_dir, compile=False)
    version = export_model(model, rundir.load_config(log_dir), str(tmp_path / "exported"), "percepts",
                           percept_network=network)
    out = str(tmp_path / "out")
    assert call(f"--pretrained={version}", f"--video_dir={videos}", f"--out={out}", "--stride=5") == 0
    path = os.path.join(videos, "B", "B0.avi")
    frames = np.stack(list(video_decode.read_frames(path)))  # the video's own size: the SavedModel resizes
    expected = encoder_states(model.encoder, percept_networks.extract(network, np.stack([frames[0:3], frames[5:8]])))
    stored = per_video(out, "B/B0.avi")
    assert stored["starts"].tolist() == [0, 5]
    np.testing.assert_allclose(stored["states"], expected, rtol=1e-5, atol=1e-5)

    without = tmp_path / "without_convnet"
    shutil.copytree(version, without)
    table = json.load(open(without / "assets" / "signatures.json"))
    json.dump({**table, "convnet": None}, open(without / "assets" / "signatures.json", "w"))
    with pytest.raises(ValueError, match="exported without its convnet"):
        embedding.load_model(str(without))


@STAGED
def test_the_staged_ucf101_clips(run, tmp_path):
    """The extra check on real files: the staged clips linked as UCF-101 names them, 8-frame clips."""
    classes = {"Basketball": [("v_Basketball_g01_c02", "v_Basketball_g01_c02")],
               "Fencing": [("v_Fencing_g01_c06", "v_Fencing_g01_c06")]}
    (tmp_path / "ucf").mkdir()
    staged = ucf_folder(tmp_path / "ucf", CLIPS, classes, set())
    out = str(tmp_path / "out")
    assert call(f"--pretrained={run[1]}", f"--video_dir={staged}", f"--out={out}", "--input_length=8",
                "--frame_stride=4") == 0
    arrays = embedding.load_embeddings(out)
    assert arrays["names"].tolist() == ["Basketball/v_Basketball_g01_c02.avi", "Fencing/v_Fencing_g01_c06.avi"]
    assert (arrays["clips"] >= 2).all() and np.isfinite(arrays["pooled"]).all()
    assert np.abs(arrays["pooled"][0] - arrays["pooled"][1]).max() > 1e-4  # two videos, two vectors


# -- the example and the command ----------------------------------------------------------------


def test_the_example_classifier_tells_dark_videos_from_bright_ones(run, tmp_path, capsys):
    folder = write_folder(tmp_path / "videos", ("bright", "dark"), per_class=5, frames=6,
                          brightness={"bright": 1.0, "dark": 0.3})
    out = str(tmp_path / "out")
    assert call(f"--pretrained={run[0]}", f"--video_dir={folder}", f"--out={out}") == 0
    spec = importlib.util.spec_from_file_location("example", os.path.join(ROOT, "examples",
                                                                          "linear_classifier_on_embeddings.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    capsys.readouterr()
    accuracy = example.main([out, "--test_fraction=0.4"])
    printed = capsys.readouterr().out
    assert accuracy == 1.0 and "6 training videos, 4 test videos, 2 classes, 8 numbers" in printed
    assert "test accuracy 1.000 (chance 0.500)" in printed


def _file_bytes(out):
    found = {}
    for directory, _, names in os.walk(out):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, out)] = f.read()
    return found


@pytest.mark.parametrize("workers", ["2", "1"])
def test_beam_workers_write_the_same_bytes_as_one_process(run, videos, tmp_path, workers):
    pytest.importorskip("apache_beam")
    one, beam = str(tmp_path / "one"), str(tmp_path / "beam")
    call(f"--pretrained={run[0]}", f"--video_dir={videos}", f"--out={one}", "--runner=in_process")
    extra = ["--direct_running_mode=in_memory"] if workers == "1" else []
    call(f"--pretrained={run[0]}", f"--video_dir={videos}", f"--out={beam}", "--runner=DirectRunner",
         "--", f"--direct_num_workers={workers}", *extra)
    got, want = _file_bytes(beam), _file_bytes(one)
    assert sorted(got) == sorted(want) and any(name.startswith("clips") for name in want)
    assert {"embeddings.npz", "manifest.json"} <= set(want) and len([n for n in want if n.startswith("clips")]) == 6
    for name in want:
        assert got[name] == want[name], name


def test_the_command_runs_as_a_module(run, videos, tmp_path):
    out = str(tmp_path / "out")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "video_lstm.embed", f"--pretrained={run[1]}",
                             f"--video_dir={videos}", f"--out={out}", "--runner=in_process"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "embedded 6 of 6 videos (24 clips, 8 numbers per state" in result.stdout
    assert "embedding: 100%" in result.stderr  # the progress bar
    assert embedding.load_embeddings(out)["pooled"].shape == (6, 8)


# -- listings that change, and what a listing does not take (issue 29) ---------------------------


def test_entries_the_folder_does_not_take_are_named_in_the_manifest_and_the_summary(run, videos, tmp_path, capsys):
    folder = tmp_path / "videos"
    shutil.copytree(videos, folder)
    os.mkfifo(folder / "A" / "pipe.avi")
    (folder / "A" / "folder.avi").mkdir()
    os.symlink("loop.avi", folder / "B" / "loop.avi")
    (folder / "B" / "nested").mkdir()
    write_video(folder / "B" / "nested" / "deep.avi", moving_shapes(12, 32, 32))
    (tmp_path / "secret.avi").write_bytes(b"outside the folder")
    os.symlink(tmp_path / "secret.avi", folder / "B" / "link.avi")
    out = str(tmp_path / "out")
    assert call(f"--pretrained={run[0]}", f"--video_dir={folder}", f"--out={out}") == 0
    printed = capsys.readouterr().out
    assert "embedded 6 of 6 videos" in printed and "not listed: 5 entries of folder" in printed
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    refused = {row["entry"]: row["reason"] for row in manifest["refused"]}
    assert refused == {"A/folder.avi": "a folder, not a video file", "A/pipe.avi": "not a regular file (a FIFO)",
                       "B/link.avi": refused["B/link.avi"], "B/loop.avi": "a symlink loop",
                       "B/nested": refused["B/nested"]}
    assert "outside" in refused["B/link.avi"] and "subfolder" in refused["B/nested"]
    assert manifest["summary"]["refused"] == 5 and manifest["summary"]["videos"] == 6
    # a rerun is complete already, and says so again
    assert call(f"--pretrained={run[0]}", f"--video_dir={folder}", f"--out={out}") == 0
    assert "complete already" in (printed := capsys.readouterr().out) and "not listed: 5 entries" in printed


def test_a_changed_video_is_embedded_again_an_added_one_is_done_and_a_removed_one_is_dropped(run, videos, tmp_path,
                                                                                               monkeypatch, capsys):
    folder = tmp_path / "videos"
    shutil.copytree(videos, folder)
    flags = [f"--pretrained={run[0]}", f"--video_dir={folder}"]
    out = str(tmp_path / "out")
    assert call(*flags, f"--out={out}") == 0
    old = per_video(out, "A/A0.avi")
    real, calls = embedding.embed_video, []
    monkeypatch.setattr(embedding, "embed_video", lambda *args: calls.append(args[1]) or real(*args))

    # replaced under the same name (another video, 15 frames): embedded again, never reused
    write_video(folder / "A" / "A0.avi", moving_shapes(15, 32, 32, seed=77))
    capsys.readouterr()
    assert call(*flags, f"--out={out}") == 0
    printed = capsys.readouterr().out
    assert "1 videos changed since they were embedded" in printed and "A/A0.avi (size" in printed
    assert calls == [str(folder / "A" / "A0.avi")]
    new = per_video(out, "A/A0.avi")
    assert not np.array_equal(new["states"], old["states"]) and new["starts"].tolist() == [0, 3, 6, 9, 12]
    assert json.loads(str(new["fingerprint"])) == fingerprints.fingerprint(folder / "A" / "A0.avi")

    # a video added: only it is embedded; one removed: named, dropped from embeddings.npz
    write_video(folder / "B" / "B9.avi", moving_shapes(12, 32, 32, seed=5))
    os.remove(folder / "A" / "A1.avi")
    calls.clear()
    assert call(*flags, f"--out={out}") == 0
    printed = capsys.readouterr().out
    assert calls == [str(folder / "B" / "B9.avi")]
    assert "1 videos listed now are new" in printed and "B/B9.avi" in printed
    assert "1 videos embedded in" in printed and "no longer listed" in printed and "A/A1.avi" in printed
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert manifest["removed"] == ["A/A1.avi"] and manifest["complete"]
    names = embedding.load_embeddings(out)["names"].tolist()
    assert names == ["A/A0.avi", "A/A2.avi", "B/B0.avi", "B/B1.avi", "B/B2.avi", "B/B9.avi"]

    # the same as embedding the folder as it is now into a new --out
    fresh = str(tmp_path / "fresh")
    assert call(*flags, f"--out={fresh}") == 0
    with open(os.path.join(out, "embeddings.npz"), "rb") as a, open(os.path.join(fresh, "embeddings.npz"), "rb") as b:
        assert a.read() == b.read()

    # the removed video comes back unchanged: its file is reused, and "removed" empties
    shutil.copy(os.path.join(videos, "A", "A1.avi"), folder / "A" / "A1.avi")
    calls.clear()
    assert call(*flags, f"--out={out}") == 0
    assert calls == [str(folder / "A" / "A1.avi")]  # copied without its mtime: a changed fingerprint, redone
    assert json.load(open(os.path.join(out, "manifest.json")))["removed"] == []


def test_a_flat_folder_of_videos_is_told_to_use_a_list_file(videos, tmp_path):
    for name in ("x.avi", "y.avi"):
        shutil.copy(os.path.join(videos, "A", "A0.avi"), tmp_path / name)
    options = embedding.EmbedOptions(pretrained="p", out=str(tmp_path / "out"), video_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"--video_dir: no videos .* holds 2 video\(s\) directly \(x.avi, y.avi\).*"
                                         r"--dataset=list --list_file="):
        embedding.list_videos(options)
