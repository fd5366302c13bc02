"""Video files -> fixed-length clips, decoded with OpenCV and streamed.

One video is never held in memory whole: frames are read one at a time and a
clip is cut from a ring buffer of `clip_length` frames. The steps, each usable
alone:

    probe(path)                      VideoInfo: reported frame count, fps, size
    read_frames(path, ...)           RGB uint8 frames (H, W, 3): stride, resize, crop
    clip_starts / covering_clip_starts   where clips begin (pure, for any length)
    clips(path, clip_length, ...)    uint8 clips (clip_length, H, W, 3)
    FramePreparation                 a run's frames of a video: size, stride, colour, patches, clips
    DecodeStatus, decode_status      ok / partial (frames read of declared) / skipped (why)
    decode_many(paths, ...)          clips of many videos, bad ones skipped and counted
    clip_dataset(paths, ...)         the same as a tf.data stage decoding videos in parallel

Bad files. A missing, zero-byte, undecodable or frameless file raises
`VideoError` (a ValueError naming the path and what is wrong) from `probe`,
`read_frames` and `clips`. A truncated file is read up to its last good frame;
if fewer frames than one clip remain, `clips` raises `VideoError("... shorter
than one clip")`. `decode_many` and `clip_dataset` skip such videos with one
`absl.logging.warning` line each and count them in a `DecodeReport`.

One decode status (`DecodeStatus`) for every command: "ok"; "partial", a file
whose decoding stops at a damaged frame before the frame count its container
declares (its frames read are used; frames_read and frames_declared are
recorded, and one warning line says so); "skipped", with why (the VideoError's
kind and reason). Embed's manifest and summary, predict's prediction.json,
extract_percepts' manifest, training's data.json and `DecodeReport` all say it
this way. A video scaled up more than MAX_UPSCALE times gets one warning line.

Determinism. Decoding is deterministic; the only randomness is the position of
a random crop, drawn once per video from its seed. `decode_many` and
`clip_dataset` derive video i's seed from (seed, i), so the clips do not depend
on the number of parallel decoders.

FFmpeg's own messages ("[mjpeg @ 0x...] dqt: invalid len 67" at every decode
of a damaged file) are silenced: OpenCV reads OPENCV_FFMPEG_LOGLEVEL at its
FFmpeg backend's first use, and this module sets it to -8 (AV_LOG_QUIET) before
importing cv2, unless it is set already. What is wrong with a video is said
once, by the caller, in its own words.

Frame counts. `VideoInfo.frame_count` is what OpenCV's CAP_PROP_FRAME_COUNT
reports, a container estimate: exact for the staged XviD AVIs, absent (OpenCV
reports a negative number) for the staged UCF-101 MP4s, and too high for a
truncated file. `count_frames` decodes the file to count exactly.
"""

import collections
import dataclasses
import os
import threading

# Before cv2 loads FFmpeg: quiet (AV_LOG_QUIET) unless the caller chose a level.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from absl import logging  # noqa: E402

CROPS = ("center", "random")


class VideoError(ValueError):
    """A video that cannot give what was asked of it.

    Attributes:
        path: the video file.
        kind: what is wrong, one of "missing", "empty", "undecodable",
            "no frames", "too short" (the key `DecodeReport` counts by).
        reason: the message's text after the path.
    """

    def __init__(self, path, kind, reason):
        super().__init__(f"{path}: {reason}")
        self.path, self.kind, self.reason = str(path), kind, reason


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video's container says about it.

    Attributes:
        path: the file.
        frame_count: frames as OpenCV reports them (CAP_PROP_FRAME_COUNT), or
            None when it reports no usable count (<= 0). An estimate: see the
            module docstring; `count_frames` counts exactly.
        fps: frames per second, or None when the container reports none.
        width, height: frame size in pixels (of the first decoded frame).
    """

    path: str
    frame_count: int | None
    fps: float | None
    width: int
    height: int


# -- one video ----------------------------------------------------------------


def _open(path, threads=None):
    """An opened cv2.VideoCapture of `path` (FFmpeg `threads`; None: OpenCV's default); VideoError if none."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoError(path, "missing", "no such file")
    if os.path.isdir(path):
        raise VideoError(path, "missing", "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise VideoError(path, "empty", "file is empty (0 bytes)")
    if threads is None:
        capture = cv2.VideoCapture(path)
    else:
        capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, int(threads)])
    if not capture.isOpened():
        capture.release()
        raise VideoError(
            path, "undecodable", "OpenCV cannot decode it (corrupt, truncated or unknown format)"
        )
    return capture


