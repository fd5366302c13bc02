"""Real video as a data source: `--dataset=ucf101`, `hmdb51` or `folder`.

Videos are listed by `pipelines.action_datasets` (an official split's train and
test lists, or a folder of class subfolders) and decoded by `pipelines.video_decode`
(OpenCV), a clip at a time: no video and no dataset is ever held whole.

Frames are resized (shorter side to `--frame_size`, centre crop to a square),
RGB or grey (`--color`), every `--frame_stride`-th frame. With `--patch_size=N`
each clip is an N x N patch of those frames at a random position held fixed
across the clip, as the official patch data (32x32 patches of UCF-101).

- Training batch i is a pure function of (seed, i): its clips' videos, start
  frames and patch positions are drawn from `np.random.default_rng([seed, 0, i])`,
  so a resumed run reads exactly the batches it would have read. Batches are
  decoded in parallel inside tf.data (`num_parallel_calls`, deterministic).
  A video that cannot be decoded, or is shorter than one clip, is skipped with
  one warning and another is drawn (deterministically).
- The fixed test set is the test list's videos, each cut into clips that
  cover it (`video.covering_clip_starts`), in list order, the first
  `--eval_sequences` of them; patches at positions drawn from TEST_SEED. It is
  decoded lazily, a batch at a time (`LazyClips`).

A folder has no split files, so it is never scored on its training videos:
either `--test_dir` names a second folder of the same class subfolders to test
on (and every video of `--video_dir` trains), or `--test_fraction` (default
0.2) of each class's videos is held out for testing, chosen by a stable hash of
their relative paths (`action_datasets.held_out`); the split is logged at
start-up and recorded in data.json (`describe`). `--test_fraction=0` without
`--test_dir` is refused (there would be nothing to test on).

`Source.check()` lists the training and test videos (no decoding) so that a
bad split, folder or empty test list stops a run at start-up;
`Source.skipped()` names the videos the decoder has found unusable so far.
"""

import collections
import dataclasses
import itertools
import math
import os
import threading

import numpy as np
from absl import logging

from pipelines import action_datasets, tfds_videos, video_decode
from pipelines.sources import InputSpec, LazyClips, StepwiseSource, TestSet, check_choices
from pipelines.video_decode import covering_clip_starts
from video_lstm.core import settings
from video_lstm.core.choices import VIDEO_COLORS, VIDEO_ORIGINS

TEST_SEED = 1234
_MAX_DRAWS = 100  # draws per clip before a training batch gives up on bad videos

HELP = {
    **{name: settings.LISTING_HELP[name] for name in (f.name for f in dataclasses.fields(settings.VideoListing))},
    "color": "rgb (3 channels) or grey (1).",
    "patch_size": "0: whole frames (--frame_size squares); N: N x N patches of them at a random "
    "position held fixed across a clip (the official patch data: 32).",
    "videos_from": "files (decoded with OpenCV from --video_dir) or tfds (TFDS ucf101, prepared; "
    "--video_dir, if given, is then the TFDS data_dir).",
    "test_dir": "--dataset=folder: a folder of the same class subfolders to test on; then every video of "
    "--video_dir trains.",
}
CHOICES = {"color": VIDEO_COLORS, "videos_from": VIDEO_ORIGINS}


@dataclasses.dataclass(frozen=True)
class Options(settings.VideoListing):
    """The listing (`core.settings.VideoListing`: --video_dir, --split, --split_dir, --test_fraction,
    --frame_stride) and how its frames are read."""

    frame_size: int = 64
    color: str = "rgb"
    patch_size: int = 0
    videos_from: str = "files"
    test_dir: str = ""

    def validate(self, config):
        """Raises ValueError naming the first bad flag (paths are checked by `Source`)."""
        check_choices(self, CHOICES)
        if self.videos_from == "tfds" and config.dataset != "ucf101":
            raise ValueError(f"--videos_from=tfds has ucf101 only; got --dataset={config.dataset}")
        if not self.video_dir and self.videos_from == "files":
            raise ValueError(
                f"--dataset={config.dataset} needs --video_dir (the folder holding the class folders "
                "of videos)"
            )
        if self.split not in (1, 2, 3):
            raise ValueError(f"--split={self.split}; expected 1, 2 or 3")
        check_folder_test_flags(self, config.dataset)
        if self.frame_size < 8:
            raise ValueError(f"--frame_size={self.frame_size}; expected >= 8 pixels")
        if self.frame_stride < 1:
            raise ValueError(f"--frame_stride={self.frame_stride}; expected >= 1")
        if not 0 <= self.patch_size <= self.frame_size:
            raise ValueError(
                f"--patch_size={self.patch_size}; expected 0 (whole frames) or 1..--frame_size "
                f"({self.frame_size})"
            )


