r"""Decoding speed: frames/s of pipelines/video_decode.py on the staged UCF-101 clips.

    python bench/decode_speed.py                          # all staged clips, 64x64 clips of 16
    python bench/decode_speed.py --size=112 --parallel=1,2,4 --repeats=5
    python bench/decode_speed.py --smoke                  # one clip, one round: checks it runs

Videos come from --data_dir (default $VIDEO_LSTM_DATA_DIR/ucf101/clips). The
contenders, taking turns for --repeats rounds so a noisy neighbour slows them
all alike (the table shows medians):

- opencv_read: bare `cv2.VideoCapture.read` of every frame, native size, BGR
  (the ceiling: FFmpeg decoding alone);
- sequential: `video.decode_many`, one video after another in this thread,
  FFmpeg threads as OpenCV chooses (one per core);
- sequential_t1: the same with one FFmpeg thread per video (threads=1);
- stage_pN: `video.clip_dataset` with num_parallel_calls=N (videos decoded N at
  a time in tf.data's threads, one FFmpeg thread each; OpenCV releases the
  GIL while decoding).

frames/s counts the frames the videos decode to (every frame, also those
dropped by the tail of the last clip), so all contenders divide the same work.
"""

import glob
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import cv2
from absl import app, flags, logging

from pipelines import video_decode
from pipelines.digits import DATA_DIR_ENV

flags.DEFINE_string("data_dir", None, "Folder of videos; default $VIDEO_LSTM_DATA_DIR/ucf101/clips.")
flags.DEFINE_integer("size", 64, "Clips of size x size frames (shorter side, then centre crop).")
flags.DEFINE_integer("clip_length", 16, "Frames per clip.")
flags.DEFINE_list("parallel", ["1", "2"], "num_parallel_calls of the tf.data stages to time.")
flags.DEFINE_integer("repeats", 3, "Timed rounds (the median is reported).")
flags.DEFINE_bool("smoke", False, "One video, one round, small frames.")
FLAGS = flags.FLAGS


def opencv_read(paths):
    """Decodes every frame of `paths` with bare OpenCV; returns the frame count."""
    count = 0
    for path in paths:
        capture = cv2.VideoCapture(path)
        while capture.read()[0]:
            count += 1
        capture.release()
    return count


def sequential(threads):
    def run(paths):
        clips = video_decode.decode_many(paths, FLAGS.clip_length, size=FLAGS.size, threads=threads)
        return sum(1 for _ in clips)

    return run


def stage(parallel):
    def run(paths):
        dataset, _ = video_decode.clip_dataset(
            paths, FLAGS.clip_length, size=FLAGS.size, num_parallel_calls=parallel
        )
        return sum(1 for _ in dataset)

    return run


def main(argv):
    del argv
    data_dir = FLAGS.data_dir or os.path.join(os.environ.get(DATA_DIR_ENV, ""), "ucf101", "clips")
    paths = sorted(glob.glob(os.path.join(data_dir, "*.mp4")) + glob.glob(os.path.join(data_dir, "*.avi")))
    if not paths:
        raise app.UsageError(f"no .mp4/.avi videos in {data_dir!r}; set --data_dir or ${DATA_DIR_ENV}")
    if FLAGS.smoke:
        paths, FLAGS.size, FLAGS.repeats, FLAGS.parallel = paths[-1:], 32, 1, ["2"]
    frames = sum(video_decode.count_frames(path) for path in paths)
    contenders = {
        "opencv_read": opencv_read,
        "sequential": sequential(None),
        "sequential_t1": sequential(1),
    }
    contenders.update({f"stage_p{n}": stage(int(n)) for n in FLAGS.parallel})
    shape = (FLAGS.clip_length, FLAGS.size, FLAGS.size, 3)
    print(f"{len(paths)} videos, {frames} frames -> clips {shape}; "
          f"{os.cpu_count()} CPUs, OpenCV {cv2.__version__}")

    for run in contenders.values():  # warm-up: TensorFlow start-up, file cache
        run(paths[:1])
    seconds = {name: [] for name in contenders}
    for _ in range(FLAGS.repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run(paths)
            seconds[name].append(time.perf_counter() - start)

    base = frames / statistics.median(seconds["sequential"])
    print(f"{'contender':<13} {'frames/s':>9} {'x sequential':>13}")
    for name, times in seconds.items():
        rate = frames / statistics.median(times)
        print(f"{name:<13} {rate:>9.0f} {rate / base:>13.2f}")


if __name__ == "__main__":
    logging.set_verbosity(logging.ERROR)
    app.run(main)
