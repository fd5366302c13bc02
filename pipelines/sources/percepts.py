"""Percepts as a data source: `--dataset=percepts`, from a cache or computed inline.

`--percepts_from=cache` (the default) reads a cache, `--percepts_dir=DIR`;
`--percepts_from=videos` runs the extractor inline (`InlineSource`, below).

Sequences of per-frame convnet features `(T, D)` (VGG16 fc6, InceptionV3),
read from a cache that `python -m pipelines.extract_percepts` wrote
(`pipelines/percept_records.py` says its format). Records are read by byte
offset, one video at a time: no cache is held in memory.

- Training batch i is a pure function of (seed, i): its clips' videos and start
  frames are drawn from `np.random.default_rng([seed, 0, i])` over the videos
  with at least `clip_length` frames; read inside tf.data with a parallel map.
- The fixed test set is the videos of `--percepts_test_dir` (default: the
  training cache itself, which then is no held-out set), each covered by clips
  (`video.covering_clip_starts`), in manifest order, the first
  `--eval_sequences`, read lazily a batch at a time.

A cache's usable videos are its rows of status "ok" and "partial" (a video
whose decoding stopped before its container's frame count: its percepts are
those of the frames that decoded) with at least `clip_length` percepts; the
shorter ones are named in one warning. `CacheSource.check()` reads both
caches' manifests at start-up and refuses a test cache of another network,
weights, dimension or stream than the training cache's.
"""

import collections
import dataclasses
import json
import os
import threading

import numpy as np
from absl import logging

from pipelines import percept_engines, percept_networks, percept_records
from pipelines.sources import DataSource, InputSpec, LazyClips, StepwiseSource, TestSet, check_choices
from pipelines.sources import videos as videos_source
from pipelines.video_decode import covering_clip_starts
from video_lstm.core import settings
from video_lstm.core.choices import PERCEPT_ORIGINS, VIDEO_DATASETS

HELP = {
    "percepts_dir": "Percept cache to train on (written by python -m pipelines.extract_percepts).",
    "percepts_test_dir": "Percept cache of the test videos; default: --percepts_dir (no held-out set).",
    "percepts_from": "cache (read --percepts_dir) or videos (run the percept network inline on "
    "--percept_videos clips of --video_dir; RGB only).",
    "percept_videos": "With --percepts_from=videos: which videos (a --dataset of video files).",
    **settings.PERCEPT_HELP,  # read with --percepts_from=videos
    **videos_source.HELP,
}
CHOICES = {
    "percepts_from": PERCEPT_ORIGINS,
    "percept_videos": VIDEO_DATASETS,
    **settings.PERCEPT_CHOICES,
}
# shared with videos
_VIDEO_FIELDS = ("video_dir", "split", "split_dir", "frame_stride", "videos_from", "test_fraction", "test_dir")
USABLE = ("ok", "partial")  # manifest statuses of videos whose percepts are in the cache
_SHORT_SHOWN = 3  # names of too-short videos a warning lists


@dataclasses.dataclass(frozen=True)
class Options(settings.PerceptNetwork, settings.VideoListing):
    """The cache, or (--percepts_from=videos) the percept network (`core.settings.PerceptNetwork`)
    and the videos it reads: the listing (`core.settings.VideoListing`) and --videos_from /
    --test_dir, the same flags as --dataset=ucf101/hmdb51/folder's."""

    percepts_dir: str = ""
    percepts_test_dir: str = ""
    percepts_from: str = "cache"
    percept_videos: str = "ucf101"
    videos_from: str = "files"
    test_dir: str = ""

    # Chooses only the test set: another value is an evaluation of its own (`video_lstm.config`).
    EVALUATION_FIELDS = ("percepts_test_dir",)

    def validate(self, config):
        """Raises ValueError naming the first bad flag (the cache itself is read by `Source`)."""
        check_choices(self, CHOICES)
        if self.percepts_from == "cache" and not self.percepts_dir:
            raise ValueError(
                "--dataset=percepts needs --percepts_dir (a cache of pipelines.extract_percepts), "
                "or --percepts_from=videos to compute percepts inline"
            )
        if self.percepts_from == "videos":
            try:
                video_config(config)  # a Config: validated as it is made
            except ValueError as error:
                raise ValueError(f"--percepts_from=videos --percept_videos={self.percept_videos}: {error}") from None


def video_config(config):
    """The `--dataset=<percept_videos>` config whose clips an inline percept source reads:
    RGB frames at the network's input size."""
    data = config.data
    size = percept_networks.NETWORKS[data.percept_network].input_size
    options = videos_source.Options(
        **{name: getattr(data, name) for name in _VIDEO_FIELDS}, frame_size=size, color="rgb", patch_size=0
    )
    return dataclasses.replace(config, dataset=data.percept_videos, data=options)


