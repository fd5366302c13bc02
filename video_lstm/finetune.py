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
`single_frame`. `--labels_per_class=N` trains on a seeded class-balanced subset (default all).
Training flags (`--steps`, `--batch_size`, `--learning_rate`, `--input_length`
= the clip length, ...) are video_lstm.train's. Restarting resumes.
"""

import dataclasses

from absl import flags, logging  # noqa: E402

from video_lstm import config as config_lib  # noqa: E402  (no Keras, no TensorFlow)
from video_lstm import flags as flags_lib  # noqa: E402
from video_lstm.core import cli  # noqa: E402

PROGRAM = "video_lstm.finetune"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.finetune`, on `flag_values`: video_lstm.train's, the
    classifier's own (`config.FinetuneSettings`) and the command's (`config.FinetuneOptions`)."""
    cli.define_log_dir(flag_values, "Where the classifiers, their checkpoints and metrics go.")
    flags_lib.define_flags(flag_values)
    for cls in (config_lib.FinetuneSettings, config_lib.FinetuneOptions):
        cli.define_dataclass_flags(cls, flag_values, config_lib.FINETUNE_HELP, config_lib.FINETUNE_CHOICES)


def settings_from_flags(flag_values):
    """(config, options, settings) of the parsed flags; ValueError names a bad one."""
    # The clips are --input_length frames (an autoencoder's).
    config = config_lib.replace(flags_lib.config_from_flags(flag_values), model="autoencoder")
    options = config_lib.FinetuneOptions(**cli.dataclass_values(config_lib.FinetuneOptions, flag_values))
    if not options.inits:
        inits = ("pretrained", "scratch", "single_frame") if options.pretrained else ("scratch", "single_frame")
        options = dataclasses.replace(options, inits=inits)
    options.validate()
    own = {name: flag_values[name].value for name in config_lib.CLASSIFIER_FIELDS + ("eval_batch_size",)}
    return config, options, config_lib.FinetuneSettings.of(config, **own)


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "where the classifiers, their checkpoints and metrics go")
    try:
        config, options, settings = settings_from_flags(FLAGS)
    except (ValueError, OSError) as error:
        cli.fail(PROGRAM, error)
    from video_lstm.classify import run as run_lib
    from video_lstm.core.lock import FolderLockedError
    from video_lstm.training.callbacks import NonFiniteLossError, TrainingStopped

    try:
        run = run_lib.FinetuneRun(config, options, settings, FLAGS.log_dir)
        summary = run.run()
    except TrainingStopped as stopped:  # preemption: saved, resumable, not a failure
        logging.warning("%s; run the same command again to resume", stopped)
        return
    except (ValueError, OSError, NonFiniteLossError, FolderLockedError) as error:  # OSError: files, disks
        cli.fail(PROGRAM, error)
    for init, metrics in summary.items():
        print(f"{init:>13}: clip top-1 {metrics['clip_top1']:.3f} top-5 {metrics['clip_top5']:.3f} | "
              f"video top-1 {metrics['video_top1']:.3f} top-5 {metrics['video_top5']:.3f}")


if __name__ == "__main__":
    cli.run(define_flags, main)
