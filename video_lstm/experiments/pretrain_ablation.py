r"""Which pretraining carries appearance? An ablation scored by the linear probe.

    python -m video_lstm.experiments.pretrain_ablation --log_dir=runs/ablation \
        --variants=base,steps4k,conv,units512,two_digits,autoencoder,future,conditional

Each variant is the few-labels study's pretraining (`--base_flagfile`, default
`configs/few_labels_pretrain.flags`) with a few flags changed (`VARIANTS`); it trains
into `<log_dir>/<variant>` (resumed like any run, with `--probe_every` curves in its
TensorBoard and metrics.json), then `analysis.probe.probe_log_dir` scores its frozen
encoder on both labelled Moving MNIST tasks (`--shots`, `--seeds`; the pool and test set
are the study's: 2,000 and 1,000 sequences). Writes `ablation.json` (per variant: the
flags, the probe rows, wall and CPU seconds of training and probing, the settings) and `ablation.md`
(10-shot accuracy per task, all labels, wall and CPU time) into --log_dir after every
variant, and `probe_curves.png` (the `--probe_every` curves of every variant: 10-shot and
all-label probe accuracy per task against training step) at the end. Results never
overwrite other results: a rerun with fewer --variants keeps the others' records, and a
variant recorded with other settings (--steps, --shots, ...) is refused by name.
"""

import dataclasses
import os
import time

from absl import flags, logging  # noqa: E402

from video_lstm.core import cli  # noqa: E402

# Flags each variant changes in the base flagfile (the base: composite, unconditioned, 1x256 LSTM,
# linear reader and read-out, one digit, 1,500 steps of 16).
VARIANTS = {
    "base": (),
    "steps4k": ("--steps=4000",),
    "conv": ("--reader=conv", "--readout=conv"),
    "conv_steps4k": ("--reader=conv", "--readout=conv", "--steps=4000"),
    "units512": ("--units=512",),
    "two_digits": ("--num_digits=2",),
    "autoencoder": ("--model=autoencoder",),
    "future": ("--model=future",),
    "conditional": ("--conditional_reconstruction=true", "--conditional_future=true"),
    "two_layers": ("--num_layers=2",),
}


@dataclasses.dataclass(frozen=True)
class AblationOptions:
    variants: tuple = ("base", "steps4k", "conv", "units512", "two_digits", "autoencoder", "future")
    base_flagfile: str = "configs/few_labels_pretrain.flags"
    steps: int = 1500
    probe_every: int = 500
    shots: tuple = ("1", "5", "10", "all")
    seeds: int = 3
    pool_size: int = 2000
    test_size: int = 1000


HELP = {
    "variants": f"Variants to train and probe, of {', '.join(VARIANTS)}.",
    "base_flagfile": "Pretraining flagfile every variant starts from.",
    "steps": "Training steps of a variant that does not set its own.",
    "probe_every": "Probe curves during training every N steps (0: none).",
    "shots": "Labelled clips per class of the final probe.",
    "seeds": "Draws of the shots per count.",
    "pool_size": "Labelled clips per task the shots are drawn from (the few-labels study's pool).",
    "test_size": "Labelled test clips per task (the few-labels study's test set).",
}


def define_flags(flag_values=flags.FLAGS):
    cli.define_log_dir(flag_values, "Where every variant's run and the ablation table go.")
    cli.define_dataclass_flags(AblationOptions, flag_values, HELP)


def study_settings(options):
    """What a variant's record depends on besides its own flags (every option but --variants),
    as JSON gives it back: a rerun of other settings is refused rather than mixed in."""
    import json

    values = {k: v for k, v in dataclasses.asdict(options).items() if k != "variants"}
    return json.loads(json.dumps(values))


def variant_config(options, name):
    from video_lstm import flags as flags_lib

    return flags_lib.config_from_flagfile(options.base_flagfile, f"--steps={options.steps}",
                                          f"--probe_every={options.probe_every}", *VARIANTS[name])


def run_variant(options, name, log_dir):
    """Trains (or resumes) one variant and probes it; returns its record."""
    import keras

    from video_lstm.analysis import probe
    from video_lstm.training import loop

    config = variant_config(options, name)
    keras.utils.clear_session(free_memory=False)
    started, cpu = time.perf_counter(), time.process_time()
    loop.train(config, log_dir, verbose=0)
    trained, trained_cpu = time.perf_counter(), time.process_time()
    probe_options = probe.ProbeOptions(shots=tuple(options.shots), seeds=options.seeds, baselines=(),
                                       pool_size=options.pool_size, test_size=options.test_size)
    result = probe.probe_log_dir(log_dir, probe_options)
    return {"variant": name, "flags": list(VARIANTS[name]), "steps": config.steps,
            "train_wall_s": round(trained - started, 1), "train_cpu_s": round(trained_cpu - cpu, 1),
            "probe_wall_s": round(time.perf_counter() - trained, 1), "results": result["results"]}


