"""The encoder's representation of every video of a listing (`python -m video_lstm.embed`).

The work comes in three parts, so that it can run in one process (the command) or be
spread over workers (a Beam pipeline) and give the same bytes either way:

(a) **listing** (`list_videos`): a folder of class subfolders, a UCF-101 / HMDB-51 split, or
    a list file (`pipelines.action_datasets.listing`), in listing order.
(b) **one video** (`embed_video(model, path, settings)`): a pure function of the model, the
    file and the `ClipSettings`, with no state of its own. The video is decoded once and
    streamed through the model's frame preparation, the one training and predict use
    (`video_decode.FramePreparation.clips`, built from the run's config or the export's
    recorded config by `sources.model_preparation`: every `frame_stride`-th frame, the
    shorter side scaled to the run's frame size and centre-cropped, its colour; a percept
    model's SavedModel gets the frames at the video's own size, as extract_percepts reads
    them); a clip of `clip_length` kept frames starts every `stride` kept frames (0, stride,
    2 * stride, ...; the tail after the last whole clip is not read into one); clips go
    through the model `batch_clips` at a time. A clip's state is the final [h, c] of every
    encoder layer, concatenated h_0, c_0, h_1, c_1, ... (what the linear probe reads,
    `analysis.probe.encoder_states`). **A run of patches**: each clip is read as predict reads
    a frame, the tiling of the largest centred square of whole patches (`FramePreparation.corners`,
    recorded in the manifest as `preparation.patches`), every patch a sequence of its own as
    training cuts one; the clip's state is the mean of its patches' states. A video's
    **pooled** vector is the mean of its clips' states. Each video has one decode status
    (`video_decode.DecodeStatus`): "ok"; "partial", decoding stopped at a damaged frame before
    the count its container declares (its clips are embedded; frames_read / frames_declared are
    recorded and one warning line says so); "skipped" (undecodable, or shorter than one clip)
    with the reason. Nothing raises for a bad video.
(c) **writing**: `write_video` stores one video's result as `clips/<key>.npz` (key: the
    first 16 hex digits of the sha1 of the video's id), atomically and with fixed zip
    timestamps, so equal results are equal bytes; `Job.finish` reads them in listing order
    into `embeddings.npz` and `manifest.json`. The outputs depend on the listing and the
    per-video files only, not on the order the videos were done in, nor on how many runs it
    took.

The model (`load_model`) is a training log_dir's encoder (Keras, `classify.pretrained`) or an
exported encoder SavedModel run through its own serving signature: `encode` (uint8 frames of
the trained size), or for a percept model exported `--with_convnet`, `encode_frames` (frames
at the video's own size; the SavedModel computes the percepts). A percept model without its
convnet reads percepts, not videos, and is refused at start-up.

Outputs in `--out`:

    embeddings.npz   names (N,) video ids, labels (N,) int64 and classes (C,) where the
                     listing has classes, clips (N,) clips per video, pooled (N, D) float32:
                     the N videos embedded, in listing order (skipped ones are absent)
    clips/<key>.npz  per video: video (its id), status, reason, states (clips, D) float32,
                     starts (clips,) int64 (each clip's first source frame), pooled (D,)
    manifest.json    settings (the frame preparation among them), a summary, and one row per
                     listed video: status "ok" (clips, file), "partial" (clips, file, frames_read,
                     frames_declared) or "skipped" (reason), "pending" until the job finishes

Resuming: a video whose file exists and whose fingerprint (`pipelines.fingerprints`: size,
mtime_ns and the sha256 of its first and last MiB, taken before it is read and kept in its
file and its manifest row) is the file's now is done; a killed job run again with the same
flags does the rest and writes the same bytes as a job never killed. A video that changed
under the same name since (any of the three differs, or it has no fingerprint recorded) is
embedded again, its file redone, and named in one line: a result is never reused for other
content. The settings (model and checkpoint step, clip settings, the listing's kind and root)
are recorded in manifest.json at start and compared on a rerun: other settings into the same
--out are refused, so finished output is never overwritten by a different job. The listing
itself may change: videos added since are embedded, and videos no longer listed are named in
one line and in manifest.json's "removed", and dropped from embeddings.npz (their clips/
files are kept, so a video that comes back unchanged is not redone); the classes follow the
listing. Entries the listing saw and did not take (`ActionDataset.refused`: a FIFO, a folder
named like a video, a symlink loop or leading outside --video_dir, a video in a nested
folder, ...) are in manifest.json's "refused" ({entry, reason}), counted in its summary and
named in the command's summary line.
"""

import dataclasses
import hashlib
import json
import math
import os
import zipfile

import numpy as np

from pipelines import corpus, fingerprints, sources, video_decode
from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.analysis import figures
from video_lstm.analysis.probe import encoder_states
from video_lstm.classify import pretrained
from video_lstm.core import atomic, files, settings

