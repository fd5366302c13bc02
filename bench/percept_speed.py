r"""Percept speed: frames/s of pipelines/percept_networks.py, VGG16 and InceptionV3, float32 and bfloat16,
in each engine (TensorFlow, ONNX Runtime, OpenVINO: `--percept_engine`).

    python bench/percept_speed.py                         # both networks, dtypes and installed engines
    python bench/percept_speed.py --engines=tensorflow,openvino --frames=32 --batch_frames=16
    python bench/percept_speed.py --networks=vgg16 --frames=32 --batch_frames=16 --repeats=5
    python bench/percept_speed.py --smoke                 # InceptionV3, one frame: checks it runs

Random weights (speed does not depend on them; no ImageNet file needed). The
frames are random uint8 of --frame_size (UCF-101's 240x320 by default), so the
resize to the network's input and its preprocessing are timed too. For each
network and compute dtype, two contenders, taking turns for --repeats rounds
(the table shows medians):

- extract: `percepts.extract` on one batch of --frames frames, eagerly;
- stage: `percepts.percept_stage` over a tf.data dataset of one-frame clips
  (the py_function hop, batching across clips and unbatching included).

and for the other engines, extract only (`pipelines.percept_engines`: the
network converted to ONNX once, before the timing). The last column is each
row's speed over TensorFlow float32's extract of the same network.

bfloat16 is Keras' mixed_bfloat16 policy (variables float32, compute bfloat16)
in TensorFlow, the inference precision hint in OpenVINO; ONNX Runtime's CPU
provider computes in float32 only. It gains where the CPU has bfloat16
instructions and its libraries use them: the header names the CPU's units
(`video_lstm.core.cpu.describe`).
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import numpy as np
from absl import app, flags, logging

from pipelines import percept_engines, percept_networks
from video_lstm.core import cpu
from video_lstm.core.choices import PERCEPT_NETWORKS

flags.DEFINE_list("networks", list(PERCEPT_NETWORKS), "Percept networks to time.")
flags.DEFINE_list("dtypes", list(percept_networks.DTYPES), "Compute dtypes to time.")
flags.DEFINE_list("engines", list(percept_engines.ENGINES), "Engines to time (those not installed are skipped).")
flags.DEFINE_integer("frames", 8, "Frames per timed round.")
flags.DEFINE_integer("batch_frames", 8, "Frames per call of the network.")
flags.DEFINE_list("frame_size", ["240", "320"], "Height,width of the input frames.")
flags.DEFINE_integer("repeats", 3, "Timed rounds (the median is reported).")
flags.DEFINE_bool("smoke", False, "InceptionV3 only, one frame, one round.")
FLAGS = flags.FLAGS


def usable(engine, dtype):
    try:
        percept_engines.check(engine, dtype)
    except ValueError as error:
        print(f"(skipped: {error})")
        return False
    return True


def contenders(network, dtype, clips, engine="tensorflow"):
    """{name: run()} for one network, dtype and engine; each run percepts all of `clips` (N, 1, H, W, 3)."""
    import tensorflow as tf

    def extract():
        return percept_networks.extract(network, clips, batch_frames=FLAGS.batch_frames, dtype=dtype, engine=engine)

    if engine != "tensorflow":
        return {"extract": extract}

    def stage():
        dataset = tf.data.Dataset.from_tensor_slices(clips)
        dataset = percept_networks.percept_stage(dataset, network, batch_frames=FLAGS.batch_frames, dtype=dtype)
        return [features for features in dataset]

    return {"extract": extract, "stage": stage}


def main(argv):
    del argv
    if FLAGS.smoke:
        FLAGS.networks, FLAGS.frames, FLAGS.batch_frames, FLAGS.repeats = ["inception_v3"], 1, 1, 1
        FLAGS.frame_size = ["32", "32"]
    height, width = (int(side) for side in FLAGS.frame_size)
    clips = np.random.default_rng(0).integers(0, 256, (FLAGS.frames, 1, height, width, 3), dtype=np.uint8)
    print(f"cpu: {cpu.describe()}")
    print(f"{FLAGS.frames} frames {height}x{width} per round, batch_frames={FLAGS.batch_frames}, "
          f"median of {FLAGS.repeats}")
    print(f"{'network':<13} {'engine':<12} {'dtype':<9} {'contender':<8} {'frames/s':>9} {'ms/frame':>9} "
          f"{'vs TF f32':>9}")
    pairs = [(engine, dtype) for engine in FLAGS.engines for dtype in FLAGS.dtypes if usable(engine, dtype)]
    for name in FLAGS.networks:
        network = percept_networks.make_network(name, "random")
        runs = {}
        for engine, dtype in pairs:
            for contender, run in contenders(network, dtype, clips, engine).items():
                run()  # warm-up: tracing, the bfloat16 twin, oneDNN's first call, an engine's conversion
                runs[engine, dtype, contender] = run
        seconds = {key: [] for key in runs}
        for _ in range(FLAGS.repeats):
            for key, run in runs.items():
                start = time.perf_counter()
                run()
                seconds[key].append(time.perf_counter() - start)
        rates = {key: FLAGS.frames / statistics.median(times) for key, times in seconds.items()}
        baseline = rates.get(("tensorflow", "float32", "extract"))
        for (engine, dtype, contender), rate in rates.items():
            ratio = f"{rate / baseline:.2f}x" if baseline else "-"
            print(f"{name:<13} {engine:<12} {dtype:<9} {contender:<8} {rate:>9.2f} {1000 / rate:>9.0f} {ratio:>9}",
                  flush=True)


if __name__ == "__main__":
    logging.set_verbosity(logging.ERROR)
    app.run(main)
