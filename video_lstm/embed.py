r"""The encoder's representation of every video of a folder, a split or a list file.

    python -m video_lstm.embed --pretrained=runs/ucf101_patches --video_dir=videos/ --out=embeddings/videos
    python -m video_lstm.embed --pretrained=exported/percepts/1 --dataset=ucf101 --video_dir=/data/UCF-101 \
        --split=1 --subset=test --out=embeddings/ucf101_test [--stride=8] [--clip_length=16]

Reads each video once, cuts clips of --clip_length frames every --stride frames, runs the
encoder of --pretrained (a training log_dir, or an exported encoder SavedModel: a percept
model exported --with_convnet takes the frames) on them and writes into --out:
embeddings.npz (video names, labels and classes where the listing has classes, and each
video's pooled vector: the mean of its clips' final [h, c] states), clips/<key>.npz (each
video's per-clip states) and manifest.json (settings, the frame preparation among them, and
each video's decode status: ok, partial with frames read and declared, or skipped and
why). A run of patches: each clip is the tiling predict reads, its patches' states averaged.
Run the same command again after a kill: it does the videos not done yet and gives the
same bytes. Run it again after videos were added, removed or replaced under their names: it
embeds the new and changed ones (each video's fingerprint is recorded), drops the removed
ones from embeddings.npz, and names both. Entries of --video_dir it does not take (a FIFO, a
folder named like a video, a symlink loop or one leading outside --video_dir, a video in a
nested folder) are named in the summary and in manifest.json's "refused". See
`video_lstm.classify.embedding`.

Where it runs (`pipelines.beam_jobs.resolve`, as `pipelines.extract_percepts`): --runner=auto
(the default) is one process below 200 videos to embed, where Beam's worker start-up (about
8 s) costs more than its workers gain (BUILD.md: 60 videos took 1.85x the time on the
DirectRunner with 2 workers, 420 videos 0.73x; break-even near 100), and Beam's DirectRunner
(every core here) from 200 or when Beam options follow `--`, with apache_beam installed; any
Beam runner takes Beam's own options after `--`:

    python -m video_lstm.embed ... --runner=DirectRunner -- --direct_num_workers=2
    python -m video_lstm.embed ... --runner=FlinkRunner -- --flink_master=HOST:8081

One progress bar (--progress) on every runner: on Beam it counts the per-video files the
workers have written; Beam's log lines stay out unless --verbosity asks for them.

Each video's work (decode, encode, its clips/<key>.npz) is one pure step on the workers;
embeddings.npz and manifest.json are assembled in listing order in the driver afterwards,
so the files are the same bytes whatever the runner.

Bad flags, paths, split files, an unusable model or an --out holding something else (or an
embedding of other settings) stop at start-up with one error line, before anything is written.
"""

import dataclasses
import os

from absl import flags  # noqa: E402

from pipelines import beam_jobs  # noqa: E402  (no Beam import)
from video_lstm.core import cli  # noqa: E402

