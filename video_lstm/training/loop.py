"""Training: `train_and_evaluate(config, log_dir)`.

`setup` checks the log_dir and the data and restores or creates the model;
`fit` is one `model.fit` call whose epochs are checkpoint intervals. Every
data source's batch i is a pure function of (seed, i), so a restarted job
reads exactly the batches it would have read, and resuming is the same code
path as starting. Where TensorFlow is not importable, the same code trains
Moving MNIST from NumPy batches and checkpoints as `.weights.h5`
(`sources.training_inputs`, `checkpoint`).
"""

import dataclasses
import os
import sys

import keras
from absl import logging

from pipelines import sources
from video_lstm import atomic
from video_lstm import config as config_lib
from video_lstm.analysis import evaluation
from video_lstm.training import callbacks as callbacks_lib
from video_lstm.training import checkpoint

# -- model --------------------------------------------------------------------


def new_model(config, sample_inputs):
    """A built, compiled model for `config`."""
    return checkpoint.new_model(config, sample_inputs)


def restore_or_create(config, log_dir, sample_inputs):
    """(step, model): the newest checkpoint in log_dir, or a fresh model at 0."""
    found = checkpoint.latest(log_dir)
    if found is None:
        return 0, new_model(config, sample_inputs)
    step, path = found
    model = checkpoint.load(path)
    # Recompile to apply this run's jit setting; the optimizer object, with
    # its restored state, is kept.
    model.compile(optimizer=model.optimizer, jit_compile=config.jit_compile)
    logging.info("Resuming from %s (step %d)", path, step)
    return step, model


def prepare_log_dir(config, log_dir):
    """Checks a log_dir's earlier config against this one, then records this one."""
    os.makedirs(log_dir, exist_ok=True)
    path = os.path.join(log_dir, "config.json")
    if os.path.exists(path):
        config_lib.check_same_model(config_lib.load(log_dir), config, log_dir)
    atomic.write_json(path, config.to_dict())


# -- train loop ---------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """What a training run needs once its inputs are checked."""

    config: config_lib.Config
    log_dir: str
    model: keras.Model
    step: int
    source: sources.DataSource
    sample_inputs: dict


def setup(config, log_dir):
    """Checks the log_dir and the data, and restores or creates the model.

    Everything that can fail on bad input fails here, before any training.
    """
    prepare_log_dir(config, log_dir)
    source = sources.build(config)
    atomic.write_json(os.path.join(log_dir, "data.json"), source.describe())
    sample_inputs = source.sample_inputs(count=3)
    step, model = restore_or_create(config, log_dir, sample_inputs)
    return Run(config, log_dir, model, step, source, sample_inputs)


def fit(run, verbose=None):
    """Trains `run.model` from `run.step` to `config.steps`; returns the final step.

    One `fit` call whose epochs are checkpoint intervals: Keras shows progress
    per interval, a callback saves a checkpoint at each interval's end and
    another stops at exactly `config.steps`.
    """
    config, log_dir, model = run.config, run.log_dir, run.model
    if run.step >= config.steps:
        return run.step
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    callbacks = [
        callbacks_lib.NanGuard(log_dir),
        callbacks_lib.StopAtStep(config.steps),
        callbacks_lib.TensorBoardSummaries(
            log_dir, run.sample_inputs, config.batch_size, config.log_every, config.image_every
        ),
        # Last, so it saves only after the others have passed the step. Without
        # TensorFlow: .weights.h5 (see training.checkpoint).
        callbacks_lib.Checkpointer(
            log_dir, config.keep_checkpoints, weights_only=not sources.tensorflow_available()
        ),
    ]
    # tf.data, or where TensorFlow is not importable, NumPy batches (sources.training_inputs).
    with run.source.training_inputs(start_step=run.step) as inputs:
        model.fit(
            inputs,
            initial_epoch=run.step // config.checkpoint_every,
            epochs=-(-config.steps // config.checkpoint_every),
            steps_per_epoch=config.checkpoint_every,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # each batch is freshly generated; nothing to shuffle
        )
    run.step = callbacks_lib.global_step(model)
    return run.step


def train(config, log_dir, verbose=None):
    """Trains (or resumes) until `config.steps`; returns (model, step)."""
    run = setup(config, log_dir)
    fit(run, verbose)
    return run.model, run.step


def train_and_evaluate(config, log_dir, verbose=None):
    """Trains, then evaluates on the test set; returns the metrics dict.

    Raises callbacks.NonFiniteLossError if the loss stops being finite.
    """
    run = setup(config, log_dir)
    fit(run, verbose)
    return evaluation.evaluate(run.model, config, log_dir, run.step, source=run.source, verbose=verbose)
