r"""Extracts the percept cache: per-frame convnet features of every video, sharded TFRecords.

    python -m pipelines.extract_percepts --dataset=ucf101 --video_dir=/data/UCF-101 \
        --stream=rgb --network=vgg16 --weights=imagenet --frame_stride=5 --out=cache/ucf101_vgg16
    # many processes or machines: shard i of n each (same --out), any order, any overlap
    python -m pipelines.extract_percepts ... --num_shards=16 --shard_index=3

Writes into --out the format of `pipelines.percept_records`:

    percepts-<i>-of-<n>.tfrecord   shard i: one SequenceExample per video whose list
                                   index % n == i, in list order
    manifest-<i>-of-<n>.json       shard i's manifest (its videos' rows), written after its shard
    manifest.json                  the merged manifest: one row per listed video (`video`,
                                   `label`, `frames`, `shard`, `status`), "pending" for shards
                                   not written yet
    .shard-<i>.lock                held (fcntl.flock) by the process writing shard i

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
frame count its container declares (a truncated file: fewer kept frames than
ceil(declared / stride)) is stored with the percepts of the frames that
decoded, status "partial", and `frames_read` / `frames_declared` (source
frames) in its row, with one warning line; partial videos are counted apart in
the per-shard and summary lines. FFmpeg's own messages are silenced
(`pipelines.video_decode`).

Resuming and sharing the work. A shard is written atomically (a temporary
renamed into place), then its shard manifest; a shard whose file and shard
manifest both exist is done, and a re-run skips it, so an extraction killed at
any point resumes with the same command. Records are encoded deterministically
(the same video, settings and weights give the same bytes), so a resumed or
sharded extraction gives byte-identical shards to an uninterrupted one. After
its shards every process rewrites manifest.json from the shard manifests
present, under an exclusive lock (`fcntl.flock` on `.manifest.lock`), so the
last writer has seen every finished shard. (On a network file system without
working locks, run the command once more after all shards are done: with
nothing to extract it only rewrites manifest.json.) Before writing shard i a
process takes a non-blocking exclusive lock on `.shard-<i>.lock`; a shard
another process holds is skipped ("another process is extracting it") and
counted as such in the summary, so two processes on one --out never do the
same work. Settings are checked against any manifest already in --out: a cache
is never mixed from two settings. Nor from two listings: manifest.json's rows
must be exactly the videos listed now, in order, and each shard manifest's
those of its shard; a video added to or removed from the folder since is
refused at start-up, naming it (use a new --out, or restore the folder).

--weights=random draws the network's weights from --seed (features are
meaningless: tests and speed only), so processes sharing one extraction agree.

Bad flags, paths, split files and weights stop at start-up, before any video
is read, with one error line.
"""

import contextlib
import dataclasses
import glob
import itertools
import json
import math
import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags, logging  # noqa: E402

from video_lstm.core import cli  # noqa: E402
from video_lstm.core.choices import PERCEPT_NETWORKS, VIDEO_DATASETS  # noqa: E402

PROGRAM = "extract_percepts"
DATASETS = VIDEO_DATASETS
SUBSETS = ("train", "test", "all")
STREAMS = ("rgb", "flow")
STORED_DTYPES = ("float16", "float32")  # percept_records.DTYPES
COMPUTE_DTYPES = ("float32", "bfloat16")  # percepts.DTYPES
FLOW_METHODS = ("farneback", "tvl1")  # flow.METHODS
LOCK = ".manifest.lock"
PENDING = "pending"
PARTIAL = "partial"
_NAMES_SHOWN = 5  # videos a message names


@dataclasses.dataclass(frozen=True)
class Options:
    """What to extract, and how (the command line's flags)."""

    dataset: str
    video_dir: str
    out: str
    split: int = 1
    subset: str = "all"
    split_dir: str | None = None
    stream: str = "rgb"
    network: str = "vgg16"
    weights: str = "imagenet"
    frame_stride: int = 1
    dtype: str = "float16"
    shard_index: int | None = None
    num_shards: int = 1
    batch_frames: int = 32
    compute_dtype: str = "float32"
    flow_method: str = "farneback"
    flow_bound: float = 20.0
    min_frames: int = 1
    seed: int = 0
    progress: bool = True
    test_fraction: float = 0.2


def shard_lock_name(index):
    return f".shard-{index}.lock"


def shard_manifest_name(index, num_shards):
    return f"manifest-{index:05d}-of-{num_shards:05d}.json"


