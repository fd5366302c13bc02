r"""Corpus-scale job speed: videos/s and frames/s in one process against Beam's DirectRunner, one run.

    python bench/extract_speed.py                    # staged UCF-101 clips, InceptionV3 (random weights), 2 workers
    python bench/extract_speed.py --frame_stride=1 --network=vgg16 --workers=2
    python bench/extract_speed.py --smoke            # 2 small generated videos: checks it runs

Videos: the clips in --video_dir (default $VIDEO_LSTM_DATA_DIR/ucf101/clips: 320x240 UCF-101
.avi and .mp4 clips, every video extension the package lists), each linked --copies times into
a class folder; without them, generated videos of moving shapes (--generated frames each,
320x240). The job (`JOBS[--job]`) runs

    in_process     one process (`--runner=in_process`), the network built beforehand (not timed)
    beam           `--runner=DirectRunner -- --direct_num_workers=N` (multi_processing): N worker
                   processes, each importing TensorFlow and building its own network (timed:
                   that start-up is Beam's overhead on one machine)

and the files both write are compared byte for byte. Where the time of one process goes:
`decode` (OpenCV, every --frame_stride-th frame, one thread) and `convnet` (the percept
network on those frames, --batch_frames at a time), each timed alone on the same videos;
the rest of the one-process run is encoding and writing the records. `worker_start` is
what each Beam worker pays once: a fresh Python importing TensorFlow and building the
network (timed in a subprocess). On a 2-core machine the Beam run should be within 20% of
the one-process run (`beam / in_process` in the last line).

Plugging another job in (embed, once `python -m video_lstm.embed` runs on
`pipelines.beam_jobs`): add a function to `JOBS`, (video_dir, out, runner, beam_args,
network) -> a summary with "videos" and "frames", that runs the job in --out with that
runner; the bench times it in both ways and compares the files.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout

from absl import app, flags, logging  # noqa: E402

from pipelines.action_datasets import VIDEO_EXTENSIONS  # noqa: E402
from pipelines.digits import DATA_DIR_ENV  # noqa: E402

flags.DEFINE_string("job", "extract_percepts", "Which job (a key of JOBS).")
flags.DEFINE_string("video_dir", None, "Folder of videos; default $VIDEO_LSTM_DATA_DIR/ucf101/clips.")
flags.DEFINE_integer("copies", 1, "Each video copied this many times (more work per run).")
flags.DEFINE_integer("generated", 150, "Frames per generated video, when there are no videos to read.")
flags.DEFINE_enum("network", "inception_v3", ["inception_v3", "vgg16"], "Percept network (random weights).")
flags.DEFINE_integer("frame_stride", 2, "Keep every N-th frame.")
flags.DEFINE_integer("batch_frames", 32, "Frames per network call.")
flags.DEFINE_integer("workers", 2, "Beam DirectRunner worker processes.")
flags.DEFINE_bool("smoke", False, "Two small generated videos: checks the script runs.")
flags.DEFINE_string("json", None, "Also write the results here.")
FLAGS = flags.FLAGS



def _link_or_copy(source, destination):
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)

def extract_percepts_job(video_dir, out, runner, beam_args, network):
    from pipelines import percept_extraction as ep
    from video_lstm.core.settings import Runner

    options = ep.ExtractOptions(dataset="folder", video_dir=video_dir, out=out, percept_network=FLAGS.network,
                                percept_weights="random", frame_stride=FLAGS.frame_stride,
                                batch_frames=FLAGS.batch_frames, progress=False)
    return ep.prepare(options, network=network, runner=Runner(runner, tuple(beam_args))).run()


JOBS = {"extract_percepts": extract_percepts_job}


def videos(root):
    """A folder dataset in `root`/videos: the staged clips (x --copies) or generated ones; its paths."""
    folder = os.path.join(root, "videos", "clips")
    os.makedirs(folder)
    source = FLAGS.video_dir or os.path.join(os.environ.get(DATA_DIR_ENV, ""), "ucf101", "clips")
    clips = [] if FLAGS.smoke else sorted(path for path in glob.glob(os.path.join(source, "*"))
                                          if path.lower().endswith(VIDEO_EXTENSIONS))
    if clips:
        for copy in range(FLAGS.copies):
            for clip in clips:  # hard links where the filesystem allows (a listing skips symlinks leading
                # outside its root), else copies: a copy's bytes are the clip's (each is decoded anew)
                _link_or_copy(os.path.abspath(clip), os.path.join(folder, f"{copy}_{os.path.basename(clip)}"))
    else:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        from helpers import moving_shapes, write_video

        count, frames, size = (2, 20, (48, 64)) if FLAGS.smoke else (12 * FLAGS.copies, FLAGS.generated, (240, 320))
        for i in range(count):
            write_video(os.path.join(folder, f"v{i}.avi"), moving_shapes(frames, *size, seed=i))
    return os.path.dirname(folder), sorted(glob.glob(os.path.join(folder, "*")))


def decode_and_convnet(paths, network):
    """(decode seconds, convnet seconds, frames): each part of one process's work timed alone."""
    import numpy as np

    from pipelines import video_decode

    start, decoded = time.perf_counter(), []
    for path in paths:
        decoded.append(np.stack(list(video_decode.read_frames(path, stride=FLAGS.frame_stride, threads=1))))
    decode = time.perf_counter() - start
    run = network.frames_to_percepts()
    run(decoded[0][: FLAGS.batch_frames])  # traced once, outside the timing, as in the job's runs
    start = time.perf_counter()
    for frames in decoded:
        for chunk in range(0, len(frames), FLAGS.batch_frames):
            run(frames[chunk : chunk + FLAGS.batch_frames]).numpy()
    return decode, time.perf_counter() - start, sum(len(f) for f in decoded)


