"""The linear probe (`video_lstm.analysis.probe`, `python -m video_lstm.probe`): the ridge
classifier itself, its shots and seeds, a tiny trained run probed in-process, as a command, and
in a process where TensorFlow cannot be imported; the NumPy labelled Moving MNIST it reads."""

import importlib.util
import json
import os
import subprocess
import sys

import helpers
import numpy as np
import pytest
from helpers import hide_tensorflow, hparams_dashboard, jax_environment, tree_hashes

from pipelines import digits as digits_lib
from pipelines import labelled_moving_mnist as lmm
from video_lstm import config as config_lib
from video_lstm import probe as probe_cli
from video_lstm.analysis import probe
from video_lstm.core import cli

ROOT = helpers.ROOT
SMALL = ["--pool_size=120", "--test_size=40", "--shots=1,2,all", "--seeds=2", "--batch_size=64"]


def tiny(**overrides):
    values = dict(units=8, frame_size=32, num_digits=1, digits="rendered", input_length=3, future_length=2,
                  batch_size=4, steps=4, checkpoint_every=2, log_every=2, image_every=2, eval_sequences=4,
                  jit_compile=False)
    values.update(overrides)
    return config_lib.make(**values)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from video_lstm.training import loop

    log_dir = str(tmp_path_factory.mktemp("probe") / "run")
    loop.train(tiny(), log_dir, verbose=0)
    return log_dir


# -- the ridge classifier ----------------------------------------------------------


def separable(seed, classes=4, per_class=30, dim=20):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 5
    labels = np.repeat(np.arange(classes), per_class)
    return centres[labels] + 0.3 * rng.normal(size=(len(labels), dim)), labels


def test_separable_features_are_classified_perfectly():
    train, labels = separable(0)
    test, test_labels = separable(0, per_class=50)
    rows = probe.probe_features(train, labels, test, test_labels, 4, [1, 5, None], seeds=3)
    assert [row["mean"] for row in rows] == [1.0, 1.0, 1.0]
    assert [row["train_size"] for row in rows] == [4, 20, 120]


def test_random_labels_give_chance():
    rng = np.random.default_rng(1)
    train, test = rng.normal(size=(400, 30)), rng.normal(size=(2000, 30))
    labels, test_labels = rng.integers(0, 10, 400), rng.integers(0, 10, 2000)
    rows = probe.probe_features(train, labels, test, test_labels, 10, [5, None], seeds=3)
    for row in rows:
        assert abs(row["mean"] - 0.1) < 0.04, row


@pytest.mark.parametrize("n, d", [(12, 30), (40, 6)])  # dual (n <= d) and primal forms
def test_leave_one_out_is_exact(n, d):
    rng = np.random.default_rng(n)
    x, labels = rng.normal(size=(n, d)), np.arange(n) % 3
    x = x - x.mean(0)
    ridge = probe.Ridge(x, labels, 3)
    for lam in (0.5, 5.0):
        hits = []
        for i in range(n):
            keep = np.arange(n) != i
            # the same model fitted without clip i (an unpenalised intercept: centred on the others)
            mean = x[keep].mean(0)
            one = probe.Ridge(x[keep] - mean, labels[keep], 3)
            hits.append(one.predict(x[i : i + 1] - mean, lam)[0] == labels[i])
        assert ridge.loo_accuracy(lam) == pytest.approx(np.mean(hits)), lam
        # the primal and dual solutions agree
        w = np.linalg.solve(x.T @ x + lam * np.eye(d), x.T @ ridge.targets)
        np.testing.assert_allclose(ridge.weights(lam), w, atol=1e-8)