PROGRAM = "video_lstm.embed"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.embed`, on `flag_values` (one per `EmbedOptions` field)."""
    from video_lstm.classify.embedding import CHOICES, HELP, EmbedOptions

    cli.define_dataclass_flags(EmbedOptions, flag_values, HELP, CHOICES)
    cli.define_dataclass_flags(RunnerOptions, flag_values, {"runner": RUNNER_HELP})


@dataclasses.dataclass(frozen=True)
class RunnerOptions:
    """Where the job runs: not one of `EmbedOptions`, so an embedding's recorded settings (and
    resuming it) do not depend on the runner."""

    runner: str = "auto"


RUNNER_HELP = beam_jobs.auto_help("embed")


def main(argv, flag_values=flags.FLAGS):
    """Arguments after `--` (argv[1:]) are Beam's pipeline options for --runner."""
    from pipelines import beam_jobs
    from video_lstm.classify import embedding

    beam_args = tuple(argv[1:])
    try:
        beam_jobs.check(flag_values.runner, beam_args)
        runner = flag_values.runner  # auto: resolved by `run`, on the count of videos to embed
        options = embedding.EmbedOptions(**cli.dataclass_values(embedding.EmbedOptions, flag_values))
        job = embedding.prepare(options)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    if job.complete:
        print(f"{os.path.join(options.out, embedding.EMBEDDINGS)} is complete already: nothing to do", flush=True)
        print_summary(job, job.summary)
        return
    try:
        summary = run(job, runner, beam_args)
    except (OSError, RuntimeError, ValueError) as error:
        cli.fail(PROGRAM, error)
    print_summary(job, summary)


class _EmbedVideo:
    """One video's work: its embedding written to clips/<key>.npz, its status returned.

    A pure function of the video for given options and weights; picklable without its model,
    which `setup` loads once per worker (in one process, `prepare`'s is used)."""

    def __init__(self, out, pretrained, settings, model=None):
        self.out, self.pretrained, self.settings, self.model = out, pretrained, settings, model

    def __getstate__(self):
        return {**self.__dict__, "model": None}

    def setup(self):
        from video_lstm.classify import embedding

        if self.model is None:
            self.model = embedding.load_model(self.pretrained)

    def __call__(self, index, item):
        from video_lstm.classify import embedding

        return embedding.embed_item(self.model, self.out, item, self.settings)


class _Drain:
    """The job's writer: the per-video files are written by the work; this only consumes the
    results (in one process they are computed as it asks for them)."""

    def __call__(self, group, results):
        for _ in results:
            pass


def run(job, runner="in_process", beam_args=()):
    """Embeds the videos not done yet on `runner` (`pipelines.beam_jobs`), then writes the
    outputs in the driver; returns the summary."""
    import tqdm

    from pipelines import beam_jobs
    from video_lstm.classify import embedding

    try:
        job.start()
        report_changes(job)
        pending = job.pending()
        done = len(job) - len(pending)
        if done:
            print(f"resuming {job.out}: {done} of {len(job)} videos done already", flush=True)
        runner = beam_jobs.resolve(runner, len(pending), "embed", beam_args)
        if runner != beam_jobs.IN_PROCESS:
            if pending:
                work = _EmbedVideo(job.out, job.options.pretrained, job.settings)
                files = [os.path.join(job.out, embedding.video_file(item.video_id)) for item in pending]
                beam_job = beam_jobs.Job(list(enumerate(pending)), work, _Drain(), unit="video", kind="embed",
                                         finished=lambda: sum(map(os.path.exists, files)))
                seconds = beam_jobs.run(beam_job, runner, beam_args, progress=job.options.progress)
                print(f"{len(pending)} videos in {seconds:.1f} s on {runner}", flush=True)
            return job.finish()
        counts = {"ok": 0, "partial": 0, "skipped": 0}
        bar = tqdm.tqdm(total=len(job), initial=done, desc="embedding", unit="video",
                        disable=not job.options.progress)
        with bar:
            for item in pending:
                counts[embedding.embed_item(job.model, job.out, item, job.settings)] += 1
                bar.set_postfix(counts, refresh=False)
                bar.update()
        return job.finish()
    finally:
        job.release()


def report_changes(job):
    """One line each on how the listing differs from --out's: videos changed since embedded (done
    again), added (done), no longer listed (dropped from embeddings.npz)."""
    from video_lstm.classify.embedding import _names

    if job.changed:
        first = "; ".join(f"{video} ({how})" for video, how in list(job.changed.items())[:3])
        print(f"{len(job.changed)} videos changed since they were embedded into {job.out}: embedding them again "
              f"({first}{'; ...' if len(job.changed) > 3 else ''})", flush=True)
    if job.added:
        print(f"{len(job.added)} videos listed now are new to {job.out}: embedding them ({_names(job.added)})",
              flush=True)
    if job.removed:
        print(f"{len(job.removed)} videos embedded in {job.out} are no longer listed: dropped from embeddings.npz, "
              f"named in manifest.json's \"removed\" ({_names(job.removed)})", flush=True)


def print_summary(job, summary):
    out = job.out
    partial = summary.get("partial", 0)
    print(f"embedded {summary['ok'] + partial} of {summary['videos']} videos ({summary['clips']} clips, "
          f"{job.record['state_dim']} numbers per state; pooled: the mean of a video's clip states) -> "
          f"{os.path.join(out, 'embeddings.npz')}", flush=True)
    if partial:
        print(f"partial {partial}: decoded partly (damaged or truncated; their frames read are embedded): "
              f"frames_read and frames_declared, video by video, are in {os.path.join(out, 'manifest.json')}",
              flush=True)
    if summary["skipped"]:
        kinds = ", ".join(f"{kind} {count}" for kind, count in summary["skipped_by_kind"].items())
        print(f"skipped {summary['skipped']} ({kinds}): the reasons, video by video, are in "
              f"{os.path.join(out, 'manifest.json')}", flush=True)
    if job.dataset.refused:
        from pipelines import action_datasets

        print(f"not listed: {action_datasets.describe_refused(job.dataset)} (all of them, with their reasons, in "
              f"{os.path.join(out, 'manifest.json')}'s \"refused\")", flush=True)


if __name__ == "__main__":
    cli.run(define_flags, main)
