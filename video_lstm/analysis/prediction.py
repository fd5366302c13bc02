"""A trained model's prediction of a user's video: `python -m video_lstm.predict`.

The model comes from a training log_dir (its newest checkpoint, or
`--checkpoint`) or from an exported SavedModel (`--pretrained`, either) (`python -m export.encoder`: its
`reconstruct_and_predict_float` signature). The video (`pipelines.user_video`:
a file OpenCV decodes, a `.npy` of frames, a folder of frame images) is
prepared as the run's data source prepares its clips (frame size, colour,
stride; a run of patches reads each frame as a tiling of patches, one
sequence each, and its outputs are stitched back into frames). From kept frame
`--start` on, `--input_length` frames go into the encoder; the decoders run free
(each reads its own previous output): the reconstruction of the context, and
`--future_length` predicted frames (longer than the trained future_length is a
rollout). Into `--out`:

    prediction.gif, prediction.mp4   frame by frame: the video | the model (reconstruction
                                     during the context, then the prediction beside the
                                     video's own next frames where it has them, else black)
    context.npy                      float32 (context, H, W, C) in [0, 1]: what the encoder read
    future.npy                       float32 (future, H, W, C): the prediction (future decoder)
    reconstruction.npy               float32 (context, H, W, C), input order (autoencoder branch)
    prediction.json                  the video, the model (checkpoint, step), the frames used,
                                     the preparation, the video's decode status
                                     (`video_decode.DecodeStatus`: ok, or partial with frames
                                     read and declared, warned about in one line), the shapes

Results never overwrite other results: an `--out` that holds any of these
files is refused unless `--overwrite` (which also removes those of the names
this prediction does not write, so the folder holds one prediction). Every
check that needs no model (flags, the run's config, percepts, the decoders,
`--out`, the video decoded and long enough) runs before the model is loaded
and before anything is written; the files are written to temporaries and
renamed into place together.

The log_dir route runs on either Keras backend (TensorFlow is not needed for a
log_dir); the SavedModel route needs TensorFlow.
"""

import contextlib
import dataclasses
import os

import numpy as np

from pipelines import sources, user_video
from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.analysis import figures
from video_lstm.core import atomic, export_layout

OUTPUTS = ("prediction.gif", "prediction.mp4", "context.npy", "future.npy", "reconstruction.npy",
           "prediction.json")
DEFAULT_FPS = 10.0  # a .npy or a folder of images has no frame rate
SIGNATURE = "reconstruct_and_predict_float"
DECODERS = {"composite": ("reconstruction", "future"), "autoencoder": ("reconstruction",), "future": ("future",)}


# -- the model, described before it is loaded -------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A run's model as its config describes it, and where its weights are."""

    config: config_lib.Config
    decoders: tuple  # of "reconstruction", "future"
    origin: dict  # {"log_dir": ...} or {"saved_model": ..., "step": ...}
    flag: str  # "--pretrained=...", for messages


def describe_model(source):
    """The `ModelSpec` of `source` (a `core.settings.ModelSource`: a training run or a SavedModel), from
    its config alone."""
    kind, flag = source.check(), f"--pretrained={source.pretrained}"
    if kind == "log_dir":
        config, origin = rundir.load_config(source.pretrained), {"log_dir": os.path.abspath(source.pretrained)}
    else:
        try:
            version_dir = export_layout.resolve_version_dir(source.pretrained)
            assets = export_layout.read_assets(version_dir)
        except export_layout.NotAnExportError as error:
            raise FileNotFoundError(f"{flag}: {error}") from None
        names = assets["signatures"].get("signatures", {})
        if assets["config"].get("dataset") != "percepts" and SIGNATURE not in names:
            raise ValueError(f"{flag} has no {SIGNATURE} signature (it has {', '.join(sorted(names))}): export "
                             "the training run with python -m export.encoder")
        config = config_lib.Config.from_dict(assets["config"], source=export_layout.asset_path(version_dir, "config"))
        origin = {"saved_model": os.path.abspath(version_dir), "step": assets["export"].get("step"),
                  "checkpoint": assets["export"].get("checkpoint")}
    return ModelSpec(config, DECODERS[config.model], origin, flag)


