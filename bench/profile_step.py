r"""Where the paper-size training step spends its time: a matmul-by-matmul profile.

    python bench/profile_step.py                 # paper size, batch 16
    python bench/profile_step.py --batch=64

The step of the paper-size composite (4096 pixels, 2048 units, conditional
decoders with teacher forcing) is almost all matmuls of a few shapes. This
times each shape alone under XLA, as it occurs in `LSTMStack` (the recurrent
ones chained over 10 steps, as in the loop), multiplies by how often a step
runs it, and sets the sum beside the measured step (forward, forward +
backward, optimizer update) of the real model: the remainder is the
elementwise work (gates, loss) and copies. Each shape's GFLOP/s against the
large-matmul peak (float32, as the step runs; the header names the CPU and
both peaks, `video_lstm.core.cpu.header`) says what limits the step.
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from video_lstm.core import cpu  # noqa: E402

flags.DEFINE_integer("batch", 16, "Batch size.")
flags.DEFINE_integer("units", 2048, "LSTM units.")
flags.DEFINE_integer("repeats", 5, "Timed calls per measurement (the median is used).")
FLAGS = flags.FLAGS

T = 10  # input, reconstructed and future frames
PIXELS = 64 * 64


def seconds(fn, *args):
    fn(*args).numpy()  # compile, warm up
    times = []
    for _ in range(FLAGS.repeats):
        start = time.perf_counter()
        fn(*args).numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def single(m, k, n, transpose_a=False):
    """Seconds of one (m, k) @ (k, n) matmul under XLA."""
    a = tf.random.uniform((k, m) if transpose_a else (m, k))
    b = tf.random.uniform((k, n))
    fn = tf.function(lambda a, b: tf.matmul(a, b, transpose_a=transpose_a), jit_compile=True)
    return seconds(fn, a, b)


def time_loop(batch, units, backward):
    """Seconds of one layer's recurrence in `video_lstm.lstm`: the forward time loop
    (`_forward`: T recurrent matmuls and the gates), or BPTT (`_backward`: T
    matmuls by the transposed kernel, the gates' derivatives and the one
    recurrent-kernel gradient matmul)."""
    from video_lstm.models import lstm

    gates_in = tf.random.uniform((batch, T, 4 * units), -1, 1)
    h0 = tf.random.uniform((batch, units), -1, 1)
    kernel = tf.random.uniform((units, 4 * units), -0.01, 0.01)

    def forward(gates_in, h0, kernel):
        return lstm._forward(gates_in, h0, h0, kernel)[0]

    def forward_backward(gates_in, h0, kernel):
        hiddens, cells, gates = lstm._forward(gates_in, h0, h0, kernel)
        return lstm._backward(hiddens, h0, h0, h0, h0, kernel, hiddens, cells, gates)[3]

    fwd = seconds(tf.function(forward, jit_compile=True), gates_in, h0, kernel)
    if not backward:
        return fwd
    return seconds(tf.function(forward_backward, jit_compile=True), gates_in, h0, kernel) - fwd


def model_step_seconds(batch, units):
    """(forward, forward + backward, optimizer update) seconds of the real model."""
    from video_lstm.models import build_model

    x = {
        "frames": tf.random.uniform((batch, T, 64, 64, 1)),
        "future_frames": tf.random.uniform((batch, T, 64, 64, 1)),
    }
    model = build_model("composite", units=units, future_length=T, conditional_reconstruction=True,
                        conditional_future=True, feed="teacher", init_scale=0.01, seed=0)
    model(x)
    optimizer = keras.optimizers.SGD(1e-4, momentum=0.9)
    optimizer.build(model.trainable_variables)
    zeros = [tf.zeros_like(v) for v in model.trainable_variables]

    @tf.function(jit_compile=True)
    def forward(x):
        return model.compute_loss(x=x, y_pred=model(x, training=True))

    @tf.function(jit_compile=True)
    def forward_backward(x):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y_pred=model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        return tf.add_n([tf.reduce_sum(g) for g in grads])  # touch every gradient once

    @tf.function(jit_compile=True)
    def update(x):
        optimizer.apply(zeros, model.trainable_variables)
        return tf.constant(0.0)

    return seconds(forward, x), seconds(forward_backward, x), seconds(update, x)


def part(name, count, m, k, n, sec, repeat=1, extra_flops=0):
    """A profile row: (name, shape text, count per step, seconds each, FLOPs each)."""
    shape = f"{f'{repeat}x' if repeat > 1 else ''}({m},{k})@({k},{n})"
    return name, shape, count, sec, 2 * m * k * n * repeat + extra_flops


def rows(batch, units):
    """The profile rows of the paper-size step, see `part`."""
    bt, g = batch * T, 4 * units
    return [
        part("input projection (enc)", 1, bt, PIXELS, g, single(bt, PIXELS, g)),
        part("input projection (dec)", 2, bt - batch, PIXELS, g, single(bt - batch, PIXELS, g)),
        part("time loop, forward", 3, batch, units, g, time_loop(batch, units, False), repeat=T),
        # BPTT also forms the recurrent-kernel gradient, (units, B*T) @ (B*T, 4 units).
        part("BPTT incl. grad rec. kernel", 3, batch, g, units, time_loop(batch, units, True),
             repeat=T, extra_flops=2 * units * bt * g),
        part("grad input kernel", 3, PIXELS, bt, g, single(PIXELS, bt, g, transpose_a=True)),
        part("read-out, forward", 2, bt, units, PIXELS, single(bt, units, PIXELS)),
        part("read-out, grad kernel", 2, units, bt, PIXELS, single(units, bt, PIXELS, transpose_a=True)),
        part("read-out, backward dh", 2, bt, PIXELS, units, single(bt, PIXELS, units)),
    ]


def main(argv):
    del argv
    batch, units = FLAGS.batch, FLAGS.units
    print(cpu.header(cpu.matmul_peaks()))
    print(f"paper-size composite, batch {batch}, {units} units, float32\n")
    table = rows(batch, units)
    total = 0.0
    print(f"{'part':<28}{'shape':>30}{'per step':>9}{'ms each':>9}{'ms/step':>9}{'GFLOP/s':>9}")
    for name, shape, count, sec, flops in table:
        total += count * sec
        print(f"{name:<28}{shape:>30}{count:>9}{1e3 * sec:>9.1f}{1e3 * count * sec:>9.0f}"
              f"{flops / sec / 1e9:>9.1f}")
    forward, forward_backward, update = model_step_seconds(batch, units)
    print(f"\n{'sum of the parts':<40}{1e3 * total:>10.0f} ms")
    print(f"{'measured forward':<40}{1e3 * forward:>10.0f} ms")
    print(f"{'measured forward + backward':<40}{1e3 * forward_backward:>10.0f} ms")
    print(f"{'rest (loss, copies, overlap)':<40}{1e3 * (forward_backward - total):>10.0f} ms")
    print(f"{'measured optimizer update (SGD)':<40}{1e3 * update:>10.0f} ms")


if __name__ == "__main__":
    app.run(main)