def check_folder_test_flags(options, dataset):
    """ValueError naming --test_fraction / --test_dir when they are out of range or do not fit `dataset`."""
    action_datasets.check_test_fraction(options.test_fraction, "--test_fraction")
    if dataset != "folder":
        if options.test_dir:
            raise ValueError(f"--test_dir is for --dataset=folder; --dataset={dataset} tests on its split's test list")
        return
    if options.test_fraction == 0 and not options.test_dir:
        raise ValueError("--test_fraction=0 holds out no video of --video_dir: pass --test_dir (a folder of the "
                         "same class subfolders to test on) or a --test_fraction in (0, 1)")


def input_spec(config):
    data = config.data
    channels = 3 if data.color == "rgb" else 1
    if data.patch_size:
        side, origin = data.patch_size, f"--patch_size={data.patch_size}"
    else:
        side, origin = data.frame_size, f"--frame_size={data.frame_size}"
    return InputSpec((side, side, channels), origin=f"{origin} --color={data.color}")


def preparation_of(data):
    """The `video_decode.FramePreparation` of a video source's options."""
    return video_decode.FramePreparation(data.frame_size, data.frame_stride, data.color, data.patch_size)


def frame_preparation(config):
    """How this source prepares frames (the source contract's, for `pipelines.user_video`)."""
    return preparation_of(config.data)


def list_videos(config, subset, missing="skip"):
    """The `ActionDataset` of `subset` ("train" or "test") that `config` names.

    Split lists: absent videos are dropped with one warning (`missing="skip"`) or
    refused ("error"). A folder: with --test_dir, all of --video_dir trains and
    --test_dir's videos test (their classes must be equal); otherwise the held-out
    split of --test_fraction.

    Raises:
        FileNotFoundError: a folder or split file that is not there.
        ValueError: --test_dir's classes differ from --video_dir's (naming the
            difference), or a list names a video twice.
    """
    data = config.data
    if data.videos_from == "tfds":
        return tfds_videos.ucf101(data.split, subset, data_dir=data.video_dir or None)
    if config.dataset == "folder":
        if not data.test_dir:
            return action_datasets.folder(data.video_dir, subset=subset, test_fraction=data.test_fraction)
        train = action_datasets.folder(data.video_dir)
        if subset == "train":
            return dataclasses.replace(train, subset="train")
        test = action_datasets.folder(data.test_dir)
        if test.classes != train.classes:
            only_test = sorted(set(test.classes) - set(train.classes))
            only_train = sorted(set(train.classes) - set(test.classes))
            raise ValueError(
                f"--test_dir={data.test_dir} has other classes than --video_dir={data.video_dir} (only in "
                f"--test_dir: {', '.join(only_test) or 'none'}; only in --video_dir: "
                f"{', '.join(only_train) or 'none'}); expected the same class subfolders"
            )
        return dataclasses.replace(test, subset="test")
    loader = {"ucf101": action_datasets.ucf101, "hmdb51": action_datasets.hmdb51}[config.dataset]
    return loader(data.video_dir, data.split, subset, split_dir=data.split_dir or None, missing=missing)


def log_folder_split(config, train, test):
    """One INFO line saying how a folder's videos are split into train and test."""
    data = config.data
    if config.dataset != "folder" or data.videos_from == "tfds":
        return
    if data.test_dir:
        logging.info("folder %s: all %d videos train; --test_dir=%s: %d test videos", data.video_dir, len(train),
                     data.test_dir, len(test))
    else:
        logging.info("folder %s has no split: holding out %g%% of each class's videos (--test_fraction): "
                     "%d train, %d test", data.video_dir, 100 * data.test_fraction, len(train), len(test))


def log_refused(*datasets):
    """One WARNING line per listing on the entries it saw and did not take
    (`action_datasets.describe_refused`), a folder's held-out train and test lists (which
    share theirs) once."""
    logged = set()
    for dataset in datasets:
        refused = getattr(dataset, "refused", ())
        if refused and (dataset.root, refused) not in logged:
            logged.add((dataset.root, refused))
            logging.warning("%s", action_datasets.describe_refused(dataset))