# -- start-up checks -------------------------------------------------------------


def shards_of_this_worker(o):
    """The shards this process extracts: --shard_index's; without it, under a
    TF_CONFIG cluster of n chief and worker tasks, task i's (i, i + n, ...);
    otherwise all of them."""
    from video_lstm.core import cluster  # TF_CONFIG, without TensorFlow

    if o.shard_index is not None:
        return [o.shard_index]
    index, count = cluster.worker_shard()
    if count > 1 and o.num_shards < count:
        raise ValueError(
            f"--num_shards={o.num_shards} is fewer than the {count} workers of TF_CONFIG; use "
            f"--num_shards={count} or a multiple of it"
        )
    return list(range(index, o.num_shards, count))


def _check_options(o):
    """ValueError / FileNotFoundError for a bad flag or path (no heavy imports)."""
    for name, value, choices in (
        ("dataset", o.dataset, DATASETS), ("subset", o.subset, SUBSETS), ("stream", o.stream, STREAMS),
        ("network", o.network, PERCEPT_NETWORKS), ("dtype", o.dtype, STORED_DTYPES),
        ("compute_dtype", o.compute_dtype, COMPUTE_DTYPES), ("flow_method", o.flow_method, FLOW_METHODS),
    ):
        if value not in choices:
            raise ValueError(f"--{name}={value!r}; expected one of {list(choices)}")
    if not o.video_dir:
        raise ValueError("--video_dir is required (the folder of class subfolders of videos)")
    if not os.path.isdir(o.video_dir):
        raise FileNotFoundError(f"--video_dir={o.video_dir} is not a folder")
    if not o.out:
        raise ValueError("--out is required (the cache folder to write)")
    if os.path.exists(o.out) and not os.path.isdir(o.out):
        raise FileExistsError(f"--out={o.out} exists and is not a folder")
    from video_lstm.core import atomic

    atomic.check_writable(o.out, "--out")
    if not 0 <= o.test_fraction < 1:
        raise ValueError(f"--test_fraction={o.test_fraction}; expected a fraction in [0, 1)")
    for name in ("frame_stride", "num_shards", "batch_frames", "min_frames"):
        if getattr(o, name) < 1:
            raise ValueError(f"--{name}={getattr(o, name)}; expected >= 1")
    if o.shard_index is not None and not 0 <= o.shard_index < o.num_shards:
        raise ValueError(f"--shard_index={o.shard_index}; expected 0 <= shard_index < --num_shards={o.num_shards}")
    shards_of_this_worker(o)
    if not o.flow_bound > 0:
        raise ValueError(f"--flow_bound={o.flow_bound}; expected > 0")
    if o.stream == "flow":
        from pipelines import flow

        flow.check_method(o.flow_method)
    if o.weights not in ("imagenet", "random") and not os.path.isfile(o.weights):
        raise FileNotFoundError(f"--weights={o.weights}: no such file (expected imagenet, random or a weights file)")


def list_videos(o):
    """The `ActionDataset` the options name; its items in extraction order."""
    from pipelines import action_datasets

    return action_datasets.listing(o.dataset, o.video_dir, o.split, o.subset, o.split_dir, o.test_fraction)


def _settings(o, dataset, dim):
    """The manifest of this extraction, without videos, and the extraction details it cannot hold."""
    from pipelines.percept_records import Manifest

    manifest = Manifest(
        network=o.network, weights=o.weights, stream=o.stream, dtype=o.dtype, dim=dim,
        dataset=o.dataset, split=dataset.split, subset=dataset.subset, frame_stride=o.frame_stride,
        num_shards=o.num_shards, classes=list(dataset.classes), videos=[],
    )
    extraction = {
        "compute_dtype": o.compute_dtype, "batch_frames": o.batch_frames, "min_frames": o.min_frames,
        "video_dir": os.path.abspath(o.video_dir),
    }
    if o.stream == "flow":
        extraction.update(flow_method=o.flow_method, flow_bound=o.flow_bound)
    if o.weights == "random":
        extraction["seed"] = o.seed
    if o.dataset == "folder" and o.subset != "all":
        extraction["test_fraction"] = o.test_fraction
    return manifest, extraction


