"""The experiment configuration: one typed record, built from flags.

`Config` holds what every experiment has (the model, the clip lengths,
optimisation, bookkeeping), the name of its data source (`dataset`), and
`data`: that source's own options record (`pipelines/sources/<dataset>.py`),
which validates itself. Library functions take a `Config`; `flags.py` only
turns absl flags into one. It is written to `<log_dir>/config.json`, flat (the
data options beside the other fields), so that evaluation, export and resumed
runs rebuild the same model.

Imports no Keras or TensorFlow: a bad flag fails before they load.
"""

import dataclasses
import json
import math
import typing

from pipelines import sources
from video_lstm.core import choices, settings
from video_lstm.core.settings import Bookkeeping, EncoderSettings, FitSettings, LabelledPool, OptimizerSettings

# Fields that decide the model's weights: a log_dir's checkpoint only fits a
# config that agrees on all of them, on the data source and on its input spec.
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
    "input_length",
    "future_length",
    "precision",
)
CHOICES = {
    **settings.CHOICES,
    "model": choices.KINDS,
    "feed": choices.FEEDS,
    "loss": choices.LOSSES,
    "readout": choices.READOUTS,
    "dataset": choices.DATASETS,
    "precision": choices.PRECISIONS,
    "strategy": choices.STRATEGIES,
}


