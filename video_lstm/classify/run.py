"""One fine-tuning command: data, classifiers, training, evaluation (`python -m video_lstm.finetune`).

`FinetuneRun` checks everything that can be wrong with its input before any
training: the pretrained encoder (it must read what the data gives), the
labels (inside the class list), the labelled subset (no class short of it, no
empty class) and the split (no absent video). Then each initialisation in
`inits` trains into `<log_dir>/<init>/` (resuming from its newest checkpoint)
and is evaluated there: `metrics.json` (clip and video top-1 / top-5,
per-class accuracy, confusion matrix), `confusion.png`, TensorBoard scalars.
`<log_dir>/summary.json` gathers the accuracies of every initialisation.
"""

import dataclasses
import os

from video_lstm import rundir
from video_lstm.classify import data as data_lib
from video_lstm.classify import pretrained, trainer


def load_data(config, options):
    """The labelled data `config.dataset` names (Moving MNIST tasks, videos or percepts)."""
    if config.dataset == "moving_mnist":
        data = config.data
        if data.num_digits != 1:
            raise ValueError(f"the labelled Moving MNIST tasks have one digit per sequence; got --num_digits="
                             f"{data.num_digits}")
        full = data_lib.moving_mnist_task(options.task, options.pool_size, options.test_size, config.input_length,
                                          data.frame_size, data.step_length, data.digits, data.mnist_path)
        return full.subset(options.label_count, config.seed) if options.label_count else full
    if config.dataset == "percepts":
        return data_lib.percept_data(config, options.label_count or 0, config.seed, options.stride)
    return data_lib.video_data(config, options.label_count or 0, config.seed, options.stride, options.missing)


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
        self.config, self.options, self.settings, self.log_dir = config, options, settings, log_dir
        self.encoder, self.pretrained_info = None, {}
        if "pretrained" in options.inits:
            self.encoder, frame_shape, self.pretrained_info = pretrained.load_encoder(options.pretrained)
        self.data = load_data(config, options)
        if self.encoder is not None:
            pretrained.check_fits(frame_shape, self.data.frame_shape, options.pretrained,
                                  f"--dataset={config.dataset} ({config.input_spec.origin})")

    def describe(self, init):
        return {"init": init, "classes": self.data.classes, "frame_shape": list(self.data.frame_shape),
                "clip_length": self.config.input_length, "stride": self.options.stride,
                "settings": dataclasses.asdict(self.settings), "data": self.data.info,
                "config": self.config.to_dict(), **(self.pretrained_info if init == "pretrained" else {})}

    def run(self, verbose=None):
        """Trains and evaluates every init under `--strategy`, holding the log_dir's lock
        (the chief; other workers of a multi-worker run write nothing); returns {init: metrics}."""
        from video_lstm.core import cluster
        from video_lstm.training import distribute
        from video_lstm.training import lock as lock_lib

        self.chief = self.config.strategy != "multi_worker" or cluster.is_chief()
        if self.chief:
            lock_lib.acquire(self.log_dir)
        try:
            self.strategy = distribute.make_strategy(self.config.strategy)
            distribute.per_replica_batch(self.settings.batch_size, self.strategy)
            summary = {init: self.run_init(init, verbose) for init in self.options.inits}
        finally:
            lock_lib.release(self.log_dir)
        if not self.chief:
            return summary
        keys = ("clip_top1", "clip_top5", "video_top1", "video_top5")
        rundir.write_json(self.log_dir, rundir.SUMMARY,
                          {init: {k: m[k] for k in keys} for init, m in summary.items()})
        return summary

    def run_init(self, init, verbose=None):
        log_dir = os.path.join(self.log_dir, init)
        os.makedirs(log_dir, exist_ok=True)
        description = self.describe(init)
        _check_same_run(log_dir, description)
        rundir.write_json(log_dir, rundir.FINETUNE, description)
        build = lambda: trainer.build(init, len(self.data.classes), self.data.frame_shape,  # noqa: E731
                                       self.settings, self.encoder if init == "pretrained" else None)
        from video_lstm.training import distribute

        with self.strategy.scope():
            step, model = trainer.restore_or_build(log_dir, build)
        distribute.prepare_model(model, self.strategy)
        step = trainer.fit(model, self.data, self.settings, log_dir, step, verbose, self.strategy, self.chief)
        probabilities = trainer.clip_predictions(model, self.data.test, self.settings.eval_batch_size)
        metrics = trainer.evaluate(probabilities, self.data.test, self.data.classes, log_dir,
                                    {"init": init, "step": step})
        _write_eval_scalars(log_dir, metrics, step)
        return metrics


def _check_same_run(log_dir, description):
    """A log_dir of another classifier (init, classes, inputs, pretrained encoder) is refused."""
    saved = rundir.read_json(log_dir, rundir.FINETUNE)
    if saved is None:
        return
    keys = ("init", "classes", "frame_shape", "pretrained")
    diffs = [key for key in keys if saved.get(key) != description.get(key)]
    if diffs:
        raise ValueError(f"{log_dir} holds a classifier with another {', '.join(diffs)} "
                         f"({', '.join(f'{k}: {saved.get(k)!r}' for k in diffs)}); use a new --log_dir")


def _write_eval_scalars(log_dir, metrics, step):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(rundir.path(log_dir, rundir.EVAL_EVENTS))
    with writer.as_default(step=step):
        for key in ("clip_top1", "clip_top5", "video_top1", "video_top5"):
            tf.summary.scalar(f"accuracy/{key}", metrics[key])
    writer.flush()
