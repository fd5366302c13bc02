"""Evaluation on a run's fixed test set: `evaluate(model, config, log_dir, step)`.

Decoders run free (each conditional decoder feeds back its own output), as at
test time in the paper. Results belong to their test set: the run's own
evaluation (its config's test set and `eval_sequences`) is
`<log_dir>/metrics.json` and `samples.png`; any other one (another
`--test_set`, a smaller `--eval_sequences`) goes to
`metrics_<test set>_<sequences>.json` and `samples_<test set>_<sequences>.png`
beside it, so no evaluation overwrites a different one.
"""

import sys

import keras
import numpy as np

from pipelines import sources
from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.analysis import figures
from video_lstm.analysis.frame_metrics import FrameMetrics

EVAL_BATCH_SIZE = 50


def evaluate(model, config, log_dir=None, step=None, batch_size=EVAL_BATCH_SIZE, verbose=None, source=None,
             run_config=None):
    """Metrics of `model` on the test set described by `config`.

    Args:
        log_dir: where to write the metrics and samples (None: nothing written).
        source: the run's `pipelines.sources.DataSource` (built from config if None).
        run_config: the `Config` the run in log_dir trained (default: its config.json),
            which tells whether this is the run's own evaluation.
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
    per_decoder = _accumulate(model, source, config, test.clips, batch_size, verbose)
    primary = "future" if per_decoder["future"].num_sequences else "reconstruction"
    result = per_decoder[primary].result()
    result.update(
        decoder=primary,
        step=step,
        model=config.model,
        train_digits=rundir.data_description(log_dir).get("train_digits"),
        test_set=test.name,
        **test.info,
    )
    if primary == "future" and per_decoder["reconstruction"].num_sequences:
        result["reconstruction"] = per_decoder["reconstruction"].result()
    if log_dir:
        metrics_name, samples_name = _names(source, run_config or rundir.load_config_if_any(log_dir))
        rundir.write_json(log_dir, metrics_name, result)
        if source.input_spec.kind == "frames":  # feature vectors (percepts) have no picture
            figures.write_samples(rundir.path(log_dir, samples_name), model, source.split(test.clips[:4]))
        result["written"] = metrics_name
    return result


def _names(source, run_config):
    """(metrics, samples) file names: the plain ones for the run's own evaluation."""
    key = source.evaluation_key()
    if run_config is None or sources.build(run_config).evaluation_key() == key:
        return rundir.METRICS, rundir.SAMPLES
    return f"metrics_{key}.json", f"samples_{key}.png"


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


def evaluate_log_dir(log_dir, **overrides):
    """Evaluates the newest checkpoint of a training run."""
    run_config = rundir.load_config(log_dir)  # read once
    config = config_lib.replace(run_config, **overrides) if overrides else run_config
    step, model = rundir.load_latest(log_dir, run_config, compile=False)
    return evaluate(model, config, log_dir, step, run_config=run_config)


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
