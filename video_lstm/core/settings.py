"""The parts every command's settings are composed of, each field and its default written once.

- `EncoderSettings`: the LSTM encoder a training run and a classifier share;
- `OptimizerSettings`: the optimizer, its learning-rate schedule, the batch and step budget;
- `Bookkeeping`: checkpoints and TensorBoard intervals;
- `ModelSource`: a model read from elsewhere (`--pretrained`: a training log_dir or an exported
  SavedModel, told apart on disk; `--checkpoint` where a command can choose one).

`video_lstm.config.Config` (a training run) and `FinetuneSettings` (a classifier) inherit
from them; their flags are generated from the fields (`cli.define_dataclass_flags`) with the
help texts in `HELP`. Imports only `video_lstm.core`.
"""

import dataclasses
import os

from video_lstm.core import choices, export_layout


@dataclasses.dataclass(frozen=True)
class EncoderSettings:
    units: int = 256
    num_layers: int = 1
    reader: str = "linear"
    reader_filters: int = 32
    init_scale: float = 0.01


# The model's constructor arguments a training run's settings give (`models.CompositeModel`'s, beside
# `reconstruct` and `predict_future`, which the model kind fixes), written once: `Config.model_kwargs` reads
# them, `CompositeModel.get_config` saves its constructor's (tests/test_models.py checks the two agree).
MODEL_ARGUMENTS = ("units", "num_layers", "future_length", "conditional_reconstruction", "conditional_future", "feed",
                   "schedule_decay", "loss_name", "readout", "readout_filters", "reader", "reader_filters",
                   "init_scale", "seed")
MODEL_ARGUMENT_FIELDS = {"loss_name": "loss"}  # the settings field of an argument named otherwise


@dataclasses.dataclass(frozen=True)
class OptimizerSettings:
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    lr_decay_rate: float = 0.9
    lr_decay_steps: int = 10000
    weight_decay: float = 0.0
    clip_norm: float = 0.0
    batch_size: int = 16
    steps: int = 2000
    seed: int = 0
    jit_compile: bool = True


@dataclasses.dataclass(frozen=True)
class Bookkeeping:
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 50
    image_every: int = 250


CHOICES = {"reader": choices.READERS, "optimizer": choices.OPTIMIZERS}

HELP = {
    "units": "Hidden units of every LSTM layer (2048 in the paper).",
    "num_layers": "LSTM layers in the encoder and in each decoder.",
    "reader": "How the encoder (and conditional decoders) read frames: linear (the paper: the "
    "LSTM's input weights see raw pixels) or conv (a small strided convnet first, shared across "
    "positions).",
    "reader_filters": "Channels of the conv reader's last stage (earlier stages have half as many).",
    "init_scale": "Weights uniform in +-init_scale (0.01 in the official code); 0 for Keras defaults.",
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
    "checkpoint_every": "Steps between checkpoints (and resume points).",
    "keep_checkpoints": "How many recent checkpoints to keep.",
    "log_every": "Steps between TensorBoard scalars.",
    "image_every": "Steps between TensorBoard image strips.",
}


# -- fit loop --


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """What the fit loop (`training.loop.fit`) reads, whoever trains: a training run
    (`Config.fit`) or a classifier (`FinetuneSettings.fit`). A classifier runs one step per
    call and has no probe (the defaults)."""

    steps: int
    batch_size: int
    checkpoint_every: int
    keep_checkpoints: int
    log_every: int
    image_every: int
    steps_per_execution: int = 1
    probe_every: int = 0
    strategy: str = "default"
    eval_every: int = 0


# -- all labels --

ALL = "all"  # "every labelled example", on flags and in records; None in memory


def parse_count(value, flag):
    """A count of labelled examples per class from a flag or a record: an int >= 1, or None for
    all of them ("all"; a record's None too). The one conversion of "all labels" into memory
    (`count_text` is its inverse); ValueError names `flag`."""
    text = ALL if value is None else str(value).strip()
    if text == ALL:
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    shown = text if text.lstrip("-").isdigit() else repr(value)
    raise ValueError(f"--{flag}={shown}; expected a count per class >= 1 or '{ALL}'")


def count_text(count):
    """What a flag or a record holds for `count` (`parse_count`'s inverse): "all" for None,
    else the int."""
    return ALL if count is None else int(count)


