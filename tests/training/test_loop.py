"""The training driver end to end on tiny Moving MNIST runs."""

import dataclasses
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT, tiny, tree_hashes, weights, write_flagfile

from pipelines import sources
from video_lstm import config as config_lib
from video_lstm import evaluate as evaluate_entry
from video_lstm import rundir
from video_lstm import train as train_entry
from video_lstm.core import cli
from video_lstm.models import CompositeModel
from video_lstm.training import loop as train_lib
from video_lstm.training.callbacks import NonFiniteLossError


def test_short_run_lowers_the_loss(tmp_path):
    config = tiny(steps=30, checkpoint_every=30, learning_rate=0.01, init_scale=0.1)
    source = sources.build(config)
    fixed = next(iter(source.train_dataset(start_step=1000, num_steps=1)))
    model = train_lib.new_model(config, source.sample_inputs())
    before = float(model.evaluate(fixed, verbose=0, return_dict=True)["loss"])
    model, step = train_lib.train(config, str(tmp_path), verbose=0)
    after = float(model.evaluate(fixed, verbose=0, return_dict=True)["loss"])
    assert step == 30
    assert after < 0.8 * before, (before, after)


@pytest.mark.parametrize("feed", [pytest.param("teacher", marks=pytest.mark.large), "scheduled"])
def test_the_compiled_training_step_is_not_retraced(tmp_path, monkeypatch, feed):
    """After the first step, three more steps across three epochs (checkpoint
    boundaries, TensorBoard writes) reuse the same trace."""
    traces = []
    original = CompositeModel.call

    def counting_call(self, inputs, training=False):
        if training:
            traces.append(1)  # Python runs here only while tracing
        return original(self, inputs, training=training)

    monkeypatch.setattr(CompositeModel, "call", counting_call)
    config = tiny(steps=1, checkpoint_every=1, log_every=1, image_every=1, jit_compile=True, feed=feed)
    run = train_lib.setup(config, str(tmp_path))
    assert train_lib.fit(run, verbose=0) == 1
    first = len(traces)
    assert first >= 1
    run.config = dataclasses.replace(config, steps=4)
    assert train_lib.fit(run, verbose=0) == 4
    assert len(traces) == first


def test_train_and_evaluate_writes_metrics_checkpoints_and_logs(tmp_path):
    log_dir = str(tmp_path)
    metrics = train_lib.train_and_evaluate(tiny(), log_dir, verbose=0)
    with open(os.path.join(log_dir, "metrics.json")) as f:
        written = json.load(f)
    for key in ("cross_entropy_per_frame", "mse_per_frame", "mae_per_frame", "ssim", "num_sequences", "step"):
        assert key in written, key
    assert written["num_sequences"] == 8 and written["step"] == 10
    assert written["train_digits"] == written["test_digits"] == "rendered"
    assert written["cross_entropy_per_frame"] == pytest.approx(metrics["cross_entropy_per_frame"])
    assert 0 < written["cross_entropy_per_frame"] < 32 * 32 * np.log(2) * 2
    assert [s for s, _ in rundir.list_checkpoints(log_dir)] == [5, 10]
    assert glob.glob(os.path.join(log_dir, "train", "events.out.tfevents.*"))
    assert os.path.getsize(os.path.join(log_dir, "samples.png")) > 0
    assert rundir.load_config(log_dir) == tiny()
    assert written["precision"] == "float32"