def _read(capture):
    """The next BGR frame, or None at the end or at the first undecodable frame."""
    try:
        ok, frame = capture.read()
    except cv2.error:  # a damaged stream ends the video rather than the program
        return None
    return frame if ok else None


def probe(path):
    """A `VideoInfo` of `path`, after decoding its first frame.

    Raises:
        VideoError: missing, empty or undecodable file, or one with no frames.
    """
    capture = _open(path)
    try:
        first = _read(capture)
        if first is None:
            raise VideoError(path, "no frames", "opens but yields no frames")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return VideoInfo(
        path=os.fspath(path),
        frame_count=count if count > 0 else None,
        fps=fps if fps > 0 else None,
        width=first.shape[1],
        height=first.shape[0],
    )


def count_frames(path):
    """The number of frames `path` decodes to (reads the whole file, keeps none)."""
    capture = _open(path)
    count = 0
    try:
        while True:
            try:
                if not capture.grab():
                    break
            except cv2.error:
                break
            count += 1
    finally:
        capture.release()
    return count


def _target_size(size):
    """size None / int S / (H, W) -> None or (H, W)."""
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise ValueError(f"size={size}; expected a positive int or (height, width)")
    return height, width


def _resolve_stride(path, stride, fps):
    """The frame stride, from `stride` or from a target `fps` and the video's fps."""
    if stride < 1:
        raise ValueError(f"stride={stride}; expected >= 1")
    if fps is None:
        return stride
    if stride != 1:
        raise ValueError(f"stride={stride} and fps={fps}; pass one of them")
    if fps <= 0:
        raise ValueError(f"fps={fps}; expected > 0")
    video_fps = probe(path).fps
    if video_fps is None:
        raise VideoError(path, "undecodable", f"reports no frame rate; cannot convert fps={fps} to a stride")
    return max(1, round(video_fps / fps))


class _Resizer:
    """Scales and crops frames of one video to (H, W); the crop window is drawn once."""

    def __init__(self, target, crop, rng, name=None):
        if crop not in (None, *CROPS):
            raise ValueError(f"crop={crop!r}; expected one of {[*CROPS, None]}")
        self.target, self.crop, self.rng, self.name = target, crop, rng, name
        self.window = None  # (scaled (h, w), top, left), fixed at the first frame
        self.checked = False

    def __call__(self, frame):  # (h, w, 3) -> (H, W, 3)
        if self.target is None:
            return frame
        if not self.checked:
            self.checked = True
            warn_upscale(self.name, frame.shape[:2], self.target)
        height, width = self.target
        if self.crop is None:  # straight to (H, W), aspect ratio not kept
            return cv2.resize(frame, (width, height), interpolation=_interpolation(frame.shape, self.target))
        if self.window is None:
            self.window = self._draw(frame.shape[:2])
        (scaled_h, scaled_w), top, left = self.window
        if (scaled_h, scaled_w) != frame.shape[:2]:
            scaling = _interpolation(frame.shape, (scaled_h, scaled_w))
            frame = cv2.resize(frame, (scaled_w, scaled_h), interpolation=scaling)
        return frame[top : top + height, left : left + width]

    def _draw(self, shape):
        """The smallest aspect-keeping scale covering (H, W), and the crop's corner."""
        (h, w), (height, width) = shape, self.target
        scale = max(height / h, width / w)
        scaled = (max(height, round(h * scale)), max(width, round(w * scale)))
        if self.crop == "center":
            return scaled, (scaled[0] - height) // 2, (scaled[1] - width) // 2
        top = int(self.rng.integers(0, scaled[0] - height + 1))
        left = int(self.rng.integers(0, scaled[1] - width + 1))
        return scaled, top, left