# -- few-shot read-out --


@dataclasses.dataclass(frozen=True)
class LabelledPool:
    """The labelled Moving MNIST sequences a read-out draws its labels from (`pool_size`, the
    task's train digits) and is tested on (`test_size`, its test digits)."""

    pool_size: int = 2000
    test_size: int = 1000


@dataclasses.dataclass(frozen=True)
class FewShotSettings(LabelledPool):
    """The few-shot read-out (as big_vision's `common_fewshot`): `shots` labelled examples per
    class drawn from the pool ("all": the whole pool, one draw), each count drawn `seeds` times
    (seeds 0..n-1). `python -m video_lstm.probe`, the few-labels study and the pretraining
    ablation compose it; `python -m video_lstm.finetune` its pool (`LabelledPool`)."""

    shots: tuple = ("1", "5", "10", "25", ALL)
    seeds: int = 5

    def shot_counts(self):
        """The shots as ints and None (all), smallest first, all last, each once."""
        counts = []
        for value in self.shots:
            count = parse_count(value, "shots")
            if count not in counts:
                counts.append(count)
        return sorted(counts, key=lambda c: (c is None, c or 0))

    def validate(self):
        if not self.shot_counts():
            raise ValueError("--shots is empty; expected counts per class such as 1,5,10,25,all")
        if self.seeds < 1:
            raise ValueError(f"--seeds={self.seeds}; expected >= 1")
        if self.pool_size < 2 or self.test_size < 1:
            raise ValueError(f"--pool_size={self.pool_size} --test_size={self.test_size}; expected a pool of at "
                             "least 2 and a test set of at least 1 labelled clips")
        return self


FEWSHOT_HELP = {
    "shots": "Labelled examples per class the read-out is fitted on (each count drawn --seeds times); "
    "'all': the whole pool.",
    "seeds": "Draws of each shot count (seeds 0..n-1: the labelled subset, and where trained, the "
    "initialisation and batches).",
    "pool_size": "Labelled examples per task the labels are drawn from (Moving MNIST: sequences of the task's "
    "train digits).",
    "test_size": "Labelled test examples per task the accuracy is measured on (Moving MNIST: sequences of the "
    "task's test digits).",
}


# -- model source --


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """A model a command reads from elsewhere: `pretrained`, a training run's log_dir (config.json and
    checkpoints/) or a SavedModel of `python -m export.encoder` (a version directory, or a model
    directory: its newest version), told apart on disk by `kind()`; `checkpoint`, for a log_dir, the
    checkpoint to use ("" the newest), where a command can choose one."""

    pretrained: str = ""
    checkpoint: str = ""

    def kind(self):
        """The kind of `pretrained` (read on disk): "log_dir", "saved_model", or None (neither, or missing)."""
        path = self.pretrained
        if os.path.isfile(os.path.join(path, "config.json")) and os.path.isdir(os.path.join(path, "checkpoints")):
            return "log_dir"
        try:
            export_layout.resolve_version_dir(path)
        except export_layout.NotAnExportError:
            return None
        return "saved_model"

    def check(self):
        """The `kind()` of an existing --pretrained (and --checkpoint); raises ValueError or
        FileNotFoundError naming the flag otherwise."""
        flag = f"--pretrained={self.pretrained}"
        if not self.pretrained:
            raise ValueError("--pretrained is required (a training run's log_dir, or a SavedModel of "
                             "python -m export.encoder)")
        if not os.path.exists(self.pretrained):
            raise FileNotFoundError(f"{flag} does not exist")
        kind = self.kind()
        if kind is None:
            raise FileNotFoundError(f"{flag} is not a training run (no config.json and checkpoints/) nor an "
                                    "exported SavedModel (no saved_model.pb, nor a numbered version of one)")
        if self.checkpoint and kind == "saved_model":
            raise ValueError(f"--checkpoint is for a training run; {flag} is a SavedModel: one set of weights")
        if self.checkpoint and not os.path.exists(self.checkpoint):
            raise FileNotFoundError(f"--checkpoint={self.checkpoint} not found")
        return kind


