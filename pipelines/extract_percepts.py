r"""Extracts the percept cache: per-frame convnet features of every video, sharded TFRecords.

    python -m pipelines.extract_percepts --dataset=ucf101 --video_dir=/data/UCF-101 \
        --stream=rgb --percept_network=vgg16 --percept_weights=imagenet --frame_stride=5 \
        --out=cache/ucf101_vgg16 --num_shards=16 --runner=DirectRunner -- --direct_num_workers=2
    # the same job on a Flink cluster (Beam's own options after --)
    python -m pipelines.extract_percepts ... --runner=FlinkRunner -- --flink_master=HOST:8081 --parallelism=16

Writes into --out percepts-<i>-of-<n>.tfrecord shards, their shard manifests and
manifest.json (`pipelines.percept_records`' format); a killed extraction resumes with the
same command, on any runner, to the same bytes. The work, the format and resuming:
`pipelines.percept_extraction`; the corpus-job skeleton: `pipelines.corpus`. The old names
--network, --weights and --compute_dtype are deprecated aliases of --percept_network,
--percept_weights and --percept_precision.

Bad flags, paths, split files and weights stop at start-up, before any video
is read, with one error line.
"""

from absl import flags

from pipelines import beam_jobs, percept_extraction  # (no Beam import)
from video_lstm.core import cli
from video_lstm.core import settings as parts

PROGRAM = "extract_percepts"
OLD_NAMES = {"network": "percept_network", "weights": "percept_weights", "compute_dtype": "percept_precision"}


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m pipelines.extract_percepts`, on `flag_values` (one per `ExtractOptions`
    field, and --runner; the old names as deprecated aliases)."""
    cli.define_dataclass_flags(percept_extraction.ExtractOptions, flag_values, percept_extraction.HELP,
                               percept_extraction.CHOICES)
    cli.define_dataclass_flags(parts.Runner, flag_values, {"runner": beam_jobs.auto_help("extract_percepts")},
                               skip=("beam_args",))
    for old, new in OLD_NAMES.items():
        cli.define_deprecated_alias(flag_values, old, new)


def settings(flag_values, beam_args=()):
    """(`percept_extraction.ExtractOptions`, `core.settings.Runner`) of the flags; `beam_args`:
    Beam's pipeline options (after `--`)."""
    options = percept_extraction.ExtractOptions(**cli.dataclass_values(percept_extraction.ExtractOptions, flag_values))
    runner = parts.Runner(**cli.dataclass_values(parts.Runner, flag_values, skip=("beam_args",)),
                          beam_args=tuple(beam_args))
    return options, runner


def main(argv, flag_values=flags.FLAGS):
    """Arguments after `--` (argv[1:]) are Beam's pipeline options for --runner."""
    try:
        percept_extraction.extract(*settings(flag_values, argv[1:]))
    except (ValueError, OSError) as error:
        cli.fail(PROGRAM, error)


if __name__ == "__main__":
    cli.run(define_flags, main)