def _comparable(values):
    return {key: value for key, value in values.items() if key != "videos"}


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
            with open(path, "rb") as f:
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
    from pipelines.percept_records import MANIFEST

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
    change = (f"added: {_names(added)}; removed: {_names(removed)}" if added or removed
              else "the same videos in another order")
    raise ValueError(
        f"--out={out} was made from {len(recorded)} videos ({name}); {what} ({change}): use a new --out, "
        "or restore the folder"
    )


def _names(videos):
    if not videos:
        return "none"
    return ", ".join(videos[:_NAMES_SHOWN]) + (f", ... ({len(videos)} in all)" if len(videos) > _NAMES_SHOWN else "")


# -- one video --------------------------------------------------------------------


class _TooShort(Exception):
    pass


def _chunks(frames, size):
    """Stacks of up to `size` frames from an iterator (only one stack held)."""
    import numpy as np

    frames = iter(frames)
    while chunk := list(itertools.islice(frames, size)):
        yield np.stack(chunk)


def video_percepts(network, path, o):
    """(percepts float32 (T, D), source frame indices (T,), partial) of one video.

    `partial` is None when the video decoded to the end its container declares
    (or declares no frame count), else {"frames_read": source frames up to and
    including the last kept one, "frames_declared": the container's count}:
    decoding stopped at a damaged frame before ceil(declared / stride) frames were kept.

    Raises:
        video.VideoError: a missing, empty, undecodable or frameless video.
        _TooShort: fewer than o.min_frames percepts.
    """
    import numpy as np

    from pipelines import flow, percept_networks, video_decode

    declared = video_decode.probe(path).frame_count
    kept = 0

    def counted(frames):
        nonlocal kept
        for frame in frames:
            kept += 1
            yield frame

    frames = counted(video_decode.read_frames(path, stride=o.frame_stride, threads=1))
    if o.stream == "flow":
        frames = flow.flow_frames(frames, method=o.flow_method, bound=o.flow_bound)
    rows = [
        percept_networks.extract(network, chunk, batch_frames=o.batch_frames, dtype=o.compute_dtype)
        for chunk in _chunks(frames, o.batch_frames)
    ]
    count = sum(len(r) for r in rows)
    if count < o.min_frames:
        raise _TooShort(
            f"{count} {o.stream} percepts ({kept} frames at stride {o.frame_stride}); --min_frames={o.min_frames}"
        )
    partial = None
    if declared is not None and kept < math.ceil(declared / o.frame_stride):
        read = min(declared, (kept - 1) * o.frame_stride + 1)  # up to the last kept frame
        partial = {"frames_read": read, "frames_declared": declared}
    return np.concatenate(rows), np.arange(count, dtype=np.int64) * o.frame_stride, partial


# -- shards and manifests -----------------------------------------------------------


