r"""Evaluates the newest checkpoint of a training run on the test set.

    python -m video_lstm.evaluate --log_dir=runs/quickstart [--eval_sequences=1000]

Writes <log_dir>/metrics.json and samples.png (the run's own test set and
size), or metrics_<test set>_<sequences>.json and samples_<...>.png for any
other evaluation, and prints the metrics table.
"""

import os

from absl import flags  # noqa: E402

from video_lstm.analysis.options import EVALUATE_CHOICES, EVALUATE_HELP, EvaluateOptions  # noqa: E402  (no Keras)
from video_lstm.core import cli  # noqa: E402

PROGRAM = "video_lstm.evaluate"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.evaluate`, on `flag_values` (one per `EvaluateOptions` field)."""
    cli.define_log_dir(flag_values, "The run directory video_lstm.train wrote.")
    cli.define_dataclass_flags(EvaluateOptions, flag_values, EVALUATE_HELP, EVALUATE_CHOICES)


def settings(flag_values):
    """The `EvaluateOptions` of the parsed flags (reads flags only)."""
    return EvaluateOptions(**cli.dataclass_values(EvaluateOptions, flag_values))


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "the directory video_lstm.train wrote")
    from video_lstm.analysis import evaluation  # Keras: only once the flags are read

    overrides = settings(FLAGS).overrides()
    try:
        result = evaluation.evaluate_log_dir(FLAGS.log_dir, write=False,
                                             events=lambda found: write_events(FLAGS.log_dir, found), **overrides)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    print(evaluation.format_table(result))  # first: a failed write below loses no result
    try:
        written = evaluation.write_results(result)
    except OSError as error:
        cli.fail(PROGRAM, f"the results above could not be written to {FLAGS.log_dir}: {error}")
    print(f"wrote {os.path.join(FLAGS.log_dir, written)}")


def write_events(log_dir, result):
    """The evaluation's eval/* into TensorBoard, in a folder of its own named by its test set
    (`evaluation.events_folder`), at the checkpoint's step."""
    from video_lstm.analysis import evaluation
    from video_lstm.training import summaries

    evaluation.write_events(summaries.writer(evaluation.events_folder(log_dir, result)), result)


if __name__ == "__main__":
    cli.run(define_flags, main)
