"""The parts every command's settings are composed of, each field and its default written once.

- `EncoderSettings`: the LSTM encoder a training run and a classifier share;
- `OptimizerSettings`: the optimizer, its learning-rate schedule, the batch and step budget;
- `Bookkeeping`: checkpoints and TensorBoard intervals.

`video_lstm.config.Config` (a training run) and `FinetuneSettings` (a classifier) inherit
from them; their flags are generated from the fields (`cli.define_dataclass_flags`) with the
help texts in `HELP`. Imports nothing of the project.
"""

import dataclasses

from video_lstm.core import choices


@dataclasses.dataclass(frozen=True)
class EncoderSettings:
    units: int = 256
    num_layers: int = 1
    reader: str = "linear"
    reader_filters: int = 32
    init_scale: float = 0.01


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


LISTING_CHOICES = {"dataset": choices.VIDEO_LISTINGS, "subset": LISTING_SUBSETS}
PERCEPT_CHOICES = {"percept_network": choices.PERCEPT_NETWORKS, "percept_precision": PERCEPT_PRECISIONS}

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
}