# -- the prediction ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Request:
    """A checked prediction: the frames to read and what to predict."""

    spec: ModelSpec
    preparation: object  # video_decode.FramePreparation
    context: int
    future: int
    sequences: np.ndarray  # float32 (patches or 1, context + truth, *frame_shape)
    decode: object = None  # video_decode.DecodeStatus of the video


def check(source, options):
    """Everything that needs no model: a `Request`, or ValueError / OSError naming the problem."""
    options.validate()
    spec = describe_model(source)
    config = spec.config
    if config.dataset == "percepts":
        raise ValueError(f"a model of percepts has no pictures: {spec.flag} reads convnet features (T, D) of "
                         "--dataset=percepts, so there are no frames to predict")
    preparation = sources.frame_preparation(config)
    context = options.input_length or config.input_length
    future = options.future_length
    if future is None:
        future = config.future_length if "future" in spec.decoders else 0
    if future > 0 and "future" not in spec.decoders:
        raise ValueError(f"--future_length={future}: the model of {spec.flag} is an autoencoder (--model="
                         f"{config.model}): it has no future decoder to predict with; pass --future_length=0 for "
                         "its reconstruction")
    check_out(options.out, options.overwrite)  # (options: analysis.options.PredictOptions)
    try:
        sequences = user_video.read(options.video, preparation, options.start, context + future)
    except (OSError, ValueError) as error:
        text = str(error)  # most name the path first
        raise ValueError(f"--video={text}" if text.startswith(options.video) else f"--video={options.video}: {text}"
                         ) from None
    decode = user_video.decode_status(options.video).warn(options.video)  # one line if it decodes partly
    available = sequences.shape[1]
    if available < context:
        total = options.start + available if available else user_video.count_frames(options.video, preparation.stride)
        stride = f" at the run's frame stride {preparation.stride}" if preparation.stride > 1 else ""
        damaged = (f" (it decoded partly: {decode.frames_read} of the {decode.frames_declared} frames its container "
                   "declares; damaged or truncated)" if decode.status == "partial" else "")
        raise ValueError(f"--video={options.video} has {total} frames{stride}{damaged}, fewer than the "
                         f"{options.start + context} needed (--start={options.start} + --input_length={context})")
    return Request(spec, preparation, context, future, sequences, decode)


def check_out(out, overwrite):
    """Raises unless `out` can take a prediction: a writable folder (or one to make) holding no
    earlier one (or `overwrite`)."""
    atomic.check_writable(out, "--out")
    found = [name for name in OUTPUTS if os.path.exists(os.path.join(out, name))]
    if found and not overwrite:
        raise FileExistsError(f"--out={out} holds an earlier prediction ({', '.join(found)}): results never "
                              "overwrite other results; pass another --out, or --overwrite to replace it")


def load(spec, checkpoint=""):
    """(predict, origin): `predict(frames float32 (B, T, H, W, C), future)` -> {name: float32 numpy},
    the decoders running free; `origin` the model's record (checkpoint and step added)."""
    if "log_dir" in spec.origin:
        step, path, model = rundir.load_for_calling(spec.origin["log_dir"], checkpoint, spec.config)
        return _keras_predict(model), {**spec.origin, "checkpoint": os.path.abspath(path), "step": step}
    return _saved_model_predict(spec.origin["saved_model"]), dict(spec.origin)


def _keras_predict(model):
    def predict(frames, future):
        outputs = model.generate(frames, future_length=max(future, 1))  # the decoders' free-running loops
        outputs = {name: figures.numpy(value) for name, value in outputs.items()}
        if not future:
            outputs.pop("future", None)
        return outputs

    return predict


