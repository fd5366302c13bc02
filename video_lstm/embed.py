r"""The encoder's representation of every video of a folder, a split or a list file.

    python -m video_lstm.embed --pretrained=runs/ucf101_patches --video_dir=videos/ --out=embeddings/videos
    python -m video_lstm.embed --pretrained=exported/percepts/1 --dataset=ucf101 --video_dir=/data/UCF-101 \
        --split=1 --subset=test --out=embeddings/ucf101_test [--stride=8] [--input_length=16]
    python -m video_lstm.embed ... --runner=DirectRunner -- --direct_num_workers=2

Reads each video once, cuts clips of --input_length frames every --stride frames, runs the
encoder of --pretrained (a training log_dir, or an exported encoder SavedModel) on them and
writes into --out embeddings.npz (each video's pooled vector), clips/<key>.npz (each video's
per-clip states) and manifest.json (settings and each video's decode status). Run it again
after a kill, or after videos were added, removed or replaced: it does what is not done yet
and gives the same bytes, on any --runner (Beam's own options after `--`). The work, its
outputs and resuming: `video_lstm.embedding`; the corpus-job skeleton: `pipelines.corpus`.

Bad flags, paths, split files, an unusable model or an --out holding something else (or an
embedding of other settings) stop at start-up with one error line, before anything is written.
"""

from absl import flags

from pipelines import beam_jobs  # (no Beam import)
from video_lstm import embedding
from video_lstm.core import cli
from video_lstm.core import settings as parts

PROGRAM = "video_lstm.embed"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.embed`, on `flag_values` (one per `EmbedOptions` field, and --runner)."""
    cli.define_dataclass_flags(embedding.EmbedOptions, flag_values, embedding.HELP, embedding.CHOICES)
    cli.define_dataclass_flags(parts.Runner, flag_values, {"runner": beam_jobs.auto_help("embed")}, skip=("beam_args",))
    cli.define_deprecated_alias(flag_values, "clip_length", "input_length")


def settings(flag_values, beam_args=()):
    """(`embedding.EmbedOptions`, `core.settings.Runner`) of the flags; `beam_args`: Beam's options after `--`."""
    options = embedding.EmbedOptions(**cli.dataclass_values(embedding.EmbedOptions, flag_values))
    runner = parts.Runner(**cli.dataclass_values(parts.Runner, flag_values, skip=("beam_args",)),
                          beam_args=tuple(beam_args))
    return options, runner


def main(argv, flag_values=flags.FLAGS):
    """Arguments after `--` (argv[1:]) are Beam's pipeline options for --runner."""
    try:
        embedding.embed(*settings(flag_values, argv[1:]))
    except (OSError, RuntimeError, ValueError) as error:
        cli.fail(PROGRAM, error)


if __name__ == "__main__":
    cli.run(define_flags, main)