def test_shots_and_seeds_are_reproducible():
    rng = np.random.default_rng(3)  # weak signal: accuracies differ by draw
    train, test = rng.normal(size=(60, 20)), rng.normal(size=(120, 20))
    labels, test_labels = np.arange(60) % 3, np.arange(120) % 3
    train[:, 0] += labels
    test[:, 0] += test_labels
    first = probe.probe_features(train, labels, test, test_labels, 3, [2, 5], seeds=4)
    again = probe.probe_features(train, labels, test, test_labels, 3, [2, 5], seeds=4)
    assert first == again
    assert len(set(first[0]["accuracy"])) > 1  # seeds draw other shots
    assert first[0]["accuracy"][:2] == probe.probe_features(train, labels, test, test_labels, 3, [2], seeds=2)[0][
        "accuracy"]


def test_options_and_result_names():
    assert probe.ProbeOptions().result_name() == "probe.json"
    assert probe.ProbeOptions(seeds=2).result_name() == "probe_seeds-2.json"
    assert probe.ProbeOptions().result_name("jax") == "probe_backend-jax.json"
    assert probe.ProbeOptions(seeds=2).result_name("jax") == "probe_seeds-2_backend-jax.json"


def test_a_second_probe_never_overwrites_another_result(tmp_path):
    """issue 29, item 15: other options, another backend or another checkpoint get a file of their
    own; the same settings on the same checkpoint rewrite their own (the same numbers)."""
    options, log_dir = probe.ProbeOptions(), str(tmp_path)
    first = {"step": 4, "checkpoint": "/a/checkpoints/ckpt-4.keras", "backend": "tensorflow"}
    assert probe.result_name_for(log_dir, options, first) == "probe.json"
    (tmp_path / "probe.json").write_text(json.dumps(first))
    assert probe.result_name_for(log_dir, options, dict(first)) == "probe.json"  # the same again
    assert probe.result_name_for(log_dir, options, {**first, "backend": "jax"}) == "probe_backend-jax.json"
    later = {**first, "step": 8, "checkpoint": "/a/checkpoints/ckpt-8.keras"}
    assert probe.result_name_for(log_dir, options, later) == "probe_step-8.json"
    assert probe.result_name_for(log_dir, probe.ProbeOptions(seeds=2), later) == "probe_seeds-2.json"
    assert probe.ProbeOptions(shots=("all", "5", "1")).shot_counts() == [1, 5, None]
    for bad in (dict(shots=("0",)), dict(shots=("x",)), dict(seeds=0), dict(baselines=("nope",))):
        with pytest.raises(ValueError):
            probe.ProbeOptions(**bad).validate()


# -- labelled Moving MNIST without TensorFlow -------------------------------------------


def test_numpy_labelled_set_equals_tensorflow():
    pytest.importorskip("tensorflow")
    bank = digits_lib.load_digits(source="rendered", split="train", rendered_count=300)
    clips, labels = lmm.labelled_set_numpy(bank, 150, 4, lmm.POOL_STREAM, 3, 32, 0.1)  # two chunks
    for task in lmm.TASKS:
        tf_clips, tf_labels = lmm.labelled_set(bank, task, 150, 4, lmm.POOL_STREAM, 3, 32, 0.1)
        np.testing.assert_array_equal(clips, tf_clips)
        np.testing.assert_array_equal(labels[task], tf_labels)


# -- a run -----------------------------------------------------------------------


