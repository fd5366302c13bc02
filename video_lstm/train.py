r"""Trains a video_lstm model, then evaluates it on the test set.

    python -m video_lstm.train --flagfile=configs/quickstart.flags --log_dir=runs/quickstart
    tensorboard --logdir=runs

Restarting with the same --log_dir resumes from its newest checkpoint.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up noise out

from absl import app, flags, logging  # noqa: E402

from video_lstm import cli  # noqa: E402
from video_lstm import flags as flags_lib  # noqa: E402

flags_lib.define_flags()
FLAGS = flags.FLAGS


def main(argv):
    cli.check_invocation(argv, FLAGS.log_dir, "where checkpoints, logs and metrics go")
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
    """Logs the error (it also reaches the run's log), then ends in one line."""
    logging.error("%s", error)
    cli.fail("video_lstm.train", error)

if __name__ == "__main__":
    app.run(main)
