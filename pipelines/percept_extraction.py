r"""The percept cache's extraction (`python -m pipelines.extract_percepts`): per-frame convnet
features of every video, sharded TFRecords. A corpus job (`pipelines.corpus`: the listing, the
lock, the resume comparisons and the runner are its skeleton's).

Where it runs (`pipelines.beam_jobs`): --runner=auto (the default) is one
process below 1,000 videos (extraction is convnet-bound, and one process's
convnet already uses every core: on one machine Beam was never faster, BUILD.md),
else Beam's DirectRunner, one worker process per core, when apache_beam is
installed (`pip install -e '.[beam]'`); --runner=in_process is one process always;
FlinkRunner, SparkRunner or DataflowRunner run the same pipeline on a cluster,
configured by Beam's own pipeline options given after `--` (their workers need
this package installed and --video_dir, --out and --percept_weights on a file system they
share). Whatever the runner and its number of workers, the files written are the
same bytes: each video's percepts are a pure function of the video (one network
call per --batch_frames frames of that video, as in one process), and each shard
is written by one step that orders its videos by their place in the listing.

Writes into --out the format of `pipelines.percept_records`:

    percepts-<i>-of-<n>.tfrecord   shard i: one SequenceExample per video whose list
                                   index % n == i, in list order
    manifest-<i>-of-<n>.json       shard i's manifest (its videos' rows), written after its shard
    manifest.json                  the merged manifest: one row per listed video (`video`,
                                   `label`, `frames`, `shard`, `status`)
    .extract.lock                  held (fcntl.flock) by the extraction writing --out
    .parts/                        while it runs: each video's record, until its shard is written

Videos are listed with `pipelines.action_datasets` (UCF-101 / HMDB-51 splits, or
a folder of class subfolders; listed but absent videos are dropped with one
warning); a video's id (`video`) is its path relative to --video_dir, extension
included. `--subset=all` (the default) is a split's train list then its test
list, or every video of a folder; a folder's `--subset=train` / `test` is its
held-out split (`action_datasets.held_out`: --test_fraction of each class's
videos, by a hash of their paths), as `--dataset=folder` training uses.
Each video is decoded at its own size with OpenCV, every --frame_stride-th
frame, --batch_frames at a time, so a long video is never held whole; with
--stream=flow the network reads optical-flow images (`pipelines.flow`) of
consecutive kept frames instead (T kept frames -> T - 1 percepts; flow image k,
from kept frame k to k + 1, carries kept frame k's source index). A corrupt,
empty or frameless video, or one with fewer than --min_frames percepts, is
skipped with one warning line; its manifest row's `status` says why
("undecodable: ...", "too short: ..."). A video whose decoding stops before the
frame count its container declares (a truncated file: fewer source frames
decoded than declared) is stored with the percepts of the frames that
decoded, status "partial", and `frames_read` / `frames_declared` (source
frames) in its row, with one warning line (`video_decode.DecodeStatus`, the
status every command reports); partial videos are counted apart in
the per-shard and summary lines. FFmpeg's own messages are silenced
(`pipelines.video_decode`).

Resuming. A shard is written atomically (a temporary renamed into place),
then its shard manifest; a shard whose file and shard manifest both exist is
done, and a re-run skips it, so an extraction killed at any point resumes with
the same command (on any runner). Records are encoded deterministically (the
same video, settings and weights give the same bytes), so a resumed extraction
gives byte-identical shards to an uninterrupted one. When every shard is done,
manifest.json is written from the shard manifests. An extraction holds an
exclusive lock on `.extract.lock` while it writes; a second one on the same
--out is refused, so two never do the same work. (Spreading the work is the
runner's: the hand-made sharding of before, --shard_index and one shard per
TF_CONFIG task, is gone.) Settings are checked against any manifest already in --out: a cache
is never mixed from two settings. Nor from two listings: manifest.json's rows
must be exactly the videos listed now, in order, and each shard manifest's
those of its shard; a video added to or removed from the folder since is
refused at start-up, naming it (use a new --out, or restore the folder): a
video's shard is its place in the listing (index % --num_shards), so adding or
removing one would move others between shards, and a cache is not resharded in
place. Nor from two contents: each row records the video's fingerprint
(`pipelines.fingerprints`: size, mtime_ns, sha256 of its first and last MiB),
taken before the video is read; a rerun compares it with the file's now, and a
shard holding a video changed under the same name (or a row without a
fingerprint) is extracted again, its videos named in one line: percepts are
never reused for other content.

What the listing saw and did not take (`ActionDataset.refused`: a FIFO, a folder
named like a video, a symlink loop or one leading outside --video_dir, a video in a
nested folder, a video the split names that is not there) is named in one line
and in manifest.json's "refused" ({entry, reason}).

--percept_weights=random draws the network's weights from --seed (features are
meaningless: tests and speed only), so processes sharing one extraction agree.

Bad flags, paths, split files and weights stop at start-up, before any video
is read, with one error line.
"""

