"""Corpus-scale jobs, in one process or on Apache Beam: each item through a pure function, results written in order.

A `Job` is what both ways run:

    items     [(index, item)]: `index` orders the output (a video's place in its listing)
    work      a picklable object: work.setup() once per worker (builds a network, say), then
              work(index, item) -> result, a pure function of (index, item): small and picklable
              (a big output, a video's percept record, is written by `work` to a file of its
              own and only its manifest row returned: results cross processes)
    group_of  index -> group (a shard): the results of a group are written together
    write     write(group, results): `results` the group's (index, result) pairs in index
              order -> writes that group's files (atomically); picklable too

`run(job, runner, beam_args)` runs it. `runner="in_process"`: one process, no Beam
import, group after group, each result computed as the writer asks for it. Any other
runner is a Beam pipeline

    Create(items) -> ParDo(work; setup once per worker) -> (group, (index, result))
                  -> GroupByKey -> write(group, results sorted by index)

so a job whose work is pure writes the same bytes in one process as on any runner with
any number of workers: the writer is the one step that orders, and it sees every
group's results in index order (`tests/pipelines/test_beam_jobs.py` compares the bytes). What
follows the writes (merging shard manifests into one) is the caller's, in the driver,
after `run` returns.

Runners (`RUNNERS` are the names this module knows; any Beam runner name passes):

    auto            one process unless the job is large enough to pay for Beam's worker start-up
                    (`resolve`: `AUTO_BEAM_FROM` items of the kind, apache_beam installed) or
                    Beam options follow `--`; then the DirectRunner
    in_process      one process, as without Beam
    DirectRunner    this machine, one worker process per core: Beam's FnApiRunner (the
                    DirectRunner's batch engine) with --direct_running_mode=multi_processing
                    and --direct_num_workers=0 (= the cores) unless `beam_args` say otherwise.
                    It is called directly because the DirectRunner of Beam >= 2.6x first
                    tries the Prism runner, a binary it downloads, which ignores worker counts
    FlinkRunner, SparkRunner, DataflowRunner, ...   Beam's own, configured by `beam_args`

`beam_args` are Beam's own pipeline options, passed through as they are: on the
command line, the arguments after `--`

    python -m pipelines.extract_percepts ... --runner=FlinkRunner -- --flink_master=HOST:8081 --parallelism=8

`check(runner, beam_args)` refuses, before any work, a Beam runner without apache_beam
installed (`pip install -e '.[beam]'`), Beam options without a Beam runner, `--runner`
among them, and options no Beam options class knows (a typo would otherwise be dropped
with a warning). Workers of a remote runner need this package (and its `beam` extra)
installed, and must see the job's paths (a shared file system).

Plugging a job in (`python -m video_lstm.embed`, say): wrap its per-video pure function
in a class with `setup()` (load the model once per worker: keep the model out of the
pickled state, `__getstate__`) and `__call__(index, item)`, and its order-independent
writer in a picklable `write(group, results)`; then `run(Job(items, work, write),
runner, beam_args)` and add `--runner` plus the arguments after `--` to its flags
(`pipelines.extract_percepts` is the example: `_VideoPercepts`, `_ShardWriter`).
`bench/extract_speed.py` measures any such job in one process against Beam.
"""

import dataclasses
import importlib.util
import logging
import os
import threading
import time

import tqdm

IN_PROCESS = "in_process"
AUTO = "auto"
DIRECT = "DirectRunner"
RUNNERS = (AUTO, IN_PROCESS, DIRECT, "FlinkRunner", "SparkRunner", "DataflowRunner", "PrismRunner", "PortableRunner")
# Beam's DirectRunner as the issue asks for it: every core of this machine, one process each.
DIRECT_DEFAULTS = {"direct_num_workers": "0", "direct_running_mode": "multi_processing"}
# Beam's workers log every bundle at INFO; warnings and errors still show.
HARNESS_LOG_LEVEL = "WARNING"
# --runner=auto: the DirectRunner from this many items of a job of that kind, else one process.
# Beam pays a fixed cost first (each worker a fresh Python importing TensorFlow and loading the
# model, then the pipeline's stages: about 8 s on a 2-core machine), then gains only where its
# worker processes do what one process cannot (BUILD.md, "Embedding: one process against Beam" and
# "Percept extraction: one process against Beam"):
#   embed: one process beats DirectRunner-2-workers below about 100 videos (60 videos: Beam 1.85x
#     the time; 420 videos: 0.73x: two workers decode two videos at once); 200 leaves a margin.
#   extract_percepts: convnet-bound, and one process's convnet already uses every core (12 videos:
#     Beam 1.17x the time; the convnet runs no faster in two processes), so Beam never won on one
#     machine; 1,000 videos (about 75 minutes of convnet at 15 frames/s, 75 kept frames a video)
#     is where a run is long enough for a wrong guess to matter less than its worker start-up.
AUTO_BEAM_FROM = {"embed": 200, "extract_percepts": 1000}


