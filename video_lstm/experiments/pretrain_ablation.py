r"""Which pretraining carries appearance? An ablation scored by the linear probe.

    python -m video_lstm.experiments.pretrain_ablation --log_dir=runs/ablation \
        --variants=base,steps4k,conv,units512,two_digits,autoencoder,future,conditional

Each variant is the few-labels study's pretraining (`--pretrain_flagfile`) with a
few flags changed; it trains into `<log_dir>/<variant>` and its frozen encoder is
probed on both labelled Moving MNIST tasks (`--shots`, `--seeds`, `--pool_size`,
`--test_size`). The ablation itself is `video_lstm.experiments.ablation` (what it
writes: ablation.json, ablation.md, probe_curves.png; a variant recorded with
other settings is refused by name).
"""

from absl import flags

from video_lstm.core import cli
from video_lstm.core.settings import FEWSHOT_HELP
from video_lstm.experiments import ablation

PROGRAM = "video_lstm.experiments.pretrain_ablation"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.experiments.pretrain_ablation` (one per `AblationSettings` field)."""
    cli.define_log_dir(flag_values, "Where every variant's run and the ablation table go.")
    cli.define_dataclass_flags(ablation.AblationSettings, flag_values, {**FEWSHOT_HELP, **ablation.HELP})
    cli.define_deprecated_alias(flag_values, "base_flagfile", "pretrain_flagfile")


def settings(flag_values):
    """The `ablation.AblationSettings` of the parsed flags, checked; reads flags only."""
    return ablation.AblationSettings(**cli.dataclass_values(ablation.AblationSettings, flag_values)).validate()


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "where every variant's run and the ablation table go")
    try:
        table = ablation.run_ablation(settings(FLAGS), FLAGS.log_dir)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    print(table)


if __name__ == "__main__":
    cli.run(define_flags, main)
