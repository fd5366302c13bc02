"""Tests of pipelines.video_decode: OpenCV decoding into clips, bad files skipped and counted.

On videos written here (MJPG .avi, mp4v .mp4); the staged UCF-101 samples under
$VIDEO_LSTM_DATA_DIR, where present, are an extra check of real files.
"""

import os
import pathlib
import subprocess
import sys

import cv2
import helpers
import numpy as np
import pytest
from helpers import moving_shapes, write_video

from pipelines import video_decode
from pipelines.digits import DATA_DIR_ENV

SAMPLE_FRAMES = {"sample_a.avi": 127, "sample_b.avi": 165, "sample_c.avi": 125}


def _staged(name):
    """Path of a staged UCF-101 clip; skips the test when it is absent."""
    data_dir = os.environ.get(DATA_DIR_ENV)
    if not data_dir:
        pytest.skip(f"${DATA_DIR_ENV} is not set (staged UCF-101 clips)")
    path = os.path.join(data_dir, "ucf101", "clips", name)
    if not os.path.isfile(path):
        pytest.skip(f"staged clip {path} is absent")
    return path


def _write_video(path, frames_bgr, fps=10):
    """Writes BGR uint8 (T, H, W, 3) frames as MJPG AVI (works with opencv-headless)."""
    height, width = frames_bgr.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames_bgr:
        writer.write(frame)
    writer.release()
    return str(path)


def _numbered_video(path, num_frames, height=24, width=32):
    """A video whose frame t is uniform grey 8 * t (so frames can be told apart after JPEG)."""
    levels = (np.arange(num_frames) * 8).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (num_frames, height, width, 3)).copy()
    return _write_video(path, frames)


def _frame_numbers(frames):
    """The frame index each frame of a `_numbered_video` shows."""
    return [round(float(frame.mean()) / 8) for frame in frames]


