"""Evaluation on a run's fixed test set: `evaluate(model, config, log_dir, step)`.

Decoders run free (each conditional decoder feeds back its own output), as at
test time in the paper. Results belong to their test set: the run's own
evaluation (its config's test set and `eval_sequences`) is
`<log_dir>/metrics.json` and `samples.png`; any other one (another
`--test_set`, a smaller `--eval_sequences`) goes to
`metrics_<test set>_<sequences>.json` and `samples_<test set>_<sequences>.png`
beside it, so no evaluation overwrites a different one. `<sequences>` is the
number evaluated (a test set may hold fewer than `--eval_sequences`), which
the file's `num_sequences` repeats. The metrics and samples of one evaluation
are renamed into place together, after both are written: a failed write (a full
disk) leaves the previous pair as it was.
"""

import contextlib
import sys

import keras
import numpy as np

from pipelines import sources
from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.analysis import figures
from video_lstm.analysis.frame_metrics import FrameMetrics
from video_lstm.core import atomic

EVAL_BATCH_SIZE = 50


def evaluate(model, config, log_dir=None, step=None, batch_size=EVAL_BATCH_SIZE, verbose=None, source=None,
             run_config=None, write=True, extra=None, events=None):
    """Metrics of `model` on the test set described by `config`.

    Args:
        log_dir: where to write the metrics and samples (None: nothing written).
        source: the run's `pipelines.sources.DataSource` (built from config if None).
        run_config: the `Config` the run in log_dir trained (default: its config.json),
            which tells whether this is the run's own evaluation.
        write: False: computed only; `write_results` writes them later (a command
            that prints the results first, so that a failed write loses nothing).
        extra: more values for the record (the training's last probe accuracies).
        events: `result -> None`, called once the files are written (TensorBoard: `write_events`
            through the caller's writer, into `events_folder` or the run's own events); None: none.
        verbose: 0 silent, 1 progress bar, 2 one line at the end; None picks
            1 on a terminal, else 2.

    Returns:
        dict: the headline metrics of the future decoder (of the
        reconstruction decoder for an autoencoder) at the top level,
        `cross_entropy_per_frame`, `mse_per_frame`, `mae_per_frame`,
        `mse_per_pixel`, `ssim`, `num_sequences`, `by_frame`; the other
        decoder's under `reconstruction`; and `step`, `test_set`, the test
        set's own record (Moving MNIST: `test_digits`), and `train_digits`
        (what the run trained on, from `data.json`).
    """
    source = source or sources.build(config)
    test = source.test_set()
    result = measure(model, source, config, test.clips, batch_size, verbose)
    result.update(
        step=step,
        model=config.model,
        precision=config.precision,
        train_digits=rundir.data_description(log_dir).get("train_digits"),
        test_set=test.name,
        **test.info,
        **(extra or {}),
    )
    if log_dir:
        metrics_name, samples_name = _names(config, source, len(test.clips),
                                            run_config or rundir.load_config_if_any(log_dir))
        result["written"] = metrics_name
        pictures = source.split(test.clips[:4]) if source.input_spec.kind == "frames" else None
        result["_write"] = lambda: _write(log_dir, metrics_name, samples_name, result, model, pictures, events)
        if write:
            write_results(result)
    return result


def write_results(result):
    """Writes what `evaluate(..., write=False)` computed; returns the metrics file's name."""
    result.pop("_write")()
    return result["written"]


def _write(log_dir, metrics_name, samples_name, result, model, pictures, events=None):
    """The metrics JSON and the samples PNG, each written to a temporary and renamed into place
    only once both are complete; then `events(result)`, if given."""
    record = {key: value for key, value in result.items() if not key.startswith("_") and key != "written"}
    with contextlib.ExitStack() as stack:
        if pictures is not None:  # feature vectors (percepts) have no picture
            samples = stack.enter_context(atomic.path(rundir.path(log_dir, samples_name)))
            figures.write_samples(samples, model, pictures)
        with atomic.path(rundir.path(log_dir, metrics_name)) as metrics:
            atomic.write_json(metrics, record)
    if events is not None:
        events(result)


def events_folder(log_dir, result):
    """`<log_dir>/eval_<test set>_<sequences>`: the TensorBoard folder of an evaluation by
    `python -m video_lstm.evaluate`, named by its test set."""
    return rundir.path(log_dir, f"eval_{result['test_set']}_{result['num_sequences']}")


def write_events(writer, result, step=None, curve=True):
    """`result`'s `scalars` at `step` (default its own) through `writer` (a `training.summaries`
    writer), and with `curve`, the per-future-frame curve (`by_frame_scalars`)."""
    step = result.get("step") if step is None else step
    writer.scalars(step or 0, scalars(result))
    if curve:
        for frame, values in by_frame_scalars(result).items():
            writer.scalars(frame, values)
    writer.flush()


# What TensorBoard shows of an evaluation (`scalars`), and of its decoders' per-frame results.
SCALARS = ("cross_entropy_per_frame", "mse_per_frame", "mse_per_pixel", "ssim")


