"""Sources of 28x28 digit images for Moving MNIST.

Two sources:

* MNIST (`mnist.npz`, the Keras layout), found locally or downloaded through
  `keras.datasets.mnist.load_data()`.
* Digits rendered with OpenCV's built-in Hershey fonts, used when MNIST is not
  available. They are size-normalised and centred like MNIST: the glyph fits a
  20x20 box (aspect preserved) and its centre of mass sits at the centre of the
  28x28 field, white (255) on black (0).

`load_digits` picks between them and returns a `DigitBank`.
"""

import dataclasses
import os

import cv2
import numpy as np
from absl import logging

from video_lstm.core import files
from video_lstm.core.choices import DIGIT_SOURCES

DIGIT_SIZE = 28
DATA_DIR_ENV = "VIDEO_LSTM_DATA_DIR"
MNIST_FILENAME = "mnist.npz"
SPLITS = ("train", "test")
RENDERED_COUNTS = {"train": 10000, "test": 2000}

_MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
# Glyph geometry, as in MNIST: fit a 20x20 box, centre of mass at (14, 14).
_BOX_SIZE = 20
_CENTRE = 14.0
# Rendering canvas and glyph height before the resize to the 20x20 box.
_CANVAS_SIZE = 128
_GLYPH_HEIGHT = 48
# Range of stroke widths, in pixels of the 28x28 field (MNIST's are about 2-3).
_STROKE_WIDTH = (1.6, 2.6)
_HERSHEY_FACES = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)


class MnistNotFoundError(FileNotFoundError):
    """MNIST is required but no `mnist.npz` was found or could be downloaded."""


