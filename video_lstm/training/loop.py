"""Training: `train_and_evaluate(config, log_dir)`.

`setup` checks the log_dir and the data and restores or creates the model;
`fit` is one `model.fit` call whose epochs are checkpoint intervals. Every
data source's batch i is a pure function of (seed, i), so a restarted job
reads exactly the batches it would have read, and resuming is the same code
path as starting. Where TensorFlow is not importable, the same code trains
Moving MNIST from NumPy batches and checkpoints as `.weights.h5`
(`sources.training_inputs`, `checkpoint`).

The model and optimizer live under `config.strategy`'s scope
(`distribute.py`); only the chief takes the log_dir's lock (`lock.py`) and
writes into it. SIGTERM saves a checkpoint and stops (`TrainingStopped`).
"""

import dataclasses
import gc
import math
import os
import sys

import keras
from absl import logging

from pipelines import sources
from video_lstm import config as config_lib
from video_lstm import optimizers, rundir
from video_lstm.analysis import evaluation
from video_lstm.core import backend, cluster, cpu
from video_lstm.core import lock as lock_lib
from video_lstm.core.settings import FitSettings
from video_lstm.training import callbacks as callbacks_lib
from video_lstm.training import distribute, evaluation_curve, hparams, probe_callback, summaries

# -- model --------------------------------------------------------------------


def new_model(config, sample_inputs):
    """A built, compiled model for `config`."""
    return rundir.new_model(config, sample_inputs, jit_compile=distribute.jit_compile(config.jit_compile))


def restore_or_create(config, log_dir, sample_inputs, changes=None):
    """(step, model): the newest checkpoint in log_dir, or a fresh model at 0.

    `changes` ({field: (saved, current)}, `config.resume_changes`): a resume that changes
    the learning rate or clip norm gets the optimizer `config` describes, with the restored
    one's state.
    """
    if rundir.latest(log_dir) is None:
        return 0, new_model(config, sample_inputs)
    step, path, model = rundir.load_latest_with_path(log_dir, config)
    optimizer = model.optimizer
    if set(changes or ()) & set(config_lib.OPTIMIZER_OVERRIDES):
        optimizer = optimizers.carry_state(optimizer, optimizers.make_optimizer(config), model.trainable_variables)
        logging.info("Resuming with %s", ", ".join(
            f"--{k}={new} (was {old})" for k, (old, new) in sorted(changes.items())
            if k in config_lib.OPTIMIZER_OVERRIDES))
    # Recompile to apply this run's jit setting; the optimizer's restored state is kept.
    model.compile(optimizer=optimizer, jit_compile=distribute.jit_compile(config.jit_compile))
    logging.info("Resuming from %s (step %d)", path, step)
    return step, model


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
    strategy: object = None  # the tf.distribute.Strategy the model lives under
    chief: bool = True  # whether this task writes into log_dir
    stop_on_signal: callbacks_lib.StopOnSignal = None
    probe: object = None  # the `training.probe_callback.ProbeCallback` of --probe_every, if any
    probe_data: object = None  # config -> labelled clips of a video run, for that probe
    evaluation_curve: object = None  # the `evaluation_curve.EvaluationCurve` of --eval_every, if any
    fit_settings: FitSettings = None  # a classifier's (`FinetuneSettings.fit`): it has no training Config

    @property
    def fit(self):
        """What the fit loop reads (`core.settings.FitSettings`): `fit_settings` where given, else
        the training config's, read when asked (a config replaced later is followed)."""
        return self.fit_settings if self.fit_settings is not None else self.config.fit


def resolve_precision(config, log_dir):
    """`config` with --precision=auto decided: a resumed run keeps the precision its config.json
    records; a new one takes `cpu.auto_precision()` (mixed_bfloat16 only where this CPU's
    bfloat16 matmuls measure 1.3x its float32 ones), logged with the CPU's line."""
    if config.precision != "auto":
        return config
    saved = rundir.load_config_if_any(log_dir)
    if saved is not None:
        return config_lib.replace(config, precision=saved.precision)
    found = cpu.features()
    precision = cpu.auto_precision(found)
    logging.info("--precision=auto: %s on %s", precision, cpu.describe(found))
    return config_lib.replace(config, precision=precision)


