"""Issue 29, items 12 and 14: the error line first, fast and alone; help that lists a command's flags.

Every command runs through `core.cli.run`, which keeps TensorFlow's and Beam's start-up chatter
out of stderr unless --verbosity asks for it, and registers the command's flags as key flags of
the main module (absl's --help/--helpshort list those).
"""

import os
import subprocess
import sys
import time

import pytest
from helpers import hide_tensorflow

from video_lstm.core import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, timeout=120):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env,
                            timeout=timeout, cwd=ROOT)
    return result, time.perf_counter() - started


def fake_run(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    return str(run)


@pytest.mark.parametrize("video, expected", [
    ("empty.avi", "file is empty (0 bytes)"),
    ("missing.avi", "no such file or folder"),
    ("garbage.avi", "OpenCV cannot decode it"),
])
def test_a_bad_video_to_predict_is_one_line_within_3_s_without_tensorflow(tmp_path, video, expected):
    path = tmp_path / video
    if video == "empty.avi":
        path.write_bytes(b"")
    elif video == "garbage.avi":
        path.write_bytes(os.urandom(4096))
    # `import tensorflow` fails on this path: a line other than the expected one if anything imports it.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([hide_tensorflow(tmp_path / "shim"), ROOT]))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "video_lstm.predict", f"--pretrained={fake_run(tmp_path)}",
                             f"--video={path}", f"--out={tmp_path / 'out'}"], capture_output=True, text=True,
                            env=env, timeout=60, cwd=ROOT)
    seconds = time.perf_counter() - started
    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith(f"video_lstm.predict: error: --video={path}: {expected}"), lines
    assert result.stdout == ""
    assert seconds < 3, seconds
    assert not (tmp_path / "out").exists()


def test_tensorflow_start_up_chatter_stays_out_unless_verbosity_asks(tmp_path):
    """A run that loads TensorFlow and fails after (no checkpoint): one line; with -v=0 TensorFlow's own lines show."""
    import cv2
    import numpy as np

    video = str(tmp_path / "ok.avi")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    for i in range(20):
        writer.write(np.full((32, 32, 3), 10 * i, np.uint8))
    writer.release()
    args = [f"--pretrained={fake_run(tmp_path)}", f"--video={video}", f"--out={tmp_path / 'out'}"]
    quiet, _ = run_module("video_lstm.predict", *args)
    assert quiet.returncode == 1
    assert len(quiet.stderr.splitlines()) == 1 and "no checkpoint" in quiet.stderr, quiet.stderr  # TensorFlow loaded


def test_help_lists_the_commands_own_flags():
    for option in ("--help", "--helpshort"):
        result, _ = run_module("video_lstm.probe", option)
        assert "--shots" in result.stdout and "--seeds" in result.stdout, result.stdout
        assert "The run directory video_lstm.train wrote." in result.stdout
    full, _ = run_module("video_lstm.predict", "--helpfull")
    assert "directory to write logfiles into" not in full.stdout
    assert "--log_dir: Deprecated: use --pretrained" in full.stdout  # absl's own flag, now predict's old name
    assert "--pretrained: The model" in full.stdout and "--video:" in full.stdout


def test_verbosity_read_before_the_flags():
    assert cli._verbosity_asked([]) == -1
    assert cli._verbosity_asked(["--verbosity=1"]) == 1
    assert cli._verbosity_asked(["-v", "0", "--x=1"]) == 0
    assert cli._verbosity_asked(["--verbosity=info"]) == 0
    assert cli._verbosity_asked(["--", "-v=2"]) == -1


def test_quiet_start_up_respects_a_users_level(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    cli.quiet_start_up(-1)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    cli.quiet_start_up(0)  # INFO asked: TensorFlow's default
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ


def test_silenced_stderr_restores_it(capfd):
    with cli.silenced_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"


def test_predict_out_defaults_to_a_folder_named_after_the_video():
    from video_lstm import predict

    assert predict.default_out("clips/my_video.mp4") == "my_video_prediction"
    assert predict.default_out("frames/") == "frames_prediction"


def test_the_prediction_panels_are_named():
    import numpy as np

    from video_lstm.analysis import figures

    frames = figures.sample_gif_frames(np.zeros((2, 32, 32, 1), np.float32), None, np.zeros((1, 32, 32, 1)), None)
    band = frames[:, : figures.LABEL_HEIGHT]
    assert band[:, :, :32].max() == 255 and band[:, :, 34:].max() == 255  # "input"/"truth" and "model"