def scalars(result):
    """{`eval/<metric>`: value} of an evaluation's result (`measure`'s or `evaluate`'s): the
    headline metrics of its decoder (cross-entropy, absent with --loss=squared_error, MSE per frame
    and per pixel, SSIM), and the reconstruction decoder's beside a future one's
    (`eval/reconstruction/<metric>`). These equal metrics.json's values."""
    values = {f"eval/{name}": result[name] for name in SCALARS if result.get(name) is not None}
    for name in SCALARS:
        if result.get("reconstruction", {}).get(name) is not None:
            values[f"eval/reconstruction/{name}"] = result["reconstruction"][name]
    return values


def by_frame_scalars(result):
    """{frame (1..T): {`eval_by_frame/<decoder>_<metric>`: value}}: the per-frame curve of the
    result's decoder (its x axis: the frame predicted, 1 the first after the input), the
    cross-entropy or, with --loss=squared_error, the squared error per frame."""
    by_frame = result["by_frame"]
    name = "cross_entropy" if by_frame.get("cross_entropy") is not None else "squared_error"
    tag = f"eval_by_frame/{result['decoder']}_{name}"
    return {t + 1: {tag: value} for t, value in enumerate(by_frame[name])}


def measure(model, source, config, clips, batch_size=EVAL_BATCH_SIZE, verbose=None):
    """The metrics of `model` on `clips` of `source` (decoders running free): the future
    decoder's (the reconstruction decoder's for an autoencoder) at the top level, with
    `decoder` naming it, the reconstruction decoder's beside a future one's under
    `reconstruction` (`FrameMetrics.result`). What `evaluate` reports, and what
    `--eval_every` measures on a subset during training."""
    per_decoder = _accumulate(model, source, config, clips, batch_size, verbose)
    primary = "future" if per_decoder["future"].num_sequences else "reconstruction"
    result = {**per_decoder[primary].result(), "decoder": primary}
    if primary == "future" and per_decoder["reconstruction"].num_sequences:
        result["reconstruction"] = per_decoder["reconstruction"].result()
    return result


def _names(config, source, count, run_config):
    """(metrics, samples) file names: the plain ones for the run's own evaluation (its test set
    and, of it, as many sequences as it asks for), else named by test set and `count`."""
    if run_config is not None and not _same_evaluation(config, count, run_config):
        key = f"{source.test_set_name()}_{count}"
        return f"metrics_{key}.json", f"samples_{key}.png"
    return rundir.METRICS, rundir.SAMPLES


def _same_evaluation(config, count, run_config):
    """Whether evaluating `count` sequences of `config`'s test set is the run's own evaluation."""
    fields = config_lib.evaluation_fields(config)
    if any(getattr(config.data, f) != getattr(run_config.data, f) for f in fields if f != "eval_sequences"):
        return False
    if config.eval_sequences == run_config.eval_sequences:
        return True
    # The test set held fewer than asked: the run's own evaluation reads those too if it asks for as many.
    return count < config.eval_sequences and run_config.eval_sequences >= count


def _accumulate(model, source, config, clips, batch_size, verbose):
    """FrameMetrics of each decoder over `clips`, decoders running free."""
    per_decoder = {"future": FrameMetrics(), "reconstruction": FrameMetrics()}
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    progress = keras.utils.Progbar(len(clips), unit_name="sequence", verbose=verbose)
    for inputs in source.test_batches(clips, batch_size):
        outputs = model.predict_on_batch({"frames": inputs["frames"]})
        if "future" in outputs:
            per_decoder["future"].update(inputs["future_frames"], outputs["future"], config.loss)
        if "reconstruction" in outputs:
            target = np.flip(inputs["frames"], axis=1)
            per_decoder["reconstruction"].update(target, outputs["reconstruction"], config.loss)
        progress.add(len(inputs["frames"]))
    return per_decoder


def evaluate_log_dir(log_dir, write=True, events=None, **overrides):
    """Evaluates the newest checkpoint of a training run (see `evaluate` for `write` and `events`).

    Everything that can be checked first is: the log_dir (a run, writable), its config, the
    data (`DataSource.check`), the checkpoint."""
    run_config = rundir.load_config(log_dir)  # read once
    config = config_lib.replace(run_config, **overrides) if overrides else run_config
    rundir.check_writable(log_dir)
    source = sources.build(config)
    source.check()
    step, model = rundir.load_latest(log_dir, run_config, compile=False)
    return evaluate(model, config, log_dir, step, run_config=run_config, source=source, write=write, events=events)


def format_table(result):
    """The headline metrics as an aligned text table."""
    rows = [("decoder", result["decoder"]), ("sequences", result["num_sequences"])]
    names = ("cross_entropy_per_frame", "mse_per_frame", "mae_per_frame", "mse_per_pixel", "ssim")
    rows += [(name, "n/a" if result[name] is None else f"{result[name]:.4f}") for name in names]
    if "reconstruction" in result:
        ce = result["reconstruction"]["cross_entropy_per_frame"]
        rows.append(("reconstruction cross_entropy_per_frame", "n/a" if ce is None else f"{ce:.4f}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
