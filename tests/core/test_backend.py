"""The models are backend-agnostic: they train and reload under JAX too.

Runs in a subprocess because Keras picks its backend once per process.
Skipped where JAX is not installed (`pip install -e '.[test]'` installs it).
"""

import importlib.util
import os
import subprocess
import sys

import helpers
import pytest

ROOT = helpers.ROOT

SCRIPT = r"""
import sys
import numpy as np
import keras
assert keras.backend.backend() == "jax", keras.backend.backend()
from video_lstm.models import CompositeModel
# (Keras itself may import TensorFlow later, for its data adapters.)
assert "tensorflow" not in sys.modules, "model code imported TensorFlow"

rng = np.random.default_rng(0)
x = {"frames": (rng.uniform(size=(8, 3, 6, 6, 1)) > 0.7).astype("float32"),
     "future_frames": (rng.uniform(size=(8, 2, 6, 6, 1)) > 0.7).astype("float32")}
from video_lstm.models import FrameDecoder
steps_seen = []
probability = FrameDecoder.teacher_probability
FrameDecoder.teacher_probability = lambda self, step: steps_seen.append(step) or probability(self, step)
for feed in ("teacher", "own", "scheduled"):
    model = CompositeModel(units=16, num_layers=2, future_length=2, feed=feed, init_scale=0.1, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), jit_compile=True)
    history = model.fit(x, batch_size=8, epochs=15, verbose=0).history
    assert history["loss"][-1] < 0.9 * history["loss"][0], (feed, history["loss"])
    assert set(history) >= {"loss", "reconstruction_loss", "future_loss"}, history.keys()
# Scheduled sampling read the optimizer's step (traced), not a constant.
assert steps_seen and all(not isinstance(step, int) for step in steps_seen), steps_seen
# The conv reader and read-out (8x8 frames: three stride-2 stages).
x8 = {"frames": (rng.uniform(size=(8, 3, 8, 8, 1)) > 0.7).astype("float32"),
      "future_frames": (rng.uniform(size=(8, 2, 8, 8, 1)) > 0.7).astype("float32")}
conv = CompositeModel(units=16, future_length=2, feed="scheduled", reader="conv", readout="conv",
                      reader_filters=8, readout_filters=8, seed=0)
conv.compile(optimizer=keras.optimizers.Adam(0.01), jit_compile=True)
history = conv.fit(x8, batch_size=8, epochs=30, verbose=0).history
assert history["loss"][-1] < 0.9 * history["loss"][0], ("conv", history["loss"])
for name, trained, data in (("lstm", model, x), ("conv", conv, x8)):
    path = sys.argv[1].replace(".keras", f"_{name}.keras")
    trained.save(path)
    reloaded = keras.models.load_model(path)
    a = trained.generate(data["frames"], future_length=5)["future"]
    b = reloaded.generate(data["frames"], future_length=5)["future"]
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
print("ok")
"""


@pytest.mark.large  # 30 s of XLA compiles; JAX training, saving and resuming stay in tests/test_no_tensorflow.py
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_models_train_and_reload_under_jax(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "model.keras")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
