r"""Speed of the real-video training stream (`--dataset=folder`) on the staged UCF-101 clips.

    python bench/stream_speed.py                  # 128px frames, 32x32 patches, 10 + 10 frames, batch 16
    python bench/stream_speed.py --patch_size=0 --frame_size=64 --batches=20 --rounds=5
    python bench/stream_speed.py --smoke          # a few tiny batches: checks it runs

Times `Source.batch(step)` (what each tf.data map call of the training stream
runs: draw clips from (seed, step), decode them) for two decoders, taking
turns for --rounds rounds, and prints the medians and their ratio:

- skip: the source's decoder; frames before a clip's first start are grabbed,
  not converted or resized (`video.read_frames(start=...)`);
- from_start: the baseline, every frame from the video's start converted and
  resized, then the leading ones dropped (what the stream did before).

Both give the same clips (checked). Videos: --data_dir (default
$VIDEO_LSTM_DATA_DIR/ucf101/clips), linked into a temporary class folder.
"""

import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import numpy as np
from absl import app, flags

from pipelines.digits import DATA_DIR_ENV
from pipelines.sources import videos
from video_lstm.config import make

flags.DEFINE_string("data_dir", None, "Folder of videos; default $VIDEO_LSTM_DATA_DIR/ucf101/clips.")
flags.DEFINE_integer("frame_size", 128, "Frames resized (shorter side) and centre-cropped to this.")
flags.DEFINE_integer("patch_size", 32, "Patches cut from the frames (0: whole frames).")
flags.DEFINE_integer("batch_size", 16, "Clips per batch.")
flags.DEFINE_integer("batches", 10, "Batches per round and decoder.")
flags.DEFINE_integer("rounds", 3, "Timed rounds (the median is reported).")
flags.DEFINE_bool("smoke", False, "Tiny: 2 batches of 2 clips, one round.")
FLAGS = flags.FLAGS


class FromStart(videos._Decoder):
    """The baseline decoder: converts and resizes every frame from the start, drops the leading ones."""

    def _frames(self, path, start=0):
        frames = super()._frames(path, 0)
        yield from itertools.islice(frames, start, None)
        frames.close()


def folder_of_clips(data_dir, root):
    os.makedirs(os.path.join(root, "clips"))
    for name in sorted(os.listdir(data_dir)):
        if name.endswith((".avi", ".mp4")):
            shutil.copyfile(os.path.join(data_dir, name), os.path.join(root, "clips", name))  # a listing skips
            # symlinks leading outside its root
    return root


def main(argv):
    del argv
    data_dir = FLAGS.data_dir or os.path.join(os.environ.get(DATA_DIR_ENV, "data"), "ucf101", "clips")
    if not os.path.isdir(data_dir):
        sys.exit(f"stream_speed: {data_dir} is not a folder; pass --data_dir or set ${DATA_DIR_ENV}")
    batch, batches, rounds = FLAGS.batch_size, FLAGS.batches, FLAGS.rounds
    if FLAGS.smoke:
        batch, batches, rounds = 2, 2, 1
    with tempfile.TemporaryDirectory() as root:
        config = make(dataset="folder", video_dir=folder_of_clips(data_dir, root), frame_size=FLAGS.frame_size,
                      patch_size=FLAGS.patch_size, batch_size=batch, input_length=10, future_length=10,
                      loss="squared_error")
        skip = videos.Source(config)
        from_start = videos.Source(config)
        from_start.decoder = FromStart(config.data, config.clip_length)
        np.testing.assert_array_equal(skip.batch(0), from_start.batch(0))  # also counts every video's frames
        times = {"skip": [], "from_start": []}
        for round_ in range(rounds):
            for name, source in (("skip", skip), ("from_start", from_start)):
                started = time.perf_counter()
                for step in range(1 + round_ * batches, 1 + (round_ + 1) * batches):
                    source.batch(step)
                times[name].append(batches * batch / (time.perf_counter() - started))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:<12} {value:8.1f} sequences/s  (rounds: {', '.join(f'{v:.1f}' for v in times[name])})")
    print(f"ratio skip / from_start: {medians['skip'] / medians['from_start']:.2f}")


if __name__ == "__main__":
    app.run(main)
