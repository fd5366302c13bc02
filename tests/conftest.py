"""Helpers shared by the test modules."""

import dataclasses
import os

import pytest

# -- rendered digits, drawn once per test process -----------------------------------------

_RENDERED_BANKS = {}


@pytest.fixture(autouse=True)
def _rendered_digits_drawn_once(request, monkeypatch):
    """Every Moving MNIST source of rendered digits draws a bank of 10,000 + 2,000 glyphs
    (about 3 s of CPU); the bank is a pure function of (split, count, seed), so outside
    tests/test_digits.py (which tests the drawing) each is drawn once per test process and
    copies are handed out."""
    if request.module.__name__ == "test_digits":
        return
    from pipelines import digits

    original = digits._rendered_bank

    def rendered_bank(split, count, seed):
        key = (split, count, int(seed))
        if key not in _RENDERED_BANKS:
            _RENDERED_BANKS[key] = original(split, count, seed)
        bank = _RENDERED_BANKS[key]
        return dataclasses.replace(bank, images=bank.images.copy(), labels=bank.labels.copy())

    monkeypatch.setattr(digits, "_rendered_bank", rendered_bank)


def write_small_mnist(path, train=500, test=100, seed=7):
    """An `mnist.npz` in the Keras layout of `train` + `test` rendered digits; returns str(path).

    For the tests' subprocess training runs (`--digits=mnist --mnist_path=...`): a process
    that renders its own 10,000 + 2,000 digits spends about 3 s of CPU on them."""
    import numpy as np

    from pipelines import digits

    images, labels = digits.render_digits(train + test, seed)
    np.savez(path, x_train=images[:train], y_train=labels[:train], x_test=images[train:], y_test=labels[train:])
    return str(path)


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory):
    """Config overrides for Moving MNIST from a small mnist.npz (`write_small_mnist`), made once:
    `tiny(**small_mnist)`, for runs in subprocesses."""
    path = write_small_mnist(tmp_path_factory.mktemp("small_mnist") / "mnist.npz")
    return {"digits": "mnist", "mnist_path": path}


def ucf_folder(root, clips_dir, classes, test):
    """A UCF-101-shaped folder under `root` (a pathlib.Path) of links to staged clips.

    Args:
        clips_dir: the staged clips ($VIDEO_LSTM_DATA_DIR/ucf101/clips).
        classes: {class: [(staged clip name, video name)]}, in classInd order;
            each clip `<clips_dir>/<clip>.mp4` is linked as `<class>/<video>.avi`.
        test: the video names of split 1's test list; the others are its train list.
    Returns:
        str(root), with `ucfTrainTestlist/` (classInd, trainlist01, testlist01; CRLF
        line endings, as the official files).
    """
    lines = []
    for label, (name, videos) in enumerate(classes.items(), start=1):
        (root / name).mkdir()
        for clip, video in videos:
            os.symlink(os.path.join(clips_dir, clip + ".mp4"), root / name / f"{video}.avi")
            lines.append((name, video, label))
    splits = root / "ucfTrainTestlist"
    splits.mkdir()
    (splits / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)))
    (splits / "trainlist01.txt").write_text("".join(f"{c}/{v}.avi {label}\r\n" for c, v, label in lines
                                                    if v not in test))
    (splits / "testlist01.txt").write_text("".join(f"{c}/{v}.avi\r\n" for c, v, _ in lines if v in test))
    return str(root)


# -- generated videos: real files a fresh machine can make -------------------------------

FOURCC = {".avi": "MJPG", ".mp4": "mp4v"}


def moving_shapes(num_frames, height=48, width=64, seed=0):
    """uint8 RGB (T, H, W, 3): a disc and a square moving across a colour gradient, a few
    pixels per frame (consecutive frames alike, not equal); `seed` picks colours and paths."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    base = rng.integers(40, 200, 3)
    background = np.stack([base[c] + 40 * (rows / height if c % 2 else cols / width) for c in range(3)], -1)
    start, speed = rng.uniform([8, 8], [width - 8, height - 8], (2, 2)), rng.uniform(-3, 3, (2, 2))
    colours = rng.integers(0, 256, (2, 3))
    frames = []
    for t in range(num_frames):
        frame = background.astype(np.uint8).copy()
        (x0, y0), (x1, y1) = ((start + t * speed) % [width, height]).astype(int)
        cv2.circle(frame, (int(x0), int(y0)), 7, colours[0].tolist(), -1)
        cv2.rectangle(frame, (int(x1) - 5, int(y1) - 5), (int(x1) + 5, int(y1) + 5), colours[1].tolist(), -1)
        frames.append(frame)
    return np.stack(frames)


def write_video(path, frames_rgb, fps=25):
    """Writes uint8 RGB frames (T, H, W, 3) with OpenCV: MJPG for .avi, mp4v for .mp4. Returns str(path)."""
    import os

    import cv2

    height, width = frames_rgb.shape[1:3]
    codec = FOURCC[os.path.splitext(str(path))[1]]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {codec} to {path}"
    for frame in frames_rgb:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return str(path)


def generated_ucf(root, classes, test, num_frames=40):
    """A UCF-101-shaped folder of generated videos under `root` (a pathlib.Path).

    Args:
        classes: {class: [video name]}, in classInd order; a name ending in `.mp4` is written
            as mp4v, any other as `<name>.avi` (MJPG), as the UCF-101 archive names them.
        test: the video names of split 1's test list; the others are its train list.
    Returns:
        str(root), with `ucfTrainTestlist/` (classInd, trainlist01, testlist01; CRLF line
        endings, as the official files).
    """
    lines = []
    for label, (name, videos) in enumerate(classes.items(), start=1):
        (root / name).mkdir(parents=True)
        for index, video in enumerate(videos):
            file_name = video if video.endswith(".mp4") else f"{video}.avi"
            write_video(root / name / file_name, moving_shapes(num_frames, seed=100 * label + index))
            lines.append((name, file_name, video, label))
    splits = root / "ucfTrainTestlist"
    splits.mkdir()
    (splits / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)))
    (splits / "trainlist01.txt").write_text("".join(f"{c}/{f} {label}\r\n" for c, f, v, label in lines
                                                    if v not in test))
    (splits / "testlist01.txt").write_text("".join(f"{c}/{f}\r\n" for c, f, v, _ in lines if v in test))
    return str(root)