@dataclasses.dataclass
class Extraction:
    """A checked extraction, ready to run: options, videos, network, settings."""

    options: Options
    dataset: object  # action_datasets.ActionDataset
    network: object  # percepts.PerceptNetwork
    manifest: object  # percept_records.Manifest without videos
    extraction: dict

    @property
    def out(self):
        return self.options.out

    def shard_items(self, index):
        """[(list index, VideoItem)] of shard `index`."""
        n = self.options.num_shards
        return [(i, item) for i, item in enumerate(self.dataset.items) if i % n == index]

    def shard_paths(self, index):
        from pipelines.percept_records import shard_name

        n = self.options.num_shards
        return os.path.join(self.out, shard_name(index, n)), os.path.join(self.out, shard_manifest_name(index, n))

    def is_done(self, index):
        return all(os.path.isfile(p) for p in self.shard_paths(index))

    def _write_manifest(self, path, rows):
        from video_lstm.core import atomic

        values = dataclasses.asdict(dataclasses.replace(self.manifest, videos=rows))
        atomic.write_json(path, {**values, "extraction": self.extraction})

    def write_shard(self, index):
        """Writes shard `index` and its shard manifest; returns (rows, percept frames, seconds)."""
        import tensorflow as tf
        import tqdm

        from pipelines import percept_records, video_decode
        from video_lstm.core import atomic

        o = self.options
        shard_path, manifest_path = self.shard_paths(index)
        items = self.shard_items(index)
        rows, frames, start = [], 0, time.perf_counter()
        bar = tqdm.tqdm(items, desc=f"shard {index}/{o.num_shards}", unit="video", disable=not o.progress)
        with atomic.path(shard_path) as temporary, tf.io.TFRecordWriter(temporary) as writer:
            for _, item in bar:
                row = {"video": item.video_id, "label": item.label, "frames": 0, "shard": index}
                try:
                    features, frame_index, partial = video_percepts(self.network, item.path, o)
                except (video_decode.VideoError, _TooShort) as error:
                    reason = f"{error.kind}: {error.reason}" if isinstance(error, video_decode.VideoError) else (
                        f"too short: {error}")
                    logging.warning("skipping video %s: %s", item.path, reason)
                    rows.append({**row, "status": reason})
                    continue
                writer.write(percept_records.encode(
                    features, item.video_id, item.label, item.class_name, frame_index, o.dtype))
                frames += len(features)
                if partial:
                    logging.warning("video %s decoded partly: its frames end at frame %d of the %d its container "
                                    "declares (damaged or truncated); keeping the %d percepts of the frames read",
                                    item.path, partial["frames_read"], partial["frames_declared"], len(features))
                    rows.append({**row, "frames": len(features), "status": PARTIAL, **partial})
                else:
                    rows.append({**row, "frames": len(features), "status": "ok"})
                bar.set_postfix_str(f"{frames / (time.perf_counter() - start):.1f} frames/s")
        bar.close()
        self._write_manifest(manifest_path, rows)  # after the shard: together they mark it done
        return rows, frames, time.perf_counter() - start

    def merge(self):
        """Rewrites manifest.json from the shard manifests present (under the lock); returns its rows."""
        from pipelines.percept_records import MANIFEST

        with _locked(os.path.join(self.out, LOCK)):
            done = {}
            for index in range(self.options.num_shards):
                path = self.shard_paths(index)[1]
                if os.path.isfile(path):
                    with open(path) as f:
                        done.update((row["video"], row) for row in json.load(f)["videos"])
            rows = [
                done.get(item.video_id)
                or {"video": item.video_id, "label": item.label, "frames": 0,
                    "shard": i % self.options.num_shards, "status": PENDING}
                for i, item in enumerate(self.dataset.items)
            ]
            self._write_manifest(os.path.join(self.out, MANIFEST), rows)
        return rows

    def run(self):
        """Extracts the shards not yet done (--shard_index's, or all), then merges; returns a summary."""
        from video_lstm.core import atomic

        o = self.options
        os.makedirs(self.out, exist_ok=True)
        atomic.remove_stale(self.out)
        indices = shards_of_this_worker(o)
        written, busy, total_frames, total_seconds = [], [], 0, 0.0
        for index in indices:
            shard_path = self.shard_paths(index)[0]
            if self.is_done(index):
                print(f"shard {index} of {o.num_shards}: done already ({shard_path})", flush=True)
                continue
            with _locked(os.path.join(self.out, shard_lock_name(index)), wait=False) as held:
                if not held:
                    print(f"shard {index} of {o.num_shards}: another process is extracting it; skipped", flush=True)
                    busy.append(index)
                    continue
                if self.is_done(index):  # finished by the process that held it a moment ago
                    print(f"shard {index} of {o.num_shards}: done already ({shard_path})", flush=True)
                    continue
                rows, frames, seconds = self.write_shard(index)
            counts = _counts(rows)
            print(
                f"shard {index} of {o.num_shards}: {counts['ok']} videos ok, {counts['partial']} partial, "
                f"{counts['skipped']} skipped, {frames} {o.stream} percepts in {seconds:.1f} s "
                f"({frames / max(seconds, 1e-9):.2f} frames/s) -> {shard_path}", flush=True,
            )
            written.append(index)
            total_frames += frames
            total_seconds += seconds
        rows = self.merge()
        counts = _counts(rows, busy)
        summary = {"written": written, "busy_shards": busy, "frames": total_frames, "seconds": total_seconds,
                   **counts}
        print(
            f"manifest.json: {counts['ok']} videos ok, {counts['partial']} partial, {counts['skipped']} skipped, "
            f"{counts['pending']} pending (shards not written yet), {counts['busy']} pending (being extracted by "
            f"another process) of {len(rows)}", flush=True,
        )
        return summary


def _counts(rows, busy_shards=()):
    """{ok, partial, skipped, pending, busy}: videos by status; `busy` the pending ones of
    `busy_shards` (being extracted by another process), `pending` the other pending ones."""
    counts = dict.fromkeys(("ok", "partial", "skipped", "pending", "busy"), 0)
    for row in rows:
        if row["status"] == PENDING:
            counts["busy" if row["shard"] in busy_shards else "pending"] += 1
        elif row["status"] in ("ok", PARTIAL):
            counts[row["status"]] += 1
        else:
            counts["skipped"] += 1
    return counts


