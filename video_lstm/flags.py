"""absl flags for every `Config` field and every data source's options, plus
`--log_dir` (defined by absl.logging, reused as the run directory).

Flags are generated from the dataclasses so the two cannot drift apart; the
help text of a model or training field lives here, a data option's in its
source module (`pipelines/sources/<dataset>.py`). Experiments are flagfiles
in `configs/`. Imports no Keras or TensorFlow.
"""

import dataclasses
import os

from absl import flags

from pipelines import sources
from video_lstm import config as config_lib
from video_lstm.core import choices, cli, settings

HELP = {
    **settings.HELP,
    "model": "Which decoders: composite (both), autoencoder (reconstruction), future (prediction).",
    "conditional_reconstruction": "The reconstruction decoder reads its previous frame.",
    "conditional_future": "The future decoder reads its previous frame.",
    "feed": "Training input of conditional decoders: teacher (ground truth, as the official "
    "code), own (its own output, as at test time) or scheduled (teacher, decaying to own).",
    "schedule_decay": "k of scheduled sampling: P(teacher) = k / (k + exp(step / k)).",
    "loss": "cross_entropy (sigmoid outputs; binary-ish frames) or squared_error (linear outputs).",
    "readout": "How decoders draw frames: linear (the paper: one matrix from hidden state to "
    "pixels) or conv (a coarse grid and transposed convolutions that share the drawing across "
    "positions; a lower test loss for small models, see docs/results.md).",
    "readout_filters": "Channels of the conv read-out's coarse grid (halved at each x2 stage).",
    "input_length": "Input frames the encoder reads.",
    "future_length": "Frames the future decoder predicts.",
    "dataset": "Where sequences come from: " + ", ".join(choices.DATASETS) + " (see pipelines/sources).",
    "eval_sequences": "How many test sequences to evaluate.",
    "probe_every": "Steps between linear probes of the encoder (0: none): ridge probes on a fixed labelled "
    "set (Moving MNIST tasks, or the run's video classes), TensorBoard scalars probe/<task>/<n>_shot and "
    "the last values in metrics.json (python -m video_lstm.probe for the full table).",
    "eval_every": "Steps between evaluations on a fixed held-out subset of the test set during training "
    "(0: none): decoders running free, TensorBoard scalars eval/* (the final full evaluation writes the "
    "same tags at the last step). About 3% of the quickstart's time at 500 (docs/tensorboard.md).",
    "eval_every_sequences": "Test sequences each --eval_every evaluation reads (the first ones of the test "
    "set, the same at every evaluation).",
    "precision": "Keras dtype policy: float32, or mixed_bfloat16 / mixed_float16 (weights stay "
    "float32, matmuls in 16 bits; float16 adds loss scaling), or auto: mixed_bfloat16 where this CPU's "
    "bfloat16 matmuls measure 1.3x its float32 ones, else float32, decided when the run starts and "
    "recorded (a resume keeps the run's). See docs/benchmarks.md for measured speed.",
    "strategy": "How training is spread: default (one device), mirrored (every GPU of this "
    "machine), multi_worker (the machines of TF_CONFIG; only the chief writes the log_dir) or tpu "
    "(TPU_NAME, 'local' on a TPU VM). --batch_size is the global batch; see docs/training.md.",
    "steps_per_execution": "Training steps per call from Keras' fit loop: the callbacks (checkpoints, "
    "TensorBoard, the step limit, SIGTERM, the NaN check) run between calls. Lowered to divide --steps, "
    "--checkpoint_every, --log_every, --image_every, --probe_every and --eval_every; the weights do not depend on it.",
}


def define_flags(flag_values=flags.FLAGS):
    """Defines one flag per Config field and per data-source option (once per FlagValues).

    Sources may share an option (`--frame_size`): it is one flag, described by the
    first source that has it.
    """
    if "input_length" in flag_values:  # already defined
        return
    cli.define_dataclass_flags(config_lib.Config, flag_values, HELP, config_lib.CHOICES, skip=("data",))
    define_data_flags(flag_values)


def define_data_flags(flag_values, fields=("dataset", "input_length")):
    """The data flags alone: the `Config` `fields` (the source, the clip) and every data source's
    options (`python -m video_lstm.finetune`'s data)."""
    skip = tuple(f.name for f in dataclasses.fields(config_lib.Config) if f.name not in fields)
    cli.define_dataclass_flags(config_lib.Config, flag_values, HELP, config_lib.CHOICES, skip=skip)
    for dataset in choices.DATASETS:
        source = sources.module(dataset)
        cli.define_dataclass_flags(source.Options, flag_values, source.HELP, source.CHOICES)


def data_from_flags(flag_values, fields=("dataset", "input_length")):
    """({field: value} of the `Config` `fields`, the chosen --dataset's options) of the parsed flags."""
    values = {name: flag_values[name].value for name in fields}
    options = sources.options_class(values["dataset"])
    return values, options(**cli.dataclass_values(options, flag_values))


def config_from_flags(flag_values=flags.FLAGS):
    """The Config the parsed flags describe (validated); data options are
    those of the chosen --dataset."""
    values = cli.dataclass_values(config_lib.Config, flag_values, skip=("data",))
    options = sources.options_class(values["dataset"])
    return config_lib.Config(**values, data=options(**cli.dataclass_values(options, flag_values)))


def config_from_flagfile(path, *overrides):
    """The Config of a flagfile, e.g. `config_from_flagfile("configs/quickstart.flags",
    "--steps=10")`, parsed exactly as the command line would be."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"flagfile {path} not found")
    flag_values = flags.FlagValues()
    define_flags(flag_values)
    flag_values(["flagfile", f"--flagfile={path}", *overrides])
    return config_from_flags(flag_values)
