r"""Training speed: video_lstm against the baselines a user would pick instead.

    python bench/train_speed.py                     # quickstart and paper size, batch 16 and 64
    python bench/train_speed.py --configs=paper --batches=16 --json=/tmp/speed.json
    python bench/train_speed.py --smoke             # tiny, seconds (run by the tests)

For each configuration, in one process, it times training sequences/s of

- ours: `CompositeModel` through the real training path (`loop.new_model`,
  `DataSource.train_dataset`, `model.fit`), plus each `--variants` of it
  (`no_xla`: jit_compile off; `mixed_bfloat16`: that Keras dtype policy;
  `conv_readout`: the transposed-conv read-out of `video_lstm/models/readout.py`).
  Every contender runs the paper's architecture (raw pixels in, linear
  read-out), whatever the flagfile says, since that is what the baselines
  implement;
- naive: the same composite from stock `keras.layers.LSTM`/`LSTMCell` with a
  Python decoder loop (bench/naive_keras.py), through the same `model.fit`;
- peer: the same composite in PyTorch (bench/torch_peer.py), if installed;
- the input pipeline alone;

and the roofline: the model's analytic training FLOPs per sequence against the
GFLOP/s of large matmuls on this machine in the run's precision (float32, or
bfloat16 for a mixed_bfloat16 run: `video_lstm.core.cpu.matmul_peaks`;
bench/roofline.py). The header names the CPU and its matmul units
(`cpu.header`) and both peaks; every row carries them in its JSON. Every
contender is warmed up, then the contenders take turns for `--repeats` rounds
of `--steps` steps, so that a noisy neighbour slows them all alike; the table
shows medians and the ratios ours/naive, ours/peer and the roofline fraction
(of each variant too, in parentheses after its sequences/s).
"""

import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import keras  # noqa: E402
from absl import app, flags  # noqa: E402

from video_lstm.core import cpu  # noqa: E402

flags.DEFINE_list("configs", ["quickstart", "paper"], "Configurations: quickstart, paper.")
flags.DEFINE_list("batches", ["16", "64"], "Batch sizes.")
flags.DEFINE_list("contenders", ["naive", "peer"], "Baselines to run beside ours: naive, peer.")
flags.DEFINE_list(
    "variants", ["no_xla", "mixed_bfloat16", "conv_readout"], "Variants of ours to time as well."
)
flags.DEFINE_integer("steps", 5, "Timed steps per round.")
flags.DEFINE_integer("repeats", 3, "Timed rounds (the median is reported).")
flags.DEFINE_bool("smoke", False, "Tiny model and frames, one round: checks the script runs.")
flags.DEFINE_string("json", None, "Also write the rows as JSON to this path.")
FLAGS = flags.FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGFILES = {
    "quickstart": "configs/quickstart.flags",
    # The official lstm_combo_1layer_mnist: 2048 units, conditional decoders, teacher forcing.
    "paper": "configs/paper_composite_conditional.flags",
    "smoke": "configs/paper_composite_conditional.flags",
}
SMOKE = ("--units=8", "--frame_size=32", "--num_digits=1", "--input_length=3", "--future_length=3")
VARIANTS = {
    "no_xla": ("--nojit_compile",),
    "mixed_bfloat16": ("--precision=mixed_bfloat16",),
    "conv_readout": ("--readout=conv",),
}
# The baselines implement the paper's model (raw pixels in, linear read-out),
# so every contender runs that, whatever the flagfile says; the conv layers
# are timed as a variant of ours.
PAPER_ARCHITECTURE = ("--reader=linear", "--readout=linear")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_config(name, batch, *overrides):
    from video_lstm import flags as flags_lib

    args = ["--digits=rendered", f"--batch_size={batch}", *PAPER_ARCHITECTURE, *overrides]
    if name == "smoke":
        args += SMOKE
    return flags_lib.config_from_flagfile(os.path.join(ROOT, FLAGFILES[name]), *args)