@dataclasses.dataclass
class Job:
    """One corpus-scale job (see the module docstring).

    Attributes:
        items: [(index, item)], index an int (or anything sortable) unique per item.
        work: picklable; `work.setup()` once per worker, `work(index, item)` -> result.
        write: picklable; `write(group, [(index, result)] in index order)`.
        group_of: picklable; index -> group. Default: one group, 0.
        unit: what an item is, for the progress bar ("video").
        kind: a key of `AUTO_BEAM_FROM`: what --runner=auto decides by.
        desc: the progress bar's label.
        finished: () -> how many items are done, read by the driver while Beam runs (the per-item
            files written so far, say), for the progress bar; None: the bar moves at the end.
    """

    items: list
    work: object
    write: object
    group_of: object = None
    unit: str = "item"
    kind: str = "embed"
    finished: object = None
    desc: str | None = None  # the progress bar's label ("embedding")


def beam_available():
    return importlib.util.find_spec("apache_beam") is not None


def resolve(runner, items=None, kind="embed", beam_args=()):
    """The runner `runner` stands for: the one place that decides what --runner=auto means.

    auto: one process (in_process) unless apache_beam is installed and either Beam options
    follow `--` (`beam_args`: the user asks for Beam) or the job has at least
    `AUTO_BEAM_FROM[kind]` `items` (None: not known yet: one process); then the DirectRunner.
    Any other name is itself.
    """
    if runner != AUTO:
        return runner
    if not beam_available():
        return IN_PROCESS
    if beam_args:
        return DIRECT
    if items is not None and items >= AUTO_BEAM_FROM[kind]:
        return DIRECT
    return IN_PROCESS


def auto_help(kind, unit="videos"):
    """The --runner help of a command whose jobs are of `kind` (`AUTO_BEAM_FROM`)."""
    return (f"Where it runs: auto (one process below {AUTO_BEAM_FROM[kind]:,} {unit}, where Beam's worker "
            "start-up costs more than its workers gain (measured: BUILD.md); from there, or with Beam options "
            "after --, Beam's DirectRunner when apache_beam is installed), in_process (one process), or a Beam "
            "runner (DirectRunner: every core here; FlinkRunner, SparkRunner, DataflowRunner, ...); Beam's own "
            "pipeline options go after --. The files written are the same whatever the runner; a progress bar "
            "shows on every runner.")


def check(runner, beam_args=()):
    """ValueError for a runner or Beam options that cannot run here (see the module docstring)."""
    runner = resolve(runner, beam_args=beam_args)
    beam_args = list(beam_args)
    stray = [arg for arg in beam_args if not arg.startswith("--")]
    if stray:
        raise ValueError(f"unexpected arguments {stray}: only Beam pipeline options (--name=value) may follow --")
    if not runner:
        raise ValueError(f"--runner is empty; expected one of {list(RUNNERS)} or another Beam runner's name")
    if runner == IN_PROCESS:
        if beam_args:
            raise ValueError(f"arguments {beam_args} after -- are Beam pipeline options; they need a Beam --runner "
                             f"(DirectRunner, FlinkRunner, DataflowRunner, ...), not --runner={IN_PROCESS}")
        return
    if not beam_available():
        raise ValueError(f"--runner={runner} needs Apache Beam, which is not installed: pip install -e '.[beam]' "
                         f"(or --runner={IN_PROCESS})")
    named = sorted({arg.split("=")[0] for arg in beam_args if arg.split("=")[0] in ("--runner", "--runner_name")})
    if named:
        raise ValueError(f"{named[0]} after --: give the runner as --runner before the --")
    unknown = _unknown_options(beam_args)
    if unknown:
        raise ValueError(f"unknown Beam pipeline options after --: {unknown} (see Beam's PipelineOptions, "
                         "e.g. --direct_num_workers, --flink_master, --project)")


def _unknown_options(beam_args):
    # here: keeps Beam out of `import pipelines.beam_jobs`
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(list(beam_args))
    quiet = logging.getLogger("apache_beam.options.pipeline_options")
    level, quiet.level = quiet.level, logging.ERROR  # its own "Discarding unparseable args" warning
    try:
        return sorted(set(options.get_all_options(retain_unknown_options=True)) - set(options.get_all_options()))
    finally:
        quiet.level = level


def pipeline_options(runner, beam_args=()):
    """(Beam runner object or name, PipelineOptions) for `runner` and the user's Beam options."""
    # here: keeps Beam out of `import pipelines.beam_jobs`
    from apache_beam.options.pipeline_options import PipelineOptions

    runner = resolve(runner, beam_args=beam_args)
    given = {arg.split("=")[0].lstrip("-") for arg in beam_args}
    extra = [] if "default_sdk_harness_log_level" in given else [f"--default_sdk_harness_log_level={HARNESS_LOG_LEVEL}"]
    if runner == DIRECT:
        # here: keeps Beam out of `import pipelines.beam_jobs`
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        extra += [f"--{key}={value}" for key, value in DIRECT_DEFAULTS.items() if key not in given]
        return FnApiRunner(), PipelineOptions([*beam_args, *extra])
    return runner, PipelineOptions([*beam_args, *extra])