def input_spec(config):
    data = config.data
    if data.percepts_from == "videos":
        dim = percept_networks.NETWORKS[data.percept_network].dim
        return InputSpec((dim,), origin=f"--percept_network={data.percept_network} (inline)")
    manifest = percept_records.Manifest.read(data.percepts_dir)
    return InputSpec((manifest.dim,), origin=f"--percepts_dir={data.percepts_dir} ({manifest.network})")


def Source(config):  # noqa: N802  (the source contract's constructor)
    """The source `--percepts_from` names: a `CacheSource` or an `InlineSource`."""
    return InlineSource(config) if config.data.percepts_from == "videos" else CacheSource(config)


class Cache:
    """The usable videos of one cache: (shard path, byte offset, frames) each, in manifest order.

    Rows of status "ok" or "partial" have records; of those, the videos shorter
    than `clip_length` percepts are not used (one warning says how many)."""

    def __init__(self, directory, clip_length):
        self.directory = directory
        self.manifest = percept_records.Manifest.read(directory)
        self.decoded, self._lock = collections.Counter(), threading.Lock()  # records read, clips, percepts
        paths = self.manifest.shard_paths(directory)
        rows = {}
        for row in self.manifest.videos:
            if row["status"] in USABLE:
                rows.setdefault(row["shard"], []).append(row)
        self.videos = []  # (path, offset, frames)
        self.rows = []  # the manifest row of each video (its name and label), parallel to `videos`
        short = []
        for shard, shard_rows in sorted(rows.items()):
            if not os.path.exists(paths[shard]):
                raise FileNotFoundError(f"{paths[shard]} is missing from the percept cache {directory}")
            for row, offset in zip(shard_rows, percept_records.offsets(paths[shard])):
                if row["frames"] >= clip_length:
                    self.videos.append((paths[shard], offset, row["frames"]))
                    self.rows.append(row)
                else:
                    short.append(row["video"])
        if not self.videos:
            raise ValueError(f"the percept cache {directory} holds no video of {clip_length} frames or more")
        if short:
            logging.warning(
                "percept cache %s: %d of its %d videos with percepts are shorter than one clip of %d and are "
                "not used (%s%s); %d used", directory, len(short), len(short) + len(self.videos), clip_length,
                ", ".join(short[:_SHORT_SHOWN]), ", ..." if len(short) > _SHORT_SHOWN else "", len(self.videos))

    def clips(self, path, offset, starts, clip_length):
        """float32 (len(starts), clip_length, D): clips of one video, read once."""
        sequence = percept_records.decode(percept_records.read_at(path, offset))["percepts"]
        with self._lock:
            self.decoded.update(records=1, clips=len(starts), frames=len(sequence))
        return np.stack([sequence[start : start + clip_length] for start in starts])


class CacheSource(StepwiseSource):
    """Clips of cached percept sequences."""

    clip_dtype = "float32"

    def __init__(self, config):
        super().__init__(config)
        self._train = None

    def check(self):
        """Both caches' manifests readable, the training cache's shards present with a usable
        video, and a --percepts_test_dir cache of the same network, weights, dim and stream."""
        data = self.config.data
        train = _read_manifest("percepts_dir", data.percepts_dir)
        self.cache
        if not data.percepts_test_dir:
            return
        test = _read_manifest("percepts_test_dir", data.percepts_test_dir)
        keys = ("network", "weights", "dim", "stream")
        if [getattr(test, k) for k in keys] != [getattr(train, k) for k in keys]:
            describe = lambda m: f"{m.dim}-d {m.network} ({m.weights} weights) {m.stream} percepts"  # noqa: E731
            raise ValueError(
                f"--percepts_test_dir={data.percepts_test_dir} holds {describe(test)}; --percepts_dir="
                f"{data.percepts_dir} holds {describe(train)}: expected the same network, weights, dim and stream"
            )
        Cache(data.percepts_test_dir, self.config.clip_length)

    @property
    def cache(self):
        if self._train is None:
            self._train = Cache(self.config.data.percepts_dir, self.config.clip_length)
        return self._train

    def describe(self):
        manifest = self.cache.manifest
        described = {"dataset": "percepts", "percepts_dir": os.path.abspath(self.config.data.percepts_dir),
                     "videos": len(self.cache.videos), "network": manifest.network, "weights": manifest.weights,
                     "stream": manifest.stream, "source_dataset": manifest.dataset}
        if manifest.weights == "random":  # what rebuilds the network exactly (export --with_convnet)
            described["extraction_seed"] = extraction_seed(self.config.data.percepts_dir)
        return described

    def draw(self, rng):
        """((shard path, offset), start, None) of one training clip."""
        path, offset, frames = self.cache.videos[int(rng.integers(len(self.cache.videos)))]
        return (path, offset), int(rng.integers(0, frames - self.config.clip_length + 1)), None

    def read(self, video, wanted):
        return self.cache.clips(*video, [start for start, _ in wanted], self.config.clip_length)

    def train_clips(self, start_step=0, num_steps=None, rows=None):
        self.cache  # read (and check) the manifest before the stream starts
        return super().train_clips(start_step, num_steps, rows)

    def decoded(self):
        with self.cache._lock:
            return dict(self.cache.decoded)

    def test_set_name(self):
        return "test" if self.config.data.percepts_test_dir else "train_cache"

    def test_set(self):
        directory = self.config.data.percepts_test_dir or self.config.data.percepts_dir
        length = self.config.clip_length
        cache = Cache(directory, length)
        index = []
        for path, offset, frames in cache.videos:
            index += [((path, offset), start, None) for start in covering_clip_starts(frames, length)]
            if len(index) >= self.config.eval_sequences:
                break
        read = lambda video, wanted: cache.clips(*video, [start for start, _ in wanted], length)  # noqa: E731
        clips = LazyClips(index[: self.config.eval_sequences], read)
        return TestSet(clips, self.test_set_name(), {"test_percepts": os.path.abspath(directory)})


