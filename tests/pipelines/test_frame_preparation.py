"""One frame preparation and one decode status for every command (issue 29, items 1, 2, 14).

The done-when test: the same generated video goes through training's video source, predict
(log_dir and SavedModel), embed (one process, the Beam DirectRunner, the SavedModel) for a
run of whole frames and a run of patches, and the same tensors reach the encoder: equal
uint8 clips, equal float frames in predict's context.npy, and equal encoder states (to 1e-5).
A percept model's SavedModel with its convnet is fed the frames extract_percepts reads.

Then a truncated video (the first 40% of an AVI's bytes) has one decode status, "partial"
with the frames read and declared, in embed's manifest and summary, predict's prediction.json
and warning, extract_percepts' manifest, training's source record and `DecodeReport`.
Runs are untrained (their weights do not matter here); videos are generated (helpers).
"""

import argparse
import json
import logging
import os

import numpy as np
import pytest
from helpers import call_embed as call
from helpers import moving_shapes, per_video, untrained_run, write_video

from pipelines import sources, user_video, video_decode
from pipelines.sources import videos as videos_source
from video_lstm import embedding, rundir
from video_lstm.core import cli

LENGTH = 3  # the runs' input length: the clip every path cuts
RUNS = {  # whole grey 16x16 frames of a non-square video; 8x8 RGB patches of 20x20 frames (a 2x2 tiling, offset 2)
    "frames": {"frame_size": 16, "color": "grey"},
    "patches": {"frame_size": 20, "patch_size": 8, "color": "rgb"},
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """A folder of class subfolders (48x64 videos of 12 frames) and a truncated copy of one."""
    root = tmp_path_factory.mktemp("videos")
    for c in "AB":
        os.makedirs(root / c)
        for i in range(2):
            write_video(root / c / f"{c}{i}.avi", moving_shapes(12, 48, 64, seed=10 * (c == "B") + i))
    return str(root)


@pytest.fixture(scope="module", params=list(RUNS))
def run(request, tmp_path_factory, videos):
    """(kind, log_dir, SavedModel version dir) of an untrained folder run."""
    from export.saved_model import export_log_dir

    base = tmp_path_factory.mktemp(request.param)
    log_dir = untrained_run(str(base / "run"), dataset="folder", video_dir=videos, units=4, input_length=LENGTH,
                            future_length=2, seed=0, **RUNS[request.param])
    return request.param, log_dir, export_log_dir(log_dir, str(base / "exported"), model_name="encoder")


def training_clips(log_dir, path, start=0):
    """uint8 (corners, LENGTH, *frame_shape): the encoder's part (the first LENGTH frames) of the
    training clip at `start` of each patch position of the tiling, as training's video source
    reads it (`Source.read`)."""
    config = rundir.load_config(log_dir)
    source = videos_source.Source(config)
    preparation = sources.frame_preparation(config)
    return np.stack([source.read(path, [(start, corner)])[0][:LENGTH] for corner in preparation.corners])


def test_train_predict_embed_and_the_saved_model_feed_the_encoder_the_same_tensors(run, videos, tmp_path):
    from video_lstm.analysis.probe import encoder_states
    from video_lstm.classify import pretrained

    kind, log_dir, version = run
    path = os.path.join(videos, "A", "A1.avi")
    expected = training_clips(log_dir, path)  # (corners, T, h, w, c)
    corners = 4 if kind == "patches" else 1
    assert expected.shape[:2] == (corners, LENGTH) and expected.dtype == np.uint8

    # embed's clips (log_dir and SavedModel models): the same uint8 tensors.
    settings = embedding.ClipSettings(LENGTH, LENGTH, 1, batch_clips=2)
    for pretrained_path in (log_dir, version):
        model = embedding.load_model(pretrained_path)
        start, clip = next(iter(embedding.clips_of(path, model, settings)))
        assert start == 0
        np.testing.assert_array_equal(clip, expected)

    # predict's frames, through the command (log_dir and SavedModel): the same, as floats, stitched.
    stitched = user_video.stitch(expected.astype(np.float32) / 255, sources.frame_preparation(rundir.load_config(
        log_dir)))
    from video_lstm import predict

    for flag in (f"--log_dir={log_dir}", f"--saved_model={version}"):
        out = str(tmp_path / f"predict_{flag[2:5]}")
        assert cli.call(predict, [flag, f"--video={path}", f"--out={out}", f"--context={LENGTH}", "--future=1"]) == 0
        np.testing.assert_array_equal(np.load(os.path.join(out, "context.npy")), stitched)
        record = json.load(open(os.path.join(out, "prediction.json")))
        assert record["decode"] == {"status": "ok"}

    # The encoder states of embed (one process, Beam, SavedModel): those of training's clips,
    # a clip of patches the mean of its patches' states.
    encoder = pretrained.load_encoder(log_dir)[0]
    want = encoder_states(encoder, expected).mean(axis=0)
    runs = {"in_process": (log_dir, ["--runner=in_process"]), "saved_model": (version, ["--runner=in_process"])}
    try:
        import apache_beam  # noqa: F401

        runs["beam"] = (log_dir, ["--runner=DirectRunner", "--", "--direct_num_workers=1",
                                  "--direct_running_mode=in_memory"])
    except ImportError:
        pass
    for name, (pretrained_path, extra) in runs.items():
        out = str(tmp_path / f"embed_{name}")
        assert call(f"--pretrained={pretrained_path}", f"--video_dir={videos}", f"--out={out}", *extra) == 0
        stored = per_video(out, "A/A1.avi")
        np.testing.assert_allclose(stored["states"][0], want, rtol=1e-5, atol=1e-5, err_msg=name)
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        preparation = manifest["settings"]["preparation"]
        assert preparation["frame_size"] == RUNS[kind]["frame_size"]
        assert preparation["patch_size"] == RUNS[kind].get("patch_size", 0)
        assert preparation["color"] == RUNS[kind]["color"] and preparation["frame_stride"] == 1
        if kind == "patches":
            assert preparation["patches"] == [[2, 2], [2, 10], [10, 2], [10, 10]]


def test_a_percept_models_saved_model_is_fed_the_frames_extract_percepts_reads(videos, tmp_path):
    """The SavedModel with its convnet inside: embed sends it the frames extract_percepts' network
    reads (the video's own size, every frame_stride-th, RGB; the graph resizes, as the network does)."""
    from helpers import tiny_network

    from export.saved_model import export_model
    from pipelines import percept_extraction as extract_percepts

    log_dir = untrained_run(str(tmp_path / "run"), dataset="percepts", percepts_from="videos",
                            percept_videos="folder", video_dir=videos, frame_stride=2,
                            percept_network="inception_v3", percept_weights="random", input_length=LENGTH,
                            future_length=2, loss="squared_error", units=4, seed=0)
    _, model = rundir.load_latest(log_dir, compile=False)
    version = export_model(model, rundir.load_config(log_dir), str(tmp_path / "exported"), "percepts",
                           percept_network=tiny_network())
    served = embedding.load_model(version)
    extraction = extract_percepts.preparation(argparse.Namespace(frame_stride=2))
    assert served.preparation == extraction == video_decode.FramePreparation(0, 2)
    path = os.path.join(videos, "B", "B0.avi")
    _, clip = next(iter(embedding.clips_of(path, served, embedding.ClipSettings(LENGTH, LENGTH, 2, 1))))
    frames = np.stack(list(extraction.frames(path)))[:LENGTH]
    assert frames.shape == (LENGTH, 48, 64, 3)
    np.testing.assert_array_equal(clip[0], frames)


# -- one decode status ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    """(folder with A/whole.avi and A/cut.avi, path of cut.avi, frames it decodes): cut.avi is the
    first 40% of the bytes of a 40-frame AVI."""
    root = tmp_path_factory.mktemp("truncated")
    os.makedirs(root / "A")
    frames = moving_shapes(40, 48, 64, seed=3)
    write_video(root / "A" / "whole.avi", frames)
    cut = root / "A" / "cut.avi"
    write_video(cut, frames)
    data = cut.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.4)])
    decoded = video_decode.count_frames(str(cut))
    assert video_decode.probe(str(cut)).frame_count == 40 and LENGTH <= decoded < 40
    return str(root), str(cut), decoded


def partial_warnings(caplog, name="cut.avi"):
    return [r.getMessage() for r in caplog.records if "decoded partly" in r.getMessage() and name in r.getMessage()]


def test_a_truncated_video_has_one_decode_status_in_every_command(truncated, tmp_path, caplog, capsys):
    root, cut, decoded = truncated
    want = {"status": "partial", "frames_read": decoded, "frames_declared": 40}
    caplog.set_level(logging.WARNING, logger="absl")
    assert video_decode.decode_status(cut).record() == want
    assert video_decode.decode_status(os.path.join(root, "A", "whole.avi")).record() == {"status": "ok"}
    line = video_decode.DecodeStatus(**want).message(cut)
    assert line == (f"video {cut} decoded partly: {decoded} of the 40 frames its container declares (damaged or "
                    "truncated); using the frames read")

    # embed: the manifest row and summary, and the printed summary.
    log_dir = untrained_run(str(tmp_path / "run"), dataset="folder", video_dir=root, frame_size=16, color="grey",
                            units=4, input_length=LENGTH, future_length=2, seed=0)
    out = str(tmp_path / "embed")
    caplog.clear()
    assert call(f"--pretrained={log_dir}", f"--video_dir={root}", f"--out={out}", "--test_fraction=0.5") == 0
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    rows = {row["video"]: row for row in manifest["videos"]}
    assert {k: rows["A/cut.avi"][k] for k in want} == want and rows["A/cut.avi"]["clips"] == decoded // LENGTH
    assert rows["A/whole.avi"]["status"] == "ok" and "frames_read" not in rows["A/whole.avi"]
    assert (manifest["summary"]["ok"], manifest["summary"]["partial"], manifest["summary"]["skipped"]) == (1, 1, 0)
    assert embedding.load_embeddings(out)["names"].tolist() == ["A/cut.avi", "A/whole.avi"]
    printed = capsys.readouterr().out
    assert "embedded 2 of 2 videos" in printed and "partial 1: decoded partly" in printed
    assert len(partial_warnings(caplog)) == 1

    # predict: prediction.json and one warning line.
    from video_lstm import predict

    caplog.clear()
    out = str(tmp_path / "predict")
    assert cli.call(predict, [f"--log_dir={log_dir}", f"--video={cut}", f"--out={out}", f"--context={LENGTH}"]) == 0
    assert json.load(open(os.path.join(out, "prediction.json")))["decode"] == want
    assert len(partial_warnings(caplog)) == 1

    # training's video source (data.json's partial_videos) and DecodeReport.
    caplog.clear()
    source = videos_source.Source(rundir.load_config(log_dir))
    source.train_videos, source.test_videos  # noqa: B018 (listed, so that names are relative)
    assert source.decoder.usable_frames(cut) == decoded
    assert source.partial() == {"A/cut.avi": want} and source.skipped() == {}
    report = video_decode.DecodeReport()
    assert len(list(video_decode.decode_many([cut], LENGTH, report=report))) == decoded // LENGTH
    assert report.status(cut).record() == want and "1 of them partial" in str(report)
    assert len(partial_warnings(caplog)) == 2


def test_extract_percepts_reports_the_same_decode_status(truncated, tmp_path, caplog):
    from helpers import tiny_network

    from pipelines import percept_extraction as extract_percepts

    root, cut, decoded = truncated
    options = argparse.Namespace(frame_stride=2, stream="rgb", batch_frames=8, percept_precision="float32",
                                 percept_engine="tensorflow", min_frames=1)
    caplog.set_level(logging.WARNING, logger="absl")
    percepts, index, partial = extract_percepts.video_percepts(tiny_network(), cut, options)
    assert partial == {"status": "partial", "frames_read": decoded, "frames_declared": 40}
    assert len(percepts) == -(-decoded // 2) and index.tolist() == list(range(0, decoded, 2))


def test_a_tiny_video_scaled_up_a_lot_is_warned_about_once(tmp_path, caplog):
    path = write_video(tmp_path / "tiny.avi", moving_shapes(6, 16, 20, seed=1))
    preparation = video_decode.FramePreparation(64)
    caplog.set_level(logging.WARNING, logger="absl")
    for _ in range(2):
        assert len(list(preparation.frames(path))) == 6
    lines = [r.getMessage() for r in caplog.records if "scaled up" in r.getMessage()]
    assert lines == [f"video {path} is 20x16 pixels: scaled up 4.0x to the model's 64x64 frames (the model sees "
                     "interpolated pixels; a larger video gives it more to see)"]
    caplog.clear()
    list(video_decode.FramePreparation(32).frames(write_video(tmp_path / "small.avi", moving_shapes(4, 16, 20))))
    assert not [r for r in caplog.records if "scaled up" in r.getMessage()]  # 2x: not warned