@pytest.fixture
def bad_videos(tmp_path):
    """{kind: path}: missing, zero-byte, random bytes, frameless, and a short video."""
    paths = {"missing": str(tmp_path / "missing.avi")}
    (tmp_path / "empty.avi").write_bytes(b"")
    paths["empty"] = str(tmp_path / "empty.avi")
    (tmp_path / "random.avi").write_bytes(np.random.default_rng(0).bytes(20_000))
    paths["undecodable"] = str(tmp_path / "random.avi")
    writer = cv2.VideoWriter(str(tmp_path / "frameless.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    writer.release()
    paths["no frames"] = str(tmp_path / "frameless.avi")
    paths["too short"] = _numbered_video(tmp_path / "short.avi", 3)
    return paths


# -- one video ----------------------------------------------------------------


def test_staged_avis_decode_all_reported_frames():
    for name in sorted(SAMPLE_FRAMES):
        path = _staged(name)
        info = video_decode.probe(path)
        capture = cv2.VideoCapture(path)
        reported = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        assert info.frame_count == reported == SAMPLE_FRAMES[name], name
        assert (info.width, info.height, info.fps) == (320, 240, 25.0), name
        frames = list(video_decode.read_frames(path))
        assert len(frames) == reported == video_decode.count_frames(path), name
        assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for f in frames), name


def test_staged_mp4_reports_no_count_but_decodes():
    path = _staged("v_CliffDiving_g03_c01.mp4")
    info = video_decode.probe(path)
    assert info.frame_count is None  # OpenCV reports a negative count for these MP4s
    assert (info.width, info.height) == (340, 256)
    frames = list(video_decode.read_frames(path, stride=2, size=64))
    assert len(frames) == (video_decode.count_frames(path) + 1) // 2
    assert frames[0].shape == (64, 64, 3) and frames[0].dtype == np.uint8


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_a_written_video_decodes_every_frame_it_reports(tmp_path, suffix):
    written = moving_shapes(33, height=48, width=64, seed=1)
    path = write_video(tmp_path / f"shapes{suffix}", written)
    info = video_decode.probe(path)
    assert (info.width, info.height) == (64, 48) and info.frame_count in (33, None)
    frames = list(video_decode.read_frames(path))
    assert len(frames) == 33 == video_decode.count_frames(path)
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert np.abs(np.stack(frames).astype(int) - written).mean() < 12  # lossy codecs, same pictures
    strided = list(video_decode.read_frames(path, stride=2, size=32))
    assert len(strided) == 17 and strided[0].shape == (32, 32, 3)


def test_rgb_order(tmp_path):
    red_bgr = np.zeros((4, 24, 32, 3), np.uint8)
    red_bgr[..., 2] = 255
    (frame, *_) = video_decode.read_frames(_write_video(tmp_path / "red.avi", red_bgr))
    assert frame.shape == (24, 32, 3) and frame.dtype == np.uint8
    assert frame[..., 0].mean() > 200 and frame[..., 1:].mean() < 50


def test_stride_and_fps_pick_every_kth_frame(tmp_path):
    path = _numbered_video(tmp_path / "numbered.avi", 10)  # written at 10 fps
    assert _frame_numbers(video_decode.read_frames(path)) == list(range(10))
    assert _frame_numbers(video_decode.read_frames(path, stride=3)) == [0, 3, 6, 9]
    assert _frame_numbers(video_decode.read_frames(path, fps=5)) == [0, 2, 4, 6, 8]
    with pytest.raises(ValueError, match="pass one of them"):
        next(video_decode.read_frames(path, stride=2, fps=5))
    # start counts kept frames; the frames before it are skipped.
    assert _frame_numbers(video_decode.read_frames(path, stride=3, start=2)) == [6, 9]
    assert _frame_numbers(video_decode.read_frames(path, start=7)) == [7, 8, 9]
    assert _frame_numbers(video_decode.read_frames(path, start=10)) == []


def test_resize_and_crop_shapes(tmp_path):
    frames = np.zeros((3, 24, 32, 3), np.uint8)
    frames[:, :, :16] = 255  # left half white
    path = _write_video(tmp_path / "halves.avi", frames)

    def shape(**kw):
        return next(video_decode.read_frames(path, **kw)).shape

    assert shape(size=12) == (12, 12, 3)  # shorter side 24 -> 12, then 12x12 crop
    assert shape(size=(12, 20)) == (12, 20, 3)
    assert shape(size=(30, 10), crop=None) == (30, 10, 3)  # stretched
    assert shape(size=12, crop="random", seed=1) == (12, 12, 3)
    # Random crops: fixed within a video, reproducible from the seed, varying across seeds.
    crops = [list(video_decode.read_frames(path, size=12, crop="random", seed=s)) for s in range(6)]
    assert all(np.array_equal(c[0], c[-1]) for c in crops)
    np.testing.assert_array_equal(crops[0][0], next(video_decode.read_frames(path, size=12, crop="random", seed=0)))
    assert len({c[0].mean() for c in crops}) > 1
    with pytest.raises(ValueError, match="crop='corner'"):
        next(video_decode.read_frames(path, size=12, crop="corner"))


# -- clip starts ----------------------------------------------------------------


@pytest.mark.parametrize("num_frames", [5, 8, 9, 10, 23])
@pytest.mark.parametrize("clip_length,overlap", [(5, 0), (5, 2), (4, 3), (1, 0)])
def test_covering_clips_cover_every_frame(num_frames, clip_length, overlap):
    starts = video_decode.covering_clip_starts(num_frames, clip_length, overlap)
    assert starts == sorted(set(starts)) and starts[0] == 0
    assert all(0 <= s <= num_frames - clip_length for s in starts)
    covered = {t for s in starts for t in range(s, s + clip_length)}
    assert covered == set(range(num_frames))
    assert starts[-1] == num_frames - clip_length  # the last clip ends with the video


def test_training_starts_overlap_and_drop_the_tail():
    assert video_decode.clip_starts(10, 4) == [0, 4]
    assert video_decode.clip_starts(10, 4, overlap=2) == [0, 2, 4, 6]
    assert video_decode.covering_clip_starts(10, 4) == [0, 4, 6]
    assert video_decode.clip_starts(3, 4) == video_decode.covering_clip_starts(3, 4) == []
    with pytest.raises(ValueError, match="overlap=4"):
        video_decode.clip_starts(10, 4, overlap=4)


@pytest.mark.parametrize("cover", [False, True])
def test_streamed_clips_match_starts(tmp_path, cover):
    path = _numbered_video(tmp_path / "numbered.avi", 11)
    clips = list(video_decode.clips(path, 4, overlap=1, cover=cover))
    starter = video_decode.covering_clip_starts if cover else video_decode.clip_starts
    assert [_frame_numbers(c) for c in clips] == [list(range(s, s + 4)) for s in starter(11, 4, 1)]
    assert all(c.shape == (4, 24, 32, 3) and c.dtype == np.uint8 for c in clips)


# -- bad files ----------------------------------------------------------------


def test_bad_files_raise_video_error_naming_the_file(bad_videos):
    for kind, path in bad_videos.items():
        with pytest.raises(video_decode.VideoError) as raised:
            list(video_decode.clips(path, 4))
        assert raised.value.kind == kind and path in str(raised.value)
        if kind != "too short":
            with pytest.raises(video_decode.VideoError, match=os.path.basename(path)):
                video_decode.probe(path)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("staged", [False, True], ids=["written", "staged"])
def test_file_cut_in_half_stops_at_last_good_frame(tmp_path, staged):
    source = _staged("sample_b.avi") if staged else write_video(tmp_path / "whole.avi", moving_shapes(80, seed=2))
    total = video_decode.count_frames(source)
    data = pathlib.Path(source).read_bytes()
    half = tmp_path / "half.avi"
    half.write_bytes(data[: len(data) // 2])
    frames = video_decode.count_frames(str(half))
    assert 0 < frames < total
    assert len(list(video_decode.clips(str(half), 16, size=32))) == frames // 16
    with pytest.raises(video_decode.VideoError, match="shorter than one clip"):
        list(video_decode.clips(str(half), frames + 1, size=32))


def test_decode_many_skips_and_counts(tmp_path, bad_videos, caplog):
    good = _numbered_video(tmp_path / "good.avi", 9)
    paths = [good, *bad_videos.values()]
    report = video_decode.DecodeReport()
    clips = list(video_decode.decode_many(paths, 4, report=report, cover=True))
    assert len(clips) == 3
    assert report.clips == {good: 3} and report.num_ok == 1
    assert report.skipped_by_kind() == {k: 1 for k in bad_videos}
    assert "1 videos ok (3 clips), 5 skipped" in str(report)


# -- the tf.data stage ----------------------------------------------------------


def test_clip_dataset_shapes_skips_and_determinism(tmp_path, bad_videos):
    paths = [_numbered_video(tmp_path / f"v{i}.avi", 6 + i) for i in range(3)]
    paths.insert(1, bad_videos["undecodable"])
    paths.append(bad_videos["too short"])

    def run(parallel):
        dataset, report = video_decode.clip_dataset(
            paths, 4, size=16, crop="random", seed=7, num_parallel_calls=parallel, cycle_length=2
        )
        assert tuple(dataset.element_spec.shape) == (4, 16, 16, 3)
        return np.stack([c.numpy() for c in dataset]), report

    clips, report = run(parallel=2)
    assert clips.shape == (1 + 1 + 2, 4, 16, 16, 3)  # 6, 7, 8 frames and clips.dtype == np.uint8
    assert report.num_ok == 3 and report.skipped_by_kind() == {"undecodable": 1, "too short": 1}
    again, _ = run(parallel=1)
    np.testing.assert_array_equal(clips, again)
    # The same clips as one decoder: only the interleaving order differs.
    sequential = np.stack(list(video_decode.decode_many(paths, 4, size=16, crop="random", seed=7)))
    assert sorted(c.tobytes() for c in clips) == sorted(c.tobytes() for c in sequential)


@pytest.mark.parametrize("script, says", [("decode_speed.py", "stage_p2"),  # frames/s of each contender
                                           ("stream_speed.py", "ratio skip / from_start")])  # equal clips checked
@pytest.mark.large  # benchmarks' smoke runs
def test_decoding_benchmarks_smoke(script, says, tmp_path):
    for index, suffix in enumerate([".avi", ".mp4", ".avi"]):
        write_video(tmp_path / f"clip_{index}{suffix}", moving_shapes(40, seed=index))
    root = helpers.ROOT
    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--smoke", f"--data_dir={tmp_path}"],
        cwd=root,
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert says in result.stdout


def test_ffmpeg_says_nothing_of_a_damaged_file_unless_asked(tmp_path):
    """A truncated MJPG AVI makes FFmpeg print lines like "[mjpeg @ 0x...] dqt: invalid len"
    at each decode; pipelines.video_decode silences them (OPENCV_FFMPEG_LOGLEVEL=-8 set before
    cv2 is used) and says what is wrong once, itself. With a level asked for (16, errors),
    the same decode prints them ("[OPENCV:FFMPEG:16] dqt: invalid len 67"): the check can see them."""
    path = tmp_path / "cut.avi"
    write_video(path, moving_shapes(60, 96, 128))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    script = ("import sys; from pipelines import video_decode as v; "
              "print(sum(1 for _ in v.read_frames(sys.argv[1])), v.probe(sys.argv[1]).frame_count)")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    repo = helpers.ROOT

    def decode(**extra):
        result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                                env={**env, "PYTHONPATH": repo, **extra}, cwd=repo, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        return result

    quiet, loud = decode(), decode(OPENCV_FFMPEG_LOGLEVEL="16")
    read, declared = (int(n) for n in quiet.stdout.split())  # stdout holds nothing else
    assert 0 < read < declared == 60
    assert "FFMPEG" in loud.stdout + loud.stderr and "invalid" in loud.stdout + loud.stderr, loud
    assert not any(word in quiet.stderr for word in ("FFMPEG", "mjpeg", "@ 0x", "invalid")), quiet.stderr[-2000:]