def setup(config, log_dir, probe_data=None):
    """Takes the log_dir's lock (the chief), checks the log_dir, the resume and the data,
    and restores or creates the model under the strategy's scope.

    Everything that can fail on bad input fails here, before any training, and then leaves
    the log_dir as it was: a log_dir made here is removed, the lock released, and nothing is
    recorded until every check has passed.

    Raises:
        lock.FolderLockedError: another live job holds log_dir.
        ValueError, OSError: bad input (a resume with other settings or data, an unusable
            log_dir, data that cannot be read), one line each.
    """
    if config.probe_every and config.dataset != "moving_mnist" and probe_data is None:
        raise ValueError(f"--probe_every with --dataset={config.dataset} needs the run's labelled videos "
                         "(probe_data); python -m video_lstm.train passes them")
    chief = config.strategy != "multi_worker" or cluster.is_chief()
    config = resolve_precision(config, log_dir)
    created = False
    if chief:
        rundir.check_writable(log_dir)
        created = not os.path.exists(log_dir)
        lock_lib.acquire(log_dir)
    stop_on_signal = None
    try:
        saved, changes = rundir.check_resume(log_dir, config) if chief else (None, {})
        strategy = distribute.make_strategy(config.strategy, COLLECTIVE_TIMEOUT_S)
        # After the strategy: a multi-worker one's start-up installs TensorFlow's own SIGTERM handler.
        stop_on_signal = callbacks_lib.StopOnSignal()
        distribute.per_replica_batch(config.batch_size, strategy)  # refuse a batch that does not divide
        source = sources.build(config)
        source.check()
        description = source.describe()
        if chief:
            rundir.check_same_data(log_dir, description)
        sample_inputs = source.sample_inputs(count=3)
        with strategy.scope():
            step, model = restore_or_create(config, log_dir, sample_inputs, changes)
        distribute.prepare_model(model, strategy)
        if chief:
            rundir.record_run(log_dir, config, saved, changes, step)
            rundir.record_data(log_dir, description)
    except BaseException:
        if stop_on_signal is not None:
            stop_on_signal.restore()
        if chief:
            lock_lib.release(log_dir)
            if created:
                rundir.remove_new(log_dir)
        raise
    if distribute.is_multi_worker(strategy):
        stop_on_signal.agree = distribute.any_worker(strategy)
    return Run(config, log_dir, model, step, source, sample_inputs, strategy, chief, stop_on_signal,
               probe_data=probe_data)


# None: TensorFlow 2.21 starts (and keeps) a thread per collective op that has a
# timeout, about 14 a step, until thread creation fails after some thousand
# steps. A dead peer still fails the others' next step (its connection is refused).
COLLECTIVE_TIMEOUT_S = None


def fit(run, verbose=None, callbacks=()):
    """Trains `run.model` from `run.step` to `run.fit.steps`; returns the final step.

    One `fit` call whose epochs are checkpoint intervals: Keras shows progress
    per interval, a callback saves a checkpoint at each interval's end and
    another stops at exactly `config.steps`. Only the chief writes TensorBoard
    and checkpoints.

    Raises:
        callbacks.TrainingStopped: SIGTERM arrived; the step it stopped at is saved.
    """
    log_dir, model = run.log_dir, run.model
    stop_on_signal = run.stop_on_signal or callbacks_lib.StopOnSignal()
    decoded = getattr(run.source, "decoded", dict)
    before = decoded()
    try:
        if run.step < run.fit.steps and not stop_on_signal.received:
            _fit(run, stop_on_signal, verbose, callbacks)
    finally:
        stop_on_signal.restore()
        release_input_pipeline()
        log_decoded(before, decoded())
    run.step = callbacks_lib.global_step(model)
    if stop_on_signal.received:
        saved = rundir.latest(log_dir) if run.chief else None
        where = f"; saved {saved[1]}" if saved and saved[0] == run.step else ""
        raise callbacks_lib.TrainingStopped(f"{stop_on_signal.received}: training stopped at step {run.step}{where}")
    return run.step


def log_decoded(before, after):
    """One line: what this process read or decoded for training (a video or percept source:
    under --strategy=multi_worker, each worker only its rows of every batch)."""
    counts = {name: after[name] - before.get(name, 0) for name in after}
    if any(counts.values()):
        logging.info("This worker decoded for training: %s",
                     ", ".join(f"{count} {name}" for name, count in sorted(counts.items())))


