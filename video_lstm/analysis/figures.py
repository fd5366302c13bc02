"""Pictures of sequences: strips of frames as uint8 images, PNG, GIF and MP4 files.

Everything here is numpy in (or a model's `generate`), numpy or files out, so
training, evaluation and visualisation share one way of drawing. Files are
written through `video_lstm.core.atomic`.
"""

import os

import cv2
import numpy as np
from PIL import Image

from video_lstm.core import atomic

ROW_LABELS = ("input", "reconstruction", "ground truth", "prediction")
LABEL_HEIGHT = 12  # the band above each GIF frame naming it


def to_uint8(frames):
    """float [0, 1] or uint8 frames -> uint8, same shape."""
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames
    return (np.clip(np.nan_to_num(frames), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def frame_row(frames, length, gap=2):
    """(time, H, W, C) -> (H, length * (W + gap), C) uint8; missing frames left black."""
    frames = to_uint8(frames)
    _, height, width, channels = frames.shape
    row = np.zeros((height, length * (width + gap), channels), np.uint8)
    for t, frame in enumerate(frames[:length]):
        row[:, t * (width + gap) : t * (width + gap) + width] = frame
    return row


def sequence_strip(rows, gap=2):
    """Stacks sequences as rows of one image.

    Args:
        rows: list of arrays (time_i, H, W, C), float in [0, 1] or uint8;
            None entries are skipped.
    Returns:
        uint8 (num_rows * (H + gap), max_time * (W + gap), C).
    """
    rows = [r for r in rows if r is not None]
    length = max(len(r) for r in rows)
    lines = []
    for r in rows:
        line = frame_row(r, length, gap)
        lines.append(np.pad(line, ((0, gap), (0, 0), (0, 0)), constant_values=40))
    return np.concatenate(lines, axis=0)


def comparison_strip(inputs, reconstruction=None, truth=None, prediction=None, gap=2):
    """input | reconstruction | ground truth | prediction, one sequence, as rows."""
    return sequence_strip([inputs, reconstruction, truth, prediction], gap)


def labelled(image, text, *more):
    """uint8 (H, W, C) -> (LABEL_HEIGHT + H, W, C) under a black band with white `text` at its
    left; `more`: (x, text) pairs drawn from column x (a label per panel)."""
    band = np.zeros((LABEL_HEIGHT, image.shape[1]), np.uint8)
    for x, words in ((0, text), *more):
        cv2.putText(band, words, (x + 1, LABEL_HEIGHT - 2), cv2.FONT_HERSHEY_PLAIN, 0.7, 255, 1, cv2.LINE_AA)
    band = np.repeat(band[..., None], image.shape[-1], axis=-1)
    return np.concatenate([band, image], axis=0)


def sample_gif_frames(frames, reconstruction, future, truth, gap=2):
    """uint8 (time, LABEL_HEIGHT + H, 2 * (W + gap), C): truth | model, frame by frame, each
    panel named in the band above it: "input <t>" (the video the encoder reads) or "truth <t>"
    (the video's own next frames) on the left, "model" on the right.

    During the input frames the model's side is the reconstruction (black for
    a model without one), then the prediction beside the true future (black
    where `truth` is None or shorter than the prediction).
    """
    model_side = reconstruction if reconstruction is not None else np.zeros_like(frames)
    pairs = [(frames[t], model_side[t], f"input {t + 1}") for t in range(len(frames))]
    if future is not None:
        truth = np.zeros_like(future[:0]) if truth is None else truth
        blank = np.zeros_like(future[0])
        pairs += [(truth[t] if t < len(truth) else blank, future[t], f"truth {t + 1}") for t in range(len(future))]
    right = frames.shape[2] + gap  # where the model's panel starts
    return np.stack([labelled(frame_row(np.stack([left, model]), 2, gap), text, (right, "model"))
                     for left, model, text in pairs])


# The rows of a `comparison_strip`, as the TensorBoard `samples` image names them.
STRIP_LABELS = ("input", "model: reconstruction", "truth: future", "model: future")
LABEL_WIDTH = 136  # the column left of each row naming it


def label_rows(strip, labels, row_height, gap=2, width=LABEL_WIDTH):
    """uint8 (rows * (row_height + gap), W, C) -> (same height, width + W, C): each row of a
    `sequence_strip` named in a black column at its left (`labels`, one per row, top first)."""
    band = np.zeros((strip.shape[0], width), np.uint8)
    for i, text in enumerate(labels):
        top = i * (row_height + gap)
        cv2.putText(band, text, (2, top + row_height // 2 + 4), cv2.FONT_HERSHEY_PLAIN, 0.8, 255, 1, cv2.LINE_AA)
    band = np.repeat(band[..., None], strip.shape[-1], axis=-1)
    return np.concatenate([band, strip], axis=1)


def labelled_sample_strips(model, inputs, generate=None):
    """`sample_strips`, each row named at its left: the input, the model's reconstruction, the
    true future and the model's future (rows a model does not have are left out)."""
    outputs = {k: numpy(v) for k, v in (generate or model.generate)(inputs["frames"]).items()}
    frames = np.asarray(inputs["frames"])
    truth = inputs.get("future_frames")
    strips = []
    for i in range(frames.shape[0]):
        rows = (frames[i], outputs["reconstruction"][i] if "reconstruction" in outputs else None,
                None if truth is None or "future" not in outputs else np.asarray(truth)[i],
                outputs["future"][i] if "future" in outputs else None)
        kept = [(row, label) for row, label in zip(rows, STRIP_LABELS) if row is not None]
        strip = sequence_strip([row for row, _ in kept])
        strips.append(label_rows(strip, [label for _, label in kept], frames.shape[2]))
    return strips


def rollout_strip(frames, rollout, length):
    """uint8: the input row, then the model's free-running `rollout` (time, H, W, C) wrapped into
    rows of `length` frames, each row named ("input", "model: 1-10", "model: 11-20", ...)."""
    rows, labels = [frames], ["input"]
    for start in range(0, len(rollout), length):
        rows.append(rollout[start:start + length])
        labels.append(f"model: {start + 1}-{min(start + length, len(rollout))}")
    return label_rows(sequence_strip(rows), labels, frames.shape[1])


def write_png(path, image):
    """Writes a uint8 (H, W) or (H, W, 1|3) image atomically."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 3:
        image = image[..., ::-1]  # RGB -> BGR for OpenCV
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.dtype} {image.shape} image as PNG for {path}")
    with atomic.path(path) as temporary, open(temporary, "wb") as f:
        f.write(encoded.tobytes())  # a failed write (a full disk) raises, naming why
    return path


def write_gif(path, frames, duration_ms=100):
    """Writes (time, H, W, C) frames as a looping GIF, atomically."""
    frames = to_uint8(frames)
    images = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
    with atomic.path(path) as temporary:
        images[0].save(
            temporary, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0
        )
    return path


def write_mp4(path, frames, fps=10.0):
    """Writes (time, H, W, C) frames as an MPEG-4 video (OpenCV, mp4v), atomically; odd sides
    are padded by a black row or column (the codec needs even ones)."""
    frames = to_uint8(frames)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    frames = np.pad(frames, ((0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0)))
    height, width = frames.shape[1:3]
    with atomic.path(path) as temporary:
        writer = cv2.VideoWriter(temporary, cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height))
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write an mp4v video to {path}")
        try:
            for frame in frames:
                writer.write(np.ascontiguousarray(frame[..., ::-1]))  # RGB -> BGR
        finally:
            writer.release()
        if not os.path.exists(temporary) or os.path.getsize(temporary) == 0:
            raise OSError(f"OpenCV wrote no video to {path}")
    return path


def are_images(frames):
    """Whether a batch of sequences (batch, time, ...) holds images (H, W, 1 or 3), not feature vectors."""
    shape = np.shape(frames)
    return len(shape) == 5 and shape[-1] in (1, 3)


def sample_strips(model, inputs, generate=None):
    """One uint8 comparison strip per sequence of `inputs` (decoders running free).

    Args:
        model: a video_lstm model (its `generate`).
        inputs: dict with `frames` (and `future_frames`), float (batch, time, H, W, C).
        generate: what to call instead of `model.generate` (a compiled one), or None.
    """
    outputs = {k: numpy(v) for k, v in (generate or model.generate)(inputs["frames"]).items()}
    frames = np.asarray(inputs["frames"])
    truth = inputs.get("future_frames")
    strips = []
    for i in range(frames.shape[0]):
        strips.append(
            comparison_strip(
                frames[i],
                outputs["reconstruction"][i] if "reconstruction" in outputs else None,
                None if truth is None or "future" not in outputs else np.asarray(truth)[i],
                outputs["future"][i] if "future" in outputs else None,
            )
        )
    return strips


def write_samples(path, model, inputs, rule=4):
    """A PNG of input | reconstruction | ground truth | prediction rows per sequence,
    a white line of `rule` pixels between sequences."""
    strips = sample_strips(model, inputs)
    line = np.full((rule,) + strips[0].shape[1:], 255, np.uint8)
    return write_png(path, np.concatenate([p for s in strips for p in (s, line)][:-1], axis=0))


def numpy(x):
    """A model output (any backend, any float dtype) as float32 numpy."""
    # here: keeps Keras out of `import video_lstm.analysis.figures`
    import keras

    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))