@dataclasses.dataclass(frozen=True)
class Config(Bookkeeping, OptimizerSettings, EncoderSettings):
    """A training run: the encoder, optimisation and bookkeeping parts (`core.settings`), the
    decoders, the clip every source cuts, the data source (`dataset`) and its own options
    (`data`), precision and distribution."""

    # Model (the encoder's fields are EncoderSettings').
    model: str = "composite"
    conditional_reconstruction: bool = True
    conditional_future: bool = True
    feed: str = "teacher"
    schedule_decay: float = 1000.0
    loss: str = "cross_entropy"
    readout: str = "linear"
    readout_filters: int = 16
    # Data: the source and its options; the clip every source cuts.
    dataset: str = "moving_mnist"
    data: typing.Any = None  # the source's Options; its defaults if None
    input_length: int = 10
    future_length: int = 10
    eval_sequences: int = 10000
    # How the step runs (the optimizer's fields are OptimizerSettings').
    precision: str = "float32"
    strategy: str = "default"
    steps_per_execution: int = 50
    # Bookkeeping of a training run only (a classifier has no probe, no evaluation curve).
    probe_every: int = 0
    eval_every: int = 500
    eval_every_sequences: int = 300

    def __post_init__(self):
        _choice(self, "dataset")
        options = sources.options_class(self.dataset)
        if self.data is None:
            object.__setattr__(self, "data", options())
        elif isinstance(self.data, dict):
            object.__setattr__(self, "data", options(**self.data))
        elif not isinstance(self.data, options):
            raise ValueError(
                f"data={self.data!r} are not the options of --dataset={self.dataset} "
                f"({options.__module__}.{options.__name__})"
            )
        validate(self)

    @property
    def fit(self):
        """What the fit loop reads of a training run (`core.settings.FitSettings`)."""
        return FitSettings(self.steps, self.batch_size, self.checkpoint_every, self.keep_checkpoints, self.log_every,
                           self.image_every, self.steps_per_execution, self.probe_every, self.strategy,
                           self.eval_every)

    @property
    def clip_length(self):
        return self.input_length + (self.future_length if self.model != "autoencoder" else 0)

    @property
    def input_spec(self):
        """What the source feeds the model (`pipelines.sources.InputSpec`)."""
        return sources.input_spec(self)

    def model_kwargs(self):
        """Arguments of `models.build_model`: the kind, the precision and `core.settings.MODEL_ARGUMENTS`."""
        if self.precision == "auto":
            raise ValueError("--precision=auto is decided when a run starts (training.loop.resolve_precision); "
                             "this config was not resolved")
        return dict(kind=self.model, dtype=self.precision, **{
            name: getattr(self, settings.MODEL_ARGUMENT_FIELDS.get(name, name)) for name in settings.MODEL_ARGUMENTS})

    def to_dict(self):
        """Flat: the data options beside the other fields (the config.json layout)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "data"}
        values.update(dataclasses.asdict(self.data))
        return values

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values, source="config"):
        """The inverse of `to_dict`; a dict without `dataset` (written before
        there was a choice) is Moving MNIST.

        A record read back (config.json, an export's config) is checked as flags are: every
        value of its field's type (`check_types`: `true` is no integer, NaN no number), then
        in range (`validate`, the flags' messages), a ValueError naming `source` first.
        """
        values = dict(values)
        dataset = values.get("dataset", cls.dataset)
        if not isinstance(dataset, str) or dataset not in choices.DATASETS:
            raise ValueError(f"{source}: --dataset={dataset!r}; expected one of {list(choices.DATASETS)}")
        own = {f.name for f in dataclasses.fields(cls)} - {"data"}
        options = sources.options_class(dataset)
        data_fields = {f.name for f in dataclasses.fields(options)}
        unknown = sorted(set(values) - own - data_fields)
        if unknown:
            raise ValueError(
                f"{source} has unknown keys {unknown}; expected a subset of {sorted(own | data_fields)}"
            )
        check_types(cls, values, source)
        check_types(options, values, source)
        data = {name: values.pop(name) for name in data_fields & set(values)}
        try:
            return cls(**values, data=data)
        except ValueError as error:
            if source in _NOT_RECORDS or str(error).startswith(str(source)):
                raise
            raise ValueError(f"{source}: {error}") from None

    @classmethod
    def from_json(cls, text, source="config"):
        return cls.from_dict(json.loads(text), source)


# Sources of values that are no record read back (their errors are the flags' own).
_NOT_RECORDS = ("make()", "replace()")
_EXPECTED = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
# The largest --units accepted: 8x the paper's largest model (2048); a record asking for more
# (10**7) is damaged, not a model to build.
MAX_UNITS = 16384


def _field_kind(field):
    """bool, int, float or str: the type a dataclass field holds (None: anything)."""
    kind = field.type
    if isinstance(kind, str):
        kind = {"bool": bool, "int": int, "float": float, "str": str}.get(kind.replace(" ", "").split("|")[0])
    return kind if kind in _EXPECTED else None


def _has_kind(value, kind):
    if kind is bool or kind is str:
        return isinstance(value, kind)
    if isinstance(value, bool):  # a JSON true is no number
        return False
    if kind is int:
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def check_types(cls, values, source):
    """Raises ValueError (`<source>: --units=true; expected an integer`) for the first value of
    `values` (a record's, JSON-parsed) that is not of the type of its field of dataclass `cls`;
    floats must be finite (a record's NaN or Infinity is refused, as the flags refuse them)."""
    for field in dataclasses.fields(cls):
        kind = _field_kind(field)
        if field.name in values and kind is not None and not _has_kind(values[field.name], kind):
            shown = json.dumps(values[field.name]) if _jsonable(values[field.name]) else repr(values[field.name])
            raise ValueError(f"{source}: --{field.name}={shown}; expected {_EXPECTED[kind]}")


def _jsonable(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def make(**values):
    """A Config from flat values, data options included: `make(units=8, frame_size=32)`."""
    return Config.from_dict(values, source="make()")


def replace(config, **values):
    """`config` with flat `values` changed (model or data fields alike)."""
    return Config.from_dict({**config.to_dict(), **values}, source="replace()")


def _choice(config, name):
    value = getattr(config, name)
    if value not in CHOICES[name]:
        raise ValueError(f"--{name}={value!r}; expected one of {list(CHOICES[name])}")


def _at_least(config, name, minimum):
    value = getattr(config, name)
    if value < minimum:
        raise ValueError(f"--{name}={value}; expected >= {minimum}")


def validate(config):
    """Raises ValueError naming the first flag that is out of range or inconsistent."""
    for part in (config, config.data):
        for field in dataclasses.fields(part):
            value = getattr(part, field.name)
            if _field_kind(field) is float and isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"--{field.name}={value}; expected a finite number")
    if config.units > MAX_UNITS:
        raise ValueError(f"--units={config.units}; expected <= {MAX_UNITS} (8x the paper's largest model)")
    for name in CHOICES:
        _choice(config, name)
    for name in ("units", "num_layers", "input_length", "batch_size", "steps", "steps_per_execution"):
        _at_least(config, name, 1)
    for name in ("readout_filters", "reader_filters"):
        _at_least(config, name, 1)
    for name in ("checkpoint_every", "keep_checkpoints", "log_every", "image_every", "eval_sequences"):
        _at_least(config, name, 1)
    if config.precision == "auto" and config.strategy == "multi_worker":
        raise ValueError("--precision=auto with --strategy=multi_worker: each worker would decide on its own "
                         "CPU; name the precision (float32 or mixed_bfloat16)")
    _at_least(config, "probe_every", 0)
    _at_least(config, "eval_every", 0)
    _at_least(config, "eval_every_sequences", 1)
    if config.learning_rate <= 0:
        raise ValueError(f"--learning_rate={config.learning_rate}; expected > 0")
    if config.weight_decay < 0:
        raise ValueError(f"--weight_decay={config.weight_decay}; expected >= 0")
    if config.model != "autoencoder" and config.future_length < 1:
        raise ValueError(
            f"--future_length={config.future_length} with --model={config.model}: "
            "a model with a future decoder needs --future_length >= 1"
        )
    sources.validate(config)
    if config.dataset == "percepts" and config.loss == "cross_entropy":
        raise ValueError(
            "--loss=cross_entropy needs frames in [0, 1]; --dataset=percepts gives convnet features of any "
            "value: use --loss=squared_error"
        )
    for name in ("readout", "reader"):
        if getattr(config, name) != "conv":
            continue
        spec = config.input_spec  # only here: a percept cache's spec needs the cache
        if spec.kind != "frames":
            raise ValueError(f"--{name}=conv reads images; --dataset={config.dataset} gives {spec}")
        if spec.frame_shape[0] % 8 or spec.frame_shape[1] % 8:
            raise ValueError(
                f"--{name}=conv works on an 8x smaller grid; {spec.origin} is not divisible by 8"
            )


def _shapes_model(config, name):
    """Whether field `name` shapes the model of `config`: a conv layer's
    filter count only matters when that layer is conv."""
    layer = {"readout_filters": "readout", "reader_filters": "reader"}.get(name)
    return layer is None or getattr(config, layer) == "conv"


# Settings a resumed run may change: its length and bookkeeping, how the step runs, and the
# learning rate (an override takes effect at the step it resumes from; `rundir.record_run`
# records when). Evaluation settings (`evaluation_fields`) may differ too: such an evaluation
# is written beside the run's own (`analysis.evaluation`). Anything else is refused.
RESUMABLE = (
    "steps",
    "checkpoint_every",
    "keep_checkpoints",
    "log_every",
    "image_every",
    "probe_every",
    "eval_every",
    "eval_every_sequences",
    "jit_compile",
    "strategy",
    "steps_per_execution",
    "learning_rate",
    "lr_decay_rate",
    "lr_decay_steps",
    "clip_norm",
)
# The resumable settings that live in the optimizer: changing one builds a new optimizer
# that takes over the old one's state (`optimizers.carry_state`).
OPTIMIZER_OVERRIDES = ("learning_rate", "lr_decay_rate", "lr_decay_steps", "clip_norm")


def evaluation_fields(config):
    """The fields of `config` that choose only the test set (`eval_sequences` and the
    source's own `EVALUATION_FIELDS`, e.g. Moving MNIST's --test_set)."""
    return ("eval_sequences",) + tuple(getattr(sources.options_class(config.dataset), "EVALUATION_FIELDS", ()))


def resume_changes(saved, current, log_dir):
    """{field: (saved value, current value)} of the `RESUMABLE` settings `current` changes in
    the run `saved` describes (the log_dir's config.json).

    Raises:
        ValueError: any other setting differs (model, optimizer, batch, seed, data source or
            its options, input spec), naming each with both values.
    """
    old_values, new_values = saved.to_dict(), current.to_dict()
    skipped = set(evaluation_fields(saved)) | set(evaluation_fields(current))
    diffs, changes = [], {}
    for name in sorted(old_values.keys() | new_values.keys()):
        old, new = old_values.get(name), new_values.get(name)
        if old == new or name in skipped:
            continue
        if name in ("readout_filters", "reader_filters") and not (
            _shapes_model(saved, name) or _shapes_model(current, name)
        ):
            continue
        if name in RESUMABLE:
            changes[name] = (old, new)
        else:
            diffs.append(f"--{name}: {old!r} in the log_dir, {new!r} now")
    if not diffs and saved.input_spec.frame_shape != current.input_spec.frame_shape:
        diffs.append(f"input spec {current.input_spec} now ({current.input_spec.origin}), "
                     f"{saved.input_spec} in the log_dir ({saved.input_spec.origin})")
    if diffs:
        shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
        raise ValueError(
            f"log_dir {log_dir} was trained with other settings ({shown}). Use a new --log_dir, or the "
            f"flags it was trained with (a resume may change only --{', --'.join(RESUMABLE)} and the "
            "evaluation flags)"
        )
    return changes


def check_same_model(saved, current, log_dir):
    """Raises if a log_dir's saved config would build a different model, or
    read a different data source or input spec."""
    diffs = [
        f"--{name}: {getattr(saved, name)!r} in the log_dir, {getattr(current, name)!r} now"
        for name in MODEL_FIELDS
        if getattr(saved, name) != getattr(current, name)
        and (_shapes_model(saved, name) or _shapes_model(current, name))
    ]
    if saved.dataset != current.dataset:
        diffs.append(f"--dataset: {saved.dataset!r} in the log_dir, {current.dataset!r} now")
    elif saved.input_spec.frame_shape != current.input_spec.frame_shape:
        diffs.append(
            f"input spec: {saved.input_spec} in the log_dir ({saved.input_spec.origin}), "
            f"{current.input_spec} now ({current.input_spec.origin})"
        )
    if diffs:
        raise ValueError(
            f"log_dir {log_dir} holds a checkpoint of a different model ("
            + "; ".join(diffs)
            + "). Use a new --log_dir, or the flags it was trained with."
        )


# -- fine-tuning (python -m video_lstm.finetune, the few-labels study) ----------------------


@dataclasses.dataclass(frozen=True)
class FinetuneSettings(Bookkeeping, OptimizerSettings, EncoderSettings):
    """A classifier's settings: the shared parts (`core.settings`, the same defaults as a
    training run's) and its own. The optimizer fields are `optimizers.make_optimizer`'s.

    `encoder_learning_rate` 0 means the head's; `freeze_encoder` keeps the
    pretrained encoder's weights. A scratch classifier's encoder always trains.
    """

    input_dropout: float = 0.0
    output_dropout: float = 0.5
    freeze_encoder: bool = True
    encoder_learning_rate: float = 0.0
    eval_batch_size: int = 64

    def replace(self, **values):
        return dataclasses.replace(self, **values)

    @property
    def fit(self):
        """What the fit loop reads of a classifier (`core.settings.FitSettings`: one step per call, no
        probe; the strategy is the data's `Config`'s, which the command builds under)."""
        return FitSettings(self.steps, self.batch_size, self.checkpoint_every, self.keep_checkpoints, self.log_every,
                           self.image_every)

    @classmethod
    def of(cls, config, **own):
        """The shared parts from `config` (a `Config`), the classifier's own fields from `own`."""
        shared = {f.name for f in dataclasses.fields(cls)} - set(own)
        return cls(**{name: getattr(config, name) for name in shared if hasattr(config, name)}, **own)


CLASSIFIER_FIELDS = ("input_dropout", "output_dropout", "freeze_encoder", "encoder_learning_rate")
# What a classifier reads of a `Config` (its flags are python -m video_lstm.finetune's, beside every data
# source's options): the data source, the clip length, the distribution. The rest of the Config it builds
# the data from is the classifier's (`FinetuneSettings`) or fixed (`finetune_config`), and a finetune.json
# compares only these (`FINETUNE_UNREAD`: what no classifier reads, records of earlier runs included).
FINETUNE_DATA_FIELDS = ("dataset", "input_length", "strategy")
FINETUNE_UNREAD = ("model", "conditional_reconstruction", "conditional_future", "feed", "schedule_decay", "loss",
                   "readout", "readout_filters", "future_length", "eval_sequences", "precision",
                   "steps_per_execution", "probe_every", "eval_every", "eval_every_sequences")


def finetune_config(data_values, data_options, settings):
    """The `Config` a classifier's data is read with: `data_values` ({FINETUNE_DATA_FIELDS}), the
    source's options (`data_options`, a dict or the source's Options), the encoder, optimizer and
    bookkeeping of `settings` (a `FinetuneSettings`); clips of --input_length frames (an
    autoencoder's), squared error (percepts are no pixels in [0, 1]); the rest at its default."""
    shared = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name in _CONFIG_NAMES}
    return Config(**shared, **data_values, model="autoencoder", loss="squared_error", data=data_options)


_CONFIG_NAMES = frozenset(f.name for f in dataclasses.fields(Config))
FINETUNE_INITS = ("pretrained", "scratch", "single_frame")
ALL = settings.ALL


def label_count(value):
    """`--labels_per_class` as a number of labelled videos per class, or None for all of them
    (`core.settings.parse_count`, the one conversion; "0", as the flag once spelled all, and a
    record's 0 are read as all too)."""
    return None if str(value).strip() == "0" else settings.parse_count(value, "labels_per_class")


@dataclasses.dataclass(frozen=True)
class FinetuneOptions(LabelledPool):
    """What a fine-tuning command trains and on which labels, beside the classifier
    (`FinetuneSettings`) and the data (`FINETUNE_DATA_FIELDS` of a `Config`): the labelled
    Moving MNIST pool and test set (`core.settings.LabelledPool`), the initialisations, the
    labels per class, the test clips' stride and what to do with absent videos."""

    pretrained: str = ""
    inits: tuple = ()
    task: str = "appearance"
    labels_per_class: str = ALL
    stride: int = 16
    missing: str = "error"

    @property
    def label_count(self):
        """Labelled videos per class, or None for all."""
        return label_count(self.labels_per_class)

    def validate(self):
        unknown = sorted(set(self.inits) - set(FINETUNE_INITS))
        if unknown or not self.inits:
            raise ValueError(f"--inits={','.join(self.inits)}; expected some of {', '.join(FINETUNE_INITS)}")
        if "pretrained" in self.inits and not self.pretrained:
            raise ValueError("--inits has pretrained: pass --pretrained (a training log_dir or an exported encoder)")
        label_count(self.labels_per_class)
        if self.stride < 1:
            raise ValueError(f"--stride={self.stride}; expected >= 1 frames between test clip starts")
        if self.missing not in FINETUNE_CHOICES["missing"]:
            raise ValueError(f"--missing={self.missing!r}; expected error or skip")


FINETUNE_CHOICES = {"task": ("appearance", "motion"), "missing": ("error", "skip")}
FINETUNE_HELP = {
    "input_dropout": "Dropout on the encoder's input.",
    "output_dropout": "Dropout on the encoder's output, before the softmax.",
    "freeze_encoder": "Keep the pretrained encoder's weights.",
    "encoder_learning_rate": "Learning rate of a trained pretrained encoder (0: --learning_rate).",
    "eval_batch_size": "Clips per evaluation batch.",
    "pretrained": "A training log_dir or an exported encoder SavedModel to start from.",
    "inits": "Of pretrained, scratch, single_frame; default: all three with --pretrained, else "
    "scratch,single_frame.",
    "task": "Labelled Moving MNIST task.",
    "labels_per_class": "Labelled training videos per class (seeded, balanced), or all.",
    "stride": "Test clips start every this many frames of a video (pooled per video).",
    **{name: settings.FEWSHOT_HELP[name] for name in ("pool_size", "test_size")},
    "missing": "A split naming absent videos: refuse, or drop them.",
}