def _saved_model_predict(version_dir):
    # here: keeps TensorFlow out of `import video_lstm.analysis.prediction`
    import tensorflow as tf

    loaded = tf.saved_model.load(version_dir)  # kept alive with the function: it owns the variables

    def predict(frames, future):
        function = loaded.signatures[SIGNATURE]
        outputs = function(frames=tf.constant(frames, tf.float32), future_steps=tf.constant(future, tf.int32))
        outputs = {name: np.asarray(value.numpy(), np.float32) for name, value in outputs.items()}
        if not future:
            outputs.pop("future", None)
        return outputs

    return predict


def predict(request, checkpoint=""):
    """The model's outputs for a checked `Request`: {"context", "truth", "reconstruction"?,
    "future"?}, frames stitched from patches, and the model's origin."""
    predict_fn, origin = load(request.spec, checkpoint)
    sequences = request.sequences
    inputs = sequences[:, : request.context]
    outputs = predict_fn(inputs, request.future)
    stitch = lambda array: user_video.stitch(array, request.preparation)  # noqa: E731
    frames = {"context": stitch(inputs), "truth": stitch(sequences[:, request.context :])}
    frames.update({name: stitch(value) for name, value in outputs.items()})
    return frames, origin


# -- the files -------------------------------------------------------------------------------


def write(out, frames, record, fps, overwrite=False):
    """Writes the outputs into `out`, each to a temporary renamed into place once all are
    written; with `overwrite`, removes the outputs of an earlier prediction it does not write."""
    made = not os.path.exists(out)
    os.makedirs(out, exist_ok=True)
    written = ["prediction.gif", "prediction.mp4", "context.npy",
               *(f"{name}.npy" for name in ("future", "reconstruction") if name in frames), "prediction.json"]
    gif = figures.sample_gif_frames(frames["context"], frames.get("reconstruction"), frames.get("future"),
                                    frames["truth"])
    try:
        with contextlib.ExitStack() as stack:
            path = lambda name: stack.enter_context(atomic.path(os.path.join(out, name)))  # noqa: E731
            figures.write_gif(path("prediction.gif"), gif, duration_ms=round(1000 / fps))
            figures.write_mp4(path("prediction.mp4"), gif, fps)
            for name in ("context", "future", "reconstruction"):
                if name in frames:
                    atomic.save_npy(path(f"{name}.npy"), frames[name])
            atomic.write_json(path("prediction.json"), record)
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                os.rmdir(out)  # only if still empty
        raise
    if overwrite:
        for name in set(OUTPUTS) - set(written):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(out, name))
    return [os.path.join(out, name) for name in written]


def run(source, options):
    """`python -m video_lstm.predict`: checks, predicts, writes; returns (record, paths written)."""
    request = check(source, options)
    frames, origin = predict(request, source.checkpoint)
    preparation = request.preparation
    video_fps = user_video.fps(options.video)
    fps = video_fps / preparation.stride if video_fps else DEFAULT_FPS
    first = options.start * preparation.stride
    record = {
        "video": os.path.abspath(options.video),
        "video_kind": user_video.kind(options.video),
        "model": origin,
        "dataset": request.spec.config.dataset,
        "model_kind": request.spec.config.model,
        "preparation": dataclasses.asdict(preparation),
        "decode": request.decode.record() if request.decode is not None else None,
        "patches": [list(corner) for corner in user_video.patch_corners(preparation)] if preparation.patch_size
        else None,
        "start": options.start,
        "context": request.context,
        "future": request.future,
        "context_video_frames": [first, first + (request.context - 1) * preparation.stride],
        "truth_frames": int(len(frames["truth"])),
        "fps": fps,
        "shapes": {name: list(frames[name].shape) for name in ("context", "reconstruction", "future")
                   if name in frames},
    }
    return record, write(options.out, frames, record, fps, options.overwrite)
