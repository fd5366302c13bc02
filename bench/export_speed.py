r"""Export cost and serving latency of a model size, on an untrained model.

    python bench/export_speed.py --flagfile=configs/quickstart.flags
    python bench/export_speed.py --flagfile=configs/paper_composite_conditional.flags

Builds the model of a flagfile (untrained weights), saves it as a checkpoint
of a temporary log_dir with its config.json, exports it with the real CLI
(`python -m export.encoder`, in a subprocess) and reports: the export's wall
time (CLI start to end, and the part after the checkpoint is loaded), the
SavedModel's size on disk, and the in-process latency of the `encode`
signature (median of --calls calls, batch 1, --time frames), of
`reconstruct_and_predict` (10 future frames) and, for comparison, of the Keras
model's own `encode`.
"""

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout


def write_log_dir(config, log_dir):
    """config.json and one checkpoint of an untrained model of this config."""
    import numpy as np

    from video_lstm import rundir
    from video_lstm.models import build_model

    model = build_model(**config.model_kwargs())
    frame = tuple(config.input_spec.frame_shape)
    model({
        "frames": np.zeros((1, config.input_length) + frame, np.float32),
        "future_frames": np.zeros((1, max(config.future_length, 1)) + frame, np.float32),
    })
    rundir.record_config(log_dir, config)
    rundir.save(model, log_dir, 0)
    return model.count_params()


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def timed_calls(fn, calls, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure(config, calls=20, time_steps=10, workdir=None):
    import numpy as np
    import tensorflow as tf

    from video_lstm import rundir

    owned = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="export-measure-")
    try:
        log_dir = os.path.join(workdir, "run")
        export_dir = os.path.join(workdir, "exported")
        params = write_log_dir(config, log_dir)
        gc.collect()
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "export.encoder", f"--log_dir={log_dir}", f"--export_dir={export_dir}"],
            cwd=ROOT, capture_output=True, text=True,
        )
        cli_s = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"export failed:\n{result.stderr[-3000:]}")
        export_s = float(re.search(r"exported .* in ([\d.]+)s", result.stdout).group(1))
        version_dir = os.path.join(export_dir, "run", "1")
        size = directory_bytes(version_dir)
        checkpoint_size = os.path.getsize(rundir.latest(log_dir)[1])

        loaded = tf.saved_model.load(version_dir)
        shape = (1, time_steps) + tuple(config.input_spec.frame_shape)
        frames = tf.constant(np.random.RandomState(0).randint(0, 256, shape).astype(np.uint8))
        encode = loaded.signatures["encode"]
        encode_s = timed_calls(lambda: encode(frames=frames)["outputs"].numpy(), calls)
        rollout = loaded.signatures["reconstruct_and_predict"]
        steps = tf.constant(10)
        rollout_s = timed_calls(lambda: [v.numpy() for v in rollout(frames=frames, future_steps=steps).values()],
                                max(calls // 2, 5), warmup=2)
        del loaded
        gc.collect()
        _, model = rundir.load_latest(log_dir)
        scaled = tf.cast(frames, tf.float32) / 255.0
        keras_s = timed_calls(lambda: model.encode(scaled)["outputs"].numpy(), calls)
        return {
            "units": config.units,
            "frame_shape": list(config.input_spec.frame_shape),
            "model": config.model,
            "conditional": [config.conditional_reconstruction, config.conditional_future],
            "parameters": params,
            "export_cli_s": round(cli_s, 2),
            "export_s": export_s,
            "saved_model_mb": round(size / 2**20, 1),
            "checkpoint_mb": round(checkpoint_size / 2**20, 1),
            "encode_ms_median": round(1000 * statistics.median(encode_s), 2),
            "encode_ms_min": round(1000 * min(encode_s), 2),
            "reconstruct_and_predict_10_ms_median": round(1000 * statistics.median(rollout_s), 1),
            "keras_encode_ms_median": round(1000 * statistics.median(keras_s), 2),
            "calls": calls,
            "time_steps": time_steps,
            "load_average": os.getloadavg(),
            "cpus": os.cpu_count(),
        }
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flagfile", required=True, help="e.g. configs/quickstart.flags")
    parser.add_argument("--units", type=int, default=None, help="override the flagfile's units")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--time", type=int, default=10, help="frames per request")
    args = parser.parse_args()
    from video_lstm import flags as flags_lib

    overrides = [f"--units={args.units}"] if args.units else []
    config = flags_lib.config_from_flagfile(args.flagfile, *overrides)
    print(json.dumps(measure(config, args.calls, args.time), indent=2))


if __name__ == "__main__":
    main()
