r"""Which pretraining carries appearance? An ablation scored by the linear probe
(`python -m video_lstm.experiments.pretrain_ablation`, its command).

Each variant is the few-labels study's pretraining (`--pretrain_flagfile`, default
`configs/few_labels_pretrain.flags`) with a few flags changed (`VARIANTS`); it trains
into `<log_dir>/<variant>` (resumed like any run, with `--probe_every` curves in its
TensorBoard and metrics.json), then `analysis.probe.probe_log_dir` scores its frozen
encoder on both labelled Moving MNIST tasks (the few-shot read-out,
`core.settings.FewShotSettings`: `--shots`, `--seeds`, `--pool_size`, `--test_size`).
Writes `ablation.json` (per variant: the
flags, the probe rows, wall and CPU seconds of training and probing, the settings) and `ablation.md`
(10-shot accuracy per task, all labels, wall and CPU time) into --log_dir after every
variant, and `probe_curves.png` (the `--probe_every` curves of every variant: 10-shot and
all-label probe accuracy per task against training step) at the end. Results never
overwrite other results: a rerun with fewer --variants keeps the others' records, and a
variant recorded with other settings (--steps, --shots, ...) is refused by name.
"""

import dataclasses
import json
import os
import time

from absl import logging

from video_lstm import flags as flags_lib
from video_lstm.core import atomic
from video_lstm.core.settings import FewShotSettings

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
class AblationSettings(FewShotSettings):
    """The ablation's settings: the few-shot read-out of the final probe
    (`core.settings.FewShotSettings`), the variants and their pretraining."""

    variants: tuple = ("base", "steps4k", "conv", "units512", "two_digits", "autoencoder", "future")
    pretrain_flagfile: str = "configs/few_labels_pretrain.flags"
    steps: int = 1500
    probe_every: int = 500

    def validate(self):
        """Checks every flag without reading any file; returns self."""
        super().validate()
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"--variants={unknown[0]}; expected some of {', '.join(VARIANTS)}")
        return self


HELP = {
    "variants": f"Variants to train and probe, of {', '.join(VARIANTS)}.",
    "pretrain_flagfile": "Pretraining flagfile every variant starts from.",
    "steps": "Training steps of a variant that does not set its own.",
    "probe_every": "Probe curves during training every N steps (0: none).",
}


def study_settings(options):
    """What a variant's record depends on besides its own flags (every option but --variants),
    as JSON gives it back: a rerun of other settings is refused rather than mixed in."""
    values = {k: v for k, v in dataclasses.asdict(options).items() if k != "variants"}
    return json.loads(json.dumps(values))


def variant_config(options, name):
    return flags_lib.config_from_flagfile(options.pretrain_flagfile, f"--steps={options.steps}",
                                          f"--probe_every={options.probe_every}", *VARIANTS[name])


def run_variant(options, name, log_dir):
    """Trains (or resumes) one variant and probes it; returns its record."""
    # here: keeps Keras out of `import video_lstm.experiments.ablation`
    import keras

    # here: keeps Keras and cv2 out of `import video_lstm.experiments.ablation`
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
    record_hparams(log_dir, config, name, result)
    return {"variant": name, "flags": list(VARIANTS[name]), "steps": config.steps,
            "train_wall_s": round(trained - started, 1), "train_cpu_s": round(trained_cpu - cpu, 1),
            "probe_wall_s": round(time.perf_counter() - trained, 1), "results": result["results"]}


def record_hparams(log_dir, config, name, result):
    """The variant's HParams session (`training.hparams`, `<variant>/hparams`): its name and
    config.json's settings, its probe figures (`probe/<task>/<n>_shot`), so that the dashboard
    sorts the variants by any of them."""
    from video_lstm.analysis import probe
    from video_lstm.training import hparams

    hparams.record(os.path.join(log_dir, hparams.FOLDER), {"variant": name, **config.to_dict()},
                   probe.probe_scalars(result), config.steps)


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
    # here: keeps TensorBoard out of `import video_lstm.experiments.ablation`
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    # here: keeps Keras out of `import video_lstm.experiments.ablation`
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
    # here: keeps matplotlib out of `import video_lstm.experiments.ablation`
    import matplotlib

    matplotlib.use("Agg")
    # here: keeps matplotlib out of `import video_lstm.experiments.ablation`
    from matplotlib import pyplot as plt

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


def run_ablation(options, log_dir):
    """Trains and probes every variant of `options` (an `AblationSettings`, checked) not yet recorded
    in `log_dir`; returns the table of every recorded variant. Every variant's flags parse, and a
    variant recorded with other settings is refused by name, before anything trains."""
    for name in options.variants:
        variant_config(options, name)
    os.makedirs(log_dir, exist_ok=True)
    path = os.path.join(log_dir, "ablation.json")
    records = []
    if os.path.exists(path):
        with open(path) as f:
            records = json.load(f)  # every variant's, those not asked for this time included
    settings = study_settings(options)
    for record in records:
        if record["variant"] in options.variants and record.get("settings", settings) != settings:
            theirs = record["settings"]
            differ = ", ".join(f"--{k}={theirs.get(k)} there, {settings[k]} here" for k in sorted(settings)
                               if theirs.get(k) != settings[k])
            raise ValueError(f"{path} holds variant {record['variant']} of other settings ({differ}): results never "
                             "overwrite other results; use another --log_dir, or that one's settings")
    done = {r["variant"] for r in records}
    for name in options.variants:
        if name in done:
            continue
        records.append({**run_variant(options, name, os.path.join(log_dir, name)), "settings": settings})
        atomic.write_json(path, records)
        atomic.write_text(os.path.join(log_dir, "ablation.md"), format_table(records))  # every variant's
        logging.info("%s", format_table(records[-1:]))
    if options.probe_every:
        plot_curves(log_dir, options.variants, os.path.join(log_dir, "probe_curves.png"))
    return format_table(records)