class BatchClock(keras.callbacks.Callback):
    """Notes the time at the end of every training batch."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def keras_runner(model, config, source, steps):
    """A callable that trains `model` through `model.fit` for `steps` + 1 steps.

    It returns the seconds of the last `steps`, timed batch end to batch end,
    so that `fit`'s per-call setup (iterators, callbacks) is not counted.
    """

    stream = source.train_dataset().repeat()
    clock = BatchClock()
    model.fit(stream, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # compile, warm up

    def run():
        model.fit(stream, steps_per_epoch=steps + 1, epochs=1, verbose=0, shuffle=False,
                  callbacks=[clock])
        return clock.times[-1] - clock.times[0]

    return run


def ours_runner(config, source, steps):
    from video_lstm.training import loop

    model = loop.new_model(config, source.sample_inputs(count=2))
    return keras_runner(model, config, source, steps)


def naive_runner(config, source, steps):
    import naive_keras

    from video_lstm.optimizers import make_optimizer

    model = naive_keras.build(config)
    model(source.sample_inputs(count=2))
    model.compile(optimizer=make_optimizer(config))  # Keras' default jit_compile="auto"
    return keras_runner(model, config, source, steps)


def peer_runner(config, source, steps):
    try:
        import torch_peer
    except ImportError:
        print("(peer skipped: PyTorch is not installed; pip install -e '.[bench]')")
        return None

    trainer = torch_peer.Trainer(config, threads=os.cpu_count())
    batches = [
        (batch["frames"].numpy(), batch["future_frames"].numpy())
        for batch in source.train_dataset(num_steps=steps)
    ]
    trainer.step(*batches[0])  # warm up

    def run():
        start = time.perf_counter()
        for frames, future in batches:
            trainer.step(frames, future)
        return time.perf_counter() - start

    return run


def pipeline_runner(config, source, steps):

    dataset = source.train_dataset(num_steps=steps)
    for _ in dataset:  # warm-up
        pass

    def run():
        start = time.perf_counter()
        for _ in dataset:
            pass
        return time.perf_counter() - start

    return run


def take_turns(runners, sequences, repeats):
    """Median sequences/s of each runner, the runners taking turns each round.

    A runner does `sequences` sequences of work and returns the seconds it took.
    """
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(run())
    return {name: sequences / statistics.median(t) for name, t in times.items()}


def roofline_fraction(seq_per_s, gflop_per_seq, peaks, precision):
    """The fraction of the matmul peak of `precision` (`peaks`, a `cpu.Peaks`) that `seq_per_s`
    sequences/s of `gflop_per_seq` GFLOP each reach: a mixed_bfloat16 run's is the bfloat16 peak."""
    return seq_per_s * gflop_per_seq / peaks.for_precision(precision)


def measure(name, batch, steps, repeats, peaks):
    """One row: every contender's sequences/s, and ours (and each variant) against the matmul
    peak of its precision (`peaks`, a `cpu.Peaks`)."""
    import roofline

    config = load_config(name, batch)
    from pipelines import sources

    source = sources.build(config)
    runners = {"ours": ours_runner(config, source, steps)}
    rss = peak_rss_mb()  # ours, warmed up: the memory a training run needs
    runners["pipeline"] = pipeline_runner(config, source, steps)
    variants = {variant: load_config(name, batch, *VARIANTS[variant]) for variant in FLAGS.variants}
    for variant, variant_config in variants.items():
        runners[variant] = ours_runner(variant_config, source, steps)
    if "naive" in FLAGS.contenders:
        runners["naive"] = naive_runner(config, source, steps)
    if "peer" in FLAGS.contenders:
        runners["peer"] = peer_runner(config, source, steps)
    rates = take_turns({k: v for k, v in runners.items() if v is not None}, steps * batch, repeats)
    gflop = roofline.flops_per_sequence(config) / 1e9
    row = {
        "config": f"{name}_b{batch}",
        "batch": batch,
        "ours_seq_per_s": rates["ours"],
        "naive_seq_per_s": rates.get("naive"),
        "peer_seq_per_s": rates.get("peer"),
        "pipeline_seq_per_s": rates["pipeline"],
        "gflop_per_seq": gflop,
        "precision": config.precision,
        "roofline_gflops": peaks.for_precision(config.precision),
        "roofline_fraction": roofline_fraction(rates["ours"], gflop, peaks, config.precision),
        "peak_rss_mb": rss,
        "cores": os.cpu_count(),
        "cpu": cpu.describe(),
        "float32_peak_gflops": peaks.float32,
        "bfloat16_peak_gflops": peaks.bfloat16,
    }
    for variant, variant_config in variants.items():
        row[f"ours_{variant}_seq_per_s"] = rates[variant]
        row[f"ours_{variant}_precision"] = variant_config.precision
        row[f"ours_{variant}_roofline_fraction"] = roofline_fraction(
            rates[variant], gflop, peaks, variant_config.precision
        )
    return row


