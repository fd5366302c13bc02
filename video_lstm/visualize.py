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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags, logging  # noqa: E402

from video_lstm.core import backend, cli  # noqa: E402

def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.visualize`, on `flag_values`."""
    define = dict(flag_values=flag_values)
    cli.define_log_dir(flag_values, "The run directory video_lstm.train wrote.")
    flags.DEFINE_list(
        "what", None, "Comma-separated subset of samples,rollout,ood,weights; default: all the "
        "model supports (no rollouts for an autoencoder).", **define)
    flags.DEFINE_integer("num_sequences", 4, "Sequences per sample and rollout picture (1..64).", **define)
    flags.DEFINE_integer("horizon", 100, "Frames the future decoder predicts in a rollout (1..10000).", **define)
    flags.DEFINE_integer("num_units", 64, "Units (strongest by L2 norm) shown per weight picture.", **define)
    flags.DEFINE_integer("chunk_size", 20, "Decoder steps per compiled call of a rollout.", **define)
    flags.DEFINE_list("ood_digits", ["1", "3"], "Digit counts of the out-of-domain rollouts (--what=ood).", **define)


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "the directory video_lstm.train wrote")
    if not backend.tensorflow_available():  # pictures and rollouts are drawn with TensorFlow's help
        cli.fail("video_lstm.visualize", "needs TensorFlow, which is not importable here; train and evaluate "
                 "run without it")
    from video_lstm.analysis import visualization  # heavy imports after the flags are read

    try:
        options = visualization.Options(
            what=tuple(FLAGS.what) if FLAGS.what is not None else None,
            num_sequences=FLAGS.num_sequences,
            horizon=FLAGS.horizon,
            num_units=FLAGS.num_units,
            chunk_size=FLAGS.chunk_size,
            ood_digits=_counts(FLAGS.ood_digits),
        )
        written = visualization.visualize_log_dir(FLAGS.log_dir, options)
    except (FileNotFoundError, ValueError) as error:
        cli.fail("video_lstm.visualize", error)
    for path in written:
        print(path)
    logging.info("Wrote %d files to %s", len(written), os.path.join(FLAGS.log_dir, visualization.OUTPUT_DIR))


def _counts(values):
    try:
        return tuple(int(v) for v in values)
    except ValueError:
        raise ValueError(f"--ood_digits={','.join(values)}; expected comma-separated digit counts") from None


if __name__ == "__main__":
    cli.run(define_flags, main)
