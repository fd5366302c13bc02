r"""Predicts the future of a video of your own with a trained model.

    python -m video_lstm.predict --log_dir=runs/quickstart --video=my_video.mp4 --out=predicted \
        [--context=10] [--future=10] [--start=0] [--checkpoint=...] [--overwrite]
    python -m video_lstm.predict --saved_model=exported/quickstart --video=frames.npy --out=predicted

Reads the video (a file OpenCV decodes, a .npy of frames, a folder of frame
images), prepares it as the run was trained (frame size, colour, stride,
patches), and writes into --out (default: <video stem>_prediction in the
current folder) the context frames beside the model's
reconstruction and predicted future as prediction.gif and prediction.mp4, the
frames as context.npy, future.npy and reconstruction.npy, and prediction.json
(`video_lstm.analysis.prediction`). Bad input (a model of percepts, a video
shorter than the context, an undecodable file, --future on an autoencoder, an
--out holding an earlier prediction) ends with one error line and exit status 1;
what needs no model (the flags, the run or export exists, the video exists and
OpenCV decodes its first frame) is checked before TensorFlow loads, in about a
second.
"""

import dataclasses
import os

from absl import app, flags  # noqa: E402

from video_lstm.analysis.options import PREDICT_HELP, PredictOptions  # noqa: E402  (no Keras)
from video_lstm.core import cli  # noqa: E402

PROGRAM = "video_lstm.predict"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.predict`, on `flag_values` (one per `PredictOptions` field)."""
    cli.define_log_dir(flag_values, "The run directory video_lstm.train wrote (or pass --saved_model).")
    cli.define_dataclass_flags(PredictOptions, flag_values, PREDICT_HELP)


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    options = PredictOptions(**cli.dataclass_values(PredictOptions, FLAGS))
    if options.video and not options.out:
        options = dataclasses.replace(options, out=default_out(options.video))
    try:
        options.validate()  # before the heavy imports
        check_inputs(FLAGS.log_dir, options)
        from video_lstm.analysis import prediction

        record, written = prediction.run(FLAGS.log_dir, options)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in record["shapes"].items())
    print(f"predicted {record['future']} frames from {record['context']} of {options.video} ({shapes})")
    for path in written:
        print(f"wrote {path}")


def default_out(video):
    """--out when not given: `<video stem>_prediction` in the current folder (an --out holding an
    earlier prediction is refused as ever)."""
    stem = os.path.splitext(os.path.basename(os.path.normpath(video)))[0] or "video"
    return f"{stem}_prediction"


def check_inputs(log_dir, options):
    """What can be checked without TensorFlow or Keras, before they load (seconds of start-up):
    the model's folder (--log_dir a training run, --saved_model, --checkpoint exist) and the
    video (exists; a video file not empty and decoded by OpenCV to a first frame). The same
    messages as the full checks (`analysis.prediction.check`), which run after.

    Raises:
        FileNotFoundError, ValueError: naming the flag.
    """
    if bool(log_dir) == bool(options.saved_model):
        raise ValueError("pass one of --log_dir (a training run) and --saved_model (an export of export.encoder)"
                         if not log_dir else "pass --log_dir or --saved_model, not both")
    if log_dir:
        if not (os.path.isfile(os.path.join(log_dir, "config.json"))
                and os.path.isdir(os.path.join(log_dir, "checkpoints"))):
            raise FileNotFoundError(f"--log_dir={log_dir} is not a training run (no config.json and checkpoints/)")
        if options.checkpoint and not os.path.exists(options.checkpoint):
            raise FileNotFoundError(f"--checkpoint={options.checkpoint} not found")
    elif not os.path.exists(options.saved_model):
        raise FileNotFoundError(f"--saved_model={options.saved_model} does not exist")
    video = options.video
    if not os.path.exists(video):
        raise FileNotFoundError(f"--video={video}: no such file or folder")
    if os.path.isdir(video) or video.lower().endswith(".npy"):
        return  # read (and checked) by pipelines.user_video
    from pipelines import video_decode  # OpenCV and NumPy, no TensorFlow

    try:
        video_decode.probe(video)
    except video_decode.VideoError as error:
        raise ValueError(f"--video={error}") from None


if __name__ == "__main__":
    cli.run(define_flags, main)
