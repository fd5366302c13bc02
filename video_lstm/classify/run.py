"""One fine-tuning command: data, classifiers, training, evaluation (`python -m video_lstm.finetune`).

`FinetuneRun` checks everything that can be wrong with its input before any
training: the pretrained encoder (it must read what the data gives), the
labels (inside the class list), the labelled subset (no class short of it, no
empty class) and the split (no absent video). Then each initialisation in
`inits` trains into `<log_dir>/<init>/` (resuming from its newest checkpoint)
and is evaluated there: `metrics.json` (clip and video top-1 / top-5,
per-class accuracy, confusion matrix), `confusion.png`, TensorBoard scalars.
`<log_dir>/summary.json` gathers the accuracies of every initialisation.

A rerun resumes, and is checked first against what each initialisation's
`finetune.json` records: other model, optimisation or training data is refused
naming both values; the step budget and bookkeeping may change (recorded); a
test set cut otherwise (another `--stride`, other test videos) is an evaluation
of its own, written beside the run's (`metrics_<key>.json`, `confusion_<key>.png`,
`summary_<key>.json`), never over it. A start-up that fails leaves nothing
behind.
"""

import dataclasses
import hashlib
import json
import os

import tensorflow as tf

from pipelines import action_datasets
from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.classify import data as data_lib
from video_lstm.classify import pretrained, trainer
from video_lstm.core import cluster
from video_lstm.core import lock as lock_lib
from video_lstm.core.settings import count_text
from video_lstm.training import distribute, hparams


def load_data(config, options):
    """The labelled data `config.dataset` names (Moving MNIST tasks, videos or percepts)."""
    if config.dataset == "moving_mnist":
        data = config.data
        if data.num_digits != 1:
            raise ValueError(f"the labelled Moving MNIST tasks have one digit per sequence; got --num_digits="
                             f"{data.num_digits}")
        full = data_lib.moving_mnist_task(options.task, options.pool_size, options.test_size, config.input_length,
                                          data.frame_size, data.step_length, data.digits, data.mnist_path)
        return full.subset(options.label_count, config.seed)
    if config.dataset == "percepts":
        return data_lib.percept_data(config, options.label_count, config.seed, options.stride)
    return data_lib.video_data(config, options.label_count, config.seed, options.stride, options.missing)


class FinetuneRun:
    """A checked fine-tuning command.

    Args:
        config: the `Config` of the data (dataset, its options, `input_length` = clip length),
            optimisation and bookkeeping (steps, batch size, checkpoints); its model fields give the
            scratch classifier's encoder.
        options: `config.FinetuneOptions`.
        settings: `config.FinetuneSettings`.
        log_dir: the run directory.
    """

    def __init__(self, config, options, settings, log_dir):
        options.validate()
        check_settings(settings)
        rundir.check_writable(log_dir)
        self.config, self.options, self.settings, self.log_dir = config, options, settings, log_dir
        self.encoder, self.pretrained_info = None, {}
        if "pretrained" in options.inits:
            self.encoder, frame_shape, self.pretrained_info = pretrained.load_encoder(options.pretrained)
        try:
            self.data = load_data(config, options)
        except action_datasets.TooFewLabelsError as error:
            raise ValueError(f"--labels_per_class={options.labels_per_class} asks for more labelled videos than "
                             f"there are: {error}") from None
        if self.encoder is not None:
            pretrained.check_fits(frame_shape, self.data.frame_shape, options.pretrained,
                                  f"--dataset={config.dataset} ({config.input_spec.origin})")

    def describe(self, init):
        return {"init": init, "labels_per_class": count_text(self.options.label_count), "task": self.options.task,
                "classes": self.data.classes, "frame_shape": list(self.data.frame_shape),
                "clip_length": self.config.input_length, "stride": self.options.stride,
                "settings": dataclasses.asdict(self.settings), "data": self.data.info,
                "config": self.config.to_dict(), **(self.pretrained_info if init == "pretrained" else {})}

    def run(self, verbose=None):
        """Trains and evaluates every init under `--strategy`, holding the log_dir's lock
        (the chief; other workers of a multi-worker run write nothing); returns {init: metrics}."""
        self.chief = self.config.strategy != "multi_worker" or cluster.is_chief()
        created = not os.path.exists(self.log_dir)
        if self.chief:
            lock_lib.acquire(self.log_dir)
        try:
            try:  # start-up: everything checked before anything is written
                self.records = {init: self.check_resume(init) for init in self.options.inits}
                self.strategy = distribute.make_strategy(self.config.strategy)
                distribute.per_replica_batch(self.settings.batch_size, self.strategy)
            except BaseException:
                if self.chief and created:
                    lock_lib.release(self.log_dir)
                    rundir.remove_new(self.log_dir)
                raise
            summary = {init: self.run_init(init, verbose) for init in self.options.inits}
        finally:
            lock_lib.release(self.log_dir)
        if not self.chief:
            return summary
        keys = ("clip_top1", "clip_top5", "video_top1", "video_top5")
        key = self.evaluation_key(self.options.inits[0])
        rundir.write_json(self.log_dir, rundir.SUMMARY if key is None else f"summary_{key}.json",
                          {init: {k: m[k] for k in keys} for init, m in summary.items()})
        return summary

    def check_resume(self, init):
        """(record to write as finetune.json, saved record or None) of `init`'s log_dir;
        refuses a classifier of other settings or training data, naming both values."""
        description = self.describe(init)
        saved = rundir.read_finetune(os.path.join(self.log_dir, init))
        if saved is None:
            return description, None
        diffs = _differences(_identity(saved), _identity(description))
        if diffs:
            shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
            raise ValueError(f"{os.path.join(self.log_dir, init)} holds a classifier trained otherwise ({shown}); "
                             "use a new --log_dir, or the flags it was trained with")
        # The run's record, with what may change on resume brought up to date.
        record = json.loads(json.dumps(saved))
        for part in ("settings", "config"):
            for name in _RESUMABLE:
                if name in description.get(part, {}):
                    record.setdefault(part, {})[name] = description[part][name]
        return record, saved

    def evaluation_key(self, init):
        """None when this command's test clips are the run's own (its recorded stride and test
        videos), else the name its results are written under, beside the run's own."""
        saved = self.records[init][1]
        if saved is None:
            return None
        now = self.describe(init)
        if saved.get("stride") == now["stride"] and _test_part(saved) == _test_part(now):
            return None
        key = f"stride_{now['stride']}"
        if _test_part(saved) != _test_part(now):
            key += "_" + hashlib.sha1(json.dumps(_test_part(now), sort_keys=True).encode()).hexdigest()[:8]
        return key

    def run_init(self, init, verbose=None):
        log_dir = os.path.join(self.log_dir, init)
        os.makedirs(log_dir, exist_ok=True)
        rundir.write_json(log_dir, rundir.FINETUNE, self.records[init][0])
        build = lambda: trainer.build(init, len(self.data.classes), self.data.frame_shape,  # noqa: E731
                                       self.settings, self.encoder if init == "pretrained" else None)
        with self.strategy.scope():
            step, model = trainer.restore_or_build(log_dir, build)
        distribute.prepare_model(model, self.strategy)
        step = trainer.fit(model, self.data, self.settings, log_dir, step, verbose, self.strategy, self.chief)
        probabilities = trainer.clip_predictions(model, self.data.test, self.settings.eval_batch_size)
        metrics = trainer.evaluate(probabilities, self.data.test, self.data.classes, log_dir,
                                    {"init": init, "step": step, "stride": self.options.stride},
                                    key=self.evaluation_key(init))
        _write_eval_scalars(log_dir, metrics, step)
        hparams.record(rundir.path(log_dir, hparams.FOLDER), self.records[init][0],
                       {f"accuracy/{key}": metrics[key] for key in ACCURACIES}, step)
        return metrics