MAX_UPSCALE = 2.0  # a video scaled up more than this is warned about (once per video and process)
_upscaled, _upscaled_lock = set(), threading.Lock()


def warn_upscale(name, shape, target):
    """One warning line, once per video `name` in a process, when frames of `shape` (h, w) are
    scaled up more than MAX_UPSCALE times to reach `target` (H, W): the model then sees
    pixels interpolated, not recorded."""
    (h, w), (height, width) = shape, target
    scale = max(height / h, width / w)
    if scale <= MAX_UPSCALE:
        return
    key = name if name is not None else id(shape)
    with _upscaled_lock:
        if key in _upscaled:
            return
        _upscaled.add(key)
    logging.warning("video %s is %dx%d pixels: scaled up %.1fx to the model's %dx%d frames (the model sees "
                    "interpolated pixels; a larger video gives it more to see)", name or "(frames)", w, h, scale,
                    width, height)


def fit_frames(frames, size, crop="center", seed=None, name=None):
    """Yields RGB uint8 frames (any iterable of (h, w, 3)) scaled and cropped to
    `size` as `read_frames` does: for frames that come decoded already (TFDS);
    `name` names them in the warning about a video scaled up a lot."""
    resize = _Resizer(_target_size(size), crop, np.random.default_rng(seed), name=name)
    for frame in frames:
        yield resize(np.asarray(frame))


def _interpolation(shape, target):
    shrinking = target[0] * target[1] < shape[0] * shape[1]
    return cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR


def read_frames(path, stride=1, size=None, crop="center", seed=None, fps=None, threads=None, start=0, tally=None):
    """Yields the frames of `path`, RGB uint8 (H, W, 3), one at a time.

    Args:
        path: a video file OpenCV (FFmpeg) decodes.
        stride: keep frames 0, stride, 2 * stride, ... (skipped frames are
            grabbed, not converted).
        size: None keeps the decoded size (h, w). An int S means (S, S). A pair
            (H, W): with `crop`, the frame is scaled keeping its aspect ratio to
            the smallest size that covers H x W (for a square, the shorter side
            becomes S) and an H x W window is cut out; with crop=None it is
            resized straight to H x W (aspect ratio not kept).
        crop: "center", "random" (one window per video, drawn from `seed`) or
            None (see `size`). Ignored when size is None.
        seed: int, None or np.random.Generator: the random crop's position.
        fps: a target frame rate instead of `stride`: stride = round(video fps
            / fps), at least 1.
        threads: FFmpeg decoding threads for this video; None leaves OpenCV's
            default (one per core). 1 is faster when several videos decode at
            once (`clip_dataset`), and on 2 cores even alone (bench/decode_speed.py).
        start: the first kept frame to yield: the `start * stride` frames before
            it are grabbed (decoded, never converted). Not a seek: OpenCV's
            FFmpeg seek is not frame-accurate (on the staged UCF-101 MP4s
            `CAP_PROP_POS_FRAMES` lands on frame 0 whatever the target), so
            every frame before `start` is still decoded.
        tally: a `Tally` to fill: the source frames decoded, and whether
            decoding reached the end of the file (or its first damaged frame).

    Yields:
        uint8 (H, W, 3) frames in RGB order. Decoding ends at the end of the
        file or at its first undecodable frame (a truncated file yields the
        frames before the damage).

    Raises:
        VideoError: missing, empty or undecodable file, or one with no frames
            (before the first frame is yielded).
        ValueError: a bad stride, fps, size or crop.
    """
    stride = _resolve_stride(path, stride, fps)
    if start < 0:
        raise ValueError(f"start={start}; expected >= 0")
    resize = _Resizer(_target_size(size), crop, np.random.default_rng(seed), name=os.fspath(path))
    capture = _open(path, threads)
    index = 0
    try:
        while True:
            if index % stride or index < start * stride:
                try:
                    if not capture.grab():
                        break
                except cv2.error:
                    break
            else:
                frame = _read(capture)
                if frame is None:
                    break
                yield cv2.cvtColor(resize(frame), cv2.COLOR_BGR2RGB)  # the smaller frame converted
            index += 1
        if tally is not None:
            tally.ended = True
    finally:
        capture.release()
        if tally is not None:
            tally.frames = index
    if index == 0:
        raise VideoError(path, "no frames", "opens but yields no frames")


