r"""Fine-tunes a classifier on labelled clips, from a pretrained encoder and two baselines.

    python -m video_lstm.finetune --flagfile=configs/finetune_ucf101.flags \
        --pretrained=runs/ucf101_patches --video_dir=UCF-101 --log_dir=runs/ucf101_classifier

On UCF-101 / HMDB-51 (frames, any split; `--dataset=percepts` for cached
percepts) or on a labelled Moving MNIST task (`--dataset=moving_mnist
--num_digits=1 --task=appearance|motion`). `--inits` picks what trains, each
into `<log_dir>/<init>/`: `pretrained` (the encoder of `--pretrained`, a
training log_dir or an exported encoder SavedModel; frozen with
`--freeze_encoder`, else trained at `--encoder_learning_rate`), and the
baselines `scratch` (the same classifier, random init; `--units` etc.) and
`single_frame`. `--labels_per_class=N` trains on a seeded class-balanced subset.
Training flags (`--steps`, `--batch_size`, `--learning_rate`, `--input_length`
= the clip length, ...) are video_lstm.train's. Restarting resumes.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from video_lstm.core import cli  # noqa: E402
from video_lstm import flags as flags_lib  # noqa: E402

def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.finetune`, on `flag_values`."""
    define = dict(flag_values=flag_values)
    cli.define_log_dir(flag_values, "Where the classifiers, their checkpoints and metrics go.")
    flags_lib.define_flags(flag_values)
    flags.DEFINE_string("pretrained", "", "A training log_dir or an exported encoder SavedModel to start from.", **define)
    flags.DEFINE_list("inits", None, "Of pretrained, scratch, single_frame; default: all three with --pretrained, "
                      "else scratch,single_frame.", **define)
    flags.DEFINE_enum("task", "appearance", ["appearance", "motion"], "Labelled Moving MNIST task.", **define)
    flags.DEFINE_integer("labels_per_class", 0, "Labelled training videos per class (seeded, balanced); 0: all.", **define)
    flags.DEFINE_integer("stride", 16, "Test clips start every this many frames of a video (pooled per video).", **define)
    flags.DEFINE_integer("pool_size", 5000, "Labelled Moving MNIST training sequences.", **define)
    flags.DEFINE_integer("test_size", 1000, "Labelled Moving MNIST test sequences.", **define)
    flags.DEFINE_enum("missing", "error", ["error", "skip"], "A split naming absent videos: refuse, or drop them.", **define)
    flags.DEFINE_bool("freeze_encoder", True, "Keep the pretrained encoder's weights.", **define)
    flags.DEFINE_float("encoder_learning_rate", 0.0, "Learning rate of a trained pretrained encoder (0: --learning_rate).", **define)
    flags.DEFINE_float("input_dropout", 0.0, "Dropout on the encoder's input.", **define)
    flags.DEFINE_float("output_dropout", 0.5, "Dropout on the encoder's output, before the softmax.", **define)


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "where the classifiers, their checkpoints and metrics go")
    try:
        from video_lstm import config as config_lib

        config = config_lib.replace(flags_lib.config_from_flags(FLAGS), model="autoencoder")  # clips of --input_length
    except ValueError as error:
        raise app.UsageError(str(error))
    from video_lstm.classify import run as run_lib
    from video_lstm.training.callbacks import NonFiniteLossError, TrainingStopped
    from video_lstm.rundir import CheckpointWriteError
    from video_lstm.training.lock import LogDirLockedError

    inits = FLAGS.inits or (["pretrained", "scratch", "single_frame"] if FLAGS.pretrained else ["scratch", "single_frame"])
    options = run_lib.Options(FLAGS.pretrained, tuple(inits), FLAGS.task, FLAGS.labels_per_class, FLAGS.stride,
                              FLAGS.pool_size, FLAGS.test_size, FLAGS.missing)
    classifier_flags = {name: FLAGS[name].value for name in
                        ("freeze_encoder", "encoder_learning_rate", "input_dropout", "output_dropout")}
    try:
        run = run_lib.FinetuneRun(config, options, run_lib.settings_of(config, classifier_flags), FLAGS.log_dir)
        summary = run.run()
    except TrainingStopped as stopped:  # preemption: saved, resumable, not a failure
        logging.warning("%s; run the same command again to resume", stopped)
        return
    except (ValueError, FileNotFoundError, NonFiniteLossError, LogDirLockedError, CheckpointWriteError) as error:
        logging.error("%s", error)
        cli.fail("video_lstm.finetune", error)
    for init, metrics in summary.items():
        print(f"{init:>13}: clip top-1 {metrics['clip_top1']:.3f} top-5 {metrics['clip_top5']:.3f} | "
              f"video top-1 {metrics['video_top1']:.3f} top-5 {metrics['video_top5']:.3f}")


if __name__ == "__main__":
    cli.run(define_flags, main)
