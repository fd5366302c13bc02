r"""The few-labels study (`python -m video_lstm.experiments.few_labels`, its command): how much does
unsupervised pretraining help when labels are few?

On the labelled Moving MNIST tasks (`pipelines/labelled_moving_mnist.py`:
appearance, which digit; motion, which of 8 directions), for every number of
labels per class and every seed, trains the classifier from each
initialisation: `scratch` (random LSTM), `composite`, `autoencoder` and
`future` (the encoder of a model pretrained with that objective) and the
`single_frame` baseline; the accuracy is clip top-1 on the task's fixed test
set; `random`, a frozen randomly initialised encoder of the same config, shows what
the frozen read-out gives without pretraining. Pretraining runs once per objective (`--pretrain_steps`, into
`<log_dir>/pretrain/<objective>`, resumed like any training run) and serves
every task, seed and label count. A pretrained encoder is frozen by default
(`--freeze_encoder`): its features are computed once per task, and what reads
them is `--frozen_head`: `probe` (the default), the closed-form ridge probe of
`analysis.probe` on the encoder's final `[h, c]` (one solve per row, the
strength by leave-one-out), which measures the representation; or `softmax`, the
classifier's per-step softmax trained `--head_steps` SGD steps on the cached
per-step outputs (with its dropout), which measures that short run as much.

Writes into --log_dir: `few_labels.json` (rows: task, labels_per_class, init,
seed, accuracy; written after every run, and a restarted study skips the rows
it has), `few_labels.md` (mean +- std over seeds), `few_labels.png` (accuracy
against labels per class, log axis, one line per initialisation, shaded spread)
and `study.json` (settings, budgets, wall times). Results never overwrite other
results: study.json records the settings before the first row, and a rerun into
the same --log_dir with other settings (pool, test set, head, pretraining or
fine-tuning flags) is refused by name; other tasks, label counts, seeds or
inits add rows.
"""

import dataclasses
import json
import os
import sys
import time

import numpy as np
from absl import logging

from pipelines import action_datasets, labelled_moving_mnist
from video_lstm import config as config_lib
from video_lstm import flags as flags_lib
from video_lstm.analysis import probe
from video_lstm.core import atomic
from video_lstm.core.settings import EncoderSettings, FewShotSettings, count_text

OBJECTIVES = ("composite", "autoencoder", "future")
# `random`: a frozen, randomly initialised encoder of the pretraining config, read like the pretrained
# ones: what the frozen read-out gives without pretraining.
ENCODER_INITS = ("random",) + OBJECTIVES
INITS = ("scratch",) + ENCODER_INITS + ("single_frame",)
FROZEN_HEADS = ("probe", "softmax")



@dataclasses.dataclass(frozen=True)
class StudySettings(FewShotSettings):
    """The study's own settings: the few-shot read-out (`core.settings.FewShotSettings`: the
    labels per class are its `shots`, drawn `seeds` times from a pool of `pool_size`, tested on
    `test_size`), what runs and its budgets (the classifier's dropout, freezing and encoder
    learning rate are `config.FinetuneSettings`')."""

    tasks: tuple = ("appearance", "motion")
    inits: tuple = INITS
    pretrain_flagfile: str = "configs/few_labels_pretrain.flags"
    pretrain_steps: int = 1500
    finetune_steps: int = 200
    head_steps: int = 500
    finetune_batch_size: int = 16
    finetune_learning_rate: float = 3e-3
    frozen_head: str = "probe"

    def validate(self):
        """Checks every flag without reading any file; returns self."""
        super().validate()
        check_inits(self.inits)
        check_frozen_head(self.frozen_head)
        for task in self.tasks:
            labelled_moving_mnist.class_names(task)
        return self


