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
from video_lstm.core import choices
from video_lstm import config as config_lib

HELP = {
    "model": "Which decoders: composite (both), autoencoder (reconstruction), future (prediction).",
    "units": "Hidden units of every LSTM layer (2048 in the paper).",
    "num_layers": "LSTM layers in the encoder and in each decoder.",
    "conditional_reconstruction": "The reconstruction decoder reads its previous frame.",
    "conditional_future": "The future decoder reads its previous frame.",
    "feed": "Training input of conditional decoders: teacher (ground truth, as the official "
    "code), own (its own output, as at test time) or scheduled (teacher, decaying to own).",
    "schedule_decay": "k of scheduled sampling: P(teacher) = k / (k + exp(step / k)).",
    "loss": "cross_entropy (sigmoid outputs; binary-ish frames) or squared_error (linear outputs).",
    "readout": "How decoders draw frames: linear (the paper: one matrix from hidden state to "
    "pixels) or conv (a coarse grid and transposed convolutions that share the drawing across "
    "positions; a lower test loss for small models, see README 'Results').",
    "readout_filters": "Channels of the conv read-out's coarse grid (halved at each x2 stage).",
    "reader": "How the encoder (and conditional decoders) read frames: linear (the paper: the "
    "LSTM's input weights see raw pixels) or conv (a small strided convnet first, shared across "
    "positions).",
    "reader_filters": "Channels of the conv reader's last stage (earlier stages have half as many).",
    "init_scale": "Weights uniform in +-init_scale (0.01 in the official code); 0 for Keras defaults.",
    "input_length": "Input frames the encoder reads.",
    "future_length": "Frames the future decoder predicts.",
    "dataset": "Where sequences come from: " + ", ".join(choices.DATASETS) + " (see pipelines/sources).",
    "eval_sequences": "How many test sequences to evaluate.",
    "optimizer": "sgd (with momentum, as the official code), rmsprop or adam.",
    "learning_rate": "Initial learning rate.",
    "momentum": "Momentum of sgd.",
    "lr_decay_rate": "Learning rate is multiplied by this every --lr_decay_steps steps.",
    "lr_decay_steps": "Steps between learning-rate decays.",
    "weight_decay": "L2 penalty added to every gradient, g += weight_decay * w (before momentum "
    "or Adam, as the official code did; not Keras' decoupled decay); 1e-4 in the official code.",
    "clip_norm": "Clip gradients to this global norm; 0 for no clipping.",
    "batch_size": "Sequences per training step.",
    "steps": "Total training steps.",
    "seed": "Seed of initialisation, data and sampling.",
    "jit_compile": "Compile the training step with XLA.",
    "precision": "Keras dtype policy: float32, or mixed_bfloat16 / mixed_float16 (weights stay "
    "float32, matmuls in 16 bits; float16 adds loss scaling). See BUILD.md for measured speed.",
    "strategy": "How training is spread: default (one device), mirrored (every GPU of this "
    "machine), multi_worker (the machines of TF_CONFIG; only the chief writes the log_dir) or tpu "
    "(TPU_NAME, 'local' on a TPU VM). --batch_size is the global batch; see README 'Distributed'.",
    "checkpoint_every": "Steps between checkpoints (and resume points).",
    "keep_checkpoints": "How many recent checkpoints to keep.",
    "log_every": "Steps between TensorBoard scalars.",
    "image_every": "Steps between TensorBoard image strips.",
}


def _fields():
    """(field, help, choices) of every flag: Config's, then each source's options.

    Sources may share an option (`--frame_size`): it is one flag, described by
    the first source that has it.
    """
    seen = set()
    for field in dataclasses.fields(config_lib.Config):
        if field.name != "data":
            seen.add(field.name)
            yield field, HELP[field.name], config_lib.CHOICES.get(field.name)
    for dataset in choices.DATASETS:
        source = sources.module(dataset)
        for field in dataclasses.fields(source.Options):
            if field.name not in seen:
                seen.add(field.name)
                yield field, source.HELP[field.name], source.CHOICES.get(field.name)


def define_flags(flag_values=flags.FLAGS):
    """Defines one flag per field (once per FlagValues)."""
    if "input_length" in flag_values:  # already defined
        return
    # --log_dir (the run directory) is absl.logging's own flag, shared.
    for field, help_text, allowed in _fields():
        name, default = field.name, field.default
        if allowed:
            flags.DEFINE_enum(name, default, list(allowed), help_text, flag_values=flag_values)
        elif field.type in (bool, "bool"):
            flags.DEFINE_bool(name, default, help_text, flag_values=flag_values)
        elif field.type in (int, "int"):
            flags.DEFINE_integer(name, default, help_text, flag_values=flag_values)
        elif field.type in (float, "float"):
            flags.DEFINE_float(name, default, help_text, flag_values=flag_values)
        else:
            flags.DEFINE_string(name, default, help_text, flag_values=flag_values)


def config_from_flags(flag_values=flags.FLAGS):
    """The Config the parsed flags describe (validated); data options are
    those of the chosen --dataset."""
    values = {
        f.name: flag_values[f.name].value for f in dataclasses.fields(config_lib.Config) if f.name != "data"
    }
    options = sources.options_class(values["dataset"])
    data = {f.name: flag_values[f.name].value for f in dataclasses.fields(options)}
    return config_lib.Config(**values, data=options(**data))


def config_from_flagfile(path, *overrides):
    """The Config of a flagfile, e.g. `config_from_flagfile("configs/quickstart.flags",
    "--steps=10")`, parsed exactly as the command line would be."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"flagfile {path} not found")
    flag_values = flags.FlagValues()
    define_flags(flag_values)
    flag_values(["flagfile", f"--flagfile={path}", *overrides])
    return config_from_flags(flag_values)