MANIFEST = "manifest.json"
EMBEDDINGS = "embeddings.npz"
CLIPS = "clips"
OK, PARTIAL, SKIPPED, PENDING = "ok", "partial", "skipped", "pending"  # as video_decode's, and pending
POOLING = "mean of the clip states"
STATE = "final [h, c] of every encoder layer, concatenated h_0, c_0, h_1, c_1, ..."
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every member's timestamp: equal arrays give equal bytes
_OPTIONAL = ("frames_read", "frames_declared", "thumbnail")  # absent from the per-video files of before issues 29, 32


# -- the settings -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EmbedOptions(settings.CorpusListing):
    """python -m video_lstm.embed's settings: the listing (`core.settings.CorpusListing`), the
    model, the clips; not the runner (`core.settings.Runner`), so that an embedding's recorded
    settings, and resuming it, do not depend on where it ran."""

    pretrained: str = ""
    out: str = ""
    input_length: int | None = None
    stride: int | None = None
    frame_stride: int | None = None  # the listing's, its default the model's (None)
    batch_clips: int = 8
    progress: bool = True

    def validate(self):
        """Raises ValueError naming the first bad flag (paths are checked by `prepare`)."""
        if not self.pretrained:
            raise ValueError("--pretrained is required (a training log_dir or an exported encoder SavedModel)")
        if not self.out:
            raise ValueError("--out is required (the folder the embeddings go to)")
        corpus.check_listing(self)
        for name in ("input_length", "stride", "batch_clips"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name}={value}; expected >= 1")
        return self


HELP = {
    **settings.LISTING_HELP,
    "pretrained": "A training log_dir (its newest checkpoint's encoder) or an exported encoder SavedModel "
    "(python -m export.encoder; a percept model exported --with_convnet takes the videos' frames).",
    "out": "The folder of the outputs: embeddings.npz, clips/, manifest.json. Run the same command again "
    "after a kill to finish it.",
    "input_length": "Kept frames per clip, the frames the encoder reads (default: the input length it was "
    "trained on).",
    "stride": "Kept frames from one clip's start to the next (default: the clip length: side by side).",
    "frame_stride": "Keep every n-th frame of a video (default: the stride its training data used, else 1).",
    "batch_clips": "Clips per call of the model (memory grows with it).",
    "progress": "Show a progress bar.",
}
CHOICES = settings.LISTING_CHOICES


@dataclasses.dataclass(frozen=True)
class ClipSettings:
    """How a video becomes clips and states: everything `embed_video` reads besides the model.

    Attributes:
        clip_length: kept frames per clip.
        stride: kept frames from one clip's start to the next.
        frame_stride: keep every n-th decoded frame.
        batch_clips: clips per call of the model.
    """

    clip_length: int
    stride: int
    frame_stride: int
    batch_clips: int

    @classmethod
    def of(cls, options, model):
        """The settings `options` ask for, their defaults taken from `model`."""
        length = options.input_length or model.input_length
        return cls(clip_length=length, stride=options.stride or length,
                   frame_stride=options.frame_stride or model.frame_stride, batch_clips=options.batch_clips)


# -- the model ----------------------------------------------------------------------------


def load_model(path):
    """The encoder of a training log_dir (`KerasEncoder`) or of an exported SavedModel
    (`ServedEncoder`, a version directory or a model directory: its newest version).

    Either has `preparation` (the `video_decode.FramePreparation` its run's frames came
    through; size 0 for a percept model's SavedModel: the video's own size), `frame_shape`
    ((H, W, C) of one of its frames, a patch's with patches; None: the video's own size, RGB),
    `input_length` and `frame_stride` (what it trained on), `state_dim`, `info` (where it came
    from) and `encode(clips)`: uint8 (N, T, *frames) -> float32 (N, state_dim).

    Raises:
        FileNotFoundError: `path` is neither, naming it.
        ValueError: a model of percepts without its convnet (it cannot read videos).
    """
    if path and os.path.exists(path) and not rundir.is_run(path):
        return ServedEncoder(path)
    return KerasEncoder(path)


def _percepts_refused(path, how):
    return ValueError(f"--pretrained={path}: {how} reads percepts (feature vectors), not video frames; export it "
                      "with its percept network (python -m export.encoder --log_dir=... --with_convnet) and pass "
                      "that SavedModel, which takes frames")


class KerasEncoder:
    """The encoder of a training log_dir's newest checkpoint, run eagerly in Keras."""

    def __init__(self, log_dir):
        if rundir.is_run(log_dir) and rundir.load_config(log_dir).dataset == "percepts":
            raise _percepts_refused(log_dir, "this run trained on percepts: its encoder")
        self.encoder, frame_shape, info = pretrained.load_encoder(log_dir)  # names a path that is not there
        config = rundir.load_config(log_dir)
        self.frame_shape = tuple(int(d) for d in frame_shape)
        self.preparation = _preparation(config, self.frame_shape, log_dir)
        self.input_length = int(config.input_length)
        self.frame_stride = self.preparation.stride
        self.state_dim = 2 * int(self.encoder.units) * int(self.encoder.num_layers)
        self.info = {**info, "input": f"frames {list(self.frame_shape)}"}

    def encode(self, clips):
        return encoder_states(self.encoder, clips, batch_size=len(clips))