def rescale(row, old, new):
    """`row` with its roofline figures against the peaks `new` instead of `old`."""
    row = dict(row, float32_peak_gflops=new.float32, bfloat16_peak_gflops=new.bfloat16,
               roofline_gflops=new.for_precision(row["precision"]))
    for key in [k for k in row if k.endswith("roofline_fraction")]:
        precision = row.get(key.replace("roofline_fraction", "precision"), row["precision"])
        row[key] *= old.for_precision(precision) / new.for_precision(precision)
    return row


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def print_table(rows):
    columns = [
        ("config", lambda r: r["config"]),
        ("ours seq/s", lambda r: f"{r['ours_seq_per_s']:.2f}"),
        ("naive seq/s", lambda r: f"{r['naive_seq_per_s']:.2f}" if r["naive_seq_per_s"] else "-"),
        ("peer seq/s", lambda r: f"{r['peer_seq_per_s']:.2f}" if r["peer_seq_per_s"] else "-"),
        ("ours/naive", lambda r: ratio(r["ours_seq_per_s"], r["naive_seq_per_s"])),
        ("ours/peer", lambda r: ratio(r["ours_seq_per_s"], r["peer_seq_per_s"])),
        ("GFLOP/seq", lambda r: f"{r['gflop_per_seq']:.3f}"),
        ("GFLOP/s", lambda r: f"{r['ours_seq_per_s'] * r['gflop_per_seq']:.1f}"),
        ("roofline", lambda r: f"{100 * r['roofline_fraction']:.0f}%"),
        ("pipeline seq/s", lambda r: f"{r['pipeline_seq_per_s']:.0f}"),
        ("peak RSS MB", lambda r: f"{r['peak_rss_mb']:.0f}"),
    ]
    for variant in FLAGS.variants:
        key = f"ours_{variant}_seq_per_s"
        fraction = f"ours_{variant}_roofline_fraction"
        columns.append(
            (f"{variant} seq/s", lambda r, key=key, fraction=fraction: f"{r[key]:.2f} ({100 * r[fraction]:.0f}%)")
        )
    cells = [[name for name, _ in columns]] + [[fn(r) for _, fn in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))


def main(argv):
    del argv
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # roofline, naive_keras, torch_peer
    names = ["smoke"] if FLAGS.smoke else FLAGS.configs
    batches = [2] if FLAGS.smoke else [int(b) for b in FLAGS.batches]
    steps, repeats = (2, 1) if FLAGS.smoke else (FLAGS.steps, FLAGS.repeats)
    peaks = cpu.matmul_peaks(sizes=(256,)) if FLAGS.smoke else cpu.matmul_peaks()
    print(cpu.header(peaks))
    rows = [measure(name, batch, steps, repeats, peaks) for name in names for batch in batches]
    if not FLAGS.smoke:  # a VM's neighbours can slow one measurement: the better of two, before and after
        again = cpu.matmul_peaks()
        best = cpu.Peaks(max(peaks.float32, again.float32), max(peaks.bfloat16, again.bfloat16))
        if best != peaks:
            print(f"(peaks measured again after the runs: {again.describe()}; the rooflines use the higher)")
            rows = [rescale(row, peaks, best) for row in rows]
            peaks = best
    print_table(rows)
    print(
        f"(roofline: each run against the matmul peak of its precision, float32 {peaks.float32:.1f} or "
        f"bfloat16 {peaks.bfloat16:.1f} GFLOP/s; {cpu.describe()})"
    )
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    app.run(main)
