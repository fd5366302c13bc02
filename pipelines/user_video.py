"""A video of the user's as a run's frames, prepared as the run's source prepares its clips.

The video is any file OpenCV decodes, a `.npy` of frames (T, H, W) or
(T, H, W, C), C 1 or 3, uint8 or float in [0, 1], or a folder of frame images
(read in name order, numbers compared as numbers: frame_2 before frame_10). Its
frames go through the run's `video_decode.FramePreparation`
(`pipelines.sources.frame_preparation`): every `stride`-th frame, the shorter
side scaled to the frame size and centre-cropped, the run's colour. A file is
read by `video_decode.read_frames`, as training reads its videos; a `.npy` or
a folder of images is fitted by the same resizer. A run of patches sees each
frame as a tiling: the largest centred square of whole patches, cut into
patches in row order (`FramePreparation.corners`), one sequence each, each cut as a
training clip's patch is; `stitch` puts the patches of each frame back together.

    read(path, preparation, start, count)   float32 (sequences, count, *frame_shape) in [0, 1]:
                                            one sequence, or one per patch of the tiling
    stitch(sequences, preparation)          the patches of each frame put back together

Streams: a file is decoded a frame at a time and a `.npy` memory-mapped, so
only the frames asked for are held. Bad input raises ValueError naming the
path and what is wrong (`video_decode.VideoError` for a file OpenCV cannot
decode); a video with fewer frames than asked for gives the frames it has.
"""

import itertools
import os
import re

import cv2
import numpy as np

from pipelines import video_decode
from video_lstm.core import files

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def kind(path):
    """"images" (a folder of frame images), "npy" or "file" (a video file OpenCV decodes)."""
    if os.path.isdir(path):
        return "images"
    return "npy" if path.lower().endswith(".npy") else "file"


def read(path, preparation, start=0, count=None):
    """float32 (sequences, n, *preparation.frame_shape) in [0, 1]: the frames `start` ..
    `start + count - 1` (counted after the stride) of `path` as the run's model reads them; one
    sequence per patch of `patch_corners` (one without patches).

    n < count where the video ends sooner (n = 0 if it ends before `start`).

    Raises:
        FileNotFoundError: nothing at `path`.
        ValueError: not a video OpenCV decodes (`VideoError`), not a .npy of frames, or a folder
            without readable images.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder")
    frames = fitted_frames(path, preparation, start)
    try:
        kept = list(itertools.islice(frames, count))
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
    if not kept:
        return np.zeros((len(preparation.corners), 0, *preparation.frame_shape), np.float32)
    sequences = preparation.sequences(np.stack(kept))  # from (n, size, size, 3) RGB
    return sequences.astype(np.float32) / 255.0 if sequences.dtype == np.uint8 else sequences.astype(np.float32)


def fitted_frames(path, preparation, start=0):
    """Yields RGB frames (uint8, or float32 from a float .npy) of `path`, every `stride`-th from
    kept frame `start` on, fitted to size x size."""
    if kind(path) == "file":  # as training reads a video (sources.videos)
        return preparation.frames(path, start=start)
    kept = slice(start * preparation.stride, None, preparation.stride)
    return preparation.fit(_npy_frames(path, kept) if kind(path) == "npy" else _image_frames(path, kept), name=path)


def decode_status(path):
    """The `video_decode.DecodeStatus` of `path`: a file's (decoded to the end to count its
    frames where its container declares a count); a .npy or a folder of images is "ok"."""
    return video_decode.decode_status(path) if kind(path) == "file" else video_decode.DecodeStatus(video_decode.OK)


def count_frames(path, stride=1):
    """Frames of `path` after the stride (a file is decoded to count them exactly)."""
    if kind(path) == "file":
        return -(-video_decode.count_frames(path) // stride)
    total = len(_npy_array(path)) if kind(path) == "npy" else len(_image_paths(path))
    return -(-total // stride)


def fps(path):
    """Frames per second a video file reports, or None (a .npy or a folder of images has none)."""
    if kind(path) != "file":
        return None
    return video_decode.probe(path).fps


# -- .npy and image folders ---------------------------------------------------------


def _npy_array(path):
    """The memory-mapped array of a .npy of frames, its shape and dtype checked."""
    files.check_regular(path)  # a FIFO would block the reader
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path} is not a .npy array of frames ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else 'unreadable'})") from None
    expected = "expected frames (T, H, W) or (T, H, W, C) with C 1 or 3, uint8 or float in [0, 1]"
    if not isinstance(array, np.ndarray) or array.dtype.names is not None:
        raise ValueError(f"{path} holds no plain array; {expected}")
    shape_ok = array.ndim == 3 or (array.ndim == 4 and array.shape[-1] in (1, 3))
    if not shape_ok or min(array.shape[1:3], default=0) < 1:
        raise ValueError(f"{path} holds an array of shape {array.shape}; {expected}")
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{path} holds {array.dtype} frames; {expected}")
    return array


def _npy_frames(path, kept=slice(None)):
    """Yields the frames `kept` of a .npy as RGB (h, w, 3), uint8 or float32 (checked to be in [0, 1])."""
    array = _npy_array(path)
    for index in range(len(array))[kept]:
        frame = np.asarray(array[index])
        if frame.dtype != np.uint8:
            frame = frame.astype(np.float32)
            if not np.all(np.isfinite(frame)) or frame.min() < 0 or frame.max() > 1:
                raise ValueError(f"{path}: frame {index} has values outside [0, 1] (or NaN); float frames must "
                                 "be in [0, 1] (uint8 ones in 0..255)")
        yield _rgb(frame)


def _rgb(frame):
    """(h, w), (h, w, 1) or (h, w, 3) -> (h, w, 3)."""
    if frame.ndim == 2:
        frame = frame[..., None]
    return np.repeat(frame, 3, axis=-1) if frame.shape[-1] == 1 else frame


def _natural(name):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _image_paths(folder):
    names = sorted((n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES)), key=_natural)
    if not names:
        raise ValueError(f"{folder} is a folder without frame images (expected files ending "
                         f"{', '.join(IMAGE_SUFFIXES)}, read in name order)")
    return [os.path.join(folder, n) for n in names]


def _image_frames(folder, kept=slice(None)):
    """Yields the images `kept` of a folder (in name order) as RGB uint8 (h, w, 3)."""
    for path in _image_paths(folder)[kept]:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path}: OpenCV cannot read this image (damaged or of an unknown format)")
        yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


# -- patches --------------------------------------------------------------------


def patch_corners(preparation):
    """[(top, left)] of the patches that tile a frame (`FramePreparation.corners`)."""
    return preparation.corners


def stitch(sequences, preparation):
    """(patches, T, N, N, C) of `read` -> (T, side, side, C), side = N x patches per side (the
    tiled square); without patches the one sequence itself."""
    sequences = np.asarray(sequences)
    if not preparation.patch_size:
        return sequences[0]
    per_side = int(round(len(sequences) ** 0.5))
    rows = [np.concatenate(list(sequences[r * per_side : (r + 1) * per_side]), axis=2) for r in range(per_side)]
    return np.concatenate(rows, axis=1)
