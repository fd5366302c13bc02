"""Cached percepts as a data source: `--dataset=percepts --percepts_dir=DIR`.

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
"""

import dataclasses
import os

import numpy as np

from pipelines import percept_records
from pipelines.sources import InputSpec, LazyClips, StepwiseSource, TestSet

HELP = {
    "percepts_dir": "Percept cache to train on (written by python -m pipelines.extract_percepts).",
    "percepts_test_dir": "Percept cache of the test videos; default: --percepts_dir (no held-out set).",
}
CHOICES = {}


@dataclasses.dataclass(frozen=True)
class Options:
    percepts_dir: str = ""
    percepts_test_dir: str = ""

    def validate(self, config):
        """Raises ValueError naming the first bad flag (the cache itself is read by `Source`)."""
        if not self.percepts_dir:
            raise ValueError("--dataset=percepts needs --percepts_dir (a cache of pipelines.extract_percepts)")


def input_spec(config):
    manifest = percept_records.Manifest.read(config.data.percepts_dir)
    return InputSpec((manifest.dim,), origin=f"--percepts_dir={config.data.percepts_dir} ({manifest.network})")


class Cache:
    """The usable videos of one cache: (shard path, byte offset, frames) each, in manifest order."""

    def __init__(self, directory, clip_length):
        self.directory = directory
        self.manifest = percept_records.Manifest.read(directory)
        paths = self.manifest.shard_paths(directory)
        rows = {}
        for row in self.manifest.videos:
            if row["status"] == "ok":
                rows.setdefault(row["shard"], []).append(row)
        self.videos = []  # (path, offset, frames)
        self.rows = []  # the manifest row of each video (its name and label), parallel to `videos`
        for shard, shard_rows in sorted(rows.items()):
            if not os.path.exists(paths[shard]):
                raise FileNotFoundError(f"{paths[shard]} is missing from the percept cache {directory}")
            for row, offset in zip(shard_rows, percept_records.offsets(paths[shard])):
                if row["frames"] >= clip_length:
                    self.videos.append((paths[shard], offset, row["frames"]))
                    self.rows.append(row)
        if not self.videos:
            raise ValueError(f"the percept cache {directory} holds no video of {clip_length} frames or more")

    def clips(self, path, offset, starts, clip_length):
        """float32 (len(starts), clip_length, D): clips of one video, read once."""
        percepts = percept_records.decode(percept_records.read_at(path, offset))["percepts"]
        return np.stack([percepts[start : start + clip_length] for start in starts])


class Source(StepwiseSource):
    """Clips of cached percept sequences."""

    clip_dtype = "float32"

    def __init__(self, config):
        super().__init__(config)
        self._train = None

    @property
    def cache(self):
        if self._train is None:
            self._train = Cache(self.config.data.percepts_dir, self.config.clip_length)
        return self._train

    def describe(self):
        manifest = self.cache.manifest
        return {"dataset": "percepts", "percepts_dir": os.path.abspath(self.config.data.percepts_dir),
                "videos": len(self.cache.videos), "network": manifest.network, "weights": manifest.weights,
                "stream": manifest.stream, "source_dataset": manifest.dataset}

    def draw(self, rng):
        """((shard path, offset), start, None) of one training clip."""
        path, offset, frames = self.cache.videos[int(rng.integers(len(self.cache.videos)))]
        return (path, offset), int(rng.integers(0, frames - self.config.clip_length + 1)), None

    def read(self, video, wanted):
        return self.cache.clips(*video, [start for start, _ in wanted], self.config.clip_length)

    def train_clips(self, start_step=0, num_steps=None):
        self.cache  # read (and check) the manifest before the stream starts
        return super().train_clips(start_step, num_steps)

    def test_set_name(self):
        return "test" if self.config.data.percepts_test_dir else "train_cache"

    def test_set(self):
        from pipelines.video import covering_clip_starts

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
