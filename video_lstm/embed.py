r"""The encoder's representation of every video of a folder, a split or a list file.

    python -m video_lstm.embed --pretrained=runs/ucf101_patches --video_dir=videos/ --out=embeddings/videos
    python -m video_lstm.embed --pretrained=exported/percepts/1 --dataset=ucf101 --video_dir=/data/UCF-101 \
        --split=1 --subset=test --out=embeddings/ucf101_test [--stride=8] [--clip_length=16]

Reads each video once, cuts clips of --clip_length frames every --stride frames, runs the
encoder of --pretrained (a training log_dir, or an exported encoder SavedModel: a percept
model exported --with_convnet takes the frames) on them and writes into --out:
embeddings.npz (video names, labels and classes where the listing has classes, and each
video's pooled vector: the mean of its clips' final [h, c] states), clips/<key>.npz (each
video's per-clip states) and manifest.json (settings, and each video's status: ok, or
skipped and why). Run the same command again after a kill: it does the videos not done yet
and gives the same bytes. See `video_lstm.classify.embedding`.

Bad flags, paths, split files, an unusable model or an --out holding something else (or an
embedding of other settings) stop at start-up with one error line, before anything is written.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from video_lstm.core import cli  # noqa: E402

PROGRAM = "video_lstm.embed"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.embed`, on `flag_values` (one per `EmbedOptions` field)."""
    from video_lstm.classify.embedding import CHOICES, HELP, EmbedOptions

    cli.define_dataclass_flags(EmbedOptions, flag_values, HELP, CHOICES)


def main(argv, flag_values=flags.FLAGS):
    from video_lstm.classify import embedding

    if len(argv) > 1:
        cli.fail(PROGRAM, f"unexpected arguments: {argv[1:]}")
    try:
        options = embedding.EmbedOptions(**cli.dataclass_values(embedding.EmbedOptions, flag_values))
        job = embedding.prepare(options)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    if job.complete:
        print(f"{os.path.join(options.out, embedding.EMBEDDINGS)} is complete already: nothing to do", flush=True)
        print_summary(job, job.summary)
        return
    try:
        summary = run(job)
    except (OSError, RuntimeError, ValueError) as error:
        cli.fail(PROGRAM, error)
    print_summary(job, summary)


def run(job):
    """Embeds the videos not done yet, one at a time, then writes the outputs; returns the summary."""
    import tqdm

    from video_lstm.classify import embedding

    try:
        job.start()
        pending = job.pending()
        done = len(job) - len(pending)
        if done:
            print(f"resuming {job.out}: {done} of {len(job)} videos done already", flush=True)
        counts = {"ok": 0, "skipped": 0}
        bar = tqdm.tqdm(total=len(job), initial=done, desc="embedding", unit="video",
                        disable=not job.options.progress)
        with bar:
            for item in pending:
                result = embedding.embed_video(job.model, item.path, job.settings)
                job.write(item, result)
                counts[result.status] += 1
                bar.set_postfix(counts, refresh=False)
                bar.update()
        return job.finish()
    finally:
        job.release()


def print_summary(job, summary):
    out = job.out
    print(f"embedded {summary['ok']} of {summary['videos']} videos ({summary['clips']} clips, "
          f"{job.record['state_dim']} numbers per state; pooled: the mean of a video's clip states) -> "
          f"{os.path.join(out, 'embeddings.npz')}", flush=True)
    if summary["skipped"]:
        kinds = ", ".join(f"{kind} {count}" for kind, count in summary["skipped_by_kind"].items())
        print(f"skipped {summary['skipped']} ({kinds}): the reasons, video by video, are in "
              f"{os.path.join(out, 'manifest.json')}", flush=True)


if __name__ == "__main__":
    cli.run(define_flags, main)
