r"""Step time of one worker against two (`--strategy=multi_worker` on localhost), same global batch.

    python bench/multi_worker_speed.py --flagfile=configs/quickstart.flags --steps=60 --rounds=2

Each round trains, in turn: one process with the default strategy (XLA on, as
a plain run), one without XLA (what every replica of a multi-worker run runs:
XLA cannot compile a step across devices), and two processes of one
MultiWorkerMirroredStrategy job on 127.0.0.1, each worker reading half of
every --batch_size batch. The step time is the chief's TensorBoard
`train/step_time_s` (batch end to batch end), median over the intervals after
the first (compilation).

On a video (or percept) dataset it also reports what each worker decoded for
training (the trainer's "This worker decoded for training" log line: videos
opened, clips, frames, including the batches tf.data read ahead): each of two
workers decodes only its rows of every global batch, about half of what one
worker decodes.

    python bench/multi_worker_speed.py --flagfile=configs/quickstart.flags \
        --extra=--dataset=folder,--video_dir=DIR,--frame_size=64,--color=grey --steps=40 --rounds=1
"""

import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from video_lstm.core import cluster  # noqa: E402


def step_times(log_dir):
    import tensorflow as tf

    times = {}
    for path in glob.glob(os.path.join(log_dir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "train/step_time_s":
                    times[event.step] = float(tf.make_ndarray(value.tensor))
    return [times[step] for step in sorted(times)][1:]


def train(flags, log_dir, workers=1, timeout=1800):
    command = [sys.executable, "-m", "video_lstm.train", *flags, f"--log_dir={log_dir}"]
    if workers == 1:
        configs = [None]
    else:
        configs = cluster.local_tf_configs(workers)
        command.append("--strategy=multi_worker")
    processes, decoded = [], []
    for tf_config in configs:
        env = dict(os.environ, **({"TF_CONFIG": tf_config} if tf_config else {}))
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True))
    for process in processes:
        _, stderr = process.communicate(timeout=timeout)
        if process.returncode:
            sys.exit(f"{' '.join(command)} failed: {stderr[-2000:]}")
        decoded.append(decoded_counts(stderr))
    return step_times(log_dir), decoded


def decoded_counts(log):
    """{what: count} of a worker's "This worker decoded for training: 12 clips, ..." line ({} if none)."""
    found = re.findall(r"This worker decoded for training: (.*)", log)
    return {name: int(count) for count, name in re.findall(r"(\d+) (\w+)", found[-1])} if found else {}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flagfile", default="configs/quickstart.flags")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--log_every", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--extra", default="", help="more training flags, comma-separated")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    flags = [f"--flagfile={args.flagfile}", f"--steps={args.steps}", f"--log_every={args.log_every}",
             "--image_every=1000000", f"--checkpoint_every={args.steps}", "--eval_sequences=16",
             *[flag for flag in args.extra.split(",") if flag]]
    contenders = {
        "one_worker_xla": (flags, 1),
        "one_worker_no_xla": (flags + ["--nojit_compile"], 1),
        "two_workers": (flags, 2),
    }
    times = {name: [] for name in contenders}
    decoded = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            for name, (contender_flags, workers) in contenders.items():
                found, decoded[name] = train(contender_flags, os.path.join(scratch, f"{name}_{round_}"), workers)
                times[name] += found
    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "flagfile": args.flagfile,
        "cpu_count": os.cpu_count(),
        "median_step_s": {name: round(value, 4) for name, value in medians.items()},
        "two_workers_over_one_xla": round(medians["two_workers"] / medians["one_worker_xla"], 3),
        "two_workers_over_one_no_xla": round(medians["two_workers"] / medians["one_worker_no_xla"], 3),
        "intervals": {name: len(values) for name, values in times.items()},
        "decoded_per_worker": decoded,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