def check_settings(settings):
    """Raises ValueError naming a classifier flag out of range, before anything is written
    (the classifier is built only after its log_dir's records are)."""
    for name in ("input_dropout", "output_dropout"):
        rate = getattr(settings, name)
        if not 0.0 <= rate < 1.0:  # NaN too
            raise ValueError(f"--{name}={rate}; expected a dropout rate in [0, 1)")


# What a rerun may change: what a training run's may (`config.RESUMABLE`) but its learning rate
# (no optimizer override here), and how the evaluation is batched.
_RESUMABLE = tuple(name for name in config_lib.RESUMABLE if name not in config_lib.OPTIMIZER_OVERRIDES) + (
    "eval_batch_size", "eval_sequences")


def _test_part(record):
    """What of a finetune.json record chooses the test clips (besides the stride)."""
    data = record.get("data", {})
    config = record.get("config", {})
    return {**{k: v for k, v in data.items() if k.startswith("test")},
            **{k: config.get(k) for k in ("percepts_test_dir",) if k in config}}


def _identity(record):
    """A finetune.json record without what a rerun may change or evaluates otherwise."""
    record = json.loads(json.dumps(record))  # a deep copy of plain JSON values
    record.pop("stride", None)
    for part in (record, record.get("data", {})):  # all labels: "all" (written before: "0" or, in data, 0)
        if "labels_per_class" in part:
            part["labels_per_class"] = count_text(config_lib.label_count(part["labels_per_class"]))
    record["data"] = {k: v for k, v in record.get("data", {}).items() if not k.startswith("test")}
    for part in ("settings", "config"):
        for name in _RESUMABLE + ("percepts_test_dir",):
            record.get(part, {}).pop(name, None)
    for name in config_lib.FINETUNE_UNREAD:  # fields of the Config no classifier reads
        record.get("config", {}).pop(name, None)
    return record


def _differences(saved, now, prefix=""):
    """'--flag: saved in the log_dir, now now' (or 'data.key: ...' for what is no flag) for every
    leaf that differs, flags first, each once."""
    diffs = []
    for key in sorted(saved.keys() | now.keys(), key=lambda k: (isinstance(saved.get(k), dict), k)):
        old, new = saved.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            diffs += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            name = f"--{key}" if prefix in ("", "settings.", "config.") and key not in ("init", "classes") else (
                prefix + key)
            line = f"{name}: {old!r} in the log_dir, {new!r} now"
            if line not in diffs:
                diffs.append(line)
    return diffs


ACCURACIES = ("clip_top1", "clip_top5", "video_top1", "video_top5")


def _write_eval_scalars(log_dir, metrics, step):
    writer = tf.summary.create_file_writer(rundir.path(log_dir, rundir.EVAL_EVENTS))
    with writer.as_default(step=step):
        for key in ACCURACIES:
            tf.summary.scalar(f"accuracy/{key}", metrics[key])
    writer.flush()
