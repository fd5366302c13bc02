r"""Predicts the future of a video of your own with a trained model.

    python -m video_lstm.predict --pretrained=runs/quickstart --video=my_video.mp4 --out=predicted \
        [--input_length=10] [--future_length=10] [--start=0] [--checkpoint=...] [--overwrite]
    python -m video_lstm.predict --pretrained=exported/quickstart --video=frames.npy --out=predicted

`--pretrained` is a training run or an exported SavedModel (`core.settings.ModelSource`). Writes
into --out (default: <video stem>_prediction) the context beside the model's reconstruction and
predicted future (prediction.gif, .mp4), the frames as .npy and prediction.json
(`video_lstm.analysis.prediction`). Bad input ends with one error line and exit status 1; what
needs no model is checked before TensorFlow loads (`analysis.prediction_job`), in about a second.
"""

import dataclasses
import os

from absl import app, flags

from video_lstm.analysis import prediction_job  # no Keras: it loads only after the quick checks
from video_lstm.analysis.options import PREDICT_HELP, PredictOptions
from video_lstm.core import cli
from video_lstm.core.settings import MODEL_SOURCE_HELP, ModelSource

PROGRAM = "video_lstm.predict"
# Old names kept for a release: (old, new).
DEPRECATED = (("log_dir", "pretrained"), ("saved_model", "pretrained"), ("context", "input_length"),
              ("future", "future_length"))


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.predict`, on `flag_values`: `ModelSource`'s and `PredictOptions`'."""
    cli.define_dataclass_flags(ModelSource, flag_values, MODEL_SOURCE_HELP)
    cli.define_dataclass_flags(PredictOptions, flag_values, PREDICT_HELP)
    for old, new in DEPRECATED:
        cli.define_deprecated_alias(flag_values, old, new)


def settings(flag_values=flags.FLAGS):
    """(ModelSource, PredictOptions) of the flags; --out defaults from --video (`default_out`)."""
    options = PredictOptions(**cli.dataclass_values(PredictOptions, flag_values))
    if options.video and not options.out:
        options = dataclasses.replace(options, out=default_out(options.video))
    return ModelSource(**cli.dataclass_values(ModelSource, flag_values)), options


def default_out(video):
    """--out when not given: `<video stem>_prediction` in the current folder (an --out holding an
    earlier prediction is refused as ever)."""
    stem = os.path.splitext(os.path.basename(os.path.normpath(video)))[0] or "video"
    return f"{stem}_prediction"


def main(argv, flag_values=flags.FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    source, options = settings(flag_values)
    try:
        lines = prediction_job.run(source, options)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run(define_flags, main)