MODEL_SOURCE_HELP = {
    "pretrained": "The model: a training run's log_dir (python -m video_lstm.train) or an exported SavedModel "
    "(python -m export.encoder; a version directory, or a model directory: its newest version), told apart on disk.",
    "checkpoint": "With a log_dir --pretrained: the checkpoint to use (a path under <log_dir>/checkpoints); "
    "default the newest.",
}


# -- video listing, runner, percept network (corpus jobs and the video sources) --

# The choices of `PerceptNetwork` (pipelines.percept_networks implements them).
PERCEPT_PRECISIONS = ("float32", "bfloat16")
LISTING_SUBSETS = ("train", "test", "all")


@dataclasses.dataclass(frozen=True)
class VideoListing:
    """Where video files are and which of them: what every command reading video files shares
    (the video sources of training, `extract_percepts`, `embed`; `pipelines.action_datasets`
    lists them)."""

    video_dir: str = ""
    split: int = 1
    split_dir: str = ""
    test_fraction: float = 0.2
    frame_stride: int = 1


@dataclasses.dataclass(frozen=True)
class CorpusListing(VideoListing):
    """The videos a corpus job (`extract_percepts`, `embed`) goes through: a folder, an official
    split, or a list file; a subset of it."""

    dataset: str = "folder"
    subset: str = "all"
    list_file: str = ""


@dataclasses.dataclass(frozen=True)
class Runner:
    """Where a corpus job runs (`pipelines.beam_jobs`): --runner, and Beam's own pipeline options
    (the arguments after `--`: no flag)."""

    runner: str = "auto"
    beam_args: tuple = ()


@dataclasses.dataclass(frozen=True)
class PerceptNetwork:
    """The pretrained convnet whose per-frame features (percepts) the LSTM reads
    (`pipelines.percept_networks`)."""

    percept_network: str = "vgg16"
    percept_weights: str = "imagenet"
    percept_precision: str = "float32"
    percept_engine: str = "tensorflow"


LISTING_CHOICES = {"dataset": choices.VIDEO_LISTINGS, "subset": LISTING_SUBSETS}
PERCEPT_ENGINES = ("tensorflow", "onnxruntime", "openvino")  # pipelines.percept_engines runs them
PERCEPT_CHOICES = {"percept_network": choices.PERCEPT_NETWORKS, "percept_precision": PERCEPT_PRECISIONS,
                   "percept_engine": PERCEPT_ENGINES}

LISTING_HELP = {
    "video_dir": "The folder of the videos: UCF-101's / HMDB-51's class folders (as in their archives), or any "
    "folder of class subfolders (--dataset=folder).",
    "split": "The official split (1, 2 or 3) of --dataset=ucf101 / hmdb51.",
    "split_dir": "The folder of the official split files (default: beside --video_dir, then "
    "$VIDEO_LSTM_DATA_DIR/ucf101/ucfTrainTestlist or $VIDEO_LSTM_DATA_DIR/hmdb51/splits).",
    "test_fraction": "--dataset=folder: the fraction of each class's videos held out for testing, in [0, 1) "
    "(chosen by a hash of their paths: stable as videos are added).",
    "frame_stride": "Keep every n-th frame of a video (1: all).",
    "dataset": "Which videos: folder (class subfolders of --video_dir), ucf101 / hmdb51 (an official split of "
    "--video_dir), or list (--list_file).",
    "subset": "train, test or all (a split's train list, then its test list; a folder: every video); a folder's "
    "train / test is its held-out split (--test_fraction), as --dataset=folder training makes it.",
    "list_file": "--dataset=list: a text file of video paths, one a line (relative to its folder, or absolute).",
}
PERCEPT_HELP = {
    "percept_network": "The percept network: vgg16 (fc6, 4096-d) or inception_v3 (pooled, 2048-d).",
    "percept_weights": "Its weights: imagenet (Keras' file, cached or downloaded), random (drawn from --seed: "
    "meaningless features, for tests and speed) or the path of a weights file.",
    "percept_precision": "The precision the percept network computes in.",
    "percept_engine": "What runs the percept network: tensorflow (the Keras model), onnxruntime (its tf2onnx graph, "
    "float32) or openvino (OpenVINO's conversion of it, float32 or bfloat16). Recorded; a resume with another "
    "engine is refused.",
}