HELP = {
    "tasks": "Labelled Moving MNIST tasks.",
    "inits": f"Initialisations, of {', '.join(INITS)}.",
    "pretrain_flagfile": "Flagfile of the pretraining runs (video_lstm.train's flags); --model is set per objective.",
    "pretrain_steps": "Training steps of each pretraining objective.",
    "finetune_steps": "Training steps of each fine-tuning run.",
    "head_steps": "Training steps of a frozen encoder's softmax on its cached features (cheap: no encoder pass); "
    "0: --finetune_steps.",
    "finetune_batch_size": "Clips per fine-tuning step.",
    "finetune_learning_rate": "Learning rate of the classifier (its optimizer is the fine-tuning command's).",
    "frozen_head": "What reads a frozen pretrained encoder: probe (the closed-form ridge probe on its final [h, c], "
    "analysis.probe) or softmax (the classifier's per-step softmax, --head_steps SGD steps on cached outputs).",
}


def check_frozen_head(head):
    if head not in FROZEN_HEADS:
        raise ValueError(f"--frozen_head={head}; expected one of {', '.join(FROZEN_HEADS)}")


def check_inits(inits):
    unknown = sorted(set(inits) - set(INITS))
    if unknown or not inits:
        raise ValueError(f"--inits={','.join(inits)}; expected some of {', '.join(INITS)}")


# -- the study ----------------------------------------------------------------