@dataclasses.dataclass(frozen=True, eq=False)
class DigitBank:
    """A set of labelled 28x28 digit images.

    Attributes:
        images: uint8 (N, 28, 28), white digits (up to 255) on black (0).
        labels: int64 (N,), digit classes 0..9.
        source: "mnist" or "rendered".
        origin: where the images came from: the npz path, "keras-download" or
            "opencv-hershey".
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    origin: str

    def __len__(self) -> int:
        return len(self.images)


def _where_to_put_mnist() -> str:
    return (
        f"put {MNIST_FILENAME} at --mnist_path, at "
        f"${DATA_DIR_ENV}/{MNIST_FILENAME}, or in the Keras cache "
        f"({os.path.join(_keras_cache_dirs()[0], MNIST_FILENAME)})"
    )


def _keras_cache_dirs() -> list[str]:
    """Directories where Keras caches downloaded datasets, as Keras picks them.

    Keras uses `$KERAS_HOME` when set, else `~/.keras`, or `/tmp/.keras` when the
    home directory is not writable; datasets go under `datasets/`.
    """
    if "KERAS_HOME" in os.environ:
        return [os.path.join(os.environ["KERAS_HOME"], "datasets")]
    home = os.path.expanduser("~")
    dirs = [os.path.join(home, ".keras", "datasets")]
    if not os.access(home, os.W_OK):
        dirs.append(os.path.join("/tmp", ".keras", "datasets"))
    return dirs


def find_mnist(mnist_path: str | None = None) -> str | None:
    """Locates `mnist.npz`.

    Search order: `mnist_path`, `$VIDEO_LSTM_DATA_DIR/mnist.npz`, then the Keras
    cache (`$KERAS_HOME/datasets/mnist.npz` or `~/.keras/datasets/mnist.npz`).

    Args:
        mnist_path: explicit path to `mnist.npz`; when given it must exist.

    Returns:
        The path of the first file found, or None when there is none.

    Raises:
        FileNotFoundError: `mnist_path` was given and does not exist.
    """
    if mnist_path is not None:
        if not os.path.isfile(mnist_path):
            raise FileNotFoundError(
                f"mnist_path={mnist_path!r} does not exist; expected the Keras "
                f"{MNIST_FILENAME} with keys {', '.join(_MNIST_KEYS)}"
            )
        return mnist_path
    candidates = []
    if os.environ.get(DATA_DIR_ENV):
        candidates.append(os.path.join(os.environ[DATA_DIR_ENV], MNIST_FILENAME))
    candidates += [os.path.join(d, MNIST_FILENAME) for d in _keras_cache_dirs()]
    for path in candidates:
        if os.path.isfile(path):
            return path
    return None


def load_mnist_npz(path: str) -> dict[str, np.ndarray]:
    """Reads and validates an MNIST `.npz` file in the Keras layout.

    Uses `numpy.load`, not Keras' hash-checked loader, so any file with the
    right arrays is accepted.

    Args:
        path: path to the `.npz` file.

    Returns:
        Dict with `x_train`, `x_test`: uint8 (N, 28, 28), and `y_train`,
        `y_test`: (N,) labels in their stored dtype.

    Raises:
        ValueError: the file is not a readable npz, a key is missing, or an array
            has the wrong dtype or shape.
    """
    with files.open_regular(path) as f:
        if f.read(4) != b"PK\x03\x04":  # an .npz is a zip archive
            raise ValueError(f"{MNIST_FILENAME} at {path} is not an .npz file (no zip header); expected "
                             "MNIST in the Keras layout")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in _MNIST_KEYS if k not in npz.files]
            if missing:
                raise ValueError(
                    f"{MNIST_FILENAME} at {path} has no key {missing[0]!r}; expected "
                    f"keys {', '.join(_MNIST_KEYS)} (found {', '.join(npz.files)})"
                )
            arrays = {k: npz[k] for k in _MNIST_KEYS}
    except ValueError:
        raise
    except Exception as e:  # zipfile/pickle/OS errors from a corrupt file.
        raise ValueError(
            f"{MNIST_FILENAME} at {path} is not a readable .npz file: {e}"
        ) from e
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise ValueError(
                f"{MNIST_FILENAME} at {path}: x_{split} is {x.dtype} {x.shape}; "
                "expected uint8 (N, 28, 28)"
            )
        if y.shape != (len(x),):
            raise ValueError(
                f"{MNIST_FILENAME} at {path}: y_{split} has shape {y.shape}; "
                f"expected ({len(x)},) to match x_{split}"
            )
    return arrays


def download_mnist() -> str:
    """Downloads MNIST into the Keras cache and returns the file's path.

    Returns:
        Path of the cached `mnist.npz`.

    Raises:
        Exception: whatever Keras raises when the download fails.
        FileNotFoundError: the download succeeded but the file is not where Keras
            caches datasets.
    """
    import keras  # Lazy: only the download path needs Keras.

    keras.datasets.mnist.load_data()
    for d in _keras_cache_dirs():
        path = os.path.join(d, MNIST_FILENAME)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"keras.datasets.mnist.load_data() succeeded but {MNIST_FILENAME} is "
        f"not in the Keras cache ({', '.join(_keras_cache_dirs())})"
    )


def _stroke_width(glyph: np.ndarray) -> float:
    """Mean stroke width in pixels of a uint8 glyph: 2 * area / perimeter."""
    mask = (glyph > 127).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * mask.sum() / max(perimeter, 1.0)


def _set_stroke_width(glyph: np.ndarray, width: float) -> np.ndarray:
    """Dilates or erodes a uint8 glyph so its strokes are about `width` wide.

    The fonts' own stroke widths depend on the face, the weight and the OpenCV
    version (OpenCV 5 maps `thickness` to a font weight), so the width is set
    explicitly. Erosion never thins strokes below 2 pixels.
    """
    current = _stroke_width(glyph)
    if width >= current:
        size, op = int(round(width - current)) + 1, cv2.dilate
    else:
        size, op = int(round(min(current - width, current - 2.0))) + 1, cv2.erode
    if size <= 1:
        return glyph
    return op(glyph, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))


def _draw_glyph(label: int, rng: np.random.Generator) -> np.ndarray:
    """Draws one digit: random Hershey face, scale, stroke width, slant, rotation.

    Returns:
        uint8 (_CANVAS_SIZE, _CANVAS_SIZE) canvas with the glyph near its centre.
    """
    font = int(rng.choice(_HERSHEY_FACES))
    if rng.random() < 0.3:
        font |= cv2.FONT_ITALIC
    text = str(label)
    thickness = int(rng.integers(1, 3))
    (_, unit_height), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = _GLYPH_HEIGHT / unit_height * rng.uniform(0.8, 1.2)
    (w, h), _ = cv2.getTextSize(text, font, scale, thickness)
    org = ((_CANVAS_SIZE - w) // 2, (_CANVAS_SIZE + h) // 2)
    canvas = np.zeros((_CANVAS_SIZE, _CANVAS_SIZE), np.uint8)
    cv2.putText(canvas, text, org, font, scale, 255, thickness, cv2.LINE_AA)

    # Stroke width in the final 28x28 field, converted to canvas pixels.
    rows = np.flatnonzero(canvas.any(axis=1))
    cols = np.flatnonzero(canvas.any(axis=0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    width = rng.uniform(*_STROKE_WIDTH) * extent / _BOX_SIZE
    canvas = _set_stroke_width(canvas, width)

    # Slant (x shifted proportionally to height above the centre), then rotate.
    c = _CANVAS_SIZE / 2
    slant = rng.uniform(-0.15, 0.35)
    shear = np.array([[1.0, -slant, slant * c], [0.0, 1.0, 0.0], [0, 0, 1]])
    rotate = cv2.getRotationMatrix2D((c, c), rng.uniform(-10, 10), 1.0)
    return cv2.warpAffine(
        canvas, rotate @ shear, (_CANVAS_SIZE, _CANVAS_SIZE), flags=cv2.INTER_LINEAR
    )


def _fit_to_mnist_field(glyph: np.ndarray, rng: np.random.Generator):
    """Crops, fits into a 20x20 box and centres by centre of mass in 28x28.

    Args:
        glyph: uint8 (H, W) image with a non-empty glyph.
        rng: jitters the centre of mass by up to half a pixel.

    Returns:
        uint8 (28, 28) with maximum 255.
    """
    rows = np.flatnonzero(glyph.any(axis=1))
    cols = np.flatnonzero(glyph.any(axis=0))
    crop = glyph[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = _BOX_SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # (w, h)
    box = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    box *= 255.0 / box.max()
    h, w = box.shape
    mass = box.sum()
    com_y = (box.sum(axis=1) @ np.arange(h)) / mass
    com_x = (box.sum(axis=0) @ np.arange(w)) / mass
    jitter_y, jitter_x = rng.uniform(-0.5, 0.5, size=2)
    top = int(np.clip(round(_CENTRE + jitter_y - com_y), 0, DIGIT_SIZE - h))
    left = int(np.clip(round(_CENTRE + jitter_x - com_x), 0, DIGIT_SIZE - w))
    field = np.zeros((DIGIT_SIZE, DIGIT_SIZE), np.uint8)
    field[top:top + h, left:left + w] = np.round(box).astype(np.uint8)
    return field


def render_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Renders MNIST-like digits with OpenCV's Hershey fonts.

    Each digit gets a random Hershey face (upright or italic), scale, stroke
    thickness, slant and small rotation, then is cropped, fitted into a 20x20 box
    preserving aspect, and centred by centre of mass in 28x28, as MNIST is.
    Labels are balanced (each class `count // 10` or one more times), shuffled.

    Args:
        count: number of digits.
        seed: seed of the numpy Generator; equal seeds give equal outputs.

    Returns:
        images: uint8 (count, 28, 28), white on black, maximum 255.
        labels: int64 (count,), in 0..9.
    """
    if count < 0:
        raise ValueError(f"count={count}; expected count >= 0")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % 10).astype(np.int64)
    images = np.zeros((count, DIGIT_SIZE, DIGIT_SIZE), np.uint8)
    for i, label in enumerate(labels):
        images[i] = _fit_to_mnist_field(_draw_glyph(int(label), rng), rng)
    return images, labels