def extraction_seed(directory):
    """The --seed a cache's random network weights were drawn from (manifest.json's
    "extraction"), or None when it records none."""
    with open(os.path.join(directory, percept_records.MANIFEST)) as f:
        return (json.load(f).get("extraction") or {}).get("seed")


def _read_manifest(flag, directory):
    """The `Manifest` of the cache --flag names; FileNotFoundError / ValueError naming the flag."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"--{flag}={directory} is not a folder; expected a percept cache "
                                "(python -m pipelines.extract_percepts)")
    try:
        return percept_records.Manifest.read(directory)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"--{flag}={directory}: {error}") from None
    except (ValueError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"--{flag}={directory}: {percept_records.MANIFEST} is not readable: {error}") from None


class InlineSource(DataSource):
    """Percepts computed inline: the videos source's clips through the percept network.

    Training batch i is the videos source's batch i (same videos, starts) with
    every frame replaced by its percept; the test set is its test set's.
    The network is built at the first use (`setup` asks for sample inputs
    before training), so missing weights stop the run at start-up.
    """

    clip_dtype = "float32"

    def __init__(self, config):
        super().__init__(config)
        self.videos = videos_source.Source(video_config(config))
        self._network = None

    @property
    def network(self):
        if self._network is None:
            data = self.config.data
            self._network = percept_networks.make_network(data.percept_network, data.percept_weights)
        return self._network

    def extract(self, clips):
        """uint8 (n, T, S, S, 3) -> float32 (n, T, D)."""
        data = self.config.data
        return percept_networks.extract(self.network, clips, dtype=data.percept_precision, engine=data.percept_engine)

    def check(self):
        percept_engines.check(self.config.data.percept_engine, self.config.data.percept_precision)
        self.videos.check()

    def skipped(self):
        return self.videos.skipped()

    def describe(self):
        data = self.config.data
        engine = {} if data.percept_engine == "tensorflow" else {"engine": data.percept_engine}  # runs before it
        return {"dataset": "percepts", "percepts_from": "videos", "network": data.percept_network,
                "weights": data.percept_weights, "precision": data.percept_precision, **engine, "stream": "rgb",
                "videos": self.videos.describe()}

    def train_clips(self, start_step=0, num_steps=None, rows=None):
        self.videos.train_videos  # list (and check) the videos before the stream starts
        clips = self.videos.raw_train_clips(start_step, num_steps, rows)  # the network sees only these rows
        data = self.config.data
        return percept_networks.percept_stage(clips, self.network, dtype=data.percept_precision,
                                              engine=data.percept_engine)

    def decoded(self):
        return self.videos.decoded()

    def sample_clips(self, count=3):
        return self.extract(self.videos.sample_clips(count))

    def test_set_name(self):
        return f"{self.videos.test_set_name()}_videos"

    def test_set(self):
        videos = self.videos.test_set()
        read = lambda video, wanted: self.extract(self.videos.read(video, wanted))  # noqa: E731
        return TestSet(LazyClips(videos.clips.index, read), self.test_set_name(), videos.info)
