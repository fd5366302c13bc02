r"""Speed of the TensorFlow-free Moving MNIST stream (what `fit` reads under JAX without TensorFlow).

    python bench/numpy_stream_speed.py [--flagfile=configs/paper_composite_conditional.flags] \
        [--threads=1,2,4,8] [--batches=200]

Prints sequences/s of `Source.numpy_train_batches` (batches made by
`numpy_train_clips` in background threads) for each thread count, against
one thread in the same run: the ceiling of the JAX-only trainer's input.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from absl import app, flags

from pipelines import sources
from video_lstm import flags as flags_lib

flags_lib.define_flags()
flags.DEFINE_list("threads", ["1", "2", "4", "8"], "Background threads to time.")
flags.DEFINE_integer("batches", 200, "Batches per thread count.")
FLAGS = flags.FLAGS


def rate(source, threads, batches):
    with source.numpy_train_batches(start_step=0, threads=threads) as stream:
        next(stream)  # start-up (digits, threads) not timed
        started = time.perf_counter()
        for _ in range(batches):
            next(stream)
        return batches * source.config.batch_size / (time.perf_counter() - started)


def main(argv):
    del argv
    source = sources.build(flags_lib.config_from_flags())
    results = {int(t): rate(source, int(t), FLAGS.batches) for t in FLAGS.threads}
    base = results[min(results)]
    for threads, value in results.items():
        print(f"threads={threads:<3} {value:9.1f} sequences/s  x{value / base:.2f}")


if __name__ == "__main__":
    app.run(main)