import dataclasses
import glob
import itertools
import json
import math
import os
import re
import shutil

import numpy as np

from pipelines import (  # (no Beam import)
    beam_jobs,
    corpus,
    fingerprints,
    flow,
    percept_engines,
    percept_networks,
    percept_records,
    video_decode,
)
from pipelines.percept_records import MANIFEST, Manifest, shard_name
from video_lstm.core import atomic, files, settings

STREAMS = ("rgb", "flow")
STORED_DTYPES = ("float16", "float32")  # percept_records.DTYPES
FLOW_METHODS = ("farneback", "tvl1")  # flow.METHODS
LOCK = ".extract.lock"
PARTS = ".parts"
PARTIAL = "partial"


@dataclasses.dataclass(frozen=True)
class ExtractOptions(settings.CorpusListing, settings.PerceptNetwork):
    """What to extract, and how: the listing (`core.settings.CorpusListing`), the percept network
    (`core.settings.PerceptNetwork`) and the extraction's own settings; not the runner
    (`core.settings.Runner`): a cache does not depend on where it was made."""

    out: str = ""
    stream: str = "rgb"
    dtype: str = "float16"
    num_shards: int = 1
    batch_frames: int = 32
    flow_method: str = "farneback"
    flow_bound: float = 20.0
    min_frames: int = 1
    seed: int = 0
    progress: bool = True


def shard_manifest_name(index, num_shards):
    return f"manifest-{index:05d}-of-{num_shards:05d}.json"


def shard_paths(out, index, num_shards):
    """(the shard's TFRecord file, its shard manifest) in cache folder `out`."""
    return (os.path.join(out, shard_name(index, num_shards)),
            os.path.join(out, shard_manifest_name(index, num_shards)))


def _manifest_values(manifest, extraction, rows):
    """What a manifest file holds: the settings, the videos' rows, the extraction details."""
    return {**dataclasses.asdict(dataclasses.replace(manifest, videos=rows)), "extraction": extraction}


# -- start-up checks -------------------------------------------------------------


def _check_options(o):
    """ValueError / FileNotFoundError for a bad flag or path (no heavy imports)."""
    for name, choices in {**CHOICES, **settings.PERCEPT_CHOICES}.items():
        if getattr(o, name) not in choices:
            raise ValueError(f"--{name}={getattr(o, name)!r}; expected one of {list(choices)}")
    percept_engines.check(o.percept_engine, o.percept_precision)
    corpus.check_listing(o)
    if not o.out:
        raise ValueError("--out is required (the cache folder to write)")
    if os.path.exists(o.out) and not os.path.isdir(o.out):
        raise FileExistsError(f"--out={o.out} exists and is not a folder")
    atomic.check_writable(o.out, "--out")
    for name in ("num_shards", "batch_frames", "min_frames"):
        if getattr(o, name) < 1:
            raise ValueError(f"--{name}={getattr(o, name)}; expected >= 1")
    if not o.flow_bound > 0:
        raise ValueError(f"--flow_bound={o.flow_bound}; expected > 0")
    if o.stream == "flow":
        flow.check_method(o.flow_method)
    if o.percept_weights not in ("imagenet", "random") and not os.path.isfile(o.percept_weights):
        raise FileNotFoundError(f"--percept_weights={o.percept_weights}: no such file (expected imagenet, random or "
                                "a weights file)")


def list_videos(o):
    """The `ActionDataset` the options name; its items in extraction order (`corpus.list_videos`:
    videos a split names that are absent are dropped with one warning)."""
    return corpus.list_videos(o, "extract", missing="skip")