def release_input_pipeline():
    """Frees the training stream's tf.data iterator now, while the interpreter runs.

    An iterator whose Python stages (`tf.numpy_function`, `tf.py_function`: video decoding,
    inline percepts) are busy when it is freed at interpreter exit waits for them forever (they
    need the interpreter, which is finalizing): the process never ends. Freed here, they finish.
    Keras' epoch iterator is only reachable through reference cycles after `fit`, so collect them.
    """
    gc.collect()


def _fit(run, stop_on_signal, verbose, extra_callbacks=()):
    settings, log_dir = run.fit, run.log_dir
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    callbacks = [callbacks_lib.NanGuard(log_dir), callbacks_lib.StopAtStep(settings.steps), stop_on_signal]
    summaries = None
    if run.chief:
        summaries = callbacks_lib.TensorBoardSummaries(
            log_dir, run.sample_inputs, settings.batch_size, settings.log_every, settings.image_every
        )
        callbacks.append(summaries)
        if settings.probe_every:  # a training run's (a classifier has none)
            run.probe = probe_callback.ProbeCallback(run.config, settings.probe_every, writer=summaries.writer,
                                                     source_data=run.probe_data)
            callbacks.append(run.probe)
        if settings.eval_every:  # a training run's (a classifier has none)
            run.evaluation_curve = evaluation_curve.EvaluationCurve(
                run.config, settings.eval_every, run.config.eval_every_sequences, writer=summaries.writer,
                last_step=settings.steps)
            callbacks.append(run.evaluation_curve)
        callbacks += [
            # Last, so it saves only after the others have passed the step. Without
            # TensorFlow: .weights.h5 (see video_lstm.rundir).
            callbacks_lib.Checkpointer(
                log_dir, settings.keep_checkpoints, weights_only=not backend.tensorflow_available()
            ),
        ]
    callbacks += list(extra_callbacks)
    strategy = run.strategy or distribute.make_strategy("default")
    # tf.data (distributed over the strategy's replicas), or where TensorFlow is
    # not importable, NumPy batches (sources.training_inputs).
    # An epoch is a checkpoint interval (no longer than the run, so that progress reads
    # n/steps, not n/checkpoint_every, on a short run).
    interval = min(settings.checkpoint_every, settings.steps)
    set_steps_per_execution(run.model, steps_per_execution(settings, run.step, strategy))
    try:
        epochs = -(-settings.steps // interval)
        # Keras would make this list itself; ours hands the logs over unconverted (see it).
        callbacks = callbacks_lib.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                               verbose=verbose, epochs=epochs, steps=interval, model=run.model)
        with distribute.training_inputs(strategy, run.source, run.step) as inputs:
            run.model.fit(
                inputs,
                initial_epoch=run.step // interval,
                epochs=epochs,
                steps_per_epoch=interval,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # each batch is freshly generated; nothing to shuffle
            )
        if summaries is not None and not stop_on_signal.received:
            summaries.write_rollout(callbacks_lib.global_step(run.model))  # the end of training
    finally:
        if summaries is not None:
            summaries.close()  # what was handed to its writer's thread is on disk, however fit ended


def steps_per_execution(settings, start_step, strategy=None):
    """--steps_per_execution lowered to the largest k that divides it, --steps, the checkpoint
    interval, --log_every, --image_every, --probe_every, --eval_every and the step the run starts from.

    Keras runs k steps per call and calls the callbacks after each call, so with k dividing
    all of them every checkpoint, scalar, picture and the last step still falls on a batch
    end, and a run trains the steps it would train with k = 1, checkpointed at the same
    steps (`settings`: `core.settings.FitSettings`). A classifier's (its default 1) runs one step
    per call, and so does a
    `strategy` of several replicas or workers: Keras 3.15's loop of k steps (a tf.while_loop
    of tf.conds around the step) fails there ("You must feed a value for placeholder tensor
    .../while/cond/Placeholder"), under mirrored as under multi_worker.
    """
    requested = settings.steps_per_execution
    if strategy is not None and not distribute.is_default(strategy):
        if requested > 1:
            logging.info("Training runs 1 step per call under --strategy=%s (--steps_per_execution=%d is for "
                         "one device)", settings.strategy, requested)
        return 1
    intervals = (settings.steps, min(settings.checkpoint_every, settings.steps), settings.log_every,
                 settings.image_every, settings.probe_every, settings.eval_every, start_step)
    chosen = math.gcd(requested, *intervals)
    if chosen != requested:
        logging.info("Training runs %d steps per call (--steps_per_execution=%d, lowered to divide --steps, the "
                     "bookkeeping intervals and the start step %d)", chosen, requested, start_step)
    return chosen


