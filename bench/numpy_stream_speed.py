r"""Speed of the training streams of Moving MNIST, beside the training step's.

    python bench/numpy_stream_speed.py [--flagfile=configs/paper_composite_conditional.flags] \
        [--batch_size=80] [--threads=1,2,4] [--batches=50] [--step_steps=0]

Prints sequences/s of, in one process:

- `numpy threads=n`: `Source.numpy_train_batches` (positions drawn and frames painted by
  NumPy in n background threads): what the JAX trainer read before the frames moved to
  the device;
- `device`: `Source.device_train_batches` (positions of 16 batches drawn by NumPy at once in a
  background thread, their frames pasted by one call of a compiled JAX function where the
  model runs): what the JAX trainer without TensorFlow reads now; on a CPU the "device" is
  this CPU;
- `draws`: the host's part of that alone (positions and digit indices, 16 batches per
  `train_draws_many` call, one thread), and `draws one by one` (`train_draws` per batch);
- `tf.data`: `Source.train_dataset` (where TensorFlow is importable);
- `step`: with `--step_steps=N`, the model's compiled train step on this machine at this
  batch (N steps after one to compile), the rate the streams must keep up with.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from absl import app, flags

from pipelines import sources
from video_lstm import flags as flags_lib
from video_lstm.core import backend

flags_lib.define_flags()
flags.DEFINE_list("threads", ["1", "2", "4"], "Background threads of the NumPy stream to time.")
flags.DEFINE_integer("batches", 50, "Batches per stream.")
flags.DEFINE_integer("step_steps", 0, "Also time this many training steps (0: not).")
FLAGS = flags.FLAGS


def timed(batches, count, block=lambda batch: None):
    """Seconds for `count` batches of the iterator `batches` after its first (start-up untimed)."""
    next(batches)
    started = time.perf_counter()
    for _ in range(count):
        batch = next(batches)
    block(batch)
    return time.perf_counter() - started


def rates(source, count):
    batch_size = source.config.batch_size
    found = {}
    for threads in FLAGS.threads:
        with source.numpy_train_batches(start_step=0, threads=int(threads)) as stream:
            found[f"numpy threads={threads}"] = batch_size * count / timed(stream, count)
    try:
        import jax
    except ImportError:
        jax = None
    if jax is not None:
        with source.device_train_batches(start_step=0) as stream:
            found["device"] = batch_size * count / timed(stream, count, jax.block_until_ready)
    chunk = sources.DRAW_CHUNK
    started = time.perf_counter()
    for first in range(0, count, chunk):
        source.train_draws_many(first, chunk)
    found["draws (1 thread)"] = batch_size * len(range(0, count, chunk)) * chunk / (time.perf_counter() - started)
    started = time.perf_counter()
    for step in range(count):
        source.train_draws(step)
    found["draws one by one"] = batch_size * count / (time.perf_counter() - started)
    if backend.tensorflow_available():
        found["tf.data"] = batch_size * count / timed(iter(source.train_dataset(start_step=0)), count)
    return found


def step_rate(config, source, steps):
    """Sequences/s of the compiled train step on fixed batches (the model's backend)."""
    import keras

    from video_lstm.training import loop

    model = loop.new_model(config, source.sample_inputs(count=2))
    batch = {k: keras.ops.convert_to_tensor(v) for k, v in source.split(source.numpy_train_clips(0)).items()}
    model.steps_per_execution = 1
    model.fit(iter([(batch,)] * 1), epochs=1, steps_per_epoch=1, verbose=0)  # compiles
    started = time.perf_counter()
    model.fit(iter([(batch,)] * steps), epochs=1, steps_per_epoch=steps, verbose=0)
    return config.batch_size * steps / (time.perf_counter() - started)


def main(argv):
    del argv
    config = flags_lib.config_from_flags()
    source = sources.build(config)
    found = rates(source, FLAGS.batches)
    if FLAGS.step_steps:
        found[f"step ({backend.keras_backend()})"] = step_rate(config, source, FLAGS.step_steps)
    print(f"batch {config.batch_size}, {config.clip_length} frames of {config.data.frame_size}x"
          f"{config.data.frame_size}, {config.data.num_digits} digits, {os.cpu_count()} cores")
    for name, value in found.items():
        print(f"{name:<20} {value:10.1f} sequences/s")


if __name__ == "__main__":
    app.run(main)