def _settings(o, dataset, dim):
    """The manifest of this extraction, without videos, and the extraction details it cannot hold."""
    manifest = Manifest(
        network=o.percept_network, weights=o.percept_weights, stream=o.stream, dtype=o.dtype, dim=dim,
        dataset=o.dataset, split=dataset.split, subset=dataset.subset, frame_stride=o.frame_stride,
        num_shards=o.num_shards, classes=list(dataset.classes), videos=[],
    )
    extraction = {
        "compute_dtype": o.percept_precision, "batch_frames": o.batch_frames, "min_frames": o.min_frames,
        "video_dir": os.path.abspath(o.video_dir or dataset.root),
    }
    if o.stream == "flow":
        extraction.update(flow_method=o.flow_method, flow_bound=o.flow_bound)
    if o.percept_engine != "tensorflow":  # (caches written before engines: TensorFlow's)
        extraction["engine"] = o.percept_engine
    if o.percept_weights == "random":
        extraction["seed"] = o.seed
    if o.dataset == "folder" and o.subset != "all":
        extraction["test_fraction"] = o.test_fraction
    return manifest, extraction


def _comparable(values):
    return {key: value for key, value in values.items() if key not in ("videos", "refused")}


def _check_cache(out, manifest, extraction, dataset=None):
    """ValueError if a manifest in `out` was written with other settings, or (given the
    `dataset` listed now) from other videos: manifest.json's rows must be the listed
    videos in order, and shard manifest i's those of shard i."""
    expected = _comparable({**dataclasses.asdict(manifest), "extraction": extraction})
    # manifest.json first: it names the change in the whole listing
    paths = sorted(glob.glob(os.path.join(out, "manifest*.json")),
                   key=lambda path: (os.path.basename(path) != "manifest.json", path))
    for path in paths:
        try:
            with files.open_regular(path) as f:
                values = json.loads(f.read())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not JSON ({error}): the cache in --out={out} is damaged; use another "
                             "--out, or delete that manifest to have its shard extracted again") from None
        found = _comparable(values)
        differing = sorted(key for key in expected.keys() | found.keys() if expected.get(key) != found.get(key))
        if differing:
            shown = ", ".join(f"{k}: {found.get(k)!r} there, {expected.get(k)!r} now" for k in differing[:3])
            raise ValueError(
                f"--out={out} holds a cache made with other settings ({os.path.basename(path)}: {shown}); "
                "use another --out, or the same flags to resume it"
            )
        if dataset is not None:
            _check_listing(out, os.path.basename(path), values, dataset, manifest.num_shards)


def _check_listing(out, name, values, dataset, num_shards):
    """ValueError naming the videos added or removed since manifest `name` of `out` was written."""
    listed = [item.video_id for item in dataset.items]
    if name != MANIFEST:
        match = re.fullmatch(r"manifest-(\d+)-of-(\d+)\.json", name)
        if not match or int(match[2]) != num_shards:
            return  # another --num_shards: the settings check names it
        index = int(match[1])
        listed = [video for i, video in enumerate(listed) if i % num_shards == index]
    recorded = [row.get("video") for row in values.get("videos", [])]
    if recorded == listed:
        return
    recorded_set, listed_set = set(recorded), set(listed)
    added = [video for video in listed if video not in recorded_set]
    removed = [video for video in recorded if video not in listed_set]
    what = f"--video_dir now lists {len(listed)}" if name == MANIFEST else (
        f"--video_dir now lists {len(listed)} for that shard")
    change = (f"added: {corpus.names(added)}; removed: {corpus.names(removed)}" if added or removed
              else "the same videos in another order")
    raise ValueError(
        f"--out={out} was made from {len(recorded)} videos ({name}); {what} ({change}): a percept cache is not "
        "resharded in place (a video's shard is its place in the listing), so use a new --out, or restore the folder"
    )


def _changed_shards(out, dataset, num_shards):
    """{shard: [(video id, how it changed)]} of the done shards holding a video whose fingerprint
    now (`pipelines.fingerprints`) is not the one its shard manifest records."""
    paths = {item.video_id: item.path for item in dataset.items}
    changed = {}
    for index in range(num_shards):
        path = shard_paths(out, index, num_shards)[1]
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            rows = json.loads(f.read()).get("videos", [])
        for row in rows:
            video = row.get("video")
            if video not in paths:
                continue
            how = fingerprints.changed(row.get("fingerprint"), fingerprints.fingerprint(paths[video]))
            if how:
                changed.setdefault(index, []).append((video, how))
    return changed


# -- one video --------------------------------------------------------------------


class _TooShort(Exception):
    pass


def _chunks(frames, size):
    """Stacks of up to `size` frames from an iterator (only one stack held)."""
    frames = iter(frames)
    while chunk := list(itertools.islice(frames, size)):
        yield np.stack(chunk)


