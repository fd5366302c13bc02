r"""Trains a video_lstm model, then evaluates it on the test set.

    python -m video_lstm.train --flagfile=configs/quickstart.flags --log_dir=runs/quickstart
    tensorboard --logdir=runs

Restarting with the same --log_dir resumes from its newest checkpoint. SIGTERM
(preemption) saves a checkpoint and exits 0; a --log_dir that a live job holds
is refused. --strategy=multi_worker reads the cluster from TF_CONFIG.
"""

import os

from absl import flags, logging  # noqa: E402

from video_lstm import flags as flags_lib  # noqa: E402
from video_lstm.core import cli  # noqa: E402
from video_lstm.core.lock import FolderLockedError


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.train`, on `flag_values`."""
    cli.define_log_dir(flag_values, "Where checkpoints, TensorBoard logs and metrics go (the run directory).")
    flags_lib.define_flags(flag_values)


def settings(flag_values):
    """The training run's `Config` of the parsed flags (reads flags only; ValueError names a bad one)."""
    return flags_lib.config_from_flags(flag_values)


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "where checkpoints, logs and metrics go")
    try:
        config = settings(FLAGS)
    except (ValueError, OSError) as error:  # a flag out of range, a cache that cannot be read
        cli.fail("video_lstm.train", error)
    # here: keeps Keras and cv2 out of `import video_lstm.train`
    from video_lstm.analysis import evaluation
    from video_lstm.training import loop
    from video_lstm.training.callbacks import NonFiniteLossError, TrainingStopped

    try:
        metrics = loop.train_and_evaluate(config, FLAGS.log_dir, probe_data=labelled_videos)
    except TrainingStopped as stopped:  # preemption: saved, resumable, not a failure
        logging.warning("%s; run the same command again to resume", stopped)
        return
    except (ValueError, OSError, NonFiniteLossError, FolderLockedError) as error:  # OSError: files, disks
        cli.fail("video_lstm.train", error)
    if metrics is None:
        logging.info("Training done; the chief evaluates and writes %s", FLAGS.log_dir)
        return
    print(evaluation.format_table(metrics))
    logging.info("Wrote %s", os.path.join(FLAGS.log_dir, metrics["written"]))

def labelled_videos(config):
    """What --probe_every reads of a video or percept run (`classify.data`, TensorFlow: imported
    only when such a run probes)."""
    # here: keeps Keras, TensorFlow and cv2 out of `import video_lstm.train`
    from video_lstm.classify.data import run_labelled_data

    return run_labelled_data(config)


if __name__ == "__main__":
    cli.run(define_flags, main)
