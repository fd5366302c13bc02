"""The linear probe: how linearly readable are a frozen encoder's final states?

A closed-form ridge classifier (one-hot targets, features standardised with the
training shots' mean and std, an unpenalised intercept; one solve, no SGD loop)
is fitted on the final `[h, c]` of every encoder layer for a few labelled clips
per class (`shots`: 1, 5, 10, 25 and all of the pool; several seeds, each
drawing its shots with `pipelines.action_datasets.balanced_indices`), and its
top-1 accuracy is measured on a fixed labelled test set. The ridge strength is
picked from four values by exact leave-one-out accuracy on the training shots
(one eigendecomposition serves all four); with one shot per class it is fixed.
Baselines on the same clips and shots: `pixels` (the raw last input frame) and
`random` (a randomly initialised encoder of the run's config).

Labelled clips: for a Moving MNIST run, its labelled tasks (`appearance`: which
digit; `motion`: which of 8 directions; `pipelines.labelled_moving_mnist`'s
NumPy route, one digit per sequence, a pool from the train digits and a test set
from the test digits, the run's frame size, speed and digit source), which needs
no TensorFlow: the probe then runs under JAX alone. For a video or percept run,
the classes of its videos (`video_lstm.classify.data`: clips drawn from the
training list, the test list's clips), which needs TensorFlow (its decoding runs
in tf.data).

`probe_log_dir` is the library call, `python -m video_lstm.probe` the command;
`training.probe_callback.ProbeCallback` evaluates a probe during pretraining (`--probe_every`)
with the functions here (`labelled_clips`, `probe_clips`, `probe_scalars`).
"""

import dataclasses
import hashlib
import json
import os
import time

import numpy as np

from pipelines import action_datasets
from pipelines import digits as digits_lib
from pipelines import labelled_moving_mnist as lmm
from pipelines.sources import LazyClips
from video_lstm.core import backend as backend_lib
from video_lstm.core.settings import ALL as ALL_LABELS
from video_lstm.core.settings import FEWSHOT_HELP, FewShotSettings, count_text

ALL = ALL_LABELS  # all shots, as flags and records spell it (None in memory)
# Ridge strengths, as multiples of the feature count (the diagonal of the standardised Gram matrix).
LAMBDAS = (0.01, 0.1, 1.0, 10.0)
ONE_SHOT_LAMBDA = 0.1
FEATURES = ("encoder", "random", "pixels")
BASELINES = ("random", "pixels")
RESULT = "probe.json"
DEFAULT_BACKEND = "tensorflow"  # the Keras backend probe.json is of; others are named (`result_name`)
POOL_SEED = 0  # the labelled pool's generator seed (`classify.data.moving_mnist_task`'s default)


@dataclasses.dataclass(frozen=True)
class ProbeOptions(FewShotSettings):
    """What `python -m video_lstm.probe` measures (its flags): the few-shot read-out
    (`core.settings.FewShotSettings`: shots, seeds, pool and test sizes), the checkpoint, the
    baselines and the encoder's batch."""

    checkpoint: str = ""
    baselines: tuple = BASELINES
    batch_size: int = 250

    def validate(self):
        super().validate()
        if self.batch_size < 1:
            raise ValueError(f"--batch_size={self.batch_size}; expected >= 1")
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise ValueError(f"--baselines={unknown[0]!r}; expected some of {list(BASELINES)}")
        return self

    def result_name(self, backend=DEFAULT_BACKEND):
        """probe.json for the default options on TensorFlow; probe_<what differs>.json for any
        other options or Keras backend (JAX's random-encoder baseline differs from TensorFlow's),
        so that a probe with other settings never overwrites it (`result_name_for` adds the
        checkpoint's step where the name holds another checkpoint's result)."""
        default = ProbeOptions()
        changed = [f"{name}-{_short(getattr(self, name))}" for name in _NAMED
                   if getattr(self, name) != getattr(default, name)]
        if backend != DEFAULT_BACKEND:
            changed.append(f"backend-{backend}")
        if not changed:
            return RESULT
        key = "_".join(changed)
        if len(key) > 80 or not all(c.isalnum() or c in "-_." for c in key):
            key = hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:10]
        return f"probe_{key}.json"


# The fields a result's file name shows, in this order (the batch changes no number).
_NAMED = ("checkpoint", "shots", "seeds", "pool_size", "test_size", "baselines")


