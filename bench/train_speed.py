r"""Training speed of video_lstm's real training path, and of its input pipeline.

    python bench/train_speed.py                      # quickstart and paper-size composite, batch 16
    python bench/train_speed.py --configs=quickstart --batches=16,64 --json=/tmp/speed.json
    python bench/train_speed.py --smoke              # tiny, seconds (used by the tests)

For each configuration it builds the model exactly as `video_lstm.train` does
(`train_lib.new_model` + `experiment_data.train_dataset` + `model.fit`), warms
up, then times `--repeats` runs of `--steps` steps and reports the median
sequences/s; the pipeline alone is timed the same way. All figures come from
one process, so their ratios are comparable.
"""

import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from absl import app, flags  # noqa: E402

flags.DEFINE_list("configs", ["quickstart", "paper"], "Which configurations: quickstart, paper.")
flags.DEFINE_list("batches", ["16"], "Batch sizes.")
flags.DEFINE_integer("steps", 5, "Timed steps per repeat.")
flags.DEFINE_integer("repeats", 3, "Timed repeats (the median is reported).")
flags.DEFINE_bool("smoke", False, "Tiny model and frames, one repeat: checks the script runs.")
flags.DEFINE_string("json", None, "Also write the rows as JSON to this path.")
FLAGS = flags.FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGFILES = {
    "quickstart": "configs/quickstart.flags",
    # The official lstm_combo_1layer_mnist: 2048 units, conditional decoders, teacher forcing.
    "paper": "configs/paper_composite_conditional.flags",
    "smoke": "configs/quickstart.flags",
}
SMOKE = ("--units=8", "--frame_size=32", "--num_digits=1", "--input_length=3", "--future_length=3")


def median_rate(run, sequences, repeats):
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        rates.append(sequences / (time.perf_counter() - start))
    return statistics.median(rates)


def measure(name, batch, steps, repeats):
    from pipelines import experiment_data
    from video_lstm import flags as flags_lib
    from video_lstm import train_lib

    overrides = ["--digits=rendered", f"--batch_size={batch}"] + list(SMOKE if name == "smoke" else ())
    config = flags_lib.config_from_flagfile(os.path.join(ROOT, FLAGFILES[name]), *overrides)
    digits = experiment_data.digit_bank(config, "train")

    dataset = experiment_data.train_dataset(config, digits, num_steps=steps)
    for _ in dataset:  # warm-up
        pass
    pipeline = median_rate(lambda: [None for _ in dataset], steps * batch, repeats)

    model = train_lib.new_model(config, experiment_data.sample_inputs(config, digits, count=2))
    stream = experiment_data.train_dataset(config, digits).repeat()
    model.fit(stream, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # compile, warm up
    ours = median_rate(
        lambda: model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False),
        steps * batch,
        repeats,
    )
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "config": f"{name}_b{batch}",
        "batch": batch,
        "units": config.units,
        "conditional": config.conditional_future,
        "ours_seq_per_s": round(ours, 2),
        "pipeline_seq_per_s": round(pipeline, 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "cores": os.cpu_count(),
    }


def main(argv):
    del argv
    names = ["smoke"] if FLAGS.smoke else FLAGS.configs
    batches = [2] if FLAGS.smoke else [int(b) for b in FLAGS.batches]
    steps, repeats = (2, 1) if FLAGS.smoke else (FLAGS.steps, FLAGS.repeats)
    rows = [measure(name, batch, steps, repeats) for name in names for batch in batches]
    header = f"{'config':<16}{'ours seq/s':>12}{'pipeline seq/s':>16}{'peak RSS MB':>13}"
    print(header)
    for row in rows:
        print(
            f"{row['config']:<16}{row['ours_seq_per_s']:>12}{row['pipeline_seq_per_s']:>16}"
            f"{row['peak_rss_mb']:>13}"
        )
    print(f"({os.cpu_count()} cores)")
    if FLAGS.json:
        with open(FLAGS.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    app.run(main)
