"""TensorBoard's HParams dashboard: a job's settings beside its final figures.

`record(directory, settings, metrics, step)` is the one call every job makes once it has its
figures: a training run (`loop.train_and_evaluate`: its config.json and its final evaluation and
probe), a fine-tuned classifier (`classify.run`), a probe (`python -m video_lstm.probe`), an
ablation variant (`experiments.ablation`) and a few-labels study's row (`experiments.study`).
It writes into `directory` (a folder of its own, `<log_dir>/hparams` for a run) the HParams
plugin's session start (`summaries.session_pb`: the tensorboard package's protos, through
`tf.summary` or without TensorFlow) with the settings, and the metrics as scalars at `step`.

No experiment summary (`hparams_config`) is written: one would fix the dashboard's columns for
the whole --logdir, hiding the settings and figures of the other kinds of jobs beside it.
Without it the dashboard takes the columns from every session it finds (the settings) and the
scalars of their folders (the metrics), so runs, variants and inits of any kind line up, each
sortable by any metric.
"""

import json
import math
import numbers

from video_lstm.training import summaries

FOLDER = "hparams"  # a run's: <log_dir>/hparams


def values(settings, prefix=""):
    """{name: bool, int, float or str} of `settings` (a dict, nested ones flattened with "."):
    numbers as they are, None as "none", and sequences or anything else as JSON text."""
    flat = {}
    for name, value in sorted(settings.items()):
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(values(value, f"{key}."))
        elif isinstance(value, (bool, str)):
            flat[key] = value
        elif isinstance(value, numbers.Number):
            flat[key] = int(value) if isinstance(value, numbers.Integral) else float(value)
        elif value is None:
            flat[key] = "none"
        else:
            flat[key] = json.dumps(value, sort_keys=True, default=str)
    return flat


def metric_values(metrics):
    """The finite numbers of `metrics` ({tag: value}), as floats."""
    found = {}
    for tag, value in metrics.items():
        if isinstance(value, numbers.Number) and not isinstance(value, bool) and math.isfinite(value):
            found[tag] = float(value)
    return found


def record(directory, settings, metrics, step=0):
    """Writes the HParams session of a job into `directory`: `settings` (`values`) and `metrics`
    ({tag: number}, `metric_values`) as scalars at `step`. Returns the settings written."""
    writer = summaries.writer(directory)
    written = values(settings)
    writer.session(written)
    found = metric_values(metrics)
    if found:
        writer.scalars(int(step or 0), found)
    writer.flush()
    return written
