"""The TensorFlow-free path: `KERAS_BACKEND=jax python -m video_lstm.train` and `evaluate` where
importing TensorFlow fails, and the weights it writes in the TensorFlow model.

"No TensorFlow" is a directory put first on PYTHONPATH whose `tensorflow` and
`tensorflow_datasets` packages raise ImportError when imported. Each command
runs in a process of its own backend (Keras picks its backend once per process): one
tiny `python -m video_lstm.train` run (module fixture) serves every test; the other
commands of a test run in one process each, one after another (`cli.call`).
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import hide_tensorflow, jax_environment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_FLAGS = [
    "--frame_size=32", "--units=8", "--input_length=3", "--future_length=2",
    "--batch_size=4", "--steps=4", "--checkpoint_every=2", "--eval_sequences=6", "--log_every=2",
    "--image_every=2", "--seed=3",
]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")


@pytest.fixture(scope="module")
def no_tensorflow(tmp_path_factory):
    """A PYTHONPATH entry on which `import tensorflow` (and tensorflow_datasets) fails. Beside
    it, `jax_cache`: the processes run with it share XLA's compiled programs (the same tiny
    model's training step compiles once, not once per process)."""
    return hide_tensorflow(tmp_path_factory.mktemp("no_tensorflow") / "path")


def run(args, backend, shim=None, timeout=240):
    """Runs `python args...` in the checkout with KERAS_BACKEND=backend (on `shim`'s PYTHONPATH,
    with its JAX compilation cache); returns the CompletedProcess."""
    env = dict(jax_environment(shim), KERAS_BACKEND=backend)
    if shim:
        env.update(JAX_COMPILATION_CACHE_DIR=os.path.join(os.path.dirname(shim), "jax_cache"),
                   JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def check(result):
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout


CALLS = r"""
import importlib, json, sys
from absl import logging
from video_lstm.core import cli
logging.set_verbosity(logging.INFO)
for module, argv in json.loads(sys.argv[1]):
    print("=== call", file=sys.stderr, flush=True)
    print("=== call", flush=True)
    print("=== status", cli.call(importlib.import_module(module), argv), flush=True)
"""


def calls(shim, *commands):
    """Runs `(module, [arguments])` commands one after another (`cli.call`) in one JAX process
    without TensorFlow; returns (exit status, stdout, stderr) of each."""
    result = run(["-c", CALLS, json.dumps(commands)], "jax", shim)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    outs, errs = result.stdout.split("=== call\n")[1:], result.stderr.split("=== call\n")[1:]
    assert len(outs) == len(errs) == len(commands), (result.stdout + result.stderr)[-3000:]
    statuses = [int(out.rsplit("=== status ", 1)[1]) for out in outs]
    return list(zip(statuses, [out.rsplit("=== status ", 1)[0] for out in outs], errs))


@pytest.fixture(scope="module")
def tiny_flags(small_mnist):
    """TINY_FLAGS, on the digits of a small mnist.npz."""
    return [*TINY_FLAGS, "--digits=mnist", f"--mnist_path={small_mnist['mnist_path']}"]


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory, no_tensorflow, tiny_flags):
    """The log_dir of a tiny `python -m video_lstm.train` run under JAX without TensorFlow."""
    log_dir = str(tmp_path_factory.mktemp("jax_run"))
    check(run(["-m", "video_lstm.train", f"--log_dir={log_dir}", *tiny_flags], "jax", no_tensorflow))
    return log_dir


def read_json(path):
    with open(path) as f:
        return json.load(f)