class ServedEncoder:
    """An exported encoder SavedModel, through its serving signature: `encode` (uint8 frames of
    the trained size) or, exported with its percept network, `encode_frames` (uint8 RGB frames
    of any size)."""

    def __init__(self, path):
        import tensorflow as tf  # here: a SavedModel needs TensorFlow; a Keras run may be on another backend

        version_dir, assets = pretrained.read_export(path)
        table, config = assets["signatures"], assets["config"]
        signatures, frame_shape = table["signatures"], tuple(table["frame_shape"])
        if table.get("convnet"):
            name, self.frame_shape = "encode_frames", None
            convnet = table["convnet"]
            self.info_input = f"frames through {convnet['network']} (weights: {convnet['weights']}) in the graph"
        elif len(frame_shape) == 1:
            raise _percepts_refused(path, "this SavedModel was exported without its convnet: its encoder")
        else:
            name, self.frame_shape = "encode", frame_shape
            self.info_input = f"frames {list(frame_shape)}"
        if name not in signatures:
            raise ValueError(f"--pretrained={path}: the SavedModel has no {name} signature "
                             f"({', '.join(sorted(signatures))}); expected an encoder exported by export.encoder")
        outputs = signatures[name]["outputs"]
        self.num_layers = sum(1 for output in outputs if output.startswith("h_"))
        self.state_dim = sum(int(outputs[output]["shape"][-1]) for output in outputs if output[:2] in ("h_", "c_"))
        self.preparation = _preparation(config_lib.Config.from_dict(config), self.frame_shape, path)
        self.input_length = int(config.get("input_length", 10))
        self.frame_stride = self.preparation.stride
        self.info = {"pretrained": os.path.abspath(version_dir), "pretrained_kind": "saved_model",
                     "pretrained_step": assets["export"].get("step"), "pretrained_model": config.get("model"),
                     "signature": name, "input": self.info_input}
        self._loaded = tf.saved_model.load(version_dir)  # kept: the signature needs its variables
        self._function = self._loaded.signatures[name]

    def encode(self, clips):
        import tensorflow as tf  # as in __init__

        result = self._function(frames=tf.constant(clips))
        states = [result[f"{kind}_{i}"].numpy() for i in range(self.num_layers) for kind in ("h", "c")]
        return np.concatenate(states, axis=-1).astype(np.float32)


def _preparation(config, frame_shape, path):
    """The `FramePreparation` of a model of `config` (`sources.model_preparation`), checked
    against the frames its encoder reads (`frame_shape`; None: any size, a convnet inside)."""
    preparation = sources.model_preparation(config)
    if frame_shape is not None and tuple(preparation.frame_shape) != tuple(frame_shape):
        raise ValueError(f"--pretrained={path}: its config prepares frames {tuple(preparation.frame_shape)} "
                         f"but its encoder reads {tuple(frame_shape)}; expected a run or export as training wrote it")
    return preparation


# -- (a) the listing -------------------------------------------------------------------------


def list_videos(options):
    """The `ActionDataset` the options name, in listing order (`corpus.list_videos`; videos a
    split names but that are absent are kept, each reported as missing)."""
    return corpus.list_videos(options, "embed", missing="keep")


# -- (b) one video ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VideoEmbedding:
    """What `embed_video` gives for one video.

    Attributes:
        status: "ok", "partial" (see `video_decode.DecodeStatus`) or "skipped" (undecodable,
            missing, empty, no frames, too short).
        reason: why it was skipped ("too short: 3 frames ..."); "" otherwise.
        states: float32 (clips, D): each clip's final [h, c] of every layer.
        starts: int64 (clips,): each clip's first frame, counted in the video's frames.
        pooled: float32 (D,): the mean of `states`; (0,) when skipped.
        frames_read, frames_declared: of a partial video (source frames decoded, and the
            count its container declares); -1 otherwise.
    """

    status: str
    reason: str
    states: np.ndarray
    starts: np.ndarray
    pooled: np.ndarray
    frames_read: int = -1
    frames_declared: int = -1
    thumbnail: np.ndarray = None  # uint8 (H, W, C): the middle clip's middle frame (its first patch)

    @classmethod
    def skipped(cls, reason, state_dim):
        return cls(SKIPPED, reason, np.zeros((0, state_dim), np.float32), np.zeros(0, np.int64),
                   np.zeros(0, np.float32))

    def decode_status(self):
        """This video's `video_decode.DecodeStatus`."""
        if self.status == PARTIAL:
            return video_decode.DecodeStatus(PARTIAL, self.frames_read, self.frames_declared)
        return video_decode.DecodeStatus(self.status, reason=self.reason)


