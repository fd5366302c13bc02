"""The experiment configuration: one typed record, built from flags.

`Config` is what the library functions take; `flags.py` only turns absl flags
into it. It is written to `<log_dir>/config.json` so that evaluation, export
and resumed runs rebuild the same model.
"""

import dataclasses
import json
import os

from video_lstm.models import KINDS
from video_lstm.reader import READERS
from video_lstm.readout import READOUTS

DIGIT_SOURCES = ("auto", "mnist", "rendered")
TEST_SETS = ("generated", "npy", "tfds")
OPTIMIZERS = ("sgd", "rmsprop", "adam")
FEEDS = ("teacher", "own", "scheduled")
LOSSES = ("cross_entropy", "squared_error")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")

# Fields that decide the model's weights: a log_dir's checkpoint only fits a
# config that agrees on all of them.
MODEL_FIELDS = (
    "model",
    "units",
    "num_layers",
    "conditional_reconstruction",
    "conditional_future",
    "feed",
    "loss",
    "readout",
    "readout_filters",
    "reader",
    "reader_filters",
    "frame_size",
    "input_length",
    "future_length",
    "precision",
)


@dataclasses.dataclass(frozen=True)
class Config:
    # Model.
    model: str = "composite"
    units: int = 256
    num_layers: int = 1
    conditional_reconstruction: bool = True
    conditional_future: bool = True
    feed: str = "teacher"
    schedule_decay: float = 1000.0
    loss: str = "cross_entropy"
    readout: str = "linear"
    readout_filters: int = 16
    reader: str = "linear"
    reader_filters: int = 32
    init_scale: float = 0.01
    # Data.
    digits: str = "auto"
    mnist_path: str = ""
    num_digits: int = 2
    frame_size: int = 64
    input_length: int = 10
    future_length: int = 10
    step_length: float = 0.1
    test_set: str = "generated"
    test_npy_path: str = ""
    eval_sequences: int = 10000
    # Optimisation.
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
    precision: str = "float32"
    # Bookkeeping.
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 50
    image_every: int = 250

    def __post_init__(self):
        validate(self)

    @property
    def clip_length(self):
        return self.input_length + (self.future_length if self.model != "autoencoder" else 0)

    def model_kwargs(self):
        """Arguments of `models.build_model`."""
        return dict(
            kind=self.model,
            units=self.units,
            num_layers=self.num_layers,
            future_length=self.future_length,
            conditional_reconstruction=self.conditional_reconstruction,
            conditional_future=self.conditional_future,
            feed=self.feed,
            schedule_decay=self.schedule_decay,
            loss=self.loss,
            readout=self.readout,
            readout_filters=self.readout_filters,
            reader=self.reader,
            reader_filters=self.reader_filters,
            init_scale=self.init_scale,
            seed=self.seed,
            dtype=self.precision,
        )

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text, source="config"):
        values = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source} has unknown keys {unknown}; expected a subset of {sorted(known)}")
        return cls(**values)


def _choice(config, name, choices):
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"--{name}={value!r}; expected one of {list(choices)}")


def _at_least(config, name, minimum):
    value = getattr(config, name)
    if value < minimum:
        raise ValueError(f"--{name}={value}; expected >= {minimum}")


def validate(config):
    """Raises ValueError naming the first flag that is out of range or inconsistent."""
    _choice(config, "model", KINDS)
    _choice(config, "feed", FEEDS)
    _choice(config, "loss", LOSSES)
    _choice(config, "digits", DIGIT_SOURCES)
    _choice(config, "test_set", TEST_SETS)
    _choice(config, "optimizer", OPTIMIZERS)
    _choice(config, "precision", PRECISIONS)
    _choice(config, "readout", READOUTS)
    _choice(config, "reader", READERS)
    for name in ("units", "num_layers", "num_digits", "input_length", "batch_size", "steps"):
        _at_least(config, name, 1)
    for name in ("readout_filters", "reader_filters"):
        _at_least(config, name, 1)
    for name in ("checkpoint_every", "keep_checkpoints", "log_every", "image_every", "eval_sequences"):
        _at_least(config, name, 1)
    if config.learning_rate <= 0:
        raise ValueError(f"--learning_rate={config.learning_rate}; expected > 0")
    if config.model != "autoencoder" and config.future_length < 1:
        raise ValueError(
            f"--future_length={config.future_length} with --model={config.model}: "
            "a model with a future decoder needs --future_length >= 1"
        )
    if config.frame_size < 28:
        raise ValueError(
            f"--frame_size={config.frame_size} is smaller than a digit (28 pixels); "
            "expected --frame_size >= 28"
        )
    for name in ("readout", "reader"):
        if getattr(config, name) == "conv" and config.frame_size % 8:
            raise ValueError(
                f"--{name}=conv works on an 8x smaller grid; --frame_size="
                f"{config.frame_size} is not divisible by 8"
            )
    if config.test_set == "npy" and not config.test_npy_path:
        raise ValueError("--test_set=npy needs --test_npy_path (the mnist_test_seq.npy file)")
    if config.test_set != "generated" and (config.frame_size, config.num_digits) != (64, 2):
        raise ValueError(
            f"--test_set={config.test_set} holds 64x64 two-digit clips; got --frame_size="
            f"{config.frame_size} --num_digits={config.num_digits}"
        )


def _shapes_model(config, name):
    """Whether field `name` shapes the model of `config`: a conv layer's
    filter count only matters when that layer is conv."""
    layer = {"readout_filters": "readout", "reader_filters": "reader"}.get(name)
    return layer is None or getattr(config, layer) == "conv"


def check_same_model(saved, current, log_dir):
    """Raises if a log_dir's saved config would build a different model."""
    diffs = [
        f"--{name}: {getattr(saved, name)!r} in the log_dir, {getattr(current, name)!r} now"
        for name in MODEL_FIELDS
        if getattr(saved, name) != getattr(current, name)
        and (_shapes_model(saved, name) or _shapes_model(current, name))
    ]
    if diffs:
        raise ValueError(
            f"log_dir {log_dir} holds a checkpoint of a different model ("
            + "; ".join(diffs)
            + "). Use a new --log_dir, or the flags it was trained with."
        )


def load(log_dir):
    """Reads `<log_dir>/config.json`."""
    path = os.path.join(log_dir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: is {log_dir} a video_lstm training log_dir?")
    with open(path) as f:
        return Config.from_json(f.read(), source=path)
