"""`python -m video_lstm.predict`: a user's video prepared as the run was trained, the model's
reconstruction and prediction written as GIF, MP4, .npy and JSON; the same results from a log_dir
and from its exported SavedModel. (Bad flags and inputs: tests/bad_inputs.py's table.)

The runs are untrained checkpoints (Glorot weights, so that outputs vary): a Moving MNIST
composite (32x32 grey) with its export, an RGB patch run of videos (16x16 patches of 32x32
frames, every second frame) and an autoencoder.
"""

import json
import os
import subprocess
import sys

import cv2
import helpers
import numpy as np
import pytest
from absl import flags
from helpers import hide_tensorflow, jax_environment, moving_shapes, tree_hashes, write_video

from pipelines import user_video, video_decode
from video_lstm import config as config_lib
from video_lstm import predict, rundir
from video_lstm.core import cli

ROOT = helpers.ROOT
DATA = os.environ.get("VIDEO_LSTM_DATA_DIR", "")
STAGED_CLIP = os.path.join(DATA, "ucf101", "clips", "sample_a.avi")
TINY = dict(units=8, input_length=3, future_length=2, init_scale=0.0, jit_compile=False)


def make_run(path, step=3, **values):
    """A log_dir with config.json and one checkpoint of an untrained model of `values`."""
    config = config_lib.make(**{**TINY, **values})
    rundir.record_config(str(path), config)
    rundir.save(rundir.build(config), str(path), step)
    return str(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from export import saved_model as encoder

    base = tmp_path_factory.mktemp("predict")
    made = {
        "mnist": make_run(base / "mnist", frame_size=32, num_digits=1, digits="rendered"),
        "patches": make_run(base / "patches", dataset="folder", video_dir="/videos/elsewhere", frame_size=32,
                            patch_size=16, frame_stride=2, loss="squared_error"),
        "autoencoder": make_run(base / "autoencoder", model="autoencoder", frame_size=32, digits="rendered"),
    }
    made["exported"] = encoder.export_log_dir(made["mnist"], str(base / "exported"))
    made["frames"] = moving_shapes(14, 48, 64)  # RGB uint8 (14, 48, 64, 3)
    made["video"] = write_video(base / "video.avi", made["frames"])
    return made


def call(*argv):
    return cli.call(predict, [str(a) for a in argv])


def gif_frames(path):
    from PIL import Image

    image, count = Image.open(path), 1
    while True:
        try:
            image.seek(image.tell() + 1)
        except EOFError:
            return count
        count += 1


def mp4_frames(path):
    capture, count = cv2.VideoCapture(path), 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def outputs(out):
    return {name: np.load(os.path.join(out, f"{name}.npy")) for name in ("context", "future", "reconstruction")
            if os.path.exists(os.path.join(out, f"{name}.npy"))}


def test_a_moving_mnist_run_predicts_a_video_file(runs, tmp_path):
    out = tmp_path / "out"
    assert call(f"--pretrained={runs['mnist']}", f"--video={runs['video']}", f"--out={out}", "--start=2",
                "--future_length=5") == 0
    found = outputs(out)
    assert {name: a.shape for name, a in found.items()} == {
        "context": (3, 32, 32, 1), "reconstruction": (3, 32, 32, 1), "future": (5, 32, 32, 1)}
    assert all(a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1 for a in found.values())
    assert found["future"].std() > 1e-3  # frames, not a constant
    # The context: frames 2..4 of the video, shorter side scaled to 32, centre-cropped, grey (OpenCV's own).
    decoded = list(video_decode.read_frames(runs["video"]))[2:5]
    expected = []
    for frame in decoded:
        scaled = cv2.resize(frame, (43, 32), interpolation=cv2.INTER_AREA)[:, 5:37]
        expected.append(cv2.cvtColor(scaled, cv2.COLOR_RGB2GRAY)[..., None] / 255.0)
    np.testing.assert_allclose(found["context"], np.stack(expected), atol=1.01 / 255)
    # the GIF and MP4: context then future, the video's own frames beside the model's
    assert gif_frames(str(out / "prediction.gif")) == mp4_frames(str(out / "prediction.mp4")) == 3 + 5
    record = json.loads((out / "prediction.json").read_text())
    assert record["model"]["log_dir"] == runs["mnist"] and record["model"]["step"] == 3
    assert record["model"]["checkpoint"].endswith("ckpt-00000003.keras")
    assert (record["context"], record["future"], record["start"], record["truth_frames"]) == (3, 5, 2, 5)
    assert record["context_video_frames"] == [2, 4] and record["fps"] == 25.0
    assert record["preparation"] == {"size": 32, "stride": 1, "color": "grey", "patch_size": 0}
    assert record["shapes"]["future"] == [5, 32, 32, 1]


def test_a_log_dir_and_its_saved_model_predict_the_same(runs, tmp_path):
    common = [f"--video={runs['video']}", "--future_length=7", "--input_length=4"]  # longer than trained: a rollout
    assert call(f"--pretrained={runs['mnist']}", f"--out={tmp_path / 'a'}", *common) == 0
    assert call(f"--pretrained={os.path.dirname(runs['exported'])}", f"--out={tmp_path / 'b'}", *common) == 0
    a, b = outputs(tmp_path / "a"), outputs(tmp_path / "b")
    assert set(a) == set(b) == {"context", "future", "reconstruction"}
    for name in a:
        assert a[name].shape == b[name].shape
        np.testing.assert_allclose(a[name], b[name], atol=1e-5, err_msg=name)
    record = json.loads((tmp_path / "b" / "prediction.json").read_text())
    assert record["model"]["saved_model"] == runs["exported"] and record["model"]["step"] == 3


def test_a_npy_and_a_folder_of_images_are_read_as_the_same_frames(runs, tmp_path):
    frames = runs["frames"]
    np.save(tmp_path / "frames.npy", frames)
    np.save(tmp_path / "float.npy", frames.astype(np.float32) / 255)
    np.save(tmp_path / "grey.npy", frames[..., 1])  # (T, H, W)
    images = tmp_path / "images"
    images.mkdir()
    for t, frame in enumerate(frames):  # frame_2 before frame_10: numbers compared as numbers
        cv2.imwrite(str(images / f"frame_{t}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    found = {}
    for name in ("frames.npy", "float.npy", "grey.npy", "images"):
        out = tmp_path / f"out_{name}"
        assert call(f"--pretrained={runs['mnist']}", f"--video={tmp_path / name}", f"--out={out}", "--start=9") == 0
        found[name] = outputs(out)["context"]
    np.testing.assert_array_equal(found["frames.npy"], found["images"])
    np.testing.assert_allclose(found["float.npy"], found["frames.npy"], atol=1.01 / 255)  # uint8 rounds twice
    assert np.abs(found["grey.npy"] - found["frames.npy"]).max() > 0.01  # the green channel alone differs
    record = json.loads((tmp_path / "out_images" / "prediction.json").read_text())
    assert record["video_kind"] == "images" and record["fps"] == 10.0 and record["truth_frames"] == 2


def test_a_patch_run_tiles_each_frame_and_stitches_the_outputs(runs, tmp_path):
    out = tmp_path / "out"
    assert call(f"--pretrained={runs['patches']}", f"--video={runs['video']}", f"--out={out}", "--start=1") == 0
    found = outputs(out)
    assert {name: a.shape for name, a in found.items()} == {
        "context": (3, 32, 32, 3), "reconstruction": (3, 32, 32, 3), "future": (2, 32, 32, 3)}
    # The four 16x16 patches of each frame, stitched, are the whole frame: kept frames 1..3 at stride 2.
    config = rundir.load_config(runs["patches"])
    whole = video_decode.FramePreparation(32, 2, "rgb")
    np.testing.assert_array_equal(found["context"], user_video.read(runs["video"], whole, 1, 3)[0])
    record = json.loads((out / "prediction.json").read_text())
    assert record["patches"] == [[0, 0], [0, 16], [16, 0], [16, 16]]
    assert record["context_video_frames"] == [2, 6] and record["fps"] == 12.5
    assert config.input_spec.frame_shape == (16, 16, 3)


def test_patches_tile_the_largest_centred_square_and_stitch_back():
    preparation = video_decode.FramePreparation(36, color="grey", patch_size=16)
    assert user_video.patch_corners(preparation) == [(2, 2), (2, 18), (18, 2), (18, 18)]
    frames = np.random.default_rng(0).integers(0, 256, (2, 36, 36, 3), dtype=np.uint8)
    patches = np.stack([preparation.finish(frames, corner) for corner in user_video.patch_corners(preparation)])
    assert patches.shape == (4, 2, 16, 16, 1)
    whole = video_decode.FramePreparation(36, color="grey").finish(frames)
    np.testing.assert_array_equal(user_video.stitch(patches, preparation), whole[:, 2:34, 2:34])


def test_an_autoencoder_reconstructs_only_and_overwrite_replaces_a_whole_prediction(runs, tmp_path):
    out = tmp_path / "out"
    assert call(f"--pretrained={runs['mnist']}", f"--video={runs['video']}", f"--out={out}") == 0
    before = tree_hashes(out)
    assert call(f"--pretrained={runs['autoencoder']}", f"--video={runs['video']}", f"--out={out}") == 1  # refused
    assert tree_hashes(out) == before
    assert call(f"--pretrained={runs['autoencoder']}", f"--video={runs['video']}", f"--out={out}", "--overwrite") == 0
    assert {name: a.shape for name, a in outputs(out).items()} == {
        "context": (3, 32, 32, 1), "reconstruction": (3, 32, 32, 1)}  # the composite's future.npy is gone
    assert gif_frames(str(out / "prediction.gif")) == 3
    assert json.loads((out / "prediction.json").read_text())["future"] == 0


NO_TF = r"""
import runpy, sys
runpy.run_module("video_lstm.predict", run_name="__main__", alter_sys=True)
"""


def test_predict_command_in_a_subprocess_without_tensorflow(runs, tmp_path):
    """The smoke test of `python -m video_lstm.predict`, on the JAX backend with TensorFlow hidden:
    a log_dir needs no TensorFlow, and its prediction is the one TensorFlow computes."""
    pytest.importorskip("jax")
    env = jax_environment(hide_tensorflow(tmp_path / "no_tensorflow"))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", NO_TF, f"--log_dir={runs['mnist']}", f"--video={runs['video']}",
                             f"--out={out}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "predicted 2 frames from 3" in result.stdout and f"wrote {out}/prediction.mp4" in result.stdout
    assert "--log_dir is deprecated: use --pretrained" in result.stderr  # the old name, absl's own flag, still runs
    assert call(f"--pretrained={runs['mnist']}", f"--video={runs['video']}", f"--out={tmp_path / 'tf'}") == 0
    for name, array in outputs(tmp_path / "tf").items():
        np.testing.assert_allclose(outputs(out)[name], array, atol=1e-5, err_msg=name)


@pytest.mark.skipif(not os.path.exists(STAGED_CLIP), reason="staged clips absent: set $VIDEO_LSTM_DATA_DIR")
def test_a_staged_ucf101_clip(runs, tmp_path):
    """The extra check on a real file: an XviD AVI of UCF-101 (320x240, 25 fps)."""
    out = tmp_path / "out"
    assert call(f"--pretrained={runs['patches']}", f"--video={STAGED_CLIP}", f"--out={out}", "--start=20",
                "--future_length=4") == 0
    found = outputs(out)
    assert found["context"].shape == (3, 32, 32, 3) and found["future"].shape == (4, 32, 32, 3)
    assert 0.05 < found["context"].std() and np.abs(np.diff(found["context"], axis=0)).mean() < 0.2
    record = json.loads((out / "prediction.json").read_text())
    assert record["context_video_frames"] == [40, 44] and record["fps"] == 12.5


def test_the_old_flag_names_are_deprecated_aliases(runs, tmp_path, capsys):
    """--log_dir, --saved_model, --context and --future still run, one warning line each, as the new names."""
    common = [f"--video={runs['video']}", "--start=1"]
    assert call(f"--pretrained={runs['mnist']}", "--input_length=4", "--future_length=3", f"--out={tmp_path / 'a'}",
                *common) == 0
    capsys.readouterr()
    assert call(f"--saved_model={runs['exported']}", "--context=4", "--future=3", f"--out={tmp_path / 'b'}",
                *common) == 0
    err = capsys.readouterr().err
    for old, new in (("saved_model", "pretrained"), ("context", "input_length"), ("future", "future_length")):
        assert f"--{old} is deprecated: use --{new}" in err
    assert outputs(tmp_path / "b")["future"].shape == outputs(tmp_path / "a")["future"].shape == (3, 32, 32, 1)
    assert call(f"--log_dir={runs['mnist']}", f"--saved_model={runs['exported']}", f"--out={tmp_path / 'c'}",
                *common) == 1
    assert "two values" in capsys.readouterr().err
    flag_values = flags.FlagValues()
    predict.define_flags(flag_values)
    assert cli.deprecated_aliases(flag_values) == {"log_dir": "pretrained", "saved_model": "pretrained",
                                                   "context": "input_length", "future": "future_length"}
    assert flag_values["log_dir"].help.startswith("Deprecated: use --pretrained")


def test_the_model_source_tells_a_run_from_a_saved_model(runs, tmp_path):
    from video_lstm.core.settings import ModelSource

    assert ModelSource(runs["mnist"]).check() == "log_dir"
    model_dir = os.path.dirname(runs["exported"])  # its newest version
    assert ModelSource(runs["exported"]).check() == ModelSource(model_dir).kind() == "saved_model"
    assert ModelSource(str(tmp_path)).kind() is None
    for source, message in ((ModelSource(""), "--pretrained is required"),
                            (ModelSource(str(tmp_path / "none")), "does not exist"),
                            (ModelSource(str(tmp_path)), "not a training run"),
                            (ModelSource(runs["exported"], checkpoint="ckpt.keras"), "is a SavedModel"),
                            (ModelSource(runs["mnist"], checkpoint=str(tmp_path / "ckpt.keras")), "not found")):
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            source.check()
