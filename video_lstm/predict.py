r"""Predicts the future of a video of your own with a trained model.

    python -m video_lstm.predict --log_dir=runs/quickstart --video=my_video.mp4 --out=predicted \
        [--context=10] [--future=10] [--start=0] [--checkpoint=...] [--overwrite]
    python -m video_lstm.predict --saved_model=exported/quickstart --video=frames.npy --out=predicted

Reads the video (a file OpenCV decodes, a .npy of frames, a folder of frame
images), prepares it as the run was trained (frame size, colour, stride,
patches), and writes into --out the context frames beside the model's
reconstruction and predicted future as prediction.gif and prediction.mp4, the
frames as context.npy, future.npy and reconstruction.npy, and prediction.json
(`video_lstm.analysis.prediction`). Bad input (a model of percepts, a video
shorter than the context, an undecodable file, --future on an autoencoder, an
--out holding an earlier prediction) ends with one error line and exit status 1.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
    try:
        options.validate()  # before the heavy imports
        from video_lstm.analysis import prediction

        record, written = prediction.run(FLAGS.log_dir, options)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in record["shapes"].items())
    print(f"predicted {record['future']} frames from {record['context']} of {options.video} ({shapes})")
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    cli.run(define_flags, main)