def worker_start():
    """Seconds a fresh Python takes to import TensorFlow and build the network (a Beam worker's start-up)."""
    code = (f"import time, sys; start = time.perf_counter(); sys.path.insert(0, {ROOT!r}); "
            "from pipelines import percept_networks; "
            f"percept_networks.make_network({FLAGS.network!r}, 'random'); print(time.perf_counter() - start)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return float(result.stdout.strip().splitlines()[-1])


def hashes(out):
    return {name: hashlib.sha256(open(os.path.join(out, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(out)) if os.path.isfile(os.path.join(out, name))}


def main(argv):
    del argv
    import keras

    from pipelines import percept_networks

    logging.set_verbosity(logging.ERROR)
    job = JOBS[FLAGS.job]
    with tempfile.TemporaryDirectory() as root:
        video_dir, paths = videos(root)
        keras.utils.set_random_seed(0)  # the network --weights=random --seed=0 draws
        network = percept_networks.make_network(FLAGS.network, "random")
        decode, convnet, frames = decode_and_convnet(paths, network)
        results = {"videos": len(paths), "frames": frames, "network": FLAGS.network,
                   "frame_stride": FLAGS.frame_stride, "workers": FLAGS.workers, "cores": os.cpu_count(),
                   "load_before": os.getloadavg()[0], "decode_s": decode, "convnet_s": convnet}
        runs = {"in_process": ("in_process", ()),
                "beam": ("DirectRunner", (f"--direct_num_workers={FLAGS.workers}",
                                          "--direct_running_mode=multi_processing"))}
        files = {}
        for name, (runner, beam_args) in runs.items():
            out = os.path.join(root, name)
            start = time.perf_counter()
            summary = job(video_dir, out, runner, beam_args, network)
            results[f"{name}_s"] = seconds = time.perf_counter() - start
            assert (summary["videos"], summary["frames"]) == (len(paths), frames), summary
            results[f"{name}_videos_per_s"], results[f"{name}_frames_per_s"] = len(paths) / seconds, frames / seconds
            files[name] = hashes(out)
        results["worker_start_s"] = worker_start()
        results["same_bytes"] = files["in_process"] == files["beam"]
        results["beam_over_in_process"] = results["beam_s"] / results["in_process_s"]
        results["load_after"] = os.getloadavg()[0]

    print(f"{FLAGS.job}: {len(paths)} videos, {frames} {FLAGS.network} frames (stride {FLAGS.frame_stride}), "
          f"{os.cpu_count()} cores, load {results['load_before']:.1f}")
    print(f"{'run':<28}{'seconds':>9}{'videos/s':>10}{'frames/s':>10}")
    for name, label in (("in_process", "one process"), ("beam", f"Beam DirectRunner, {FLAGS.workers} workers")):
        print(f"{label:<28}{results[name + '_s']:>9.1f}{results[name + '_videos_per_s']:>10.2f}"
              f"{results[name + '_frames_per_s']:>10.2f}")
    rest = results["in_process_s"] - decode - convnet
    print(f"one process: decode {decode:.1f} s ({frames / decode:.1f} frames/s), convnet {convnet:.1f} s "
          f"({frames / convnet:.1f} frames/s), encode + write + the rest {rest:.1f} s; a Beam worker's start-up "
          f"(TensorFlow import + network) {results['worker_start_s']:.1f} s")
    print(f"beam / in_process = {results['beam_over_in_process']:.2f}; same bytes: {results['same_bytes']}")
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            json.dump(results, f, indent=2)
    if not results["same_bytes"]:
        sys.exit("the Beam run wrote other bytes than the one process")


if __name__ == "__main__":
    app.run(main)