def run(job, runner=IN_PROCESS, beam_args=(), progress=False):
    """Runs `job` (see the module docstring); returns the seconds it took.

    Raises:
        ValueError: `check`'s refusals.
        Whatever `work` or `write` raise (on Beam, inside the pipeline's error).
    """
    check(runner, beam_args)
    start = time.perf_counter()
    if resolve(runner, len(job.items), job.kind, beam_args) == IN_PROCESS:
        _run_in_process(job, progress)
    else:
        with _Progress(job, progress):
            _run_on_beam(job, runner, beam_args)
    return time.perf_counter() - start


def _group_of(job, index):
    return 0 if job.group_of is None else job.group_of(index)


def _run_in_process(job, progress):
    job.work.setup()
    groups = {}
    for index, item in job.items:
        groups.setdefault(_group_of(job, index), []).append((index, item))
    with tqdm.tqdm(total=len(job.items), unit=job.unit, desc=job.desc, disable=not progress) as bar:
        for group in sorted(groups):

            def results(members=sorted(groups[group], key=lambda pair: pair[0])):
                for index, item in members:
                    yield index, job.work(index, item)
                    bar.update()

            job.write(group, results())


def _run_on_beam(job, runner, beam_args):
    # here: keeps Beam out of `import pipelines.beam_jobs`
    import apache_beam as beam

    runner, options = pipeline_options(runner, beam_args)
    work, group_of, write = job.work, job.group_of, job.write

    class Work(beam.DoFn):
        def setup(self):
            work.setup()

        def process(self, element):
            index, item = element
            yield (0 if group_of is None else group_of(index)), (index, work(index, item))

    def write_sorted(group, results):
        write(group, sorted(results, key=lambda pair: pair[0]))

    with _local_workers_env(options), beam.Pipeline(runner=runner, options=options) as pipeline:
        _ = (
            pipeline
            | "Items" >> beam.Create(list(job.items))  # reshuffled: spread over the workers
            | "Work" >> beam.ParDo(Work())
            | "ByGroup" >> beam.GroupByKey()
            | "Write" >> beam.MapTuple(write_sorted)
        )


class _Progress:
    """The progress bar of a job on Beam: the driver polls `job.finished()` (files the workers
    wrote) every `every` seconds while the pipeline runs, and completes the bar when it ends.
    The in-process run's bar (`_run_in_process`) counts results as they come instead."""

    def __init__(self, job, progress, every=0.5):
        self.job, self.progress, self.every = job, progress, every

    def __enter__(self):
        self.bar = tqdm.tqdm(total=len(self.job.items), unit=self.job.unit, desc=self.job.desc,
                             disable=not self.progress)
        self.stop = threading.Event()
        self.thread = None
        if self.progress and self.job.finished is not None:
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()
        return self

    def _poll(self):
        while not self.stop.wait(self.every):
            self._show(self.job.finished())

    def _show(self, count):
        count = min(int(count), self.bar.total)
        if count > self.bar.n:
            self.bar.update(count - self.bar.n)

    def __exit__(self, kind, value, traceback):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        if kind is None:
            self._show(self.bar.total)
        self.bar.close()
        return False


class _local_workers_env:
    """What local worker processes (the DirectRunner's) inherit while the pipeline runs: this
    checkout's root first on PYTHONPATH (they import its modules, as the driver does), and with
    N worker processes, the cores shared out, TF_NUM_INTRAOP_THREADS and OMP_NUM_THREADS =
    cores // N unless set already (N TensorFlow runtimes of a thread per core each would fight
    over the cores). A convnet's features are the same bits with the same thread count; across
    thread counts they may differ in the last bit on some CPUs (2e-7 of InceptionV3 pool features
    on an AVX2-only EPYC: the matmuls' sums split otherwise), so a job that must give the bytes of
    one process sets TF_NUM_INTRAOP_THREADS / OMP_NUM_THREADS to its driver's count, which the
    two-worker extraction test does)."""

    def __init__(self, options):
        # here: keeps Beam out of `import pipelines.beam_jobs`
        from apache_beam.options.pipeline_options import DirectOptions

        direct = options.view_as(DirectOptions)
        workers = direct.direct_num_workers or os.cpu_count()
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.environ.get("PYTHONPATH")
        self.values = {"PYTHONPATH": os.pathsep.join(dict.fromkeys([root, *(path.split(os.pathsep) if path else [])]))}
        if direct.direct_running_mode == "multi_processing" and workers > 1:
            threads = str(max(1, (os.cpu_count() or 1) // workers))
            self.values.update({key: os.environ.get(key, threads)
                                for key in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")})

    def __enter__(self):
        self.before = {key: os.environ.get(key) for key in self.values}
        os.environ.update(self.values)
        return self

    def __exit__(self, *exc):
        for key, value in self.before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return False