def clips_of(path, model, settings, tally=None):
    """Yields (start, uint8 clip (len(corners), clip_length, *frames)) of a video file, streamed
    through the model's frame preparation (`FramePreparation.clips`, its stride
    `settings.frame_stride`): clips start every `settings.stride` kept frames; `start` counts
    the video's own frames; one sequence per patch of the tiling (one without patches).

    Raises:
        video_decode.VideoError: a missing, empty, undecodable or frameless file, or (after
            reading it) one shorter than one clip.
    """
    preparation = dataclasses.replace(model.preparation, stride=settings.frame_stride)
    return preparation.clips(path, settings.clip_length, settings.stride, tally=tally, threads=1)


def embed_video(model, path, settings):
    """The clip states and pooled vector of one video (see the module docstring): a pure
    function of `model`, the file at `path` and `settings` (`ClipSettings`).

    Returns:
        A `VideoEmbedding`; a video that cannot give a clip is one with status "skipped"
        and the reason; one that decodes partly, status "partial" (warned about in one line).
    """
    states, starts, batch, tally, middles = [], [], [], video_decode.Tally(), []

    def encode(batch):  # (clips, patches, T, *frames) -> (clips, D): the mean over the patches
        clips = np.stack(batch)
        encoded = model.encode(clips.reshape(-1, *clips.shape[2:]))
        return encoded.reshape(len(clips), clips.shape[1], -1).mean(axis=1, dtype=np.float64).astype(np.float32)

    try:
        for start, clip in clips_of(path, model, settings, tally):
            starts.append(start)
            batch.append(clip)
            middles.append(clip[0, clip.shape[1] // 2])
            if len(batch) == settings.batch_clips:
                states.append(encode(batch))
                batch = []
        if batch:
            states.append(encode(batch))
        status = video_decode.decode_status(path, tally).warn(path)
    except video_decode.VideoError as error:
        return VideoEmbedding.skipped(video_decode.DecodeStatus.skipped(error).warn(path).reason, model.state_dim)
    states = np.concatenate(states).astype(np.float32, copy=False)
    pooled = states.mean(axis=0, dtype=np.float64).astype(np.float32)
    thumbnail = np.asarray(middles[len(middles) // 2], np.uint8)
    if status.status == PARTIAL:
        return VideoEmbedding(PARTIAL, "", states, np.array(starts, np.int64), pooled, status.frames_read,
                              status.frames_declared, thumbnail)
    return VideoEmbedding(OK, "", states, np.array(starts, np.int64), pooled, thumbnail=thumbnail)


# -- (c) writing -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Rows:
    """An array written row block by row block: `blocks` yields arrays of `dtype` whose rows
    add up to `shape`."""

    shape: tuple
    dtype: object
    blocks: object


def write_npz(destination, arrays):
    """Writes {name: array or `_Rows`} as an uncompressed .npz, atomically; equal arrays give
    equal bytes (fixed member timestamps, members in the order given; no pickles)."""
    with atomic.path(destination) as temporary, zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16  # the member's mode inside the archive (the file's own: the umask's)
            with archive.open(info, "w", force_zip64=True) as member:
                if isinstance(value, _Rows):
                    _write_rows(member, value)
                else:
                    np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
    return destination


def _write_rows(member, rows):
    dtype = np.dtype(rows.dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(rows.shape)}
    np.lib.format.write_array_header_1_0(member, header)
    written = 0
    for block in rows.blocks:
        block = np.ascontiguousarray(block, dtype=dtype)
        member.write(block.tobytes())
        written += len(block)
    if written != rows.shape[0]:
        raise RuntimeError(f"wrote {written} rows of an array of {rows.shape[0]}")  # a bug, not bad input


def video_key(video_id):
    """The per-video file's name stem: the first 16 hex digits of the sha1 of the video's id."""
    return hashlib.sha1(video_id.encode("utf-8")).hexdigest()[:16]


def video_file(video_id):
    """The per-video file's path relative to --out: `clips/<key>.npz`."""
    return f"{CLIPS}/{video_key(video_id)}.npz"


def write_video(out, video_id, result, fingerprint=None):
    """Writes one video's `VideoEmbedding` and the `fingerprints.fingerprint` of the file it was
    read from (taken before reading it; None: not there) into `<out>/clips/<key>.npz` (atomic;
    equal results, equal bytes); returns its path."""
    return write_npz(os.path.join(out, video_file(video_id)), {
        "video": np.array(video_id), "status": np.array(result.status), "reason": np.array(result.reason),
        "states": result.states, "starts": result.starts, "pooled": result.pooled,
        "frames_read": np.array(result.frames_read, np.int64),
        "frames_declared": np.array(result.frames_declared, np.int64),
        "fingerprint": np.array(json.dumps(fingerprint, sort_keys=True)),
        "thumbnail": np.zeros((0, 0, 1), np.uint8) if result.thumbnail is None else result.thumbnail,
    })


def embed_item(model, out, item, settings):
    """Embeds one listed video and writes its file (`write_video`), its fingerprint taken first;
    returns its status. The one step of every runner."""
    fingerprint = fingerprints.fingerprint(item.path)
    result = embed_video(model, item.path, settings)
    write_video(out, item.video_id, result, fingerprint)
    return result.status


def read_video(out, video_id, arrays=("status", "reason", "states", "starts", "pooled")):
    """{name: array} of `arrays` from a video's file in `out` (0-d strings as str), or None if
    it has none yet. Raises ValueError if the file is damaged or belongs to another video."""
    path = os.path.join(out, video_file(video_id))
    if not os.path.exists(path):
        return None
    try:
        files.check_regular(path)
        with np.load(path, allow_pickle=False) as stored:
            found = str(stored["video"])
            values = {name: stored[name] for name in arrays
                      if name != "fingerprint" and (name in stored.files or name not in _OPTIONAL)}
            if "fingerprint" in arrays:  # absent from files made before fingerprints: None
                values["fingerprint"] = (json.loads(str(stored["fingerprint"])) if "fingerprint" in stored.files
                                         else None)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is damaged ({error}); delete it to have video {video_id} embedded again") from None
    if found != video_id:
        raise ValueError(f"{path} holds video {found}, not {video_id}; delete it to have {video_id} embedded again")
    return {name: str(value) if getattr(value, "dtype", None) is not None and value.dtype.kind == "U" else value
            for name, value in values.items()}


# -- the job: checks at start-up, then every video, then the outputs -------------------------------


@dataclasses.dataclass
class Job(corpus.CorpusJob):
    """A checked embedding job, ready to run (`prepare`): the options, the listing, the model,
    the clip settings and the settings record compared on a rerun."""

    options: EmbedOptions
    dataset: object  # action_datasets.ActionDataset
    model: object
    settings: ClipSettings
    record: dict
    complete: bool = False
    summary: dict | None = None  # a complete job's, from its manifest
    changed: dict = dataclasses.field(default_factory=dict)  # {video id: how} of done videos changed since
    removed: list = dataclasses.field(default_factory=list)  # ids embedded in --out, no longer listed
    added: list = dataclasses.field(default_factory=list)  # ids listed now that --out's manifest did not hold

    @property
    def out(self):
        return self.options.out

    kind = "embed job"

    def done(self, item):
        """True when the video has its file, made of the content it has now (not `changed`)."""
        return item.video_id not in self.changed and os.path.exists(os.path.join(self.out, video_file(item.video_id)))

    def pending(self):
        """The listed videos without a file yet, in listing order."""
        return [item for item in self.dataset.items if not self.done(item)]

    def start(self):
        """Takes --out (one job at a time: an flock, as a log_dir's), removes the temporaries of
        killed writers and records the settings (manifest.json, every video pending) if new."""
        self.take()
        os.makedirs(os.path.join(self.out, CLIPS), exist_ok=True)
        atomic.remove_stale(os.path.join(self.out, CLIPS))
        if not os.path.exists(os.path.join(self.out, MANIFEST)):
            self._write_manifest(self._rows(pending=True), complete=False)

    def write(self, item, result, fingerprint=None):
        return write_video(self.out, item.video_id, result, fingerprint)

    def _rows(self, pending=False):
        rows = []
        for item in self.dataset.items:
            row = {"video": item.video_id}
            if self.dataset.classes:
                row.update(label=item.label, class_name=item.class_name)
            stored = None if pending else read_video(self.out, item.video_id, ("status", "reason", "starts",
                                                                               "fingerprint", *_OPTIONAL))
            if stored is None:
                row["status"] = PENDING
            elif stored["status"] in (OK, PARTIAL):
                row.update(status=str(stored["status"]), clips=len(stored["starts"]), file=video_file(item.video_id))
                if stored["status"] == PARTIAL:
                    row.update(frames_read=int(stored["frames_read"]), frames_declared=int(stored["frames_declared"]))
            else:
                row.update(status=SKIPPED, reason=stored["reason"])
            if stored is not None:
                row["fingerprint"] = stored["fingerprint"]
            rows.append(row)
        return rows

    def _write_manifest(self, rows, complete):
        refused = corpus.refused_rows(self.dataset)
        atomic.write_json(os.path.join(self.out, MANIFEST),
                          {"settings": self.record, "summary": {**summarize(rows), "refused": len(refused)},
                           "complete": complete, "videos": rows, "refused": refused, "removed": self.removed})

    def finish(self):
        """Writes embeddings.npz from the per-video files in listing order, then manifest.json
        (complete once no video is pending); returns the summary."""
        rows = self._rows()
        ok = [(item, row) for item, row in zip(self.dataset.items, rows) if row["status"] in (OK, PARTIAL)]
        arrays = {"names": np.array([item.video_id for item, _ in ok], dtype=str)}
        if self.dataset.classes:
            arrays["labels"] = np.array([item.label for item, _ in ok], np.int64)
            arrays["classes"] = np.array(self.dataset.classes, dtype=str)
        arrays["clips"] = np.array([row["clips"] for _, row in ok], np.int64)
        dim = self.record["state_dim"]
        blocks = (read_video(self.out, item.video_id, ("pooled",))["pooled"][None] for item, _ in ok)
        arrays["pooled"] = _Rows((len(ok), dim), np.float32, blocks)
        summary = summarize(rows)
        if not summary["pending"]:
            write_npz(os.path.join(self.out, EMBEDDINGS), arrays)
            write_projector(self.out, [item for item, _ in ok], self.dataset.classes)
        self.complete, self.summary = not summary["pending"], summary
        self._write_manifest(rows, complete=self.complete)  # last: it says the job is done
        return summary


def summarize(rows):
    """{videos, ok, partial, skipped, pending, clips, skipped_by_kind} of manifest rows (partial
    videos are embedded, and counted apart from ok ones)."""
    counts = {"videos": len(rows), OK: 0, PARTIAL: 0, SKIPPED: 0, PENDING: 0, "clips": 0, "skipped_by_kind": {}}
    for row in rows:
        counts[row["status"]] += 1
        counts["clips"] += row.get("clips", 0)
        if row["status"] == SKIPPED:
            kind = row["reason"].split(":")[0]
            counts["skipped_by_kind"][kind] = counts["skipped_by_kind"].get(kind, 0) + 1
    counts["skipped_by_kind"] = dict(sorted(counts["skipped_by_kind"].items()))
    return counts


def settings_record(options, dataset, model, settings):
    """What decides the outputs, as manifest.json records it (compared on a rerun)."""
    listing = {"dataset": options.dataset, "subset": dataset.subset if options.dataset != "list" else None,
               "root": dataset.root, "classes": list(dataset.classes)}
    if options.dataset == "list":
        listing["list_file"] = os.path.abspath(options.list_file)
    if options.dataset in ("ucf101", "hmdb51"):
        listing["split"] = options.split
    if options.dataset == "folder" and options.subset != "all":
        listing["test_fraction"] = options.test_fraction
    return {"model": model.info, "state": STATE, "state_dim": model.state_dim, "pooling": POOLING,
            "frame_shape": None if model.frame_shape is None else list(model.frame_shape),
            "preparation": dataclasses.replace(model.preparation, stride=settings.frame_stride).describe(),
            "clips": dataclasses.asdict(settings), "listing": listing}


# -- TensorBoard's projector (`tensorboard --logdir=<out>`) --------------------------------------

PROJECTOR_CONFIG = "projector_config.pbtxt"
TENSORS, METADATA, SPRITE = "tensors.tsv", "metadata.tsv", "sprite.png"
SPRITE_CELL = 32  # pixels of each video's picture in the sprite
MAX_SPRITE = 8192  # the projector's largest sprite side


def write_projector(out, items, classes):
    """What TensorBoard's projector reads, beside embeddings.npz (each file atomic, equal
    embeddings giving equal bytes): `tensors.tsv` (the pooled vectors, one video a line, in
    embeddings.npz's order), `metadata.tsv` (a header, then each video's id and class name),
    `sprite.png` (each video's middle frame, `SPRITE_CELL` pixels square, row by row; left out
    where more videos than a sprite holds) and `projector_config.pbtxt` naming them."""
    rows = [read_video(out, item.video_id, ("pooled", "thumbnail")) for item in items]
    with atomic.path(os.path.join(out, TENSORS)) as temporary, open(temporary, "w", encoding="utf-8") as f:
        for row in rows:
            f.write("\t".join(format(float(v), ".8g") for v in row["pooled"]) + "\n")
    lines = ["video\tclass"] + [f"{_tsv(item.video_id)}\t{_tsv(item.class_name if classes else '')}"
                                 for item in items]
    atomic.write_text(os.path.join(out, METADATA), "\n".join(lines) + "\n")
    dim = rows[0]["pooled"].shape[0] if rows else 0
    sprite = _sprite([row.get("thumbnail") for row in rows])
    if sprite is not None:
        figures.write_png(os.path.join(out, SPRITE), sprite)
    atomic.write_text(os.path.join(out, PROJECTOR_CONFIG), projector_config(len(rows), dim, sprite is not None))


def projector_config(count, dim, sprite=True):
    """The text of projector_config.pbtxt (`ProjectorConfig`'s text format) for `count` vectors of `dim`."""
    lines = ["embeddings {", '  tensor_name: "pooled"', f'  tensor_path: "{TENSORS}"', f"  tensor_shape: {count}",
             f"  tensor_shape: {dim}", f'  metadata_path: "{METADATA}"']
    if sprite:
        lines += ["  sprite {", f'    image_path: "{SPRITE}"', f"    single_image_dim: {SPRITE_CELL}",
                  f"    single_image_dim: {SPRITE_CELL}", "  }"]
    return "\n".join(lines + ["}"]) + "\n"


def _tsv(text):
    return str(text).replace("\t", " ").replace("\n", " ")


def _sprite(thumbnails):
    """uint8 RGB (side, side, 3): the thumbnails in a square grid of `SPRITE_CELL` cells (black for a
    video without one); None for none, or more than `MAX_SPRITE` pixels a side."""
    import cv2

    side = math.ceil(math.sqrt(len(thumbnails)))
    if not thumbnails or side * SPRITE_CELL > MAX_SPRITE:
        return None
    sprite = np.zeros((side * SPRITE_CELL, side * SPRITE_CELL, 3), np.uint8)
    for i, thumbnail in enumerate(thumbnails):
        if thumbnail is None or thumbnail.size == 0:
            continue
        picture = np.asarray(thumbnail, np.uint8)
        picture = np.repeat(picture, 3, axis=-1) if picture.shape[-1] == 1 else picture[..., :3]
        picture = cv2.resize(picture, (SPRITE_CELL, SPRITE_CELL), interpolation=cv2.INTER_AREA)
        row, column = divmod(i, side)
        sprite[row * SPRITE_CELL:(row + 1) * SPRITE_CELL, column * SPRITE_CELL:(column + 1) * SPRITE_CELL] = picture
    return sprite


def _check_out(out):
    """The manifest already in `out`, None for a new or empty folder; raises for a file, a
    read-only place, or a folder holding something else."""
    atomic.check_writable(out, "--out")
    if not os.path.isdir(out):
        return None
    path = os.path.join(out, MANIFEST)
    if not os.path.exists(path):
        # What a job killed before its first write leaves (the lock, temporaries, clips/) is no content.
        others = sorted(name for name in os.listdir(out)
                        if atomic.owner_of(name) is None and name not in (CLIPS, rundir.LOCK))
        clips = os.path.join(out, CLIPS)
        if os.path.isdir(clips) and any(atomic.owner_of(name) is None for name in os.listdir(clips)):
            others.append(CLIPS + "/")
        if others:
            raise ValueError(f"--out={out} holds files ({corpus.names(others)}) but no {MANIFEST} of an embedding; "
                             "expected a new or empty folder, or an embedding to resume")
        return None
    try:
        with files.open_regular(path) as f:
            manifest = json.loads(f.read())
        if not isinstance(manifest["settings"], dict) or not isinstance(manifest["videos"], list):
            raise TypeError("its settings are no object, or its videos no list")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not the manifest of an embedding ({type(error).__name__}: {error}); use "
                         "another --out") from None
    return manifest


# What may differ between a manifest's settings and a rerun's: the classes follow the listing.
_FOLLOWS_THE_LISTING = ("listing.classes",)


def _check_resumable(out, manifest, record, dataset):
    """ValueError if `out`'s manifest was written with other settings; else (added, removed): the
    video ids listed now that the manifest does not hold, and those it held (or had already
    dropped) that are not listed now."""
    found = manifest["settings"]
    differing = [d for d in corpus.differences(found, record) if d[0] not in _FOLLOWS_THE_LISTING]
    if differing:
        raise ValueError(f"--out={out} holds an embedding made with other settings "
                         f"({corpus.describe_differences(differing)}); use another --out, "
                         "or the same flags to resume it")
    recorded = [row.get("video") for row in manifest["videos"]]
    listed = [item.video_id for item in dataset.items]
    earlier = [video for video in manifest.get("removed") or [] if isinstance(video, str)]
    return corpus.listing_changes(recorded, listed)[0], corpus.listing_changes(recorded + earlier, listed)[1]


def _changed(out, dataset):
    """{video id: how it changed} of the listed videos whose file in `out` was made from other
    content than the video has now (`fingerprints.changed`)."""
    changed = {}
    for item in dataset.items:
        if not os.path.exists(os.path.join(out, video_file(item.video_id))):
            continue
        recorded = read_video(out, item.video_id, ("fingerprint",))["fingerprint"]
        how = corpus.changed(recorded, item.path)
        if how:
            changed[item.video_id] = how
    return changed


def prepare(options, model=None):
    """Checks everything that can be checked before a video is read, writing nothing; returns a `Job`.

    Args:
        options: `EmbedOptions`.
        model: a model to use instead of loading `options.pretrained` (tests share one).

    Raises:
        ValueError, OSError: bad options, paths, split files or model; an --out that is a file,
            not writable, holds something else, or an embedding of other settings. (Another
            listing is not refused: the job's `added`, `removed` and `changed` say what
            differs from --out, and running it brings --out to the listing.)
    """
    options.validate()
    atomic.check_writable(options.out, "--out")
    dataset = list_videos(options)
    model = model or load_model(options.pretrained)
    clip_settings = ClipSettings.of(options, model)
    record = settings_record(options, dataset, model, clip_settings)
    manifest = _check_out(options.out)
    added, removed, changed = [], [], {}
    if manifest is not None:
        added, removed = _check_resumable(options.out, manifest, record, dataset)
        changed = _changed(options.out, dataset)
    listed_as_before = [row.get("video") for row in manifest["videos"]] == [
        item.video_id for item in dataset.items] if manifest else False
    complete = bool(manifest and manifest.get("complete") and os.path.exists(os.path.join(options.out, EMBEDDINGS))
                    and listed_as_before and not changed and manifest.get("settings") == record
                    and manifest.get("refused") == corpus.refused_rows(dataset))
    return Job(options, dataset, model, clip_settings, record, complete, manifest.get("summary") if complete else None,
               changed=changed, removed=removed, added=added)


def load_embeddings(out):
    """{name: array} of `<out>/embeddings.npz` (see the module docstring)."""
    with np.load(files.check_regular(os.path.join(out, EMBEDDINGS)), allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


# -- running the job: every video not done yet on --runner, then the outputs -------------------------


class _EmbedVideo:
    """One video's work: its embedding written to clips/<key>.npz, its status returned.

    A pure function of the video for given options and weights; picklable without its model,
    which `setup` loads once per worker (in one process, `prepare`'s is used)."""

    def __init__(self, out, pretrained, settings, model=None):
        self.out, self.pretrained, self.settings, self.model = out, pretrained, settings, model

    def __getstate__(self):
        return {**self.__dict__, "model": None}

    def setup(self):
        if self.model is None:
            self.model = load_model(self.pretrained)

    def __call__(self, index, item):
        return embed_item(self.model, self.out, item, self.settings)


class _Drain:
    """The job's writer: the per-video files are written by the work; this only consumes the
    results (in one process they are computed as it asks for them)."""

    def __call__(self, group, results):
        for _ in results:
            pass


def run(job, runner=settings.Runner("in_process")):
    """Embeds the videos not done yet on `runner` (a `settings.Runner`), then writes the outputs
    in the driver; returns the summary."""
    try:
        job.start()
        report_changes(job)
        pending = job.pending()
        done = len(job) - len(pending)
        if done:
            print(f"resuming {job.out}: {done} of {len(job)} videos done already", flush=True)
        files_of = [os.path.join(job.out, video_file(item.video_id)) for item in pending]
        work = _EmbedVideo(job.out, job.options.pretrained, job.settings, job.model)
        name, seconds = job.run_items(runner, list(enumerate(pending)), work, _Drain(),
                                      finished=lambda: sum(map(os.path.exists, files_of)),
                                      progress=job.options.progress, desc="embedding")
        if pending and name != "in_process":
            print(f"{len(pending)} videos in {seconds:.1f} s on {name}", flush=True)
        return job.finish()
    finally:
        job.release()


def report_changes(job):
    """One line each on how the listing differs from --out's: videos changed since embedded (done
    again), added (done), no longer listed (dropped from embeddings.npz)."""
    if job.changed:
        first = "; ".join(f"{video} ({how})" for video, how in list(job.changed.items())[:3])
        print(f"{len(job.changed)} videos changed since they were embedded into {job.out}: embedding them again "
              f"({first}{'; ...' if len(job.changed) > 3 else ''})", flush=True)
    if job.added:
        print(f"{len(job.added)} videos listed now are new to {job.out}: embedding them ({corpus.names(job.added)})",
              flush=True)
    if job.removed:
        print(f"{len(job.removed)} videos embedded in {job.out} are no longer listed: dropped from embeddings.npz, "
              f"named in manifest.json's \"removed\" ({corpus.names(job.removed)})", flush=True)


def print_summary(job, summary):
    """The command's closing lines: videos embedded, partial and skipped ones, refused entries."""
    out = job.out
    partial = summary.get("partial", 0)
    print(f"embedded {summary['ok'] + partial} of {summary['videos']} videos ({summary['clips']} clips, "
          f"{job.record['state_dim']} numbers per state; pooled: the mean of a video's clip states) -> "
          f"{os.path.join(out, EMBEDDINGS)}", flush=True)
    if partial:
        print(f"partial {partial}: decoded partly (damaged or truncated; their frames read are embedded): "
              f"frames_read and frames_declared, video by video, are in {os.path.join(out, MANIFEST)}",
              flush=True)
    if summary["skipped"]:
        kinds = ", ".join(f"{kind} {count}" for kind, count in summary["skipped_by_kind"].items())
        print(f"skipped {summary['skipped']} ({kinds}): the reasons, video by video, are in "
              f"{os.path.join(out, MANIFEST)}", flush=True)
    job.report_refused(os.path.join(out, MANIFEST))


def embed(options, runner=settings.Runner()):
    """The command: checks at start-up (`prepare`), then the videos not done yet on `runner`, then
    the summary lines; returns the summary."""
    corpus.check_runner(runner)
    job = prepare(options)
    if job.complete:
        print(f"{os.path.join(options.out, EMBEDDINGS)} is complete already: nothing to do", flush=True)
        summary = job.summary
    else:
        summary = run(job, runner)
    print_summary(job, summary)
    return summary