def grey(frames):
    """uint8 RGB frames (..., 3) -> uint8 grey (..., 1), as every video source converts them
    (`video_decode.FramePreparation.finish`: ITU-R 601 luma, rounded)."""
    return video_decode.FramePreparation(size=0, color="grey").finish(np.asarray(frames, np.uint8))


class _Decoder:
    """Clips of videos at given positions, frames as the options say; frame counts memoised."""

    def __init__(self, data, clip_length):
        self.data, self.clip_length = data, clip_length
        self.preparation = preparation_of(data)
        self._counts, self._lock = {}, threading.Lock()
        self.skipped = {}  # {path: why it gives no clip}: undecodable, or shorter than one clip
        self.partial = {}  # {path: video_decode.DecodeStatus} of the videos that decode partly
        self.decoded = collections.Counter()  # videos opened, clips cut, frames decoded (for clips)

    def usable_frames(self, path):
        """Frames after the stride, or 0 for a video that cannot be decoded (warned once; its
        reason kept in `skipped`, as that of a video shorter than one clip; a video that decodes
        partly is warned about once and kept in `partial`)."""
        with self._lock:
            if path in self._counts:
                return self._counts[path]
        status = None
        try:
            if tfds_videos.is_key(path):
                frames = sum(1 for _ in tfds_videos.frames(path, self.data.video_dir))
            else:
                declared = video_decode.probe(path).frame_count
                frames = video_decode.count_frames(path)
                status = video_decode.DecodeStatus.of(frames, declared)
            count = math.ceil(frames / self.data.frame_stride)
        except video_decode.VideoError as error:
            status, count = video_decode.DecodeStatus.skipped(error), 0
        if 0 < count < self.clip_length:
            short = f"{count} frames, shorter than one clip of {self.clip_length}"
            status = video_decode.DecodeStatus.skipped(video_decode.VideoError(path, "too short", short))
        if status is not None:
            status.warn(path)
        with self._lock:
            self._counts[path] = count
            if status is not None and status.status == video_decode.SKIPPED:
                self.skipped[path] = status.reason
            elif status is not None and status.status == video_decode.PARTIAL:
                self.partial[path] = status
        return count

    def clips(self, path, starts, patches):
        """uint8 (len(starts), clip_length, *frame) of one video, decoded once,
        holding at most one clip's frames (and the clips asked for)."""
        wanted, kept = set(starts), {}
        window = collections.deque(maxlen=self.clip_length)
        first = min(starts)
        frames = self._frames(path, first)
        for index, frame in enumerate(frames, start=first):
            window.append(frame)
            start = index + 1 - self.clip_length
            if start in wanted:
                kept[start] = np.stack(window)
                if len(kept) == len(wanted):
                    break
        frames.close()
        with self._lock:
            self.decoded.update(videos=1, clips=len(starts), frames=index + 1 - first)
        if len(kept) != len(wanted):
            raise video_decode.VideoError(path, "too short", "decoded fewer frames than it did when counted")
        return np.stack([self._finish(kept[start], patch) for start, patch in zip(starts, patches)])

    def _frames(self, path, start=0):
        """The strided RGB frames of a video file or a TFDS key from kept frame `start` on,
        resized to frame_size (a generator; frames before `start` are not converted)."""

        stride = self.data.frame_stride
        if tfds_videos.is_key(path):
            every = itertools.islice(tfds_videos.frames(path, self.data.video_dir), start * stride, None, stride)
            return self.preparation.fit(every, name=path)
        return self.preparation.frames(path, start=start)

    def _finish(self, clip, patch):
        """Grey conversion and the patch crop of one clip (T, S, S, 3)."""
        return self.preparation.finish(clip, patch)

    def patch_position(self, rng):
        """(top, left) of a patch; draws the same random numbers with or without
        patches, so whole-frame and patch streams pick the same clips."""
        fractions = rng.random(2)
        room = self.data.frame_size - self.data.patch_size
        return tuple(int(f * (room + 1)) for f in fractions) if self.data.patch_size else (0, 0)