# -- a run's frames -------------------------------------------------------------

GREY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, as OpenCV's RGB2GRAY


@dataclasses.dataclass(frozen=True)
class FramePreparation:
    """How a run's model gets its frames from a video: the one definition of every command that
    feeds frames to a model (training, evaluation and finetuning through `pipelines.sources.videos`,
    predict through `pipelines.user_video`, embed in one process and on Beam through
    `video_lstm.embedding`, extract_percepts, and the exported SavedModel with its
    convnet, whose frames embed prepares with `size=0`).

    Attributes:
        size: frames are scaled so the shorter side is `size` and centre-cropped to a square;
            0 keeps the video's own size (a percept network resizes frames itself).
        stride: every `stride`-th frame is kept.
        color: "rgb" (3 channels) or "grey" (1).
        patch_size: 0 for whole frames; N for N x N patches of them.
    """

    size: int
    stride: int = 1
    color: str = "rgb"
    patch_size: int = 0

    @property
    def frame_shape(self):
        """(H, W, C) of the model's frames (a patch's, with patches); (None, None, 3) at the video's own size."""
        side = (self.patch_size or self.size) or None
        return (side, side, 3 if self.color == "rgb" else 1)

    def describe(self):
        """What a record (embed's manifest, prediction.json) says of the preparation."""
        return {"frame_size": self.size or None, "frame_stride": self.stride, "color": self.color,
                "patch_size": self.patch_size, "patches": [list(c) for c in self.corners] if self.patch_size else None,
                "frame_shape": list(self.frame_shape)}

    def frames(self, path, start=0, tally=None, threads=None):
        """Yields the RGB uint8 frames of a video file, every `stride`-th from kept frame `start`
        on, fitted to size x size (`read_frames`, its FFmpeg `threads`; the video's own size
        when size is 0)."""
        return read_frames(path, self.stride, self.size or None, start=start, threads=threads, tally=tally)

    def fit(self, frames, name=None):
        """Yields RGB frames (any iterable of (h, w, 3), uint8 or float) scaled and centre-cropped
        to size x size, as `frames` does for a file (`name`: the video, for warnings)."""
        return fit_frames(frames, self.size or None, name=name)

    def finish(self, clip, patch=(0, 0)):
        """A fitted clip (T, size, size, 3) in the run's colour, cut to the patch whose top-left
        corner is `patch` (with patches): (T, *frame_shape). uint8 stays uint8 (grey rounded),
        float stays float."""
        clip = np.asarray(clip)
        if self.color == "grey":
            grey = clip.astype(np.float32) @ np.array(GREY_WEIGHTS, np.float32)
            clip = (np.round(grey).astype(np.uint8) if clip.dtype == np.uint8 else grey)[..., None]
        if self.patch_size:
            top, left = patch
            clip = clip[:, top : top + self.patch_size, left : left + self.patch_size]
        return clip

    @property
    def corners(self):
        """[(top, left)] of the patches that tile a frame, in row order: the largest centred square
        of whole patch_size x patch_size patches; [(0, 0)] without patches."""
        if not self.patch_size:
            return [(0, 0)]
        side, patch = self.size, self.patch_size
        per_side = side // patch
        offset = (side - per_side * patch) // 2
        return [(offset + row * patch, offset + col * patch) for row in range(per_side) for col in range(per_side)]

    def sequences(self, clip):
        """A fitted clip (T, size, size, 3) as the model reads it: (len(corners), T, *frame_shape),
        one sequence per patch of the tiling (one without patches)."""
        return np.stack([self.finish(clip, corner) for corner in self.corners])

    def clips(self, path, clip_length, step, tally=None, threads=None):
        """Yields (start, uint8 (len(corners), clip_length, *frame_shape)) of a video file,
        streamed (one clip's frames held): a clip of `clip_length` kept frames starts every
        `step` kept frames (0, step, ...; the tail after the last whole clip is not read into
        one); `start` counts the video's own frames (kept start x stride).

        Raises:
            VideoError: a missing, empty, undecodable or frameless file, or (after reading
                it) one shorter than one clip.
        """
        window = collections.deque(maxlen=clip_length)
        count = 0
        for frame in self.frames(path, tally=tally, threads=threads):
            window.append(frame)
            count += 1
            start = count - clip_length
            if start >= 0 and start % step == 0:
                yield start * self.stride, self.sequences(np.stack(window))
        if count < clip_length:
            stride = f" at frame stride {self.stride}" if self.stride > 1 else ""
            raise VideoError(path, "too short", f"{count} frames{stride}, shorter than one clip of {clip_length}")


