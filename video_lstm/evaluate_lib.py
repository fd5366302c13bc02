"""Evaluation on the fixed test set: `evaluate(model, config, log_dir, step)`.

Decoders run free (each conditional decoder feeds back its own output), as at
test time in the paper. Writes `metrics.json` and `samples.png` into log_dir.
"""

import json
import os
import sys

import keras
import numpy as np

from pipelines import experiment_data
from video_lstm import callbacks as callbacks_lib
from video_lstm import checkpoint
from video_lstm import config as config_lib
from video_lstm import figures
from video_lstm.metrics import FrameMetrics

EVAL_BATCH_SIZE = 50


def evaluate(model, config, log_dir=None, step=None, batch_size=EVAL_BATCH_SIZE, verbose=None):
    """Metrics of `model` on the test set described by `config`.

    Args:
        verbose: 0 silent, 1 progress bar, 2 one line at the end; None picks
            1 on a terminal, else 2.

    Returns:
        dict: the headline metrics of the future decoder (of the
        reconstruction decoder for an autoencoder) at the top level,
        `cross_entropy_per_frame`, `mse_per_frame`, `mae_per_frame`,
        `mse_per_pixel`, `ssim`, `num_sequences`, `by_frame`; the other
        decoder's under `reconstruction`; and `step`, `test_set`,
        `test_digits` and `train_digits` (which digits the sequences were
        made of: "mnist" or "rendered").
    """
    test = experiment_data.test_set(config)
    per_decoder = _accumulate(model, config, test.clips, batch_size, verbose)
    primary = "future" if per_decoder["future"].num_sequences else "reconstruction"
    result = per_decoder[primary].result()
    result.update(
        decoder=primary,
        step=step,
        model=config.model,
        test_digits=test.digits,
        train_digits=_train_digits(log_dir),
        test_set=test.name,
    )
    if primary == "future" and per_decoder["reconstruction"].num_sequences:
        result["reconstruction"] = per_decoder["reconstruction"].result()
    if log_dir:
        write_json(os.path.join(log_dir, "metrics.json"), result)
        write_samples(os.path.join(log_dir, "samples.png"), model, config, test.clips[:4])
    return result


def _accumulate(model, config, clips, batch_size, verbose):
    """FrameMetrics of each decoder over `clips`, decoders running free."""
    per_decoder = {"future": FrameMetrics(), "reconstruction": FrameMetrics()}
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    progress = keras.utils.Progbar(len(clips), unit_name="sequence", verbose=verbose)
    for inputs in experiment_data.test_batches(config, clips, batch_size):
        outputs = model.predict_on_batch({"frames": inputs["frames"]})
        if "future" in outputs:
            per_decoder["future"].update(inputs["future_frames"], outputs["future"], config.loss)
        if "reconstruction" in outputs:
            target = np.flip(inputs["frames"], axis=1)
            per_decoder["reconstruction"].update(target, outputs["reconstruction"], config.loss)
        progress.add(len(inputs["frames"]))
    return per_decoder


def write_samples(path, model, config, clips):
    """A PNG of input | reconstruction | ground truth | prediction rows per clip."""
    strips = callbacks_lib.sample_strips(model, experiment_data.split(config, clips))
    rule = np.full((4,) + strips[0].shape[1:], 255, np.uint8)  # white line between clips
    figures.write_png(path, np.concatenate([p for s in strips for p in (s, rule)][:-1], axis=0))


def evaluate_log_dir(log_dir, **overrides):
    """Evaluates the newest checkpoint of a training run."""
    config = config_lib.load(log_dir)
    if overrides:
        config = config_lib.Config(**{**config.__dict__, **overrides})
    step, model = checkpoint.load_latest(log_dir)
    return evaluate(model, config, log_dir, step)


def _train_digits(log_dir):
    """What the run was trained on, as train_lib recorded it (None if unknown)."""
    path = log_dir and os.path.join(log_dir, "data.json")
    if not path or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f).get("train_digits")


def write_json(path, value):
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
    os.replace(temporary, path)


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