def test_precision_auto_is_decided_at_the_start_recorded_and_kept_by_a_resume(tmp_path, monkeypatch):
    """--precision=auto: the CPU decides a new run's precision (`cpu.auto_precision`), config.json
    records the decision, and a resume keeps it whatever the CPU says then."""
    from video_lstm.core import cpu
    from video_lstm.core import lock as lock_lib

    log_dir = str(tmp_path / "run")
    monkeypatch.setattr(cpu, "auto_precision", lambda found=None, peaks=None: "mixed_bfloat16")
    run = train_lib.setup(tiny(precision="auto", steps=1), log_dir)
    lock_lib.release(log_dir)
    assert run.config.precision == rundir.load_config(log_dir).precision == "mixed_bfloat16"
    assert run.model.dtype_policy.name == "mixed_bfloat16"
    monkeypatch.setattr(cpu, "auto_precision", lambda found=None, peaks=None: "float32")
    assert train_lib.resolve_precision(tiny(precision="auto"), log_dir).precision == "mixed_bfloat16"
    assert train_lib.resolve_precision(tiny(precision="auto"), str(tmp_path / "new")).precision == "float32"
    with pytest.raises(ValueError, match="precision"):  # named, it must match the run's
        rundir.check_resume(log_dir, tiny(precision="float32", steps=1))
    with pytest.raises(ValueError, match="--precision=auto with --strategy=multi_worker"):
        config_lib.make(precision="auto", strategy="multi_worker")


def call(module, capsys, *args):
    """(exit status, stdout, stderr) of an entry point run in this process (`cli.call`)."""
    capsys.readouterr()
    status = cli.call(module, args)
    out, err = capsys.readouterr()
    return status, out, err


