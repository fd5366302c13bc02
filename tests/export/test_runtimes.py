"""The encoder in ONNX Runtime, OpenVINO and LiteRT (export.runtimes, export.onnx_encoder, export.verify).

A tiny composite model (2 layers of 8 units, 32x32 frames, untrained Glorot weights so that states
vary) is checkpointed once; each format is exported from it in-process and verified by
`export.verification.verify`, whose runtime check runs in a fresh process without video_lstm, Keras
or TensorFlow. Each runtime's tests skip where its extra is absent. The command line (`python -m
export.encoder --format=...` and `python -m export.verify`, two TensorFlow start-ups) is `large`.
"""

import json
import os
import subprocess
import sys

import helpers
import numpy as np
import pytest
from absl import app

from export import runtimes, verification
from export.onnx_encoder import RuntimeExportError
from export.saved_model import EncoderExport
from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.models import build_model

ROOT = helpers.ROOT
SIZE, UNITS, LAYERS = 32, 8, 2
NEEDS = {"onnx": ("onnx", "onnxruntime"), "openvino": ("onnx", "openvino"), "litert": ("ai_edge_litert",)}


def need(fmt):
    for module in NEEDS[fmt]:
        pytest.importorskip(module, reason=f"--format={fmt} needs {module}: pip install video_lstm[{fmt}]")


def make_log_dir(path, seed=0, **overrides):
    """A log_dir with config.json and one checkpoint of an untrained tiny model."""
    values = dict(units=UNITS, num_layers=LAYERS, frame_size=SIZE, num_digits=1, digits="rendered",
                  input_length=3, future_length=2, init_scale=0.0, jit_compile=False, seed=seed)
    values.update(overrides)
    config = config_lib.make(**values)
    model = build_model(**config.model_kwargs())
    size = values["frame_size"]
    zeros = np.zeros((1, config.input_length, size, size, 1), np.float32)
    model({"frames": zeros, "future_frames": np.zeros((1, config.future_length, size, size, 1), np.float32)})
    rundir.record_config(str(path), config)
    rundir.save(model, str(path), 1)
    return config, model


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("runtimes")
    config, model = make_log_dir(base / "tiny")
    return base / "tiny", config, model, base / "exported"


def keras_states(model, frames):
    encoded = model.encode(frames)
    result = {"outputs": np.asarray(encoded["outputs"])}
    for i, (h, c) in enumerate(encoded["states"]):
        result[f"h_{i}"], result[f"c_{i}"] = np.asarray(h), np.asarray(c)
    return result


def test_onnx_lstm_operator_gives_the_keras_states_at_any_batch_and_time(run):
    """The weights mapped onto ONNX's gate order (i, o, f, c) give the package's states, batch and time dynamic."""
    need("onnx")
    import onnxruntime as ort

    from export import onnx_encoder

    _, _, model, _ = run
    proto = onnx_encoder.build_encoder(onnx_encoder.lstm_weights(model), (SIZE, SIZE, 1), "frames", "float32")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    for batch, time in ((1, 2), (3, 7)):
        frames = np.random.RandomState(time).rand(batch, time, SIZE, SIZE, 1).astype(np.float32)
        got = dict(zip(names, session.run(None, {"frames": frames})))
        for name, expected in keras_states(model, frames).items():
            assert got[name].shape == expected.shape
            assert np.max(np.abs(got[name] - expected)) <= 1e-5, name


@pytest.mark.parametrize("fmt", ["onnx", "openvino", "litert"])
def test_export_layout_and_verify_in_own_runtime(run, fmt, capsys):
    need(fmt)
    log_dir, config, model, export_dir = run
    version_dir = runtimes.export_log_dir(str(log_dir), str(export_dir), fmt, model_name=f"tiny_{fmt}")
    assert version_dir == os.path.join(str(export_dir), f"tiny_{fmt}", "1")
    files = sorted(os.listdir(version_dir))
    suffix = runtimes.SUFFIX[fmt]
    assert f"encode{suffix}" in files and f"encode_float{suffix}" in files and "saved_model.pb" not in files
    with open(os.path.join(version_dir, "assets", "signatures.json")) as f:
        table = json.load(f)
    with open(os.path.join(version_dir, "assets", "export.json")) as f:
        source = json.load(f)
    assert table["format"] == source["format"] == fmt and source["step"] == 1
    assert table["signatures"]["serving_default"]["file"] == f"encode{suffix}"
    batch = table["signatures"]["encode"]["inputs"]["frames"]["shape"][0]
    assert batch == (1 if fmt == "litert" else None)  # LiteRT's fixed shapes are recorded
    if fmt == "litert":
        assert table["fixed_shape"] == {"batch_size": 1, "input_length": config.input_length}
    assert os.path.exists(os.path.join(version_dir, "assets", "config.json"))
    assert verification.verify(str(export_dir / f"tiny_{fmt}"))  # the newest version
    report = capsys.readouterr().out
    assert "largest |diff| per output" in report and "OK: " in report and "without video_lstm" in report


def test_verify_names_the_outputs_that_differ(run, tmp_path, capsys):
    """Verified against another checkpoint (other weights), the check fails naming the outputs."""
    need("onnx")
    log_dir, _, _, export_dir = run
    version_dir = runtimes.export_log_dir(str(log_dir), str(export_dir), "onnx", model_name="tiny_mismatch")
    make_log_dir(tmp_path / "other", seed=5)
    assert not verification.verify(version_dir, log_dir=str(tmp_path / "other"))
    report = capsys.readouterr().out
    assert "MISMATCH: c_0, c_1, h_0, h_1, outputs of the onnx export" in report


def test_refusals(run, tmp_path):
    need("onnx")
    log_dir, _, _, export_dir = run
    # The conv reader is not written as ONNX operators: refused, naming it.
    make_log_dir(tmp_path / "conv", reader="conv")
    with pytest.raises(RuntimeExportError, match="conv reader"):
        runtimes.export_log_dir(str(tmp_path / "conv"), str(tmp_path / "out"), "onnx")
    assert not os.path.exists(tmp_path / "out" / "conv")
    options = dict(log_dir=str(log_dir), export_dir=str(export_dir))
    with pytest.raises(RuntimeExportError, match="--with_convnet exports to --format=saved_model only"):
        runtimes.export_run(EncoderExport(**options, format="openvino", with_convnet=True))
    with pytest.raises(app.UsageError, match="fix the shapes of --format=litert only"):
        runtimes.export_run(EncoderExport(**options, format="onnx", batch_size=4))
    with pytest.raises(app.UsageError, match="--input_length=0"):
        runtimes.export_run(EncoderExport(**options, format="litert", input_length=0))


@pytest.mark.large
@pytest.mark.parametrize("fmt", ["onnx", "openvino", "litert"])
def test_command_line(run, fmt, tmp_path):
    """python -m export.encoder --format=... then python -m export.verify, as a user runs them."""
    need(fmt)
    log_dir = run[0]
    extra = ["--batch_size=2", "--input_length=4"] if fmt == "litert" else []
    command = [sys.executable, "-m", "export.encoder", f"--log_dir={log_dir}", f"--export_dir={tmp_path}",
               f"--format={fmt}", *extra]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    result = subprocess.run([sys.executable, "-m", "export.verify", str(tmp_path / "tiny")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "OK: " in result.stdout