def result_name_for(log_dir, options, result):
    """The file `result` (of `options`) is written to in `log_dir`: `options.result_name` for its
    backend, or, where that file holds the result of another checkpoint, the name with
    `_step-<step>` added: results never overwrite other results. The same settings and
    checkpoint again rewrite their own file (the probe is deterministic), as evaluate does."""
    name = options.result_name(result.get("backend", DEFAULT_BACKEND))
    try:
        with open(os.path.join(log_dir, name)) as f:
            earlier = json.load(f)
    except (OSError, ValueError):
        return name
    same = (isinstance(earlier, dict) and earlier.get("step") == result.get("step")
            and os.path.basename(str(earlier.get("checkpoint"))) == os.path.basename(str(result.get("checkpoint"))))
    return name if same else f"{name[: -len('.json')]}_step-{result.get('step')}.json"


def _short(value):
    if isinstance(value, (tuple, list)):
        return ".".join(str(v) for v in value)
    return os.path.basename(str(value)) if isinstance(value, str) else str(value)


HELP = {
    **FEWSHOT_HELP,
    "checkpoint": "Checkpoint to probe (a path under <log_dir>/checkpoints); default the newest.",
    "baselines": "Baselines probed on the same clips: random (a randomly initialised encoder of the run's "
                 "config), pixels (the last input frame).",
    "batch_size": "Clips per encoder call.",
}


# -- the ridge classifier ----------------------------------------------------------


def standardise(train, *others):
    """Features standardised with `train`'s column mean and std (a constant column is left at 0)."""
    train = np.asarray(train, np.float64)
    mean, std = train.mean(0), train.std(0)
    std[std < 1e-8] = 1.0
    return [(x - mean) / std for x in (train, *(np.asarray(o, np.float64) for o in others))]


class Ridge:
    """Ridge regression to one-hot targets, as a classifier.

    Fit on standardised features (the caller's `standardise`); the intercept is the
    targets' mean (not penalised). `lam` is absolute. One eigendecomposition of the
    Gram matrix (n <= d) or of the covariance (n > d) gives the solution at every
    strength and its exact leave-one-out predictions.
    """

    def __init__(self, features, labels, num_classes):
        x = np.asarray(features, np.float64)
        self.n, self.d = x.shape
        self.labels = np.asarray(labels)
        targets = np.eye(num_classes)[self.labels]
        self.offset = targets.mean(0)
        self.targets = targets - self.offset
        self.x = x
        self.dual = self.n <= self.d
        if self.dual:  # K = X X^T = U s U^T
            self.s, self.u = np.linalg.eigh(x @ x.T)
            self.p = self.u
        else:  # X^T X = V s V^T; X V plays the part of U
            self.s, self.v = np.linalg.eigh(x.T @ x)
            self.p = x @ self.v
        self.s = np.maximum(self.s, 0.0)
        self.pt_y = self.p.T @ self.targets

    def _gain(self, lam):
        return self.s / (self.s + lam) if self.dual else 1.0 / (self.s + lam)

    def loo_accuracy(self, lam):
        """Leave-one-out accuracy at strength `lam` (exact for the hat matrix, intercept included)."""
        gain = self._gain(lam)
        fitted = self.p @ (gain[:, None] * self.pt_y)
        leverage = (self.p ** 2) @ gain + 1.0 / self.n
        # the hat matrix with the intercept is H + 1/n: LOO_i = (fit_i - S_ii y_i) / (1 - S_ii)
        loo = (fitted + self.offset - leverage[:, None] * (self.targets + self.offset)) / np.maximum(
            1.0 - leverage, 1e-12)[:, None]
        return float(np.mean(np.argmax(loo, 1) == self.labels))

    def weights(self, lam):
        """(d, classes) weights at strength `lam`."""
        if self.dual:
            return self.x.T @ (self.u @ (self.pt_y / (self.s + lam)[:, None]))
        return self.v @ (self.pt_y / (self.s + lam)[:, None])

    def predict(self, features, lam):
        return np.argmax(np.asarray(features, np.float64) @ self.weights(lam) + self.offset, 1)