def video_percepts(network, path, o):
    """(percepts float32 (T, D), source frame indices (T,), partial) of one video.

    The frames are those of `preparation(o)` (`video_decode.FramePreparation`, the one of
    every command: the video's own size, every --frame_stride-th frame, RGB; the network
    resizes them). `partial` is None when the video decoded to the end its container
    declares (or declares no frame count), else its `video_decode.DecodeStatus` record
    ({"status": "partial", "frames_read": source frames decoded, "frames_declared": the
    container's count}): decoding stopped at a damaged frame.

    Raises:
        video.VideoError: a missing, empty, undecodable or frameless video.
        _TooShort: fewer than o.min_frames percepts.
    """
    tally = video_decode.Tally()
    frames = preparation(o).frames(path, tally=tally, threads=1)
    if o.stream == "flow":
        frames = flow.flow_frames(frames, method=o.flow_method, bound=o.flow_bound)
    rows = [
        percept_networks.extract(network, chunk, batch_frames=o.batch_frames, dtype=o.percept_precision,
                                 engine=o.percept_engine)
        for chunk in _chunks(frames, o.batch_frames)
    ]
    count = sum(len(r) for r in rows)
    if count < o.min_frames:
        kept = math.ceil(tally.frames / o.frame_stride)
        raise _TooShort(
            f"{count} {o.stream} percepts ({kept} frames at stride {o.frame_stride}); --min_frames={o.min_frames}"
        )
    status = video_decode.decode_status(path, tally)
    partial = status.record() if status.status == video_decode.PARTIAL else None
    return np.concatenate(rows), np.arange(count, dtype=np.int64) * o.frame_stride, partial


def preparation(o):
    """The `video_decode.FramePreparation` of the extraction's frames: the video's own size
    (the percept network resizes), every --frame_stride-th frame, RGB."""
    return video_decode.FramePreparation(0, o.frame_stride)


# -- one video's work, one shard's writing (a beam_jobs.Job) ---------------------------


def build_network(o):
    """The percept network of options `o`; random weights drawn from --seed, so every worker draws the same."""
    if o.percept_weights == "random":
        # here: keeps Keras out of `import pipelines.percept_extraction`
        import keras

        keras.utils.set_random_seed(o.seed)
    return percept_networks.make_network(o.percept_network, o.percept_weights)


def _part_path(parts_dir, index):
    return os.path.join(parts_dir, f"{index:08d}.record")


class _VideoPercepts:
    """The work of one video: its record written to a part file of its own, its manifest row returned.

    A pure function of (list index, video) for given options and weights; picklable without its
    network, which `setup` builds once per worker (in one process, `prepare`'s is passed in).
    """

    def __init__(self, options, parts_dir, network=None):
        self.options, self.parts_dir, self.network = options, parts_dir, network

    def __getstate__(self):
        return {**self.__dict__, "network": None}

    def setup(self):
        if self.network is None:
            self.network = build_network(self.options)

    def __call__(self, index, item):
        o = self.options
        row = {"video": item.video_id, "label": item.label, "frames": 0, "shard": index % o.num_shards,
               "fingerprint": fingerprints.fingerprint(item.path)}  # before reading it
        try:
            features, frame_index, partial = video_percepts(self.network, item.path, o)
        except (video_decode.VideoError, _TooShort) as error:
            if isinstance(error, _TooShort):
                error = video_decode.VideoError(item.path, "too short", str(error))
            reason = video_decode.DecodeStatus.skipped(error).warn(item.path).reason
            return {**row, "status": reason}
        record = percept_records.encode(features, item.video_id, item.label, item.class_name, frame_index, o.dtype)
        with atomic.path(_part_path(self.parts_dir, index)) as temporary, open(temporary, "wb") as f:
            f.write(record)
        if partial:
            video_decode.DecodeStatus(**partial).warn(item.path)
            return {**row, "frames": len(features), **partial}
        return {**row, "frames": len(features), "status": "ok"}


@dataclasses.dataclass(frozen=True)
class _ShardOf:
    """index -> its shard (a picklable `group_of`)."""

    num_shards: int

    def __call__(self, index):
        return index % self.num_shards