def accuracy(record, task, shots):
    for row in record["results"]:
        if row["task"] == task and row["features"] == "encoder" and str(row["shots"]) == str(shots):
            return row["mean"], row["std"]
    return None


def format_table(records):
    lines = ["| variant | flags | steps | appearance 10-shot | motion 10-shot | appearance all | motion all | "
             "train wall s (cpu s) |", "|---|---|---|---|---|---|---|---|"]
    for record in records:
        cells = []
        for task, shots in (("appearance", 10), ("motion", 10), ("appearance", "all"), ("motion", "all")):
            found = accuracy(record, task, shots)
            cells.append("" if found is None else (f"{100 * found[0]:.1f} ± {100 * found[1]:.1f}" if shots != "all"
                                                   else f"{100 * found[0]:.1f}"))
        lines.append(f"| {record['variant']} | {' '.join(record['flags']) or '(base)'} | {record['steps']} | "
                     + " | ".join(cells) + f" | {record['train_wall_s']:.0f} ({record['train_cpu_s']:.0f}) |")
    return "\n".join(lines)


def probe_curves(log_dir):
    """{tag: [(step, value)]} of the probe scalars in a run's TensorBoard events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    from video_lstm import rundir

    accumulator = EventAccumulator(rundir.path(log_dir, rundir.TRAIN_EVENTS),
                                   size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    curves = {}
    readers = (("scalars", lambda e: e.value), ("tensors", lambda e: float(tensor_util.make_ndarray(e.tensor_proto))))
    for kind, read in readers:
        for tag in accumulator.Tags().get(kind, []):
            if tag.startswith("probe/"):
                events = accumulator.Scalars(tag) if kind == "scalars" else accumulator.Tensors(tag)
                curves[tag] = sorted((e.step, read(e)) for e in events)
    return curves


def plot_curves(log_dir, variants, path):
    """Probe accuracy against training step, one panel per task and shot count, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from video_lstm.core import atomic

    panels = [("appearance", "10_shot"), ("appearance", "all"), ("motion", "10_shot"), ("motion", "all")]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 3.6))
    for name in variants:
        curves = probe_curves(os.path.join(log_dir, name))
        for axis, (task, shots) in zip(axes, panels):
            points = curves.get(f"probe/{task}/{shots}")
            if points:
                axis.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", markersize=3, label=name)
    for axis, (task, shots) in zip(axes, panels):
        axis.set_title(f"{task}, {shots.replace('_', ' ')}")
        axis.set_xlabel("training step")
        axis.set_ylabel("probe test accuracy (%)")
        axis.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    with atomic.path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=90)
    plt.close(figure)
    return path


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "where every variant's run and the ablation table go")
    from video_lstm.core import atomic

    options = AblationOptions(**{f.name: FLAGS[f.name].value for f in dataclasses.fields(AblationOptions)})
    unknown = [v for v in options.variants if v not in VARIANTS]
    if unknown:
        cli.fail("video_lstm.experiments.pretrain_ablation",
                 ValueError(f"--variants={unknown[0]}; expected some of {', '.join(VARIANTS)}"))
    try:
        for name in options.variants:  # every variant's flags parse before anything trains
            variant_config(options, name)
    except (OSError, ValueError) as error:
        cli.fail("video_lstm.experiments.pretrain_ablation", error)
    os.makedirs(FLAGS.log_dir, exist_ok=True)
    path = os.path.join(FLAGS.log_dir, "ablation.json")
    records = []
    if os.path.exists(path):
        import json

        with open(path) as f:
            records = json.load(f)  # every variant's, those not asked for this time included
    settings = study_settings(options)
    for record in records:
        if record["variant"] in options.variants and record.get("settings", settings) != settings:
            theirs = record["settings"]
            differ = ", ".join(f"--{k}={theirs.get(k)} there, {settings[k]} here" for k in sorted(settings)
                               if theirs.get(k) != settings[k])
            cli.fail("video_lstm.experiments.pretrain_ablation",
                     f"{path} holds variant {record['variant']} of other settings ({differ}): results never "
                     "overwrite other results; use another --log_dir, or that one's settings")
    done = {r["variant"] for r in records}
    for name in options.variants:
        if name in done:
            continue
        records.append({**run_variant(options, name, os.path.join(FLAGS.log_dir, name)), "settings": settings})
        atomic.write_json(path, records)
        atomic.write_text(os.path.join(FLAGS.log_dir, "ablation.md"), format_table(records))  # every variant's
        logging.info("%s", format_table(records[-1:]))
    if options.probe_every:
        plot_curves(FLAGS.log_dir, options.variants, os.path.join(FLAGS.log_dir, "probe_curves.png"))
    print(format_table(records))


if __name__ == "__main__":
    cli.run(define_flags, main)