def test_jax_only_run_trains_saves_evaluates_and_resumes(jax_run, no_tensorflow, tiny_flags, tmp_path):
    """One JAX process without TensorFlow runs every command after the fixture's run (a process
    costs seconds of imports): `evaluate` of another size, a resume of the run, a run stopped at
    step 2 and resumed to 4 (bit for bit the uninterrupted run's step-4 checkpoint: weights and
    optimizer state; the batches are a function of seed and step), and the sources that need
    TensorFlow, refused at start-up."""
    import cv2

    h5py = pytest.importorskip("h5py")
    assert sorted(os.listdir(os.path.join(jax_run, "checkpoints"))) == [
        "ckpt-00000002.weights.h5", "ckpt-00000004.weights.h5"
    ]
    metrics = read_json(os.path.join(jax_run, "metrics.json"))
    assert metrics["step"] == 4 and metrics["num_sequences"] == 6 and metrics["test_set"] == "generated"
    assert 0 < metrics["cross_entropy_per_frame"] < 32 * 32 * 2 and "reconstruction" in metrics
    image = cv2.imread(os.path.join(jax_run, "samples.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None and image.shape[0] > 4 * 32
    if importlib.util.find_spec("tensorboard") is not None:  # scalars without TensorFlow
        assert any(name.startswith("events.out.tfevents") for name in os.listdir(os.path.join(jax_run, "train")))
    stopped = tmp_path / "stopped"
    ran = calls(
        no_tensorflow,
        ("video_lstm.train", [f"--log_dir={stopped}", *tiny_flags, "--steps=2", "--eval_sequences=1"]),
        ("video_lstm.train", [f"--log_dir={stopped}", *tiny_flags, "--steps=4", "--eval_sequences=1"]),
        ("video_lstm.evaluate", [f"--log_dir={jax_run}", "--eval_sequences=3"]),
        ("video_lstm.train", [f"--log_dir={jax_run}", *tiny_flags, "--steps=6"]),
        ("video_lstm.train", [f"--log_dir={tmp_path}/tfds", "--test_set=tfds"]),
        ("video_lstm.train", [f"--log_dir={tmp_path}/v", "--dataset=folder", f"--video_dir={tmp_path}"]))
    (first, _, first_err), (second, _, second_err), (status, out, err), (resumed, _, resumed_err) = ran[:4]
    (tfds, _, tfds_err), (folder, _, folder_err) = ran[4:]
    # Stopped and resumed: the step-4 checkpoint of the uninterrupted run, bit for bit.
    assert [first, second] == [0, 0], (first_err + second_err)[-2000:]
    assert "ckpt-00000002.weights.h5 (step 2)" in second_err
    name = os.path.join("checkpoints", "ckpt-00000004.weights.h5")
    with h5py.File(os.path.join(jax_run, name), "r") as a, h5py.File(os.path.join(stopped, name), "r") as b:
        arrays = []
        a.visititems(lambda key, item: arrays.append(key) if isinstance(item, h5py.Dataset) else None)
        assert any(key.startswith("optimizer") for key in arrays)
        for key in arrays:
            np.testing.assert_array_equal(a[key][()], b[key][()], err_msg=key)
    # evaluate, another size: its own file, the same keys; then resuming continues from the
    # newest .weights.h5 (optimizer state and step restored).
    assert status == 0 and "metrics_generated_3.json" in out, err[-2000:]
    other = read_json(os.path.join(jax_run, "metrics_generated_3.json"))
    assert set(other) == set(metrics) and other["num_sequences"] == 3
    assert resumed == 0, resumed_err[-2000:]
    assert "Resuming from" in resumed_err and "ckpt-00000004.weights.h5 (step 4)" in resumed_err
    assert "ckpt-00000006.weights.h5" in os.listdir(os.path.join(jax_run, "checkpoints"))
    assert read_json(os.path.join(jax_run, "metrics.json"))["step"] == 6
    # Sources that need TensorFlow are refused at start-up.
    assert tfds != 0 and "--test_set=tfds needs TensorFlow" in tfds_err, tfds_err[-2000:]
    assert folder != 0 and "--dataset=folder needs TensorFlow" in folder_err, folder_err[-2000:]


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_a_weights_checkpoint_refuses_another_optimizer(tmp_path):
    """A `.weights.h5` rebuilt with other optimizer flags would silently lose its optimizer
    state (Keras only warns); loading says so instead. In this process's backend."""
    from video_lstm import config as config_lib
    from video_lstm import rundir

    config = config_lib.make(units=4, input_length=2, future_length=1, frame_size=28, optimizer="adam")
    model = rundir.new_model(config)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(3)
    path = rundir.save(model, str(tmp_path), 3, weights_only=True)
    assert int(rundir.load(path, config).optimizer.iterations) == 3
    with pytest.raises(ValueError, match=r"no optimizer state for --optimizer=sgd"):
        rundir.load(path, config_lib.replace(config, optimizer="sgd"))


JAX_OUTPUTS = r"""
import sys, numpy as np
from video_lstm import rundir
step, model = rundir.load_latest(sys.argv[1])
frames = np.random.default_rng(0).uniform(size=(2, 3, 32, 32, 1)).astype("float32")
outputs = model.predict_on_batch({"frames": frames})
np.savez(sys.argv[2], frames=frames, step=step, **{k: np.asarray(v) for k, v in outputs.items()})
assert "tensorflow" not in sys.modules
"""

TENSORFLOW_SIDE = r"""
import json, os, sys, numpy as np, keras
assert keras.backend.backend() == "tensorflow"
from video_lstm import config as config_lib
from video_lstm.analysis import evaluation, visualization
from video_lstm.analysis.options import VisualizeOptions
from video_lstm import rundir
from export import saved_model as encoder
log_dir, reference, export_dir = sys.argv[1:4]
expected = np.load(reference)
step, model = rundir.load_latest(log_dir)
assert step == int(expected["step"]), step
outputs = model.predict_on_batch({"frames": expected["frames"]})
for name in ("reconstruction", "future"):
    np.testing.assert_allclose(np.asarray(outputs[name]), expected[name], rtol=1e-5, atol=1e-5)
# The TensorFlow evaluation (tf.data test set) of the same weights: the same keys and figures.
jax_metrics = json.load(open(os.path.join(log_dir, "metrics.json")))
metrics = evaluation.evaluate(model, rundir.load_config(log_dir), verbose=0)
assert set(metrics) | {"written"} == set(jax_metrics) | {"written"}, set(metrics) ^ set(jax_metrics)
for name in ("cross_entropy_per_frame", "mse_per_frame", "ssim"):
    np.testing.assert_allclose(metrics[name], jax_metrics[name], rtol=1e-4)
print(visualization.visualize_log_dir(log_dir, VisualizeOptions(what=("samples",), num_sequences=2)))
print(encoder.export_log_dir(log_dir, export_dir))
"""


@pytest.mark.large  # 13 s; .weights.h5 loads stay tested under TensorFlow (test_rundir) and under JAX (above)
def test_jax_weights_load_into_the_tensorflow_model(jax_run, no_tensorflow, tmp_path):
    pytest.importorskip("tensorflow")
    reference = str(tmp_path / "jax_outputs.npz")
    check(run(["-c", JAX_OUTPUTS, jax_run, reference], "jax", no_tensorflow))
    out = check(run(["-c", TENSORFLOW_SIDE, jax_run, reference, str(tmp_path / "exported")], "tensorflow"))
    assert "samples.png" in out
    assert os.path.isfile(tmp_path / "exported" / os.path.basename(jax_run) / "1" / "saved_model.pb")