def _load_mnist_bank(split, mnist_path, allow_download) -> DigitBank:
    """MNIST digits of `split`; raises MnistNotFoundError when unavailable."""
    try:
        path = find_mnist(mnist_path)
    except FileNotFoundError as e:
        raise MnistNotFoundError(f"{e}; {_where_to_put_mnist()}") from e
    origin = path
    if path is None:
        if not allow_download:
            raise MnistNotFoundError(
                f"{MNIST_FILENAME} not found and downloading is disabled; "
                f"{_where_to_put_mnist()}"
            )
        try:
            path = download_mnist()
        except Exception as e:  # Network and Keras download errors vary.
            raise MnistNotFoundError(
                f"{MNIST_FILENAME} not found and the download failed ({e}); "
                f"{_where_to_put_mnist()}"
            ) from e
        origin = "keras-download"
    arrays = load_mnist_npz(path)
    return DigitBank(
        images=arrays[f"x_{split}"],
        labels=arrays[f"y_{split}"].astype(np.int64),
        source="mnist",
        origin=origin,
    )


def _rendered_bank(split, count, seed) -> DigitBank:
    """Rendered digits; train and test use different derived seeds."""
    count = RENDERED_COUNTS[split] if count is None else count
    split_seed = np.random.SeedSequence([seed, SPLITS.index(split)])
    images, labels = render_digits(count, split_seed.generate_state(1)[0])
    return DigitBank(images, labels, source="rendered", origin="opencv-hershey")


def load_digits(
    source: str = "auto",
    split: str = "train",
    mnist_path: str | None = None,
    allow_download: bool = True,
    rendered_count: int | None = None,
    seed: int = 0,
) -> DigitBank:
    """Loads the digits that Moving MNIST sequences are made of.

    Args:
        source: "mnist" (MNIST required), "rendered" (OpenCV Hershey digits), or
            "auto": MNIST when found or downloadable, else rendered digits with one
            warning saying where to put `mnist.npz`.
        split: "train" or "test".
        mnist_path: explicit `mnist.npz`; when given it must exist, for "auto" too.
        allow_download: whether a missing MNIST may be downloaded with Keras.
        rendered_count: number of rendered digits; default 10000 for train and
            2000 for test.
        seed: seed of the rendered digits; the test split derives a different one,
            so train and test glyphs differ.

    Returns:
        A DigitBank with uint8 (N, 28, 28) images and int64 (N,) labels.

    Raises:
        ValueError: unknown `source` or `split`, or a malformed `mnist.npz`.
        MnistNotFoundError: `source="mnist"` and MNIST is unavailable, or
            `mnist_path` does not exist.
    """
    if source not in DIGIT_SOURCES:
        raise ValueError(f"source={source!r}; expected one of {DIGIT_SOURCES}")
    if split not in SPLITS:
        raise ValueError(f"split={split!r}; expected one of {SPLITS}")
    if source == "rendered":
        return _rendered_bank(split, rendered_count, seed)
    if source == "auto" and mnist_path is None:
        try:
            return _load_mnist_bank(split, None, allow_download)
        except MnistNotFoundError as e:
            logging.warning(
                "MNIST unavailable, using OpenCV-rendered digits instead (%s)", e
            )
            return _rendered_bank(split, rendered_count, seed)
    return _load_mnist_bank(split, mnist_path, allow_download)
