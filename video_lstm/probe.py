r"""Probes a training run's frozen encoder with a linear classifier.

    python -m video_lstm.probe --log_dir=runs/quickstart [--checkpoint=...] [--shots=1,5,10,25,all]

Fits a closed-form ridge classifier on the encoder's final [h, c] states of a
few labelled clips per class (several seeds) and reports test accuracy, beside
the same probe on the raw last input frame and on a randomly initialised
encoder (`video_lstm.analysis.probe`). Moving MNIST runs are probed on the
labelled tasks (appearance, motion) without TensorFlow; video and percept runs
on their videos' classes (needs TensorFlow). Prints a markdown table and writes
<log_dir>/probe.json for the default options on TensorFlow; results never
overwrite other results: other options or another Keras backend write
probe_<what differs>.json (e.g. probe_seeds-2.json, probe_backend-jax.json), and
a later checkpoint whose file name holds an earlier checkpoint's result adds
_step-<step>. The same settings on the same checkpoint rewrite their own file
(the same numbers). Nothing else in the run changes.
"""

import os

from absl import flags

from video_lstm.analysis import probe  # NumPy: no Keras, no TensorFlow
from video_lstm.core import cli

PROGRAM = "video_lstm.probe"


def define_flags(flag_values=flags.FLAGS):
    """The flags of `python -m video_lstm.probe`, on `flag_values` (one per `ProbeOptions` field)."""
    cli.define_log_dir(flag_values, "The run directory video_lstm.train wrote.")
    cli.define_dataclass_flags(probe.ProbeOptions, flag_values, probe.HELP)


def settings(flag_values):
    """The `ProbeOptions` of the parsed flags, checked (reads flags only; ValueError names a bad one)."""
    return probe.ProbeOptions(**cli.dataclass_values(probe.ProbeOptions, flag_values)).validate()


def main(argv, flag_values=flags.FLAGS):
    FLAGS = flag_values
    cli.check_invocation(argv, FLAGS.log_dir, "the directory video_lstm.train wrote")
    try:
        options = settings(FLAGS)
        result = probe.probe_log_dir(FLAGS.log_dir, options, write=False, source_data=source_data)
    except (OSError, ValueError) as error:
        cli.fail(PROGRAM, error)
    print(probe.format_table(result))  # first: a failed write below loses no result
    from video_lstm import rundir  # here: it imports Keras, which the flags and a bad one need not load

    name = probe.result_name_for(FLAGS.log_dir, options, result)
    result["written"] = name
    try:
        rundir.write_json(FLAGS.log_dir, name, result)
    except OSError as error:
        cli.fail(PROGRAM, f"the results above could not be written to {FLAGS.log_dir}: {error}")
    print(f"wrote {os.path.join(FLAGS.log_dir, name)}")
    record_hparams(FLAGS.log_dir, name, options, result)


def record_hparams(log_dir, name, options, result):
    """The probe's HParams session (`training.hparams`), in `<log_dir>/hparams_<result name>`: the
    run's config.json and the probe's options, its figures (`probe/<task>/<n>_shot[_<features>]`)."""
    import dataclasses

    from video_lstm import rundir
    from video_lstm.training import hparams

    settings = {**rundir.load_config(log_dir).to_dict(), "probe": dataclasses.asdict(options)}
    hparams.record(os.path.join(log_dir, f"{hparams.FOLDER}_{os.path.splitext(name)[0]}"), settings,
                   probe.probe_scalars(result), result.get("step") or 0)


def source_data(config):
    """The labelled clips of a video or percept run (`classify.data.run_labelled_data`; TensorFlow)."""
    # here: keeps Keras and TensorFlow out of `import video_lstm.probe`
    from video_lstm.classify import data as data_lib

    return data_lib.run_labelled_data(config)


if __name__ == "__main__":
    cli.run(define_flags, main)