# -- how a video decoded: one status for every command -----------------------------------

OK, PARTIAL, SKIPPED = "ok", "partial", "skipped"


@dataclasses.dataclass
class Tally:
    """What `read_frames` decoded of a file: `frames`, source frames decoded (kept or not), and
    `ended`, whether it read to the end of the file or to its first damaged frame."""

    frames: int = 0
    ended: bool = False


@dataclasses.dataclass(frozen=True)
class DecodeStatus:
    """How a video decoded, as every command reports it (embed's manifest and summary,
    prediction.json, extract_percepts' manifest, training's data.json and `DecodeReport`).

    Attributes:
        status: "ok" (decoded to the end its container declares, or it declares no count),
            "partial" (decoding stopped at a damaged frame before the count its container
            declares: the frames read are used) or "skipped" (no usable clip; `reason` says why).
        frames_read: source frames decoded (partial; None where not counted).
        frames_declared: the container's frame count (partial; None where it declares none).
        reason: "kind: why" of a skipped video (the `VideoError` kind first).
    """

    status: str
    frames_read: int | None = None
    frames_declared: int | None = None
    reason: str = ""

    @classmethod
    def of(cls, frames_read, frames_declared):
        """ok, or partial when `frames_read` < `frames_declared` (a declared count of None: ok)."""
        if frames_declared is not None and frames_read < frames_declared:
            return cls(PARTIAL, int(frames_read), int(frames_declared))
        return cls(OK)

    @classmethod
    def skipped(cls, error):
        """A skipped video's status, from a `VideoError` (or a reason string)."""
        return cls(SKIPPED, reason=f"{error.kind}: {error.reason}" if isinstance(error, VideoError) else str(error))

    def record(self):
        """{"status"} plus frames_read and frames_declared (partial) or reason (skipped), for JSON."""
        if self.status == PARTIAL:
            return {"status": PARTIAL, "frames_read": self.frames_read, "frames_declared": self.frames_declared}
        return {"status": SKIPPED, "reason": self.reason} if self.status == SKIPPED else {"status": OK}

    def message(self, path):
        """The one warning line of a partial or skipped video ("" when ok)."""
        if self.status == PARTIAL:
            return (f"video {path} decoded partly: {self.frames_read} of the {self.frames_declared} frames its "
                    "container declares (damaged or truncated); using the frames read")
        return f"skipping video {path}: {self.reason}" if self.status == SKIPPED else ""

    def warn(self, path):
        """Logs `message(path)` as one warning line (nothing when ok); returns self."""
        if self.status != OK:
            logging.warning("%s", self.message(path))
        return self


def decode_status(path, tally=None):
    """The `DecodeStatus` of a video file: from a `Tally` of a read that `ended`, else by
    decoding the file to count its frames (`count_frames`; only where its container declares
    a count, as a file without one cannot be partial). Raises VideoError as `probe` does."""
    declared = probe(path).frame_count
    if declared is None:
        return DecodeStatus(OK)
    read = tally.frames if tally is not None and tally.ended else count_frames(path)
    return DecodeStatus.of(read, declared)


# -- where clips start --------------------------------------------------------


def _check_clip(clip_length, overlap):
    if clip_length < 1:
        raise ValueError(f"clip_length={clip_length}; expected >= 1")
    if not 0 <= overlap < clip_length:
        raise ValueError(f"overlap={overlap}; expected 0 <= overlap < clip_length={clip_length}")