def fit_predict(train, labels, test, num_classes, lambdas=LAMBDAS, fixed=ONE_SHOT_LAMBDA):
    """(test predictions, chosen strength multiple) of the ridge probe fitted on (train, labels).

    Strengths are multiples of the feature count; picked by leave-one-out accuracy (ties:
    the stronger) where every class has two examples or more, else `fixed`.
    """
    train, test = standardise(train, test)
    ridge = Ridge(train, labels, num_classes)
    counts = np.bincount(np.asarray(labels), minlength=num_classes)
    if counts[counts > 0].min() < 2:
        chosen = fixed
    else:
        scores = [ridge.loo_accuracy(alpha * ridge.d) for alpha in lambdas]
        best = max(scores)
        chosen = max(alpha for alpha, score in zip(lambdas, scores) if score == best)
    return ridge.predict(test, chosen * ridge.d), chosen


def probe_features(train, train_labels, test, test_labels, num_classes, counts, seeds, class_names=None):
    """Accuracy rows of the ridge probe on one kind of features.

    Args:
        train: (pool, d) features of the labelled pool; train_labels: int (pool,).
        test: (N, d) features of the test clips; test_labels: int (N,).
        counts: shots per class (ints) and/or None (all: the whole pool, one draw).
        seeds: how many draws of the shots per count (seeds 0..seeds-1).

    Returns:
        [{"shots", "train_size", "seeds", "accuracy": [...], "mean", "std", "lambda": [...]}],
        one per count.
    """
    rows = []
    for count in counts:
        accuracies, lambdas, sizes = [], [], []
        for seed in ([0] if count is None else range(seeds)):
            if count is None:
                chosen = np.arange(len(train_labels))
            else:
                chosen = np.array(action_datasets.balanced_indices(train_labels, count, seed, class_names))
            predictions, lam = fit_predict(train[chosen], train_labels[chosen], test, num_classes)
            accuracies.append(float(np.mean(predictions == test_labels)))
            lambdas.append(lam)
            sizes.append(len(chosen))
        rows.append({"shots": count_text(count), "train_size": sizes[0], "seeds": len(accuracies),
                     "accuracy": accuracies,
                     "mean": float(np.mean(accuracies)), "std": float(np.std(accuracies)), "lambda": lambdas})
    return rows


# -- features ----------------------------------------------------------------------


def as_float(clips):
    """uint8 frames -> float32 in [0, 1]; float input (percepts) unchanged."""
    clips = np.asarray(clips)
    return clips.astype(np.float32) / np.float32(255.0) if clips.dtype == np.uint8 else clips.astype(np.float32)


def encoder_states(encoder, clips, batch_size=250):
    """float32 (N, 2 * units * layers): the final [h, c] of every layer of `encoder`
    (`models.encoder.Encoder`) after reading each clip (N, time, *frame), in batches."""
    # here: keeps Keras out of `import video_lstm.analysis.probe`
    from keras import ops

    out = []
    for start in range(0, len(clips), batch_size):
        states = encoder(as_float(clips[start : start + batch_size]))["states"]
        out.append(np.concatenate([ops.convert_to_numpy(s) for layer in states for s in layer], axis=-1))
    return np.concatenate(out).astype(np.float32)


def last_frame_pixels(clips):
    """float32 (N, prod(frame)): each clip's last frame, flattened."""
    clips = np.asarray(clips)
    return as_float(clips[:, -1]).reshape(len(clips), -1)


@dataclasses.dataclass
class LabelledClips:
    """A labelled pool and test set for the probe.

    Attributes:
        pool, test: clips (N, input_length, *frame), uint8 frames or float32 percepts.
        tasks: {task: (class names, pool labels int (N,), test labels int (M,))}.
        info: what they are, for the record.
    """

    pool: np.ndarray
    test: np.ndarray
    tasks: dict
    info: dict


def moving_mnist_clips(config, pool_size, test_size):
    """`LabelledClips` of the labelled Moving MNIST tasks at the run's geometry and digits
    (NumPy only: no TensorFlow)."""
    data = config.data
    banks = {split: digits_lib.load_digits(source=data.digits, split=split, mnist_path=data.mnist_path or None,
                                           seed=POOL_SEED if split == "train" else 0) for split in ("train", "test")}
    pool, pool_labels = lmm.labelled_set_numpy(banks["train"], pool_size, POOL_SEED, lmm.POOL_STREAM,
                                               config.input_length, data.frame_size, data.step_length)
    test, test_labels = lmm.labelled_set_numpy(banks["test"], test_size, lmm.TEST_SEED, lmm.TEST_STREAM,
                                               config.input_length, data.frame_size, data.step_length)
    tasks = {task: (list(lmm.class_names(task)), pool_labels[task], test_labels[task]) for task in lmm.TASKS}
    info = {"source": "labelled_moving_mnist", "digits": banks["train"].source, "pool_size": pool_size,
            "test_size": test_size, "frames": config.input_length, "frame_size": data.frame_size}
    return LabelledClips(pool, test, tasks, info)


