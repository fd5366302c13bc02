r"""Exports a fine-tuned classifier as a versioned SavedModel with a `classify` signature.

    python -m export.classifier --log_dir=runs/ucf101_classifier/pretrained --export_dir=exported \
        [--version=N] [--model_name=NAME]
    python -m export.verify exported/pretrained            # in a fresh process, against Keras

The layout is `export.encoder`'s. One signature, `classify` (= `serving_default`): uint8 frames
(or float32 percepts for a percept classifier) to `probabilities`, `top_classes` and
`top_probabilities` (`export.saved_classifier`; docs/export.md).
"""

from absl import app, flags

from export import saved_classifier, saved_model
from export.saved_model import HELP, Destination
from video_lstm.core import cli


def __getattr__(name):
    """`from export.classifier import export_classifier`: the Python API's home until issue 30, kept for a release
    (it is `export.saved_classifier`)."""
    return getattr(saved_classifier, name)


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m export.classifier`, on `flag_values` (one per `Destination` field)."""
    cli.define_log_dir(flag_values, "A classifier directory of video_lstm.finetune (<log_dir>/<init>).")
    cli.define_dataclass_flags(Destination, flag_values, HELP)


def settings(flag_values=flags.FLAGS):
    """The `Destination` of the flags."""
    return Destination(**cli.dataclass_values(Destination, flag_values))


def main(argv, flag_values=flags.FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
        saved_classifier.export_run(settings(flag_values))
    except (OSError, ValueError, saved_model.ExportError) as error:
        cli.fail("export.classifier", error)


if __name__ == "__main__":
    cli.run(define_flags, main)