def set_steps_per_execution(model, steps):
    """Makes `model.fit` run `steps` steps per call (its train function rebuilt if that changes)."""
    if model.steps_per_execution != steps:
        model.steps_per_execution = steps
        model.train_function = None


def train(config, log_dir, verbose=None, probe_data=None, callbacks=()):
    """Trains (or resumes) until `config.steps`; returns (model, step) (`probe_data`: see
    `train_and_evaluate`; `callbacks`: Keras callbacks to run after the trainer's own)."""
    run = setup(config, log_dir, probe_data)
    try:
        fit(run, verbose, callbacks)
    finally:
        record_skipped(run)
        lock_lib.release(log_dir)
    return run.model, run.step


def train_and_evaluate(config, log_dir, verbose=None, probe_data=None):
    """Trains, then evaluates on the test set; returns the metrics dict
    (None on a worker other than the chief, which evaluates).

    `probe_data`: for --probe_every on a video or percept run, `config -> labelled clips`
    (`classify.data.run_labelled_data`, which the entry point passes: classification sits
    beside training, not below it).

    Raises callbacks.NonFiniteLossError if the loss stops being finite, and
    callbacks.TrainingStopped on SIGTERM.
    """
    run = setup(config, log_dir, probe_data)
    try:
        fit(run, verbose)
        if not run.chief:
            return None
        probed = run.probe.record() if run.probe is not None and run.probe.evaluations else None
        # The final evaluation's eval/* end the --eval_every curves, at the last step.
        result = evaluation.evaluate(evaluation_model(run), run.config, log_dir, run.step, source=run.source,
                                     verbose=verbose, extra=probed, events=final_events(log_dir))
        record_hparams(run, result)
        return result
    finally:
        record_skipped(run)
        lock_lib.release(log_dir)


def final_events(log_dir):
    """`result -> None`: the final evaluation's eval/* into the run's own events (`train/`), at its
    last step, where the --eval_every curves end."""
    return lambda result: evaluation.write_events(summaries.writer(rundir.path(log_dir, rundir.TRAIN_EVENTS)),
                                                  result)


def record_hparams(run, result):
    """The run's HParams session (`training.hparams`, in `<log_dir>/hparams`): its config.json's
    settings, its final evaluation's eval/* and its last probe figures, at its last step."""
    probed = run.probe.last if run.probe is not None else {}
    hparams.record(rundir.path(run.log_dir, hparams.FOLDER), run.config.to_dict(),
                   {**evaluation.scalars(result), **probed}, run.step)


def record_skipped(run):
    """Adds to data.json the videos the source found unusable while training or evaluating
    (undecodable, shorter than a clip: `skipped_videos`) or that decoded partly (a damaged or
    truncated file: `partial_videos`, `video_decode.DecodeStatus` records), so that the record
    says what was read."""
    found = {}
    for key, name in (("skipped_videos", "skipped"), ("partial_videos", "partial")):
        method = getattr(run.source, name, None)
        found[key] = method() if method is not None else {}
    if not run.chief or not any(found.values()):
        return
    description = rundir.data_description(run.log_dir)
    for key, videos in found.items():
        if videos:
            description = {**description, key: {**description.get(key, {}), **videos}}
    rundir.write_json(run.log_dir, rundir.DATA, description)


def evaluation_model(run):
    """The trained model, for evaluation on the chief alone: across workers,
    its newest checkpoint loaded outside the strategy (whose calls would wait
    for the other workers)."""
    if not distribute.is_multi_worker(run.strategy):
        return run.model
    return rundir.load_latest(run.log_dir, run.config, compile=False)[1]