@contextlib.contextmanager
def _locked(path, wait=True):
    """Holds an exclusive lock on `path` (an flock): waits for it, or with wait=False yields
    False at once if another process holds it (True when held)."""
    import fcntl

    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare(options, network=None):
    """Checks everything that can be checked before reading a video; returns an `Extraction`.

    Args:
        options: `Options`.
        network: a `percepts.PerceptNetwork` to use instead of building
            options.network with options.weights (tests share one); it must be
            that network.

    Raises:
        ValueError, FileNotFoundError: bad options, paths, split files,
            weights, or an --out holding another extraction (other settings,
            or other videos than those listed now).
    """
    _check_options(options)
    dataset = list_videos(options)
    if not dataset.items:
        raise ValueError(f"{dataset.describe()}: no videos to extract")
    from pipelines import percept_networks

    manifest, extraction = _settings(options, dataset, percept_networks.NETWORKS[options.network].dim)
    if os.path.isdir(options.out):
        _check_cache(options.out, manifest, extraction, dataset)
    if network is None:
        if options.weights == "random":
            import keras

            keras.utils.set_random_seed(options.seed)
        network = percept_networks.make_network(options.network, options.weights)
    elif network.name != options.network:
        raise ValueError(f"network {network.name} given for --network={options.network}")
    return Extraction(options, dataset, network, manifest, extraction)


# -- the command line ----------------------------------------------------------------

CHOICES = {"dataset": DATASETS, "subset": SUBSETS, "stream": STREAMS, "network": PERCEPT_NETWORKS,
           "dtype": STORED_DTYPES, "compute_dtype": COMPUTE_DTYPES, "flow_method": FLOW_METHODS}
HELP = {
    "dataset": "Which videos: a split's list, or a folder of class subfolders.",
    "video_dir": "The folder of class subfolders of videos.",
    "out": "The cache folder.",
    "split": "UCF-101 / HMDB-51 split, 1-3.",
    "subset": "Which list of the split: train, test, or both (train first); of a folder: its held-out split's "
    "train or test videos (--test_fraction), or all.",
    "split_dir": "The split files' folder (default: beside the videos, or $VIDEO_LSTM_DATA_DIR/<dataset>/...).",
    "stream": "The network reads RGB frames or optical-flow images.",
    "network": "Percept network (vgg16: fc6, 4096-d; inception_v3: pooled, 2048-d).",
    "weights": "imagenet, random (meaningless features: tests and speed) or a weights file.",
    "frame_stride": "Keep every N-th frame.",
    "dtype": "How percepts are stored.",
    "shard_index": "Extract only this shard (default: every shard not done yet; under a TF_CONFIG cluster of n "
    "tasks, task i's shards i, i + n, ...).",
    "num_shards": "Shards of the whole extraction: video i goes to shard i % num_shards.",
    "batch_frames": "Frames decoded and sent through the network at a time.",
    "compute_dtype": "The precision the network computes in.",
    "flow_method": "Optical flow for --stream=flow (tvl1 needs OpenCV's contrib modules).",
    "flow_bound": "Flow displacement (pixels) rendered as 0 / 255.",
    "min_frames": "Skip videos with fewer percepts than this.",
    "seed": "Random weights are drawn from this seed.",
    "progress": "Show a progress bar.",
    "test_fraction": "--dataset=folder --subset=train/test: the fraction of each class's videos held out for "
    "testing (chosen by a hash of their paths, as --dataset=folder training does).",
}


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m pipelines.extract_percepts`, on `flag_values` (one per `Options` field)."""
    cli.define_dataclass_flags(Options, flag_values, HELP, CHOICES)


def options_from_flags(flag_values):
    return Options(**cli.dataclass_values(Options, flag_values))


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    if len(argv) > 1:
        cli.fail(PROGRAM, f"unexpected arguments: {argv[1:]}")
    if not FLAGS.dataset:
        cli.fail(PROGRAM, f"--dataset is required (one of {list(DATASETS)})")
    try:
        extraction = prepare(options_from_flags(FLAGS))
    except (ValueError, OSError) as error:
        cli.fail(PROGRAM, _one_line(error))
    extraction.run()


def _one_line(error):
    return re.sub(r"\s*\n\s*", " ", str(error)).strip()


if __name__ == "__main__":
    cli.run(define_flags, main)
