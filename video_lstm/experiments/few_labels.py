r"""The few-labels study: how much does unsupervised pretraining help when labels are few?

    python -m video_lstm.experiments.few_labels --flagfile=configs/few_labels.flags --log_dir=runs/few_labels

On the labelled Moving MNIST tasks (appearance, motion), for every number of
labels per class (`--shots`) and every seed, trains the classifier from each
initialisation (`scratch`, `random`, the encoders pretrained as `composite`,
`autoencoder` and `future`, and `single_frame`) and scores it on the task's
fixed test set. The study itself is `video_lstm.experiments.study` (what it
writes into --log_dir: few_labels.json, few_labels.md, few_labels.png,
study.json; a restarted study skips the rows it has, a study of other settings
is refused by name).
"""

import dataclasses

from absl import flags

from video_lstm import config as config_lib  # no Keras, no TensorFlow
from video_lstm.core import cli
from video_lstm.core.settings import FEWSHOT_HELP
from video_lstm.experiments import study as study_lib

PROGRAM = "video_lstm.experiments.few_labels"
LOG_DIR_HELP = "Where the study's runs, table, plot and JSON go."


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.experiments.few_labels`, on `flag_values`: the study's
    (`study.StudySettings`) and the classifier's own (`config.CLASSIFIER_FIELDS`)."""
    cli.define_log_dir(flag_values, LOG_DIR_HELP)
    cli.define_dataclass_flags(study_lib.StudySettings, flag_values, {**FEWSHOT_HELP, **study_lib.HELP})
    shared = {f.name for f in dataclasses.fields(config_lib.FinetuneSettings)}
    cli.define_dataclass_flags(config_lib.FinetuneSettings, flag_values, config_lib.FINETUNE_HELP,
                               skip=shared - set(config_lib.CLASSIFIER_FIELDS))
    cli.define_deprecated_alias(flag_values, "labels_per_class", "shots")


def settings(flag_values):
    """(`study.StudySettings`, the classifier's `config.FinetuneSettings`) of the parsed flags,
    checked; reads flags only (the pretraining flagfile is read when the study starts)."""
    study = study_lib.StudySettings(**cli.dataclass_values(study_lib.StudySettings, flag_values)).validate()
    own = {name: flag_values[name].value for name in config_lib.CLASSIFIER_FIELDS}
    return study, study_lib.classifier_settings(study, own)


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "where the study's runs, table, plot and JSON go")
    try:
        study = study_lib.study_of(FLAGS.log_dir, *settings(FLAGS))
        table = study.run()
    except (ValueError, FileNotFoundError) as error:
        cli.fail(PROGRAM, error)
    print(table)
    print(f"wall time {study.timings['total_s']:.0f} s; {', '.join(f'{k} {v}' for k, v in study.timings.items())}")


if __name__ == "__main__":
    cli.run(define_flags, main)