def clip_starts(num_frames, clip_length, overlap=0):
    """Training clips: starts 0, step, 2 * step, ... (step = clip_length - overlap).

    Every clip lies wholly inside the video; the tail of fewer than `step`
    frames after the last clip is not used. A video shorter than one clip has
    none.

    Returns:
        list of int start indices, each in [0, num_frames - clip_length].
    """
    _check_clip(clip_length, overlap)
    return list(range(0, num_frames - clip_length + 1, clip_length - overlap))


def covering_clip_starts(num_frames, clip_length, overlap=0):
    """Evaluation clips: `clip_starts`, plus a last clip aligned to the end.

    Every frame is in at least one clip. When the regular starts leave a tail,
    one more clip starts at num_frames - clip_length; it overlaps the clip
    before it by more than `overlap` frames. A video shorter than one clip has
    none.

    Returns:
        list of int start indices, increasing, each in [0, num_frames - clip_length].
    """
    starts = clip_starts(num_frames, clip_length, overlap)
    if starts and starts[-1] != num_frames - clip_length:
        starts.append(num_frames - clip_length)
    return starts


def clips(path, clip_length, overlap=0, cover=False, **frame_options):
    """Yields clips of `path`, uint8 (clip_length, H, W, 3), in order.

    Streams: at most `clip_length` frames are held. The clips are those of
    `clip_starts` (cover=False, training) or `covering_clip_starts`
    (cover=True, evaluation) over the frames `read_frames` yields.

    Args:
        path: the video file.
        clip_length: frames per clip (after the stride).
        overlap: frames shared by consecutive clips, 0 <= overlap < clip_length.
        cover: whether the last clip is aligned to the end so every frame is used.
        **frame_options: stride, size, crop, seed, fps, threads of `read_frames`.

    Raises:
        VideoError: what `read_frames` raises, and ("too short") a video that
            decodes to fewer than clip_length frames (after the stride),
            raised after reading it.
    """
    _check_clip(clip_length, overlap)
    step = clip_length - overlap
    window = collections.deque(maxlen=clip_length)  # the last clip_length frames
    count, last_start = 0, None
    for frame in read_frames(path, **frame_options):
        window.append(frame)
        count += 1
        start = count - clip_length
        if start >= 0 and start % step == 0:
            last_start = start
            yield np.stack(window)
    if last_start is None:
        raise VideoError(path, "too short", f"{count} frames, shorter than one clip of {clip_length}")
    if cover and last_start != count - clip_length:
        yield np.stack(window)


# -- many videos --------------------------------------------------------------


class DecodeReport:
    """What decoding a list of videos gave: clips per good video, reasons for skipped ones.

    Filled while the clips are consumed (thread-safe); complete once the
    videos are read to the end. Keyed by path: reading again overwrites, it
    does not add.

    Attributes:
        clips: {path: clips yielded}.
        skipped: {path: VideoError} of the videos that gave no clips.
        partial: {path: DecodeStatus} of the videos (among `clips`) that decoded partly.
    """

    def __init__(self):
        self.clips, self.skipped, self.partial = {}, {}, {}
        self._lock = threading.Lock()

    @property
    def num_partial(self):
        return len(self.partial)

    def status(self, path):
        """The `DecodeStatus` of a video read so far (None: not read to the end yet)."""
        with self._lock:
            if path in self.skipped:
                return DecodeStatus.skipped(self.skipped[path])
            if path in self.partial:
                return self.partial[path]
            return DecodeStatus(OK) if path in self.clips else None

    @property
    def num_ok(self):
        return len(self.clips)

    @property
    def num_skipped(self):
        return len(self.skipped)

    def skipped_by_kind(self):
        """{kind: count} of the skipped videos (kinds of `VideoError`)."""
        return dict(collections.Counter(error.kind for error in self.skipped.values()))

    def _ok(self, path, count, status=None):
        with self._lock:
            self.clips[path] = count
            self.skipped.pop(path, None)
            self.partial.pop(path, None)
            if status is not None and status.status == PARTIAL:
                self.partial[path] = status
        if status is not None:
            status.warn(path)

    def _skip(self, error):
        with self._lock:
            self.skipped[error.path] = error
            self.clips.pop(error.path, None)
            self.partial.pop(error.path, None)
        DecodeStatus.skipped(error).warn(error.path)

    def __str__(self):
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.skipped_by_kind().items()))
        partial = f", {self.num_partial} of them partial" if self.num_partial else ""
        return (f"{self.num_ok} videos ok ({sum(self.clips.values())} clips){partial}, "
                f"{self.num_skipped} skipped" + (f" ({kinds})" if kinds else ""))