class Study:
    """One study's settings, output files and finished rows.

    Args:
        log_dir: where everything goes.
        pretrain_config: the `Config` of the pretraining runs (its --model is replaced per objective).
        settings: `config.FinetuneSettings` of every fine-tuning run (the seed is replaced).
        tasks, counts, seeds, inits: what to run (counts: ints per class, None for all).
        pool_size, test_size: labelled sequences per task.
        head_steps: SGD steps of a frozen encoder's softmax (`frozen_head="softmax"`).
        frozen_head: "probe" or "softmax" (the module's docstring).
    """

    def __init__(self, log_dir, pretrain_config, settings, tasks, counts, seeds, inits, pool_size, test_size,
                 head_steps=None, frozen_head="probe"):
        check_frozen_head(frozen_head)
        if "random" in inits and not settings.freeze_encoder:
            raise ValueError("--inits=random is a frozen random encoder: it needs --freeze_encoder (unfrozen, it "
                             "is --inits=scratch)")
        self.log_dir, self.pretrain_config, self.settings = log_dir, pretrain_config, settings
        self.tasks, self.counts, self.seeds, self.inits = list(tasks), list(counts), list(seeds), list(inits)
        self.pool_size, self.test_size = pool_size, test_size
        self.head_steps = head_steps or settings.steps
        self.rows_path = os.path.join(log_dir, "few_labels.json")
        self.frozen_head = frozen_head
        self.rows = _read_rows(self.rows_path)
        self.timings = {}
        other = [r for r in self.rows if r["init"] in ENCODER_INITS and r.get("head", "softmax") != self.head_label]
        if other:
            raise ValueError(f"{self.rows_path} holds rows of frozen encoders read by --frozen_head="
                             f"{other[0].get('head', 'softmax')}; this study has --frozen_head={frozen_head} "
                             "--freeze_encoder: use another --log_dir")
        self.check_settings()

    @property
    def study_path(self):
        return os.path.join(self.log_dir, "study.json")

    def settings_record(self):
        """What every row's accuracy depends on besides its own (task, labels, init, seed), as
        JSON gives it back: the pool and test sizes, the head, the pretraining and fine-tuning
        settings. Recorded in study.json before the first row."""
        return json.loads(json.dumps({
            "pool_size": self.pool_size, "test_size": self.test_size, "head_steps": self.head_steps,
            "frozen_head": self.frozen_head if self.frozen else None, "pretrain": self.pretrain_config.to_dict(),
            "finetune": dataclasses.asdict(self.settings)}))

    def check_settings(self):
        """Results never overwrite other results: a --log_dir whose study.json records other settings
        (its rows are of them) is refused by name, rather than skipping rows of other settings as
        done or mixing them into one table. Other --tasks, --shots, --seeds or --inits
        only add rows."""
        try:
            with open(self.study_path) as f:
                earlier = json.load(f)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            raise ValueError(f"{self.study_path} cannot be read ({error}); use another --log_dir") from None
        record = self.settings_record()
        differ = [key for key in record if key in earlier and earlier[key] != record[key]]
        if differ:
            detail = []
            for key in differ:
                if isinstance(record[key], dict) and isinstance(earlier[key], dict):
                    fields = sorted(f for f in set(record[key]) | set(earlier[key])
                                    if record[key].get(f) != earlier[key].get(f))
                    detail.append(f"{key}: {', '.join(fields)}")
                else:
                    detail.append(f"{key}: {earlier[key]} there, {record[key]} here")
            raise ValueError(f"{self.study_path} records a study of other settings ({'; '.join(detail)}): results "
                             "never overwrite other results; use another --log_dir, or that study's settings")

    def run(self):
        started = time.perf_counter()
        os.makedirs(self.log_dir, exist_ok=True)
        if not os.path.exists(self.study_path):  # the settings, before the first row
            atomic.write_json(self.study_path, self.settings_record())
        encoders = {objective: self.pretrain(objective) for objective in OBJECTIVES if objective in self.inits}
        if "random" in self.inits:
            encoders["random"] = probe.random_encoder(self.pretrain_config)
        for task in self.tasks:
            self.run_task(task, encoders)
        self.timings["total_s"] = round(time.perf_counter() - started, 1)
        return self.write_outputs()

    def pretrain(self, objective):
        """The encoder of `objective`'s pretraining run (trained now, resumed, or already done)."""
        # here: keeps Keras out of `import video_lstm.experiments.study`
        from video_lstm.classify import pretrained
        from video_lstm.training import loop

        log_dir = os.path.join(self.log_dir, "pretrain", objective)
        config = config_lib.replace(self.pretrain_config, model=objective)
        started = time.perf_counter()
        loop.train(config, log_dir, verbose=0 if not _tty() else 1)
        self.timings[f"pretrain_{objective}_s"] = round(time.perf_counter() - started, 1)
        logging.info("pretrained %s in %.0f s", objective, self.timings[f"pretrain_{objective}_s"])
        return pretrained.load_encoder(log_dir)[0]

    def run_task(self, task, encoders):
        # here: keeps Keras and TensorFlow out of `import video_lstm.experiments.study`
        from video_lstm.classify import data as data_lib

        started = time.perf_counter()
        config, data_options = self.pretrain_config, self.pretrain_config.data
        data = data_lib.moving_mnist_task(task, self.pool_size, self.test_size, config.input_length,
                                          data_options.frame_size, data_options.step_length, data_options.digits,
                                          data_options.mnist_path)
        all_count = int(min(sum(data.labels == label) for label in range(len(data.classes))))
        counts = sorted({all_count if c is None else c for c in self.counts})
        too_many = [c for c in counts if c > all_count]
        if too_many:
            raise ValueError(f"--shots={too_many[0]} is more than the pool of task {task} holds for its "
                             f"smallest class ({all_count}); raise --pool_size or lower the count")
        for init in self.inits:
            cache = self.cached_features(data, encoders[init]) if init in encoders and self.frozen else None
            for count in counts:
                for seed in self.seeds:
                    if (task, count, init, seed) in self.done:
                        continue
                    accuracy = self.run_one(data, init, count, seed, encoders.get(init), cache)
                    self.add_row(task, count, init, seed, accuracy)
        self.timings[f"task_{task}_s"] = round(time.perf_counter() - started, 1)

    @property
    def frozen(self):
        return self.settings.freeze_encoder

    @property
    def head_label(self):
        """How a pretrained init's rows were read out: the frozen head, or fine-tuning."""
        return self.frozen_head if self.frozen else "finetuned"

    @property
    def done(self):
        return {(r["task"], r["labels_per_class"], r["init"], r["seed"]) for r in self.rows}

    def cached_features(self, data, encoder):
        """(pool features, test features) of a frozen encoder, computed once: its final [h, c]
        (the probe's) or its per-step outputs (the softmax head's)."""
        # here: keeps Keras and TensorFlow out of `import video_lstm.experiments.study`
        from video_lstm.classify import trainer
        from video_lstm.classify.data import as_float

        if self.frozen_head == "probe":
            size = self.settings.eval_batch_size
            test = np.concatenate([probe.encoder_states(encoder, batch, size) for batch in data.test.batches(size)])
            return probe.encoder_states(encoder, data.clips, size), test
        model = trainer.build("pretrained", len(data.classes), data.frame_shape, self.settings, encoder)
        size = self.settings.eval_batch_size
        pool = trainer.features(model, (as_float(data.clips[i : i + size]) for i in range(0, len(data.clips), size)))
        test = trainer.features(model, data.test.batches(size))
        return pool, test

    def run_one(self, data, init, count, seed, encoder, cache):
        """Clip top-1 accuracy of one fine-tuning run."""
        # here: keeps Keras out of `import video_lstm.experiments.study`
        import keras

        # here: keeps Keras out of `import video_lstm.experiments.study`
        from video_lstm.classify import trainer

        keras.utils.clear_session(free_memory=False)
        settings = self.settings.replace(seed=seed)
        kind = "pretrained" if encoder is not None else init
        model = trainer.build(kind, len(data.classes), data.frame_shape, settings, encoder)
        if cache is not None:
            chosen = action_datasets.balanced_indices(data.labels, count, seed, data.classes, len(data.classes))
            if self.frozen_head == "probe":
                predictions, _ = probe.fit_predict(cache[0][chosen], data.labels[chosen], cache[1], len(data.classes))
                probabilities = np.eye(len(data.classes), dtype=np.float32)[predictions]
            else:
                trainer.train_head(model, cache[0][chosen], data.labels[chosen], settings, self.head_steps)
                probabilities = trainer.head_predictions(model, cache[1])
        else:
            subset = data.subset(count, seed)
            model.fit(subset.train_dataset(settings.batch_size, seed), epochs=1, steps_per_epoch=settings.steps,
                      verbose=0)
            probabilities = trainer.clip_predictions(model, data.test, settings.eval_batch_size)
        return trainer.evaluate(probabilities, data.test, data.classes)["clip_top1"]

    def add_row(self, task, count, init, seed, accuracy):
        row = {"task": task, "labels_per_class": int(count), "init": init, "seed": int(seed),
               "accuracy": round(float(accuracy), 4)}
        if init in ENCODER_INITS:
            row["head"] = self.head_label
        self.rows.append(row)
        atomic.write_json(self.rows_path, self.rows)
        self.record_hparams(row)
        logging.info("%s", row)

    def record_hparams(self, row):
        """The row's HParams session (`training.hparams`), in `<log_dir>/hparams/<task>_<init>_<labels>_<seed>`:
        its task, init, labels per class, seed and head beside the study's pool, test and head settings,
        its accuracy as `accuracy/clip_top1`, so that the dashboard sorts the inits side by side."""
        from video_lstm.training import hparams

        name = f"{row['task']}_{row['init']}_{row['labels_per_class']}_{row['seed']}"
        settings = {**{k: v for k, v in row.items() if k != "accuracy"}, "pool_size": self.pool_size,
                    "test_size": self.test_size, "head_steps": self.head_steps}
        hparams.record(os.path.join(self.log_dir, hparams.FOLDER, name), settings,
                       {"accuracy/clip_top1": row["accuracy"]})

    def write_outputs(self):
        """few_labels.md, few_labels.png and study.json; returns the table's text."""
        table = format_table(self.rows, self.inits)
        atomic.write_text(os.path.join(self.log_dir, "few_labels.md"), table)
        plot(self.rows, self.inits, os.path.join(self.log_dir, "few_labels.png"))
        atomic.write_json(self.study_path, {
            "tasks": self.tasks, "labels_per_class": [str(count_text(c)) for c in self.counts], "seeds": self.seeds,
            "inits": self.inits, **self.settings_record(),
            "timings_s": self.timings, "accuracy": "clip top-1 on the task's fixed test set",
        })
        return table


