r"""Trains a video_lstm model, then evaluates it on the test set.

    python -m video_lstm.train --flagfile=configs/quickstart.flags --log_dir=runs/quickstart
    tensorboard --logdir=runs

Restarting with the same --log_dir resumes from its newest checkpoint.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up noise out

from absl import app, flags, logging  # noqa: E402

from video_lstm import flags as flags_lib  # noqa: E402

flags_lib.define_flags()
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.log_dir:
        raise app.UsageError("--log_dir is required (where checkpoints, logs and metrics go)")
    try:
        config = flags_lib.config_from_flags()
    except ValueError as error:
        raise app.UsageError(str(error))
    from video_lstm import evaluate_lib, train_lib  # heavy imports after the flags are checked
    from video_lstm.callbacks import NonFiniteLossError

    try:
        run = train_lib.setup(config, FLAGS.log_dir)
    except (ValueError, FileNotFoundError) as error:
        fail(error)
    try:
        train_lib.fit(run)
    except NonFiniteLossError as error:
        fail(error)
    metrics = evaluate_lib.evaluate(run.model, config, FLAGS.log_dir, run.step)
    print(evaluate_lib.format_table(metrics))
    logging.info("Wrote %s", os.path.join(FLAGS.log_dir, "metrics.json"))


def fail(error):
    """Ends the program with the error's message and no traceback: bad input, not a bug."""
    logging.error("%s", error)
    print(f"video_lstm.train: error: {error}", file=sys.stderr)
    sys.exit(1)

if __name__ == "__main__":
    app.run(main)