def video_seed(seed, index):
    """The crop seed of video `index` of a list decoded with `seed` (None: not reproducible)."""
    if seed is None:
        return None
    return np.random.SeedSequence([seed, index])


def _clips_or_skip(path, report, clip_length, **options):
    """clips(path, ...), but a bad video is logged, counted and yields nothing."""
    path = os.fspath(path)
    count, tally = 0, Tally()
    try:
        for clip in clips(path, clip_length, tally=tally, **options):
            count += 1
            yield clip
        status = decode_status(path, tally)
    except VideoError as error:
        report._skip(error)
        return
    report._ok(path, count, status)


def decode_many(paths, clip_length, report=None, seed=0, **options):
    """Yields the clips of every video of `paths` in order, one decoder, skipping bad videos.

    Args:
        paths: video files.
        clip_length, **options: of `clips` (overlap, cover) and `read_frames`
            (stride, size, crop, fps, threads).
        report: the `DecodeReport` to fill; pass one to read the counts
            afterwards (None: counted nowhere, still logged).
        seed: video i's random crop uses `video_seed(seed, i)`.

    Yields:
        uint8 (clip_length, H, W, 3).
    """
    report = DecodeReport() if report is None else report
    for index, path in enumerate(paths):
        yield from _clips_or_skip(path, report, clip_length, seed=video_seed(seed, index), **options)


def clip_dataset(paths, clip_length, size=None, seed=0, num_parallel_calls=2, cycle_length=None, **options):
    """A tf.data stage: clips of many videos, decoded `num_parallel_calls` at a time.

    One `from_generator` per video, interleaved deterministically
    (`deterministic=True`, block_length 1): clips come round-robin from
    `cycle_length` open videos, in an order that depends on the paths and
    `cycle_length` only, not on thread timing. OpenCV releases the GIL while
    decoding, so the videos decode in parallel; memory is bounded by
    cycle_length open videos of one clip each (plus tf.data's buffers).

    Args:
        paths: video files.
        clip_length, size, **options: of `clips` (overlap, cover) and
            `read_frames` (stride, crop, fps, threads: default 1 here, as the
            parallelism is across videos). Without a size the frame size is
            unknown to tf.data (None, None).
        seed: video i's random crop uses `video_seed(seed, i)`.
        num_parallel_calls: videos decoded at once.
        cycle_length: videos open at once (default num_parallel_calls).

    Returns:
        (dataset, report): a tf.data.Dataset of uint8 (clip_length, H, W, 3)
        and the `DecodeReport` it fills as it is iterated.
    """
    # here: keeps TensorFlow out of `import pipelines.video_decode`
    import tensorflow as tf

    paths = [os.fspath(path) for path in paths]
    target = _target_size(size)
    _check_clip(clip_length, options.get("overlap", 0))
    options.setdefault("threads", 1)
    report = DecodeReport()
    spec = tf.TensorSpec((clip_length, *(target or (None, None)), 3), tf.uint8)

    def video_clips(index):
        index = int(index)
        return _clips_or_skip(
            paths[index], report, clip_length, size=size, seed=video_seed(seed, index), **options
        )

    def one_video(index):
        return tf.data.Dataset.from_generator(video_clips, args=(index,), output_signature=spec)

    dataset = tf.data.Dataset.range(len(paths)).interleave(
        one_video,
        cycle_length=cycle_length or num_parallel_calls,
        block_length=1,
        num_parallel_calls=num_parallel_calls,
        deterministic=True,
    )
    return dataset, report