class Source(StepwiseSource):
    """Clips of real videos, as `config.data` describes them."""

    def __init__(self, config):
        super().__init__(config)
        for flag in ("video_dir", "split_dir", "test_dir"):
            path = getattr(config.data, flag)
            if path and not os.path.isdir(path):
                raise FileNotFoundError(f"--{flag}={path} is not a folder")
        self.decoder = _Decoder(config.data, config.clip_length)
        self._train = self._test = None

    @property
    def train_videos(self):
        if self._train is None:
            train = list_videos(self.config, "train")
            if not train.items:
                raise ValueError(f"{train.describe()}: no videos to train on in {train.root}")
            if self.config.dataset == "folder":
                log_folder_split(self.config, train, self.test_videos)
            log_refused(train, self.test_videos)
            self._train = train
        return self._train

    @property
    def test_videos(self):
        """The `ActionDataset` of the test list (listed once)."""
        if self._test is None:
            self._test = list_videos(self.config, "test")
        return self._test

    def check(self):
        """Lists the training and test videos (split files found, a folder's held-out split or
        --test_dir present, at least one video in each); decodes none."""
        self.train_videos
        test = self.test_videos
        if not test.items:
            data = self.config.data
            hint = ("; a class of one video is train only: add videos, raise --test_fraction or pass --test_dir"
                    if self.config.dataset == "folder" and not data.test_dir else "")
            raise ValueError(f"{test.describe()}: no test videos under {test.root}{hint}")

    def skipped(self):
        """{relative path (or path): reason} of the videos found unusable so far (undecodable,
        or shorter than one clip); the decoder finds them as it first counts their frames."""
        names = {}
        for dataset in (self._train, self._test):
            if dataset is not None:
                names.update((item.path, item.relative_path) for item in dataset.items)
        with self.decoder._lock:
            found = dict(self.decoder.skipped)
        return {names.get(path, path): reason for path, reason in sorted(found.items())}

    def partial(self):
        """{relative path (or path): DecodeStatus record} of the videos found to decode partly so far
        (a damaged or truncated file: its frames read are used)."""
        names = {}
        for dataset in (self._train, self._test):
            if dataset is not None:
                names.update((item.path, item.relative_path) for item in dataset.items)
        with self.decoder._lock:
            found = dict(self.decoder.partial)
        return {names.get(path, path): status.record() for path, status in sorted(found.items())}

    def describe(self):
        videos, test = self.train_videos, self.test_videos
        data = self.config.data
        described = {"dataset": self.config.dataset, "listed_videos": len(videos), "classes": videos.num_classes,
                     "video_dir": os.path.abspath(data.video_dir) if data.video_dir else None,
                     "train_list": videos.describe(), "test_list": test.describe(), "test_videos": len(test)}
        if self.config.dataset == "folder":
            if data.test_dir:
                described["test_dir"] = os.path.abspath(data.test_dir)
            else:
                described["test_fraction"] = data.test_fraction
        return described

    def draw(self, rng):
        """(path, start, patch position) of one training clip; a bad video is drawn past."""
        items = self.train_videos.items
        for _ in range(_MAX_DRAWS):
            path = items[int(rng.integers(len(items)))].path
            frames = self.decoder.usable_frames(path)
            if frames >= self.config.clip_length:
                start = int(rng.integers(0, frames - self.config.clip_length + 1))
                return path, start, self.decoder.patch_position(rng)
        raise ValueError(
            f"{_MAX_DRAWS} videos drawn from {self.config.data.video_dir} in a row could not give a clip of "
            f"{self.config.clip_length} frames; check the videos (see the warnings)"
        )

    def read(self, path, wanted):
        return self.decoder.clips(path, [start for start, _ in wanted], [patch for _, patch in wanted])

    def train_clips(self, start_step=0, num_steps=None, rows=None):
        self.train_videos  # list (and check) the videos before the stream starts
        return super().train_clips(start_step, num_steps, rows)

    def decoded(self):
        with self.decoder._lock:
            return dict(self.decoder.decoded)

    def test_set_name(self):
        return "test"

    def test_set(self):
        videos = self.test_videos
        rng = np.random.default_rng([TEST_SEED])
        index = []
        for item in videos.items:
            frames = self.decoder.usable_frames(item.path)
            if frames < self.config.clip_length:
                continue
            for start in covering_clip_starts(frames, self.config.clip_length):
                index.append((item.path, start, self.decoder.patch_position(rng)))
            if len(index) >= self.config.eval_sequences:
                break
        if not index:
            raise ValueError(f"{videos.describe()}: no test video gives a clip of {self.config.clip_length} frames")
        clips = LazyClips(index[: self.config.eval_sequences], self.read)
        return TestSet(clips, self.test_set_name(), {"test_videos": videos.describe()})
