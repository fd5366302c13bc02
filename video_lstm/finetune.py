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
Its flags: `define_flags`. Restarting resumes.
"""

import dataclasses

from absl import flags, logging

from video_lstm import config as config_lib  # no Keras, no TensorFlow
from video_lstm import flags as flags_lib
from video_lstm.core import cli
from video_lstm.core.lock import FolderLockedError

PROGRAM = "video_lstm.finetune"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.finetune`, on `flag_values`: the classifier's (`config.FinetuneSettings`:
    encoder, optimizer, bookkeeping), the data's (`--dataset`, `--input_length` = the clip length, the source's
    options, `--strategy`) and the command's (`config.FinetuneOptions`); none of video_lstm.train's decoders."""
    cli.define_log_dir(flag_values, "Where the classifiers, their checkpoints and metrics go.")
    for cls in (config_lib.FinetuneSettings, config_lib.FinetuneOptions):
        cli.define_dataclass_flags(cls, flag_values, {**flags_lib.HELP, **config_lib.FINETUNE_HELP},
                                   {**config_lib.CHOICES, **config_lib.FINETUNE_CHOICES})
    flags_lib.define_data_flags(flag_values, config_lib.FINETUNE_DATA_FIELDS)
    kinds = {field.name: cli.field_kind(field.type) for field in dataclasses.fields(config_lib.Config)}
    for name in config_lib.FINETUNE_UNREAD:  # train's flags, which finetune took until 2026-12
        cli.define_retired_flag(flag_values, name, kinds[name], "a classifier has no decoders, read-out or "
                                "training-run bookkeeping")


def settings(flag_values):
    """(config: the data's `Config`, options: `FinetuneOptions`, settings: `FinetuneSettings`) of the
    parsed flags; reads flags only. ValueError names a bad one."""
    classifier = config_lib.FinetuneSettings(**cli.dataclass_values(config_lib.FinetuneSettings, flag_values))
    options = config_lib.FinetuneOptions(**cli.dataclass_values(config_lib.FinetuneOptions, flag_values))
    if not options.inits:
        inits = ("pretrained",) * bool(options.pretrained) + ("scratch", "single_frame")
        options = dataclasses.replace(options, inits=inits)
    options.validate()
    config = config_lib.finetune_config(*flags_lib.data_from_flags(flag_values, config_lib.FINETUNE_DATA_FIELDS),
                                        classifier)
    return config, options, classifier


def main(argv, flag_values=flags.FLAGS):
    cli.check_invocation(argv, flag_values.log_dir, "where the classifiers, their checkpoints and metrics go")
    try:
        config, options, classifier = settings(flag_values)
    except (ValueError, OSError) as error:
        cli.fail(PROGRAM, error)
    # here: keeps Keras, TensorFlow and cv2 out of `import video_lstm.finetune`
    from video_lstm.classify import run as run_lib
    from video_lstm.training.callbacks import NonFiniteLossError, TrainingStopped

    try:
        summary = run_lib.FinetuneRun(config, options, classifier, flag_values.log_dir).run()
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