def test_probe_changes_nothing_but_its_own_output(run_dir, capsys):
    before = tree_hashes(run_dir)
    assert cli.call(probe_cli, ["--log_dir=" + run_dir, *SMALL]) == 0
    out = capsys.readouterr().out
    after = tree_hashes(run_dir)
    name = "probe_shots-1.2.all_seeds-2_pool_size-120_test_size-40.json"
    events = {path for path in set(after) - set(before)  # its HParams session, in a folder named as its result
              if path.startswith("hparams_" + name[: -len(".json")] + os.sep)}
    assert len(events) == 1 and set(after) - set(before) == {name, *events}
    assert {k: v for k, v in after.items() if k != name and k not in events} == before
    assert f"wrote {os.path.join(run_dir, name)}" in out
    assert "| appearance | encoder |" in out and "| motion | pixels |" in out
    result = json.load(open(os.path.join(run_dir, name)))
    assert result["step"] == 4 and result["written"] == name
    assert {(r["task"], r["features"]) for r in result["results"]} == {
        (t, f) for t in ("appearance", "motion") for f in ("encoder", "random", "pixels")}
    encoder_row = next(r for r in result["results"] if r["features"] == "encoder" and r["shots"] == 1)
    assert encoder_row["feature_dim"] == 16 and encoder_row["seeds"] == 2 and len(encoder_row["accuracy"]) == 2
    # reproducible: the same probe again gives the same numbers
    again = probe.probe_log_dir(run_dir, probe.ProbeOptions(shots=("1", "2", "all"), seeds=2, pool_size=120,
                                                            test_size=40, batch_size=64), write=False)
    assert again["results"] == result["results"]


def test_bad_input_is_one_line_and_writes_nothing(run_dir, tmp_path, capsys):
    before = tree_hashes(run_dir)
    assert cli.call(probe_cli, ["--log_dir=" + run_dir, "--shots=0"]) == 1
    assert cli.call(probe_cli, ["--log_dir=" + run_dir, "--pool_size=30", "--shots=5"]) == 1  # too few per class
    assert cli.call(probe_cli, ["--log_dir=" + str(tmp_path / "none")]) == 1
    assert cli.call(probe_cli, ["--log_dir=" + run_dir, "--checkpoint=" + str(tmp_path / "x.keras")]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("video_lstm.probe: error:")]
    assert len(errors) == 4, errors
    assert tree_hashes(run_dir) == before


def test_probe_command_reads_the_checkpoint_it_is_given(run_dir, capsys):
    """`--checkpoint` and `--baselines` through the command (in this process; its subprocess run
    is the one without TensorFlow below)."""
    checkpoint = os.path.join(run_dir, "checkpoints", sorted(os.listdir(os.path.join(run_dir, "checkpoints")))[0])
    assert cli.call(probe_cli, ["--log_dir=" + run_dir, "--checkpoint=" + checkpoint, "--baselines=pixels",
                                *SMALL]) == 0
    out = capsys.readouterr().out
    assert "| appearance | encoder |" in out and "random" not in out
    written = out.strip().splitlines()[-1].split("wrote ", 1)[1]
    assert json.load(open(written))["step"] == 2


