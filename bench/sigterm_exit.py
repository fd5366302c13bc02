r"""Time from SIGTERM to exit of a training job (what a cluster allows before SIGKILL).

    python bench/sigterm_exit.py --flagfile=configs/paper_composite_conditional.flags

Starts `python -m video_lstm.train` on the flagfile in a fresh log_dir (every
step logged to TensorBoard), waits until it has trained `--after_steps` steps,
sends SIGTERM and reports, from the job's own log lines: seconds from the
signal to the end of the step in flight, to the checkpoint written, and to the
process's exit, with the checkpoint's size and the exit status.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from video_lstm import rundir  # noqa: E402


def logged_steps(log_dir):
    """Steps logged so far (scalars written every step)."""
    import glob

    import tensorflow as tf

    steps = []
    for path in glob.glob(os.path.join(log_dir, "train", "events.out.tfevents.*")):
        try:
            for event in tf.compat.v1.train.summary_iterator(path):
                if any(v.tag == "loss/loss" for v in event.summary.value):
                    steps.append(event.step)
        except tf.errors.DataLossError:  # a record being written
            pass
    return max(steps, default=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flagfile", required=True)
    parser.add_argument("--after_steps", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the steps")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    log_dir = tempfile.mkdtemp(prefix="sigterm_exit_")
    command = [sys.executable, "-m", "video_lstm.train", f"--flagfile={args.flagfile}", f"--log_dir={log_dir}",
               "--log_every=1", "--image_every=1000000", "--checkpoint_every=1000000", "--steps=1000000"]
    job = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + args.timeout
    while logged_steps(log_dir) < args.after_steps:
        if job.poll() is not None or time.time() > deadline:
            job.kill()
            sys.exit(f"the job ended or took too long before step {args.after_steps}: {job.stderr.read()[-2000:]}")
        time.sleep(1)
    sent = time.time()
    job.send_signal(signal.SIGTERM)
    _, stderr = job.communicate(timeout=600)
    exited = time.time() - sent
    found = rundir.latest(log_dir)
    result = {
        "flagfile": args.flagfile,
        "exit_status": job.returncode,
        "seconds_to_exit": round(exited, 2),
        "stopped_at_step": found and found[0],
        "checkpoint_bytes": found and os.path.getsize(found[1]),
        "message": (re.findall(r"SIGTERM: training stopped.*", stderr) or [stderr[-500:]])[-1],
        "log_dir": log_dir,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