@dataclasses.dataclass(frozen=True)
class _ShardWriter:
    """Writes shard i from its videos' rows in list order: their part files joined into the
    TFRecord file (atomically), then its shard manifest; then the parts are removed."""

    out: str
    parts_dir: str
    manifest: object  # percept_records.Manifest without videos
    extraction: dict

    def __call__(self, shard, results):
        # here: keeps TensorFlow out of `import pipelines.percept_extraction`
        import tensorflow as tf

        shard_path, manifest_path = shard_paths(self.out, shard, self.manifest.num_shards)
        rows, parts = [], []
        with atomic.path(shard_path) as temporary, tf.io.TFRecordWriter(temporary) as writer:
            for index, row in results:
                if row["status"] in ("ok", PARTIAL):
                    parts.append(_part_path(self.parts_dir, index))
                    with open(parts[-1], "rb") as f:
                        writer.write(f.read())
                rows.append(row)
        # after the shard: together they mark it done
        atomic.write_json(manifest_path, _manifest_values(self.manifest, self.extraction, rows))
        for part in parts:
            os.remove(part)


# -- the extraction -----------------------------------------------------------------


@dataclasses.dataclass
class Extraction(corpus.CorpusJob):
    """A checked extraction, ready to run: options, videos, network, settings, the runner."""

    options: ExtractOptions
    dataset: object  # action_datasets.ActionDataset
    network: object  # percepts.PerceptNetwork
    manifest: object  # percept_records.Manifest without videos
    extraction: dict
    runner: settings.Runner = settings.Runner()
    changed: dict = dataclasses.field(default_factory=dict)  # {done shard: [(video, how)]} to extract again

    kind = "extraction"
    lock_name = LOCK
    beam_kind = "extract_percepts"

    @property
    def out(self):
        return self.options.out

    def shard_paths(self, index):
        return shard_paths(self.out, index, self.options.num_shards)

    def is_done(self, index):
        """True when shard `index` is written and none of its videos changed since (`changed`)."""
        return index not in self.changed and all(os.path.isfile(p) for p in self.shard_paths(index))

    def _write_manifest(self, path, rows, refused=None):
        """Writes a manifest: the settings, `rows`, and `refused` ({entry, reason} rows) if given."""
        values = _manifest_values(self.manifest, self.extraction, rows)
        if refused is not None:
            values["refused"] = refused
        atomic.write_json(path, values)

    def merge(self):
        """Writes manifest.json from the shard manifests (every shard done); returns its rows."""
        done = {}
        for index in range(self.options.num_shards):
            path = self.shard_paths(index)[1]
            if not os.path.isfile(path):
                raise RuntimeError(f"shard {index} of {self.options.num_shards} was not written ({path} is missing)")
            with open(path) as f:
                done.update((row["video"], row) for row in json.load(f)["videos"])
        rows = [done[item.video_id] for item in self.dataset.items]
        self._write_manifest(os.path.join(self.out, MANIFEST), rows, refused=corpus.refused_rows(self.dataset))
        return rows

    def job(self, shards):
        """The `beam_jobs.Job` extracting `shards`: each video's work, each shard's writer."""
        n, parts_dir = self.options.num_shards, os.path.join(self.out, PARTS)
        items = [(i, item) for i, item in enumerate(self.dataset.items) if i % n in shards]

        def finished():
            """Videos done while Beam runs: a part file written, or its shard written (parts removed)."""
            parts = set(os.listdir(parts_dir)) if os.path.isdir(parts_dir) else set()
            written = {shard for shard in shards if self.is_done(shard)}
            return sum(1 for i, _ in items if i % n in written or os.path.basename(_part_path(parts_dir, i)) in parts)

        return beam_jobs.Job(items=items, work=_VideoPercepts(self.options, parts_dir, self.network),
                             write=_ShardWriter(self.out, parts_dir, self.manifest, self.extraction),
                             group_of=_ShardOf(n), unit="video", kind=self.beam_kind, finished=finished)

    def run(self):
        """Extracts the shards not yet done on the runner, then writes manifest.json; returns a summary.

        Raises:
            ValueError: another extraction holds --out.
        """
        o, n = self.options, self.options.num_shards
        self.take()
        try:
            parts_dir = os.path.join(self.out, PARTS)
            shutil.rmtree(parts_dir, ignore_errors=True)  # a killed run's: its shards are extracted again
            os.makedirs(parts_dir)
            self.report_refused("manifest.json")
            todo = []
            for index in range(n):
                if index in self.changed:
                    videos = self.changed[index]
                    first = "; ".join(f"{video} ({how})" for video, how in videos[:3])
                    print(f"shard {index} of {n}: {len(videos)} videos changed since it was extracted "
                          f"({first}{'; ...' if len(videos) > 3 else ''}): extracting it again", flush=True)
                if self.is_done(index):
                    print(f"shard {index} of {n}: done already ({self.shard_paths(index)[0]})", flush=True)
                else:
                    todo.append(index)
            job = self.job(todo)
            items = job.items
            runner, seconds = self.run_items(self.runner, items, job.work, job.write, job.finished,
                                             group_of=job.group_of, progress=o.progress)
            frames = 0
            for index in todo:
                with open(self.shard_paths(index)[1]) as f:
                    rows = json.load(f)["videos"]
                counts, shard_frames = _counts(rows), sum(row["frames"] for row in rows)
                frames += shard_frames
                print(f"shard {index} of {n}: {counts['ok']} videos ok, {counts['partial']} partial, "
                      f"{counts['skipped']} skipped, {shard_frames} {o.stream} percepts -> "
                      f"{self.shard_paths(index)[0]}", flush=True)
            rows = self.merge()
            os.rmdir(parts_dir)  # empty: each shard's writer removed its parts
        finally:
            self.release()
        counts = _counts(rows)
        videos = len(items)
        per_second = 1 / max(seconds, 1e-9)
        print(f"{videos} videos of {len(todo)} shards in {seconds:.1f} s on {runner} ({videos * per_second:.2f} "
              f"videos/s, {frames * per_second:.2f} {o.stream} frames/s)", flush=True)
        print(f"manifest.json: {counts['ok']} videos ok, {counts['partial']} partial, {counts['skipped']} skipped "
              f"of {len(rows)}", flush=True)
        return {"written": todo, "videos": videos, "frames": frames, "seconds": seconds, "runner": runner, **counts}