NO_TF = r"""
import sys
from video_lstm.core import cli
from video_lstm import probe
status = cli.call(probe, sys.argv[1:])
import importlib.util
assert "tensorflow" not in sys.modules or sys.modules["tensorflow"] is None
print("status", status)
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_probe_runs_where_tensorflow_cannot_be_imported(run_dir, tmp_path):
    """The probe command's one subprocess run."""
    env = jax_environment(hide_tensorflow(tmp_path / "no_tensorflow"))
    result = subprocess.run([sys.executable, "-c", NO_TF, "--log_dir=" + run_dir, "--seeds=3", *SMALL[:3]],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0 and "status 0" in result.stdout, (result.stdout + result.stderr)[-3000:]
    name = "probe_shots-1.2.all_seeds-3_pool_size-120_test_size-40_backend-jax.json"  # not TensorFlow's file
    under_jax = json.load(open(os.path.join(run_dir, name)))
    under_tf = probe.probe_log_dir(run_dir, probe.ProbeOptions(shots=("1", "2", "all"), seeds=3, pool_size=120,
                                                               test_size=40), write=False)
    # the same clips, shots and solves on either backend; the states agree to float32 round-off
    for a, b in zip(under_jax["results"], under_tf["results"]):
        assert (a["task"], a["features"], a["shots"]) == (b["task"], b["features"], b["shots"])
        if a["features"] == "pixels":
            assert a["accuracy"] == b["accuracy"]


# -- during pretraining -----------------------------------------------------------------


def test_probe_every_writes_curves_and_the_last_values_into_metrics(tmp_path, monkeypatch):
    """--probe_every: the trainer probes its encoder every N steps (TensorBoard scalars) and
    metrics.json holds the last values, their step and what they cost."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from video_lstm import rundir
    from video_lstm.training import loop
    from video_lstm.training.probe_callback import ProbeCallback as cls

    original = cls.__init__
    monkeypatch.setattr(cls, "__init__", lambda self, config, every, **kw: original(
        self, config, every, **{**kw, "pool_size": 60, "test_size": 20, "seeds": 1, "counts": (1, None)}))
    log_dir = str(tmp_path / "run")
    loop.train_and_evaluate(tiny(probe_every=2), log_dir, verbose=0)
    metrics = rundir.read_json(log_dir, rundir.METRICS)
    assert metrics["probe/step"] == 4 and metrics["probe/evaluations"] == 3  # steps 0, 2 and 4
    assert 0 <= metrics["probe/motion/1_shot"] <= 1 and metrics["probe/seconds"] > 0
    accumulator = EventAccumulator(rundir.path(log_dir, rundir.TRAIN_EVENTS))
    accumulator.Reload()
    tags = set(accumulator.Tags().get("scalars", [])) | set(accumulator.Tags().get("tensors", []))
    assert {"probe/appearance/1_shot", "probe/motion/all"} <= tags, tags
    tag = "probe/motion/all"
    events = accumulator.Scalars(tag) if tag in accumulator.Tags().get("scalars", []) else accumulator.Tensors(tag)
    assert [event.step for event in events] == [0, 2, 4]


# -- the pretraining ablation (video_lstm.experiments.pretrain_ablation) --------------------------

TINY_FLAGFILE = """--dataset=moving_mnist
--num_digits=1
--digits=rendered
--frame_size=32
--units=8
--input_length=3
--future_length=2
--batch_size=4
--checkpoint_every=2
--log_every=2
--image_every=100
--jit_compile=false
"""


# {(task, shots): the tag of a variant's probe figure} (`probe.probe_scalars`)
PROBE_TAGS = {
    (task, shots): f"probe/{task}/{'all' if shots == 'all' else shots + '_shot'}"
    for task in ("appearance", "motion")
    for shots in ("1", "all")
}


def test_the_hparams_dashboard_sorts_the_ablation_variants_by_their_probe_figures(tmp_path):
    """A variant's HParams session (`ablation.record_hparams`, which `run_variant` calls after its
    probe; a run of it: the large test below): its name and config beside its probe figures, so
    that the dashboard sorts the variants by any of them. No training: made-up probe results."""
    from video_lstm.experiments import ablation

    flagfile = tmp_path / "tiny.flags"
    flagfile.write_text(TINY_FLAGFILE)
    options = ablation.AblationSettings(pretrain_flagfile=str(flagfile), steps=2, probe_every=0)
    log_dir = tmp_path / "ablation"
    motion = {"base": 0.3, "autoencoder": 0.7, "future": 0.5}  # neither their order nor the alphabet's

    def made_up(figure):  # {(task, shots): mean accuracy}: `figure` on motion, 1 - figure on appearance
        return {(task, shots): figure if task == "motion" else 1 - figure for task, shots in PROBE_TAGS}

    for name, figure in motion.items():
        rows = [
            {"task": task, "features": "encoder", "shots": int(shots) if shots != "all" else shots, "mean": mean}
            for (task, shots), mean in made_up(figure).items()
        ]
        ablation.record_hparams(str(log_dir / name), ablation.variant_config(options, name), name, {"results": rows})
    columns, sessions = hparams_dashboard(str(log_dir), "probe/motion/all")
    assert columns["metrics"] == set(PROBE_TAGS.values())
    assert {"variant", "model", "steps", "units"} <= columns["hparams"]
    assert [s["hparams"]["variant"] for s in sessions] == ["autoencoder", "future", "base"]
    assert [s["hparams"]["model"] for s in sessions] == ["autoencoder", "future", "composite"]
    assert [s["run"] for s in sessions] == [os.path.join(name, "hparams") for name in ("autoencoder", "future", "base")]
    for session in sessions:
        assert session["hparams"]["steps"] == 2
        expected = {PROBE_TAGS[key]: mean for key, mean in made_up(motion[session["hparams"]["variant"]]).items()}
        assert session["metrics"] == pytest.approx(expected, abs=1e-7)
    _, by_appearance = hparams_dashboard(str(log_dir), "probe/appearance/1_shot")
    assert [s["hparams"]["variant"] for s in by_appearance] == ["base", "future", "autoencoder"]


@pytest.mark.large  # 8-19 s: trains and probes a tiny variant (training and the probe stay tested by default)
def test_the_ablation_trains_and_probes_each_variant_once_and_plots_the_curves(tmp_path):
    """A variant trains with its own flags into its own run, is probed, and lands in the table
    with its times and in the curves; a rerun skips finished variants (files unchanged)."""
    from video_lstm.core import cli
    from video_lstm.experiments import ablation, pretrain_ablation

    flagfile = tmp_path / "tiny.flags"
    flagfile.write_text(TINY_FLAGFILE)
    argv = [f"--log_dir={tmp_path / 'ablation'}", f"--pretrain_flagfile={flagfile}", "--variants=autoencoder",
            "--steps=2", "--probe_every=2", "--shots=1,all", "--seeds=2", "--pool_size=40", "--test_size=20"]
    assert cli.call(pretrain_ablation, argv) == 0
    records = json.load(open(tmp_path / "ablation" / "ablation.json"))
    assert [r["variant"] for r in records] == ["autoencoder"]
    assert json.load(open(tmp_path / "ablation" / "autoencoder" / "config.json"))["model"] == "autoencoder"
    for record in records:
        assert record["train_wall_s"] > 0 and record["steps"] == 2
        rows = {(r["task"], r["shots"]) for r in record["results"]}
        assert rows == {(t, s) for t in ("appearance", "motion") for s in (1, "all")}
    table = (tmp_path / "ablation" / "ablation.md").read_text()
    assert "| autoencoder | --model=autoencoder | 2 |" in table
    assert open(tmp_path / "ablation" / "probe_curves.png", "rb").read(4) == b"\x89PNG"
    curves = ablation.probe_curves(str(tmp_path / "ablation" / "autoencoder"))
    assert [step for step, _ in curves["probe/motion/all"]] == [0, 2]
    # TensorBoard's HParams dashboard over the ablation: the variant's session, its name and settings
    # beside its final probe figures, the metrics its table sorts the variants by
    columns, sessions = hparams_dashboard(str(tmp_path / "ablation"), "probe/motion/all")
    assert {"variant", "model", "steps", "units"} <= columns["hparams"]
    assert columns["metrics"] == set(PROBE_TAGS.values())
    (session,) = sessions
    assert session["run"] == os.path.join("autoencoder", "hparams")
    assert {k: session["hparams"][k] for k in ("variant", "model", "steps")} == {
        "variant": "autoencoder",
        "model": "autoencoder",
        "steps": 2,
    }
    (record,) = records
    assert session["metrics"] == pytest.approx(
        {PROBE_TAGS[r["task"], str(r["shots"])]: r["mean"] for r in record["results"]}, abs=1e-7
    )
    before = (tmp_path / "ablation" / "ablation.json").read_bytes()
    assert cli.call(pretrain_ablation, argv) == 0  # finished variants are not trained again
    assert (tmp_path / "ablation" / "ablation.json").read_bytes() == before
    assert cli.call(pretrain_ablation, argv[:2] + ["--variants=base,bogus"]) == 1