def video_clips(config, pool_size, test_size, source_data, seed=0):
    """`LabelledClips` of a video or percept run's classes: a pool of clips drawn from the
    training list (seeded), and test clips spread evenly over the test list's covering clips;
    the first `input_length` steps of each.

    Args:
        source_data: `config -> classify.data.SourceData` of the run (`video_data` or
            `percept_data`; the entry point passes it: this floor does not import `classify`).
    """
    data = source_data(config)
    pool, labels = [], []
    for step in range(-(-pool_size // 50)):
        clips, y = data.batch(step, min(50, pool_size - 50 * step), seed)
        pool.append(np.asarray(clips)[:, : config.input_length])
        labels.append(y)
    test = data.test
    chosen = np.unique(np.linspace(0, len(test.clips) - 1, min(test_size, len(test.clips))).round().astype(int))
    test_clips = LazyClips([test.clips.index[i] for i in chosen], test.clips.read)[:][:, : config.input_length]
    tasks = {"classes": (list(data.classes), np.concatenate(labels).astype(np.int64),
                         np.asarray(test.clip_labels)[chosen].astype(np.int64))}
    info = {"source": config.dataset, "pool_size": pool_size, "test_size": len(chosen), **{
        k: v for k, v in data.info.items() if k in ("dataset", "train_videos", "test_videos")}}
    return LabelledClips(np.concatenate(pool), test_clips, tasks, info)


def labelled_clips(config, pool_size, test_size, source_data=None):
    """The probe's labelled clips for a run of `config` (`source_data`: see `video_clips`)."""
    if config.dataset == "moving_mnist":
        return moving_mnist_clips(config, pool_size, test_size)
    if source_data is None:
        raise ValueError(f"a --dataset={config.dataset} run is probed on its videos' classes, which this caller "
                         "cannot read (pass source_data; python -m video_lstm.probe does)")
    return video_clips(config, pool_size, test_size, source_data)


def random_encoder(config, seed=0):
    """The encoder of a randomly initialised model of `config` (the same initialisers as training;
    seeded, so the baseline is reproducible)."""
    # here: keeps Keras out of `import video_lstm.analysis.probe`
    import keras

    # here: keeps Keras out of `import video_lstm.analysis.probe`
    from video_lstm import rundir

    keras.utils.set_random_seed(seed)
    return rundir.build(config).encoder


# -- a run -------------------------------------------------------------------------


def probe_clips(encoders, clips, counts, seeds, batch_size=250, pixels=True):
    """{"results": rows, "timings": {...}} of the probe on `clips` (`LabelledClips`) for every
    encoder of {name: encoder} and (with `pixels`) the last input frame."""
    timings, features = {}, {}
    for name, encoder in encoders.items():
        started = time.perf_counter()
        features[name] = (encoder_states(encoder, clips.pool, batch_size), encoder_states(encoder, clips.test,
                                                                                         batch_size))
        timings[f"features_{name}_s"] = round(time.perf_counter() - started, 2)
    if pixels:
        features["pixels"] = (last_frame_pixels(clips.pool), last_frame_pixels(clips.test))
    rows = []
    started = time.perf_counter()
    for task, (classes, pool_labels, test_labels) in clips.tasks.items():
        for name, (train, test) in features.items():
            for row in probe_features(train, pool_labels, test, test_labels, len(classes), counts, seeds, classes):
                rows.append({"task": task, "features": name, "feature_dim": int(train.shape[1]), **row})
    timings["ridge_s"] = round(time.perf_counter() - started, 2)
    return {"results": rows, "timings": timings}


def probe_log_dir(log_dir, options=ProbeOptions(), write=True, source_data=None):
    """Probes a training run's encoder (and the baselines); returns the result dict.

    `source_data`: for a video or percept run, `config -> classify.data.SourceData` (see
    `video_clips`); Moving MNIST runs need none.

    With `write`, writes it atomically as `<log_dir>/<result_name_for(...)>` (named by the
    options, the backend and, where needed, the step: nothing else in the run changes, no
    other probe's result is replaced) and records the name under "written".

    Raises:
        FileNotFoundError: not a run, or no checkpoint; ValueError: bad options.
    """
    # here: keeps Keras out of `import video_lstm.analysis.probe`
    from video_lstm import rundir

    started = time.perf_counter()
    options.validate()
    counts = options.shot_counts()
    if not rundir.is_run(log_dir):
        raise FileNotFoundError(f"--log_dir={log_dir} is not a training run (no config.json and checkpoints/)")
    config = rundir.load_config(log_dir)
    step, checkpoint, model = rundir.load_for_calling(log_dir, options.checkpoint, config)
    loaded = time.perf_counter()
    clips = labelled_clips(config, options.pool_size, options.test_size, source_data)
    _check_counts(clips, counts)
    made = time.perf_counter()
    encoders = {"encoder": model.encoder}
    if "random" in options.baselines:
        encoders["random"] = random_encoder(config)
    result = probe_clips(encoders, clips, counts, options.seeds, options.batch_size, "pixels" in options.baselines)
    result["timings"].update(load_s=round(loaded - started, 2), data_s=round(made - loaded, 2),
                             total_s=round(time.perf_counter() - started, 2))
    result.update(log_dir=os.path.abspath(log_dir), checkpoint=os.path.abspath(checkpoint), step=step,
                  backend=backend_lib.keras_backend())
    result.update(model=config.model, options=_jsonable(dataclasses.asdict(options)), data=clips.info,
                  chance={task: 1.0 / len(classes) for task, (classes, _, _) in clips.tasks.items()},
                  method=f"ridge to one-hot labels on standardised features, strength from {list(LAMBDAS)} x "
                         f"features by leave-one-out (1 shot per class: {ONE_SHOT_LAMBDA} x features)")
    if write:
        result["written"] = result_name_for(log_dir, options, result)
        rundir.write_json(log_dir, result["written"], result)
    return result


def _check_counts(clips, counts):
    for task, (classes, labels, _) in clips.tasks.items():
        smallest = int(np.bincount(labels, minlength=len(classes)).min())
        too_many = [c for c in counts if c is not None and c > smallest]
        if too_many:
            raise ValueError(f"--shots={too_many[0]} is more than the pool of task {task} holds for its smallest "
                             f"class ({smallest}); raise --pool_size or lower the count")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def format_table(result):
    """Markdown: one row per task and features, one column per shot count (mean +- std over seeds)."""
    rows = result["results"]
    counts = list(dict.fromkeys(row["shots"] for row in rows))
    header = "| task | features | " + " | ".join(
        f"{c} shot{'s' if c != 1 else ''}" if c != ALL else "all" for c in counts) + " |"
    lines = [header, "|" + "---|" * (len(counts) + 2)]
    for task in dict.fromkeys(row["task"] for row in rows):
        for name in dict.fromkeys(row["features"] for row in rows if row["task"] == task):
            cells = {row["shots"]: row for row in rows if row["task"] == task and row["features"] == name}
            text = []
            for c in counts:
                row = cells.get(c)
                if row is None:
                    text.append("")
                elif row["seeds"] > 1:
                    text.append(f"{100 * row['mean']:.1f} ± {100 * row['std']:.1f}")
                else:
                    text.append(f"{100 * row['mean']:.1f} (n={row['train_size']})")
            lines.append(f"| {task} | {name} | " + " | ".join(text) + " |")
    chance = ", ".join(f"{task} {100 * p:.1f}%" for task, p in result.get("chance", {}).items())
    lines.append("")
    lines.append(f"Top-1 test accuracy (%), mean ± std over seeds; chance: {chance}. Step {result.get('step')}, "
                 f"probe {result['timings'].get('total_s', '?')} s.")
    return "\n".join(lines)


# -- during pretraining (--probe_every: training.probe_callback) --------------------


def probe_scalars(result):
    """{"probe/<task>/<shots>_shot[_<features>]": mean accuracy} of a result (the encoder's own
    without a suffix)."""
    scalars = {}
    for row in result["results"]:
        suffix = "" if row["features"] == "encoder" else f"_{row['features']}"
        shots = "all" if row["shots"] == ALL else f"{row['shots']}_shot"
        scalars[f"probe/{row['task']}/{shots}{suffix}"] = row["mean"]
    return scalars