def _counts(rows):
    """{ok, partial, skipped}: videos by status."""
    return corpus.counts(rows)


def prepare(options, network=None, runner=settings.Runner()):
    """Checks everything that can be checked before reading a video; returns an `Extraction`.

    Args:
        options: `Options`.
        network: a `percepts.PerceptNetwork` to use instead of building
            options.percept_network with options.percept_weights (tests share one); it must be
            that network. Beam workers build their own (`build_network`).
        runner: where it runs (`core.settings.Runner`: --runner and Beam's pipeline options).

    Raises:
        ValueError, FileNotFoundError: bad options, paths, split files,
            weights, runner or Beam options, or an --out holding another
            extraction (other settings, or other videos than those listed now).
    """
    _check_options(options)
    corpus.check_runner(runner)
    dataset = list_videos(options)
    if not dataset.items:
        raise ValueError(f"{dataset.describe()}: no videos to extract")
    manifest, extraction = _settings(options, dataset, percept_networks.NETWORKS[options.percept_network].dim)
    changed = {}
    if os.path.isdir(options.out):
        _check_cache(options.out, manifest, extraction, dataset)
        changed = _changed_shards(options.out, dataset, options.num_shards)
    if network is None:
        network = build_network(options)
    elif network.name != options.percept_network:
        raise ValueError(f"network {network.name} given for --percept_network={options.percept_network}")
    return Extraction(options, dataset, network, manifest, extraction, runner, changed)


def extract(options, runner=settings.Runner()):
    """The command: every check at start-up (`prepare`), then the extraction; returns its summary."""
    return prepare(options, runner=runner).run()


# -- the flags' choices and help texts (python -m pipelines.extract_percepts) ---------------------

CHOICES = {**settings.LISTING_CHOICES, "stream": STREAMS,
           "dtype": STORED_DTYPES, "flow_method": FLOW_METHODS}
HELP = {
    **settings.LISTING_HELP,
    **settings.PERCEPT_HELP,
    "out": "The cache folder.",
    "stream": "The network reads RGB frames or optical-flow images.",
    "dtype": "How percepts are stored.",
    "num_shards": "Shards of the whole extraction: video i goes to shard i % num_shards (a shard is the unit of "
    "resuming; on Beam, shards are written in parallel).",
    "batch_frames": "Frames decoded and sent through the network at a time.",
    "flow_method": "Optical flow for --stream=flow (tvl1 needs OpenCV's contrib modules).",
    "flow_bound": "Flow displacement (pixels) rendered as 0 / 255.",
    "min_frames": "Skip videos with fewer percepts than this.",
    "seed": "Random weights are drawn from this seed.",
    "progress": "Show a progress bar.",
}