def _read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)


def _tty():
    return sys.stdout.isatty()


# -- table and plot ------------------------------------------------------------


def summarize(rows):
    """{(task, init, labels_per_class): (mean, std, n)} over seeds."""
    groups = {}
    for row in rows:
        groups.setdefault((row["task"], row["init"], row["labels_per_class"]), []).append(row["accuracy"])
    return {key: (float(np.mean(v)), float(np.std(v)), len(v)) for key, v in groups.items()}


def format_table(rows, inits):
    """Markdown: one table per task, a row per initialisation, a column per label count;
    cells are mean +- std of test accuracy (%) over seeds."""
    stats = summarize(rows)
    lines = []
    for task in sorted({r["task"] for r in rows}):
        counts = sorted({r["labels_per_class"] for r in rows if r["task"] == task})
        seeds = max(n for (t, _, _), (_, _, n) in stats.items() if t == task)
        lines += [f"**{task}** (clip top-1 test accuracy, %, mean ± std over {seeds} seeds)", "",
                  "| init | " + " | ".join(f"{c}/class" for c in counts) + " |",
                  "|---|" + "---|" * len(counts)]
        for init in inits:
            cells = []
            for count in counts:
                found = stats.get((task, init, count))
                cells.append(f"{100 * found[0]:.1f} ± {100 * found[1]:.1f}" if found else "")
            lines.append(f"| {init} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(rows, inits, path):
    """Accuracy against labels per class (log axis), one panel per task, one line per
    initialisation with the mean over seeds and a shaded +-1 std band."""
    # here: keeps matplotlib out of `import video_lstm.experiments.study`
    import matplotlib

    matplotlib.use("Agg")
    # here: keeps matplotlib out of `import video_lstm.experiments.study`
    from matplotlib import pyplot as plt

    stats = summarize(rows)
    tasks = sorted({r["task"] for r in rows})
    figure, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4.2), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        for init in inits:
            counts = sorted(c for (t, i, c) in stats if t == task and i == init)
            if not counts:
                continue
            mean = np.array([stats[(task, init, c)][0] for c in counts]) * 100
            std = np.array([stats[(task, init, c)][1] for c in counts]) * 100
            (line,) = axis.plot(counts, mean, marker="o", label=init)
            axis.fill_between(counts, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        axis.set_xscale("log")
        axis.set_xlabel("labelled sequences per class")
        axis.set_ylabel("test accuracy (%)")
        axis.set_title(f"Moving MNIST, {task} task")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(title="initialisation", fontsize=8)
    figure.tight_layout()
    with atomic.path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return path


# -- from the command's settings ------------------------------------------------------


def study_of(log_dir, study, classifier):
    """The `Study` of `python -m video_lstm.experiments.few_labels`'s settings (`StudySettings`, and
    `classifier`: the `FinetuneSettings` of its flags); reads the pretraining flagfile."""
    pretrain = flags_lib.config_from_flagfile(study.pretrain_flagfile, f"--steps={study.pretrain_steps}")
    if pretrain.dataset != "moving_mnist" or pretrain.data.num_digits != 1:
        digits = getattr(pretrain.data, "num_digits", None)
        raise ValueError(f"--pretrain_flagfile={study.pretrain_flagfile}: the labelled tasks are one-digit Moving "
                         f"MNIST; it has --dataset={pretrain.dataset} --num_digits={digits}")
    # The encoder of the pretraining runs; the rest as the fine-tuning command builds it.
    settings = classifier.replace(**{f.name: getattr(pretrain, f.name) for f in dataclasses.fields(EncoderSettings)})
    return Study(log_dir, pretrain, settings, study.tasks, study.shot_counts(), range(study.seeds), study.inits,
                 study.pool_size, study.test_size, study.head_steps, study.frozen_head)


def classifier_settings(study, own):
    """The classifier's `FinetuneSettings` of the study's budget and learning rate and `own` (the
    classifier flags), every other field at the shared default (the encoder's: `study_of`)."""
    return config_lib.FinetuneSettings(**own, learning_rate=study.finetune_learning_rate,
                                       batch_size=study.finetune_batch_size, steps=study.finetune_steps)
