r"""Exports a training run's newest checkpoint as a versioned SavedModel for TF Serving, or its encoder
for ONNX Runtime, OpenVINO or LiteRT.

    python -m export.encoder --log_dir=runs/quickstart --export_dir=exported \
        [--version=N] [--model_name=NAME] [--with_convnet [--percept_weights=PATH]]
        [--format=saved_model|onnx|openvino|litert [--batch_size=B --input_length=T (litert)]]

writes `<export_dir>/<model_name>/<version>/` (model_name defaults to the log_dir's name, version
to the next free integer), the layout TF Serving watches, atomically: the graph and weights, the
run's config, the signatures' table, where it came from, warm-up requests (`export.saved_model`).
Signatures (batch and time dynamic): `serving_default` = `encode` (uint8 frames -> final states),
`encode_float`, `reconstruct_and_predict[_float]`; a model of percepts takes `percepts`, and with
`--with_convnet` also its percept network, so that `serving_default` = `encode_frames` takes uint8
video frames. `--format=onnx|openvino|litert` writes the encoder's `encode` signatures for that
runtime in the same layout (`export.runtimes`). See docs/export.md.
"""

from absl import app, flags

from export import runtimes, saved_model
from export.onnx_encoder import RuntimeExportError
from export.saved_model import HELP, EncoderExport
from video_lstm.core import cli

# Old names kept for a release: (old, new).
DEPRECATED = (("convnet_weights", "percept_weights"),)


def __getattr__(name):
    """`from export.encoder import export_log_dir`: the Python API's home until issue 30, kept for a release
    (it is `export.saved_model`)."""
    return getattr(saved_model, name)


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m export.encoder`, on `flag_values` (one per `EncoderExport` field)."""
    cli.define_log_dir(flag_values, "The run directory video_lstm.train wrote.")
    cli.define_dataclass_flags(EncoderExport, flag_values, HELP, choices={"format": runtimes.FORMATS})
    for old, new in DEPRECATED:
        cli.define_deprecated_alias(flag_values, old, new)


def settings(flag_values=flags.FLAGS):
    """The `EncoderExport` of the flags."""
    return EncoderExport(**cli.dataclass_values(EncoderExport, flag_values))


def main(argv, flag_values=flags.FLAGS):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
        runtimes.export_run(settings(flag_values))
    except (OSError, ValueError, saved_model.ExportError, RuntimeExportError) as error:
        cli.fail("export.encoder", error)


if __name__ == "__main__":
    cli.run(define_flags, main)
