r"""Pictures of the newest checkpoint of a training run.

    python -m video_lstm.visualize --log_dir=runs/quickstart \
        [--what=samples,rollout,ood,weights] [--num_sequences=4] [--horizon=100]

Writes PNGs, GIFs and rollout metrics (JSON) into <log_dir>/visualize/ and the
same pictures as TensorBoard images into <log_dir>/visualize/tensorboard
(`tensorboard --logdir=runs` shows them next to the training curves). What each
file shows: `video_lstm/analysis/visualization.py`. Bad input (no checkpoint, a
horizon outside 1..10000, a model of feature vectors rather than images,
unknown --what) ends with one error line and exit status 1.
"""

import os

from absl import flags, logging  # noqa: E402

from video_lstm.analysis.options import VISUALIZE_HELP, VisualizeOptions  # noqa: E402  (no Keras)
from video_lstm.core import backend, cli  # noqa: E402


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.visualize`, on `flag_values` (one per `VisualizeOptions` field)."""
    cli.define_log_dir(flag_values, "The run directory video_lstm.train wrote.")
    cli.define_dataclass_flags(VisualizeOptions, flag_values, VISUALIZE_HELP)


def settings(flag_values):
    """The `VisualizeOptions` of the parsed flags (reads flags only; ValueError names a bad one)."""
    values = cli.dataclass_values(VisualizeOptions, flag_values)
    try:
        values["ood_digits"] = tuple(int(v) for v in values["ood_digits"])
    except ValueError:
        raise ValueError(f"--ood_digits={','.join(values['ood_digits'])}; expected comma-separated digit "
                         "counts") from None
    return VisualizeOptions(**values)


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "the directory video_lstm.train wrote")
    if not backend.tensorflow_available():  # pictures and rollouts are drawn with TensorFlow's help
        cli.fail("video_lstm.visualize", "needs TensorFlow, which is not importable here; train and evaluate "
                 "run without it")
    try:
        options = settings(FLAGS)
        from video_lstm.analysis import visualization  # heavy imports after the flags are checked

        written = visualization.visualize_log_dir(FLAGS.log_dir, options)
    except (OSError, ValueError) as error:
        cli.fail("video_lstm.visualize", error)
    for path in written:
        print(path)
    logging.info("Wrote %d files to %s", len(written), os.path.join(FLAGS.log_dir, visualization.OUTPUT_DIR))


if __name__ == "__main__":
    cli.run(define_flags, main)