def test_evaluate_cli_rereads_the_run_and_refuses_an_empty_log_dir(tmp_path, capsys, small_mnist):
    log_dir = tmp_path / "run"
    train_lib.train(tiny(steps=5, **small_mnist), str(log_dir), verbose=0)
    # The one subprocess run of python -m video_lstm.evaluate.
    result = subprocess.run([sys.executable, "-m", "video_lstm.evaluate", f"--log_dir={log_dir}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cross_entropy_per_frame" in result.stdout and "metrics.json" in result.stdout
    written = json.loads((log_dir / "metrics.json").read_text())
    assert written["num_sequences"] == 8 and written["step"] == 5
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text(tiny().to_json())
    status, _, err = call(evaluate_entry, capsys, f"--log_dir={empty}")
    assert status != 0 and "no checkpoint in" in err


def test_an_evaluation_on_another_test_set_or_size_keeps_the_runs_own(tmp_path, capsys):
    """A smaller --eval_sequences (or another --test_set) writes its own files;
    the run's metrics.json, from its full test set, stays as it was."""
    log_dir = tmp_path / "run"
    train_lib.train_and_evaluate(tiny(steps=5), str(log_dir), verbose=0)
    own = (log_dir / "metrics.json").read_bytes()
    status, out, err = call(evaluate_entry, capsys, f"--log_dir={log_dir}", "--eval_sequences=4")
    assert status == 0, err[-2000:]
    assert "metrics_generated_4.json" in out
    assert (log_dir / "metrics.json").read_bytes() == own
    smaller = json.loads((log_dir / "metrics_generated_4.json").read_text())
    assert smaller["num_sequences"] == 4 and json.loads(own)["num_sequences"] == 8
    assert (log_dir / "samples_generated_4.png").exists()


def test_tensorboard_gets_decoder_losses_rates_and_images(tmp_path):
    """...and the learning rate logged is the schedule's at each step (read from the optimizer's
    config, not from the device: `callbacks.learning_rate_of`)."""
    import tensorflow as tf

    config = tiny(steps=10, learning_rate=0.01, lr_decay_steps=5, lr_decay_rate=0.5, image_every=5)
    train_lib.train(config, str(tmp_path), verbose=0)
    tags, rates = set(), {}
    for path in glob.glob(os.path.join(tmp_path, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
            for v in event.summary.value:
                if v.tag == "train/learning_rate":
                    rates[event.step] = float(tf.make_ndarray(v.tensor)) if v.HasField("tensor") else v.simple_value
    for tag in ("loss/loss", "loss/reconstruction_loss", "loss/future_loss", "train/learning_rate",
                "train/sequences_per_s", "train/step_time_s", "samples"):
        assert tag in tags, (tag, tags)
    assert rates == pytest.approx({5: 0.005, 10: 0.0025})  # staircase: halved at steps 5 and 10


def test_resume_continues_from_the_saved_step_with_equal_weights(tmp_path):
    straight = str(tmp_path / "straight")
    model, _ = train_lib.train(tiny(), straight, verbose=0)
    expected = weights(model)

    interrupted = str(tmp_path / "interrupted")
    train_lib.train(tiny(steps=5), interrupted, verbose=0)  # "killed" after the first checkpoint
    restored_step, restored = rundir.load_latest(interrupted)
    assert restored_step == 5
    assert int(restored.optimizer.iterations) == 5
    model, step = train_lib.train(tiny(), interrupted, verbose=0)
    assert step == 10
    for a, b in zip(expected, weights(model)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_scheduled_sampling_resumed_from_a_later_checkpoint_reaches_the_uninterrupted_weights(tmp_path):
    """Issue 29: scheduled sampling drew its coins from a Keras seed generator, whose state no
    checkpoint holds, so a run resumed from checkpoint k drew the coins of steps 0, 1, ... again;
    now step s draws from (seed, s). A kill after checkpoint 4 (of 2, 4, 6): the uninterrupted
    log_dir less the checkpoint after it, rerun."""
    import shutil

    config = tiny(feed="scheduled", schedule_decay=2.0, units=4, steps=6, checkpoint_every=2, log_every=6,
                  image_every=1000, keep_checkpoints=10)
    straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
    model, _ = train_lib.train(config, straight, verbose=0)
    shutil.copytree(straight, killed)
    os.remove(rundir.latest(killed)[1])
    resumed, step = train_lib.train(config, killed, verbose=0)
    assert step == 6
    for a, b in zip(weights(model) + [np.asarray(v) for v in model.optimizer.variables],
                    weights(resumed) + [np.asarray(v) for v in resumed.optimizer.variables], strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_killed_cli_job_resumes_to_the_same_weights(tmp_path, small_mnist, capsys, caplog):
    """SIGKILL a real training process after its first checkpoint, restart it (in this process)."""
    import logging
    import signal
    import time

    config = tiny(steps=200, checkpoint_every=5, log_every=1, **small_mnist)
    flagfile = write_flagfile(tmp_path / "tiny.flags", config)
    log_dir = tmp_path / "killed"
    arguments = [f"--flagfile={flagfile}", f"--log_dir={log_dir}"]
    process = subprocess.Popen([sys.executable, "-m", "video_lstm.train", *arguments], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not rundir.list_checkpoints(str(log_dir)) and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    checkpoints = rundir.list_checkpoints(str(log_dir))
    saved = [s for s, _ in checkpoints]
    assert saved and saved[-1] < 200, "the job should have been killed mid-run"
    from helpers import read_steps

    lost = read_steps(str(log_dir))[-1] - saved[-1]  # every step is logged (log_every=1)
    print(f"SIGKILL: last logged step {saved[-1] + lost}, last checkpoint {saved[-1]}, steps lost {lost}")
    assert 0 <= lost <= 5  # 5: killed between the step and its checkpoint
    # Restart with the same log_dir (and the dead job's lock left behind), to a step just past the last checkpoint.
    target = saved[-1] + 5
    caplog.set_level(logging.INFO, logger="absl")  # (whatever absl.logging.set_verbosity says by now)
    status, _, err = call(train_entry, capsys, *arguments, f"--steps={target}", "--eval_sequences=4")
    assert status == 0, err[-2000:]
    newest = dict(checkpoints)[saved[-1]]
    assert f"Resuming from {newest} (step {saved[-1]})" in caplog.text
    _, resumed = rundir.load_latest(str(log_dir))
    assert int(resumed.optimizer.iterations) == target
    straight, _ = train_lib.train(
        dataclasses.replace(config, steps=target), str(tmp_path / "straight"), verbose=0)
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _poison_from(monkeypatch, index):
    """Training batches from `index` on (step index + 1) are NaN."""
    original = sources.DataSource.train_dataset

    def poisoned(self, start_step=0, num_steps=None):
        import tensorflow as tf

        def maybe_nan(i, x):
            return {**x, "frames": x["frames"] * tf.where(i >= index, float("nan"), 1.0)}

        return original(self, start_step, num_steps).enumerate(start_step).map(maybe_nan)

    monkeypatch.setattr(sources.DataSource, "train_dataset", poisoned)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    _poison_from(monkeypatch, 7)  # step 8 is NaN; checkpoint 5's next step (6) was finite
    with pytest.raises(NonFiniteLossError, match=r"at step 8; training stopped;.*ckpt-00000005\.keras.*is kept"):
        train_lib.train(tiny(steps_per_execution=1), str(tmp_path), verbose=0)
    assert [s for s, _ in rundir.list_checkpoints(str(tmp_path))] == [5]
    _, model = rundir.load_latest(str(tmp_path))
    assert all(np.isfinite(w).all() for w in weights(model))


def test_nan_loss_within_steps_run_in_one_call_sets_aside_the_checkpoint_before_them(tmp_path, monkeypatch):
    """Steps 6..10 run in one call: the NaN of step 8 is seen at step 10's batch end, so
    checkpoint 5 (whose next step might have given it) is set aside too."""
    _poison_from(monkeypatch, 7)
    with pytest.raises(NonFiniteLossError, match=r"at one of steps 6\.\.10 \(run in one call: "
                                                 r"--steps_per_execution=5\);.*ckpt-00000005\.keras\.nonfinite"):
        train_lib.train(tiny(steps_per_execution=5), str(tmp_path), verbose=0)
    assert rundir.list_checkpoints(str(tmp_path)) == []


def test_a_checkpoint_whose_next_step_is_not_finite_is_not_good(tmp_path, monkeypatch):
    """Checkpoint 5 gave the NaN of step 6: it is set aside (kept, never loaded); 4 is the good one."""
    _poison_from(monkeypatch, 5)
    with pytest.raises(NonFiniteLossError, match=r"at step 6;.*ckpt-00000005\.keras\.nonfinite.*set aside.*"
                                                 r"ckpt-00000004\.keras, is kept"):
        train_lib.train(tiny(checkpoint_every=1), str(tmp_path), verbose=0)
    assert [s for s, _ in rundir.list_checkpoints(str(tmp_path))] == [4]
    assert os.path.exists(os.path.join(rundir.checkpoint_dir(str(tmp_path)), "ckpt-00000005.keras.nonfinite"))


def test_a_resume_with_other_settings_is_refused_naming_both_and_changes_nothing(tmp_path):
    train_lib.train(tiny(steps=5), str(tmp_path), verbose=0)
    before = tree_hashes(tmp_path)
    for overrides, named in (
        (dict(units=32), "--units: 16 in the log_dir, 32 now"),
        (dict(optimizer="sgd"), "--optimizer: 'adam' in the log_dir, 'sgd' now"),
        (dict(batch_size=2), "--batch_size: 4 in the log_dir, 2 now"),
        (dict(seed=1), "--seed: 0 in the log_dir, 1 now"),
        (dict(num_digits=2, frame_size=32), "--num_digits: 1 in the log_dir, 2 now"),
    ):
        with pytest.raises(ValueError, match=f"was trained with other settings \\({named}"):
            train_lib.train(tiny(steps=8, **overrides), str(tmp_path), verbose=0)
        assert tree_hashes(tmp_path) == before, overrides


def test_a_resume_may_change_steps_and_the_learning_rate_and_records_when(tmp_path):
    log_dir = str(tmp_path)
    train_lib.train_and_evaluate(tiny(steps=5), log_dir, verbose=0)
    own = open(rundir.path(log_dir, rundir.METRICS), "rb").read()
    train_lib.train_and_evaluate(tiny(steps=8, learning_rate=1e-4, clip_norm=1.0, eval_sequences=3), log_dir,
                                 verbose=0)
    _, model = rundir.load_latest(log_dir)
    assert int(model.optimizer.iterations) == 8  # the optimizer's state carried over
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(1e-4)  # the override took effect
    assert model.optimizer.global_clipnorm == 1.0
    recorded = rundir.load_config(log_dir)
    assert (recorded.steps, recorded.learning_rate, recorded.clip_norm) == (8, 1e-4, 1.0)
    assert recorded.eval_sequences == 8  # an evaluation setting: the run's own stays, and another
    assert open(rundir.path(log_dir, rundir.METRICS), "rb").read() == own  # evaluation is written beside it
    assert rundir.read_json(log_dir, "metrics_generated_3.json")["num_sequences"] == 3
    history = rundir.read_json(log_dir, rundir.RESUMES)
    assert history == [{"step": 5, "changes": {"clip_norm": [0.0, 1.0], "learning_rate": [1e-3, 1e-4],
                                               "steps": [5, 8]}}]


def test_a_resume_on_other_data_is_refused(tmp_path, monkeypatch):
    """VIDEO_LSTM_DATA_DIR unset on resume: --digits=auto would read rendered digits where the run
    read MNIST; refused, and data.json keeps saying MNIST."""
    from helpers import write_small_mnist

    from pipelines import digits as digits_lib

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_small_mnist(data_dir / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # no Keras copy of MNIST
    monkeypatch.setattr(digits_lib, "download_mnist", lambda: (_ for _ in ()).throw(OSError("offline")))
    monkeypatch.setenv("VIDEO_LSTM_DATA_DIR", str(data_dir))
    log_dir = str(tmp_path / "run")
    train_lib.train(tiny(steps=5, digits="auto"), log_dir, verbose=0)
    assert rundir.data_description(log_dir)["train_digits"] == "mnist"
    before = tree_hashes(log_dir)
    monkeypatch.delenv("VIDEO_LSTM_DATA_DIR")
    with pytest.raises(ValueError, match="trained on other data \\(train_digits: 'mnist' in the log_dir, "
                                         "'rendered' now"):
        train_lib.train(tiny(steps=8, digits="auto"), log_dir, verbose=0)
    assert tree_hashes(log_dir) == before


def test_checkpoints_without_their_config_are_not_resumed(tmp_path):
    train_lib.train(tiny(steps=5), str(tmp_path), verbose=0)
    os.remove(rundir.path(str(tmp_path), rundir.CONFIG))
    with pytest.raises(ValueError, match="holds checkpoints but .*config.json is missing"):
        train_lib.train(tiny(steps=8, units=32), str(tmp_path), verbose=0)
    assert not os.path.exists(rundir.path(str(tmp_path), rundir.CONFIG))


def test_a_failed_start_up_leaves_no_log_dir_behind(tmp_path):
    log_dir = tmp_path / "new"
    with pytest.raises(FileNotFoundError, match="no_such_mnist.npz"):
        train_lib.train(tiny(digits="mnist", mnist_path=str(tmp_path / "no_such_mnist.npz")), str(log_dir),
                        verbose=0)
    assert not log_dir.exists()  # no config.json, no lock


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(future_length=0), "--future_length=0 with --model=composite"),
        (dict(frame_size=20), "--frame_size=20 is smaller than a digit"),
        (dict(feed="bogus"), "--feed='bogus'; expected one of"),
        (dict(test_set="npy"), "--test_set=npy needs --test_npy_path"),
    ],
)
def test_inconsistent_settings_are_named(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        tiny(**overrides)


def test_cli_rejects_unknown_and_inconsistent_flags(tmp_path, capsys):
    status, _, err = call(train_entry, capsys, "--no_such_flag=1", f"--log_dir={tmp_path}")
    assert status != 0 and "no_such_flag" in err
    status, _, err = call(train_entry, capsys, "--future_length=0", f"--log_dir={tmp_path}")
    assert status != 0 and "--future_length=0 with --model=composite" in err


def test_cli_missing_mnist_is_named(tmp_path, capsys):
    status, _, err = call(train_entry, capsys, "--digits=mnist", f"--mnist_path={tmp_path}/nowhere/mnist.npz",
                          f"--log_dir={tmp_path}")
    assert status != 0
    assert "mnist.npz" in err and "nowhere" in err


def test_cli_in_process_trains_and_a_second_call_resumes_its_run(tmp_path, capsys):
    flagfile = write_flagfile(tmp_path / "tiny.flags", tiny(steps=2, checkpoint_every=2, eval_sequences=4))
    status, out, err = call(train_entry, capsys, f"--flagfile={flagfile}", f"--log_dir={tmp_path}/run")
    assert status == 0, err[-2000:]
    assert "cross_entropy_per_frame" in out and os.path.exists(tmp_path / "run" / "metrics.json")
    status, _, err = call(train_entry, capsys, f"--flagfile={flagfile}", "--steps=3", f"--log_dir={tmp_path}/run")
    assert status == 0, err[-2000:]
    assert [step for step, _ in rundir.list_checkpoints(str(tmp_path / "run"))] == [2, 3]


FAIL_FAST = r"""
import runpy, sys
sys.argv = ["video_lstm.train", "--future_length=0", "--log_dir=" + sys.argv[1]]
try:
    runpy.run_module("video_lstm.train", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("keras", "tensorflow", "jax") if m in sys.modules)
print("exit", code, "heavy", heavy)
"""


def test_a_bad_flag_fails_before_keras_or_tensorflow_load(tmp_path):
    """What makes a bad flag fail in well under two seconds: the flags and the
    config are checked before any heavy import."""
    result = subprocess.run([sys.executable, "-c", FAIL_FAST, str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert "--future_length=0 with --model=composite" in result.stderr
    assert result.stdout.strip().endswith("exit 1 heavy []"), result.stdout + result.stderr[-2000:]


def test_weight_decay_is_l2_added_to_the_gradient_and_survives_a_checkpoint(tmp_path):
    """As the official code: Adam sees g + wd * w (its first step moves every
    weight by lr, whatever the gradient's size), not Keras' decoupled decay
    (which would also subtract lr * wd * w)."""
    import keras

    from video_lstm.optimizers import AdamWithL2, make_optimizer

    optimizer = make_optimizer(tiny(optimizer="adam", learning_rate=0.1, weight_decay=0.5))
    assert isinstance(optimizer, AdamWithL2) and optimizer.l2 == 0.5
    weight = keras.Variable(np.array([2.0, -4.0], "float32"))
    optimizer.apply([keras.ops.convert_to_tensor(np.array([-0.5, 0.0], "float32"))], [weight])
    # g + wd * w = [0.5, -2.0]: Adam's first step is lr * sign.
    np.testing.assert_allclose(np.asarray(weight), [1.9, -3.9], atol=1e-4)
    config = tiny(steps=2, checkpoint_every=2, optimizer="sgd", weight_decay=1e-4)
    model, _ = train_lib.train(config, str(tmp_path), verbose=0)
    _, restored = rundir.load_latest(str(tmp_path))
    assert type(restored.optimizer).__name__ == "SGDWithL2" and restored.optimizer.l2 == 1e-4


def test_the_tfds_test_set_route_end_to_end(tmp_path):
    """python -m video_lstm.evaluate --test_set=tfds on a trained run, offline: the test prepares
    a TFDS moving_mnist itself (the real builder, its download step replaced by 6 sequences of
    the canonical shape) and the evaluation reads exactly those sequences."""
    import tensorflow_datasets as tfds

    from pipelines import moving_mnist_tf

    data_dir = str(tmp_path / "tfds")
    sequences = np.random.default_rng(5).integers(0, 256, (6, 20, 64, 64, 1), dtype=np.uint8)
    builder = tfds.builder("moving_mnist", data_dir=data_dir)
    builder._split_generators = lambda dl_manager: {"test": ((str(i), {"image_sequence": clip})
                                                             for i, clip in enumerate(sequences))}
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    loaded = moving_mnist_tf.load_tfds_test(data_dir)  # in TFDS' order (it shuffles by key)
    assert loaded.shape == sequences.shape and loaded.dtype == np.uint8
    assert sorted(c.tobytes() for c in loaded) == sorted(c.tobytes() for c in sequences)

    log_dir = tmp_path / "run"
    train_lib.train(tiny(steps=2, checkpoint_every=2, frame_size=64, num_digits=2), str(log_dir), verbose=0)
    status = cli.call(evaluate_entry, [f"--log_dir={log_dir}", "--test_set=tfds", f"--tfds_data_dir={data_dir}",
                                       "--eval_sequences=6"])
    assert status == 0
    written = json.loads((log_dir / "metrics_tfds_6.json").read_text())
    assert written["test_set"] == "tfds" and written["test_digits"] == "tfds:moving_mnist"
    assert written["num_sequences"] == 6
