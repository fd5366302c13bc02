"""SavedModel export (export/): signatures, versions, atomicity, clients, downstream use.

One tiny composite model (2 layers of 8 units, 28x28 frames, untrained with
Glorot weights so that outputs vary) is checkpointed and exported once per
module through the CLI; the tests load that export.
"""

import http.server
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf

from export import saved_model as export_encoder
from export import serving_client as client
from export import signatures
from export import verification as export_verify
from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.core import atomic
from video_lstm.models import build_model

ROOT = helpers.ROOT
SIZE = 28
UNITS = 8
LAYERS = 2
EXPECTED = r"frames must be \(batch, time, 28, 28, 1\)"


def make_log_dir(path, step=1, **overrides):
    """A log_dir with config.json and one checkpoint of an untrained tiny model."""
    values = dict(
        units=UNITS, num_layers=LAYERS, frame_size=SIZE, num_digits=1, digits="rendered",
        input_length=3, future_length=2, init_scale=0.0, jit_compile=False,
    )
    values.update(overrides)
    config = config_lib.make(**values)
    model = build_model(**config.model_kwargs())
    clip = np.zeros((1, config.input_length, SIZE, SIZE, 1), np.float32)
    model({"frames": clip, "future_frames": np.zeros((1, config.future_length, SIZE, SIZE, 1), np.float32)})
    rundir.record_config(str(path), config)
    rundir.save(model, str(path), step)
    return config, model


def run_module(module, *args, env=None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )


def frames_uint8(batch, time_steps, size=SIZE, channels=1, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (batch, time_steps, size, size, channels)).astype(np.uint8)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(log_dir, config, Keras model, export_dir, version_dir) of the CLI export."""
    base = tmp_path_factory.mktemp("export")
    log_dir = base / "tiny"
    config, _ = make_log_dir(log_dir)
    export_dir = base / "exported"
    result = run_module("export.encoder", f"--log_dir={log_dir}", f"--export_dir={export_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    _, model = rundir.load_latest(str(log_dir))
    return log_dir, config, model, export_dir, export_dir / "tiny" / "1"


@pytest.fixture(scope="module")
def loaded(run):
    return tf.saved_model.load(str(run[4]))


def as_float32(x):
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))


def keras_encode(model, frames):
    result = model.encode(frames)
    out = {"outputs": as_float32(result["outputs"])}
    for i, (h, c) in enumerate(result["states"]):
        out[f"h_{i}"], out[f"c_{i}"] = as_float32(h), as_float32(c)
    return out


def assert_close(actual, expected, atol=1e-5, rtol=1e-4):
    assert set(actual) == set(expected), (sorted(actual), sorted(expected))
    for name in expected:
        np.testing.assert_allclose(as_float32(actual[name]), as_float32(expected[name]), atol=atol,
                                   rtol=rtol, err_msg=name)


# -- layout and CLI -----------------------------------------------------------


def test_cli_writes_the_tf_serving_layout(run):
    log_dir, config, _, export_dir, version_dir = run
    assert sorted(os.listdir(export_dir / "tiny")) == ["1"]  # model name: the log_dir's name
    for name in ("saved_model.pb", "variables", "assets/config.json", "assets/signatures.json",
                 "assets/export.json", "assets.extra/tf_serving_warmup_requests"):
        assert (version_dir / name).exists(), name
    assert config_lib.Config.from_json((version_dir / "assets" / "config.json").read_text()) == config
    source = json.loads((version_dir / "assets" / "export.json").read_text())
    assert source["step"] == 1 and source["log_dir"] == str(log_dir)
    assert source["checkpoint"] == rundir.latest(str(log_dir))[1]
    # Every weight once (not also as Keras variable wrappers), and listed on the loaded object.
    _, _, model, _, _ = run
    weights = [w for layer in (model.encoder, *model.decoders) for w in layer.weights]
    stored = tf.train.list_variables(str(version_dir / "variables" / "variables"))
    stored = [shape for name, shape in stored if name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert sum(int(np.prod(shape)) for shape in stored) == sum(int(np.prod(w.shape)) for w in weights)
    assert len(tf.saved_model.load(str(version_dir)).variables) == len(weights)


def test_signatures_declare_their_dtypes_and_shapes(run, loaded):
    schema = json.loads((run[4] / "assets" / "signatures.json").read_text())
    assert schema["frame_shape"] == [SIZE, SIZE, 1]
    table = schema["signatures"]
    assert set(loaded.signatures) == set(table) == {
        "serving_default", "encode", "encode_float", "reconstruct_and_predict",
        "reconstruct_and_predict_float"}
    encode_outputs = {"outputs": [None, None, UNITS]}
    for i in range(LAYERS):
        encode_outputs[f"h_{i}"] = encode_outputs[f"c_{i}"] = [None, UNITS]
    frames = [None, None, SIZE, SIZE, 1]
    for name, function in loaded.signatures.items():
        _, inputs = function.structured_input_signature
        declared = table[name]
        assert set(inputs) == set(declared["inputs"]), name
        for input_name, spec in inputs.items():
            assert spec.dtype.name == declared["inputs"][input_name]["dtype"], (name, input_name)
        # frames: unknown rank in the SignatureDef, so that the in-graph checks
        # (and their messages) see every request; the schema gives the shape.
        assert inputs["frames"].shape.rank is None
        assert declared["inputs"]["frames"]["shape"] == frames
        assert declared["inputs"]["frames"]["dtype"] == ("float32" if "float" in name else "uint8")
        if "future_steps" in inputs:
            assert inputs["future_steps"].shape == () and inputs["future_steps"].dtype == tf.int32
        outputs = function.structured_outputs
        expected = encode_outputs if "encode" in name or name == "serving_default" else {
            "reconstruction": frames, "future": frames}
        assert {k: v.shape.as_list() for k, v in outputs.items()} == expected, name
        assert all(v.dtype == tf.float32 for v in outputs.values())
        assert {k: v["shape"] for k, v in declared["outputs"].items()} == expected


def test_verify_cli_loads_without_the_package_and_matches_keras(run):
    result = run_module("export.verify", str(run[3] / "tiny"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "signature_def['reconstruct_and_predict']:" in out
    assert "inputs['frames'] tensor_info:" in out and "dtype: DT_UINT8" in out
    assert "shape: (-1, -1, 28, 28, 1)" in out
    assert "loaded in a fresh process without video_lstm" in out
    assert "OK: " in out and "MISMATCH" not in out
    for case in ("encode:a", "encode:b", "encode:resized", "reconstruct_and_predict:b",
                 "reconstruct_and_predict_float:a", "serving_default:a"):
        assert case in out, case


def test_verify_reports_a_mismatch_against_another_checkpoint(run, tmp_path):
    make_log_dir(tmp_path / "other", seed=7)
    lines = []
    ok = export_verify.verify(str(run[4]), checkpoint_path=rundir.latest(str(tmp_path / "other"))[1],
                              out=lines.append)
    assert not ok
    assert any(line.startswith("MISMATCH:") for line in lines)


def test_dynamic_batch_and_time_match_keras(run, loaded):
    model = run[2]
    for batch, time_steps in ((1, 2), (3, 5)):
        frames = frames_uint8(batch, time_steps, seed=batch)
        scaled = frames.astype(np.float32) / 255
        got = loaded.signatures["encode"](frames=tf.constant(frames))
        assert_close(got, keras_encode(model, scaled))
        got = loaded.signatures["reconstruct_and_predict_float"](
            frames=tf.constant(scaled), future_steps=tf.constant(time_steps + 1))
        assert got["future"].shape == (batch, time_steps + 1, SIZE, SIZE, 1)
        assert_close(got, model.generate(scaled, future_length=time_steps + 1))


def test_frames_of_another_size_are_resized(loaded, run):
    frames = frames_uint8(2, 3, size=40)
    got = loaded.signatures["encode"](frames=tf.constant(frames))
    resized = tf.image.resize(frames.reshape(-1, 40, 40, 1).astype(np.float32) / 255, (SIZE, SIZE),
                              antialias=True).numpy().reshape(2, 3, SIZE, SIZE, 1)
    assert_close(got, keras_encode(run[2], resized))


def test_an_autoencoder_with_an_unconditioned_decoder(tmp_path):
    config, model = make_log_dir(tmp_path / "ae", model="autoencoder", conditional_reconstruction=False)
    path = export_encoder.export_log_dir(str(tmp_path / "ae"), str(tmp_path / "out"))
    loaded = tf.saved_model.load(path)
    frames = frames_uint8(2, 4).astype(np.float32) / 255
    got = loaded.signatures["reconstruct_and_predict_float"](frames=tf.constant(frames),
                                                             future_steps=tf.constant(3))
    assert set(got) == {"reconstruction"}
    assert_close(got, model.generate(frames))


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_conv_reader_and_readout_with_conditional_decoders(tmp_path, precision):
    """The conv layers run inside the exported loops and give the Keras outputs;
    a mixed-precision model is served by its float32 twin (same weights), which
    matches the bf16 Keras model within bf16 rounding."""
    size = 32
    values = dict(
        units=UNITS, num_layers=1, frame_size=size, num_digits=1, digits="rendered", input_length=3,
        future_length=2, reader="conv", readout="conv", reader_filters=8, readout_filters=8,
        jit_compile=False, precision=precision, init_scale=0.1,
    )
    config = config_lib.make(**values)
    model = build_model(**config.model_kwargs())
    frames = np.random.default_rng(0).uniform(size=(2, 4, size, size, 1)).astype(np.float32)
    model({"frames": frames, "future_frames": frames[:, :2]})
    rundir.record_config(str(tmp_path / "run"), config)
    rundir.save(model, str(tmp_path / "run"), 1)
    loaded = tf.saved_model.load(export_encoder.export_log_dir(str(tmp_path / "run"), str(tmp_path / "out")))
    got = loaded.signatures["reconstruct_and_predict_float"](frames=tf.constant(frames), future_steps=tf.constant(3))
    encoded = loaded.signatures["encode_float"](frames=tf.constant(frames))
    assert all(v.dtype == tf.float32 for v in [*got.values(), *encoded.values()])
    twin = signatures.float32_twin(model)
    assert (twin is model) == (precision == "float32")
    assert_close(got, twin.generate(frames, future_length=3))
    assert_close(encoded, keras_encode(twin, frames))
    bf16 = dict(atol=0.05, rtol=0.05) if precision != "float32" else {}
    assert_close(got, model.generate(frames, future_length=3), **bf16)
    assert_close(encoded, keras_encode(model, frames), **bf16)


# -- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "signature, frames, message",
    [
        ("encode", np.zeros((2, SIZE, SIZE, 1), np.uint8), EXPECTED + r" uint8.*must have rank"),
        ("encode", np.zeros((1, 2, SIZE, SIZE, 3), np.uint8), EXPECTED + r" uint8.*wrong number of channels"),
        ("encode", np.zeros((1, 0, SIZE, SIZE, 1), np.uint8), EXPECTED + r" uint8.*no time steps"),
        ("encode_float", np.full((1, 2, SIZE, SIZE, 1), np.nan, np.float32), EXPECTED + r" float32.*NaN"),
        ("encode_float", np.full((1, 2, SIZE, SIZE, 1), 255.0, np.float32),
         EXPECTED + r" float32 in \[0, 1\].*above 1"),
        ("reconstruct_and_predict", np.zeros((2, 3, SIZE, SIZE), np.uint8), EXPECTED + r" uint8.*must have rank"),
    ],
    ids=["rank", "channels", "no-time", "nan", "range", "rank-rollout"],
)
def test_bad_requests_are_refused_with_the_expected_shape(loaded, signature, frames, message):
    kwargs = {"frames": tf.constant(frames)}
    if signature.startswith("reconstruct"):
        kwargs["future_steps"] = tf.constant(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures[signature](**kwargs)


def test_bad_future_steps_and_dtype_are_refused(loaded):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"future_steps must be an int32 scalar in \[0, 1000\]"):
        loaded.signatures["reconstruct_and_predict"](frames=tf.constant(frames_uint8(1, 2)),
                                                     future_steps=tf.constant(-1))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor but is a float"):
        loaded.signatures["encode"](frames=tf.zeros((1, 2, SIZE, SIZE, 1)))


def call_encoder(capsys, *args):
    """(exit status, stderr) of export.encoder run in this process (`cli.call`)."""
    from export import encoder
    from video_lstm.core import cli

    capsys.readouterr()
    status = cli.call(encoder, args)
    return status, capsys.readouterr().err


def test_export_without_checkpoint_fails_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text(config_lib.Config(units=UNITS).to_json())
    status, err = call_encoder(capsys, f"--log_dir={tmp_path / 'empty'}", f"--export_dir={tmp_path / 'out'}")
    assert status == 1
    assert err.strip().splitlines()[-1].startswith("export.encoder: error: no checkpoint in")
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "empty").exists() or not os.listdir(tmp_path / "out" / "empty")


# -- versions and atomicity ---------------------------------------------------


def test_versions_count_up_and_an_existing_version_is_refused(run, capsys):
    log_dir, _, _, export_dir, _ = run
    first = export_encoder.export_log_dir(str(log_dir), str(export_dir), model_name="versions")
    second = export_encoder.export_log_dir(str(log_dir), str(export_dir), model_name="versions")
    assert [os.path.basename(first), os.path.basename(second)] == ["1", "2"]
    assert export_encoder.versions(str(export_dir / "versions")) == [1, 2]
    with pytest.raises(export_encoder.ExportError, match=r"versions/1 exists: version 1 of model 'versions'"):
        export_encoder.export_log_dir(str(log_dir), str(export_dir), version=1, model_name="versions")
    status, err = call_encoder(capsys, f"--log_dir={log_dir}", f"--export_dir={export_dir}", "--model_name=versions",
                               "--version=2")
    assert status == 1
    assert err.strip().splitlines()[-1] == (
        f"export.encoder: error: {export_dir}/versions/2 exists: version 2 of model 'versions' was "
        "already exported; pass another --version, or none for the next free one (3)")
    assert export_encoder.versions(str(export_dir / "versions")) == [1, 2]


def test_a_full_disk_during_an_export_keeps_the_previous_version(run, monkeypatch):
    """The writer fails part-way (ENOSPC): the error names the version and the kept one, which loads."""
    import errno

    log_dir, _, _, export_dir, _ = run
    kept = export_encoder.export_log_dir(str(log_dir), str(export_dir), model_name="full")

    def full_disk(model, path, percept_network=None):
        os.makedirs(os.path.join(path, "variables"))
        with open(os.path.join(path, "saved_model.pb"), "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(export_encoder, "write_saved_model", full_disk)
    with pytest.raises(export_encoder.ExportError, match=r"writing .*full/2 failed \(OSError: \[Errno 28\] "
                       r"No space left on device\); version 1 is kept"):
        export_encoder.export_log_dir(str(log_dir), str(export_dir), model_name="full")
    assert os.listdir(export_dir / "full") == ["1"]
    tf.saved_model.load(kept)


@pytest.mark.large  # a SIGKILL mid-export; atomic directories stay tested in tests/core/test_atomic.py
def test_a_killed_export_leaves_no_version(run):
    """SIGKILL the CLI after the SavedModel is written, just before the rename."""
    log_dir, _, _, export_dir, _ = run
    process = subprocess.Popen(
        [sys.executable, "-m", "export.encoder", f"--log_dir={log_dir}", f"--export_dir={export_dir}",
         "--model_name=killed"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, export_encoder.PAUSE_ENV: "300"},
    )
    try:
        deadline = time.time() + 150
        line = ""
        while "pausing" not in line and time.time() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
        assert "pausing" in line, "the export should have reached its pause"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    model_dir = export_dir / "killed"
    assert export_encoder.versions(str(model_dir)) == []
    (temporary,) = os.listdir(model_dir)
    assert atomic.owner_of(temporary) == (process.pid, socket.gethostname()) and temporary.endswith("~1")
    assert (model_dir / temporary / "saved_model.pb").exists()
    # The next export takes version 1 and removes the dead export's directory.
    path = export_encoder.export_log_dir(str(log_dir), str(export_dir), model_name="killed")
    assert os.path.basename(path) == "1"
    assert os.listdir(model_dir) == ["1"]


# -- assets: warm-up requests -------------------------------------------------


def test_warmup_file_holds_prediction_logs_the_model_answers(run, loaded):
    from tensorflow_serving.apis import prediction_log_pb2

    path = run[4] / "assets.extra" / "tf_serving_warmup_requests"
    logs = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    names = [log.predict_log.request.model_spec.signature_name for log in logs]
    assert sorted(names) == ["encode", "encode_float", "reconstruct_and_predict",
                             "reconstruct_and_predict_float"]
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == "tiny"
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        assert inputs["frames"].shape == (1, 3, SIZE, SIZE, 1)
        outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert outputs


# -- downstream: a Keras classifier on the exported encoder -------------------


def test_tfsm_layer_classifier_trains(run):
    spec = importlib.util.spec_from_file_location(
        "classifier_example", os.path.join(ROOT, "examples", "classifier_on_exported_encoder.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    keras.utils.set_random_seed(0)
    classifier = example.build_classifier(str(run[4]), num_classes=4)
    assert classifier.input_shape == (None, None, SIZE, SIZE, 1)
    assert classifier.output_shape == (None, 4)
    encoder_weights = [np.array(w) for w in classifier.get_layer("exported_encoder").weights]
    losses = example.train_on_random_labels(classifier, 4, steps=20, batch=8, time_steps=3)
    assert losses[-1] < 0.85 * losses[0] and losses[-1] < min(losses[:-1]), losses
    for before, after in zip(encoder_weights, classifier.get_layer("exported_encoder").weights):
        np.testing.assert_array_equal(before, np.array(after))  # the encoder stays frozen


# -- clients: builders --------------------------------------------------------


def test_rest_urls_and_payloads():
    assert client.rest_url("tiny") == "http://localhost:8501/v1/models/tiny:predict"
    assert client.rest_url("tiny", "serving", 9000, version=3) == (
        "http://serving:9000/v1/models/tiny/versions/3:predict")
    frames = np.arange(8, dtype=np.uint8).reshape(2, 1, 2, 2, 1)
    assert client.rest_predict_payload({"frames": frames}, "encode", row_format=True) == {
        "signature_name": "encode",
        "instances": [{"frames": [[[[0], [1]], [[2], [3]]]]}, {"frames": [[[[4], [5]], [[6], [7]]]]}],
    }
    payload = client.rest_predict_payload({"frames": frames, "future_steps": 5}, "reconstruct_and_predict")
    assert payload == {
        "signature_name": "reconstruct_and_predict",
        "inputs": {"frames": frames.tolist(), "future_steps": 5},
    }
    json.dumps(payload)
    with pytest.raises(ValueError, match="row .*instances.* format needs every input batched"):
        client.rest_predict_payload({"frames": frames, "future_steps": 5}, row_format=True)


def test_rest_responses_are_parsed():
    out = client.parse_rest_response(b'{"outputs": {"h_0": [[1.0, 2.0]], "c_0": [[3.0, 4.0]]}}')
    np.testing.assert_array_equal(out["h_0"], [[1.0, 2.0]])
    out = client.parse_rest_response('{"predictions": [{"h_0": [1.0]}, {"h_0": [2.0]}]}')
    np.testing.assert_array_equal(out["h_0"], [[1.0], [2.0]])
    with pytest.raises(client.ServingError, match="the server answered: frames must be"):
        client.parse_rest_response('{"error": "frames must be (batch, time, 28, 28, 1) uint8"}')
    with pytest.raises(client.ServingError, match="not JSON"):
        client.parse_rest_response(b"<html>502 Bad Gateway</html>")
    nan = ("Graph execution error:\n\nDetected at node VerifyFinite/CheckNumerics defined at (most recent "
           "call last):\n<stack traces unavailable>\nframes must be (batch, time, 28, 28, 1) float32 in "
           "[0, 1]; got NaN or Inf : Tensor had NaN values\n\t [[{{node VerifyFinite/CheckNumerics}}]]")
    assert client.concise_error(nan) == (
        "frames must be (batch, time, 28, 28, 1) float32 in [0, 1]; got NaN or Inf : Tensor had NaN values")


def test_grpc_request_builder():
    from tensorflow.core.framework import types_pb2
    from tensorflow_serving.apis import predict_pb2

    frames = frames_uint8(2, 3)
    request = client.grpc_predict_request("tiny", {"frames": frames, "future_steps": 4},
                                          "reconstruct_and_predict", version=2)
    assert isinstance(request, predict_pb2.PredictRequest)
    assert request.model_spec.name == "tiny" and request.model_spec.version.value == 2
    assert request.model_spec.signature_name == "reconstruct_and_predict"
    assert request.inputs["frames"].dtype == types_pb2.DT_UINT8
    assert [d.size for d in request.inputs["frames"].tensor_shape.dim] == [2, 3, SIZE, SIZE, 1]
    np.testing.assert_array_equal(tf.make_ndarray(request.inputs["frames"]), frames)
    assert request.inputs["future_steps"].dtype == types_pb2.DT_INT32
    assert tf.make_ndarray(request.inputs["future_steps"]) == 4
    assert not client.grpc_predict_request("tiny", {"frames": frames}).model_spec.HasField("version")


def test_models_config_text(tmp_path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    path = client.write_models_config(tmp_path / "models.config",
                                      [("tiny", "/models/tiny"), ("paper", "/models/paper")])
    text = open(path).read()
    assert text == (
        "model_config_list {\n"
        "  config {\n"
        '    name: "tiny"\n'
        '    base_path: "/models/tiny"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "  config {\n"
        '    name: "paper"\n'
        '    base_path: "/models/paper"\n'
        '    model_platform: "tensorflow"\n'
        "  }\n"
        "}\n"
    )
    parsed = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    assert [c.base_path for c in parsed.model_config_list.config] == ["/models/tiny", "/models/paper"]
    with pytest.raises(ValueError, match="unique"):
        client.models_config_text([("a", "/x"), ("a", "/y")])


# -- clients: transports, against stand-in servers running the SavedModel ----


def _call(loaded, signature_name, inputs):
    return loaded.signatures[signature_name or "serving_default"](
        **{k: tf.constant(v) for k, v in inputs.items()})


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def rest_server(loaded):
    """A stand-in for TF Serving's REST API (predict, columnar and row formats)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code, body):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path.startswith("/v1/models/garbage"):
                return self.reply(200, b"not json")
            signature = loaded.signatures[payload.get("signature_name", "serving_default")]
            dtypes = {k: v.dtype for k, v in signature.structured_input_signature[1].items()}
            try:
                if "inputs" in payload:
                    inputs = {k: np.asarray(v, dtypes[k].as_numpy_dtype) for k, v in payload["inputs"].items()}
                    outputs = _call(loaded, payload["signature_name"], inputs)
                    return self.reply(200, {"outputs": {k: v.numpy().tolist() for k, v in outputs.items()}})
                rows = payload["instances"]
                inputs = {k: np.asarray([r[k] for r in rows], dtypes[k].as_numpy_dtype) for k in rows[0]}
                outputs = {k: v.numpy() for k, v in _call(loaded, payload["signature_name"], inputs).items()}
                return self.reply(200, {"predictions": [
                    {k: v[i].tolist() for k, v in outputs.items()} for i in range(len(rows))]})
            except tf.errors.InvalidArgumentError as error:
                return self.reply(400, {"error": error.message})

    server = http.server.ThreadingHTTPServer(("localhost", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_rest_client_round_trip_and_errors(loaded, rest_server):
    frames = frames_uint8(2, 3)
    rest = client.RestClient("tiny", port=rest_server, timeout=30)
    got = rest.predict("encode", frames=frames)
    assert_close(got, _call(loaded, "encode", {"frames": frames}))
    got = rest.predict("reconstruct_and_predict", frames=frames, future_steps=np.int32(4))
    assert got["future"].shape == (2, 4, SIZE, SIZE, 1)
    url = client.rest_url("tiny", port=rest_server)
    rows = client.rest_predict(url, client.rest_predict_payload({"frames": frames}, "encode", row_format=True))
    assert_close(rows, _call(loaded, "encode", {"frames": frames}))
    with pytest.raises(client.ServingError,
                       match=r"HTTP 400: assertion failed: \[frames must be \(batch, time, 28, 28, 1\) uint8.*"
                             r"must have rank\] \[5\]"):
        rest.predict("encode", frames=frames[:, :, :, :, :, None])
    with pytest.raises(client.ServingError, match="not JSON"):
        client.RestClient("garbage", port=rest_server).predict("encode", frames=frames)
    with pytest.raises(client.ServingError, match="connection refused"):
        client.RestClient("tiny", port=_free_port(), timeout=5).predict("encode", frames=frames)


def test_grpc_client_round_trip_and_errors(loaded):
    from concurrent import futures

    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            try:
                outputs = _call(loaded, request.model_spec.signature_name, inputs)
            except tf.errors.InvalidArgumentError as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, error.message)
            response = predict_pb2.PredictResponse()
            response.model_spec.CopyFrom(request.model_spec)
            for name, value in outputs.items():
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    try:
        frames = frames_uint8(2, 3)
        stub = client.GrpcClient("tiny", f"localhost:{port}", timeout=30)
        got = stub.predict("encode", frames=frames)
        assert_close(got, _call(loaded, "encode", {"frames": frames}))
        got = stub.predict("reconstruct_and_predict", frames=frames, future_steps=5)
        assert got["future"].shape == (2, 5, SIZE, SIZE, 1)
        with pytest.raises(client.ServingError,
                           match=r"INVALID_ARGUMENT: assertion failed: \[frames must be \(batch, time, 28, 28, 1\)"):
            stub.predict("encode", frames=frames[..., 0])
    finally:
        server.stop(None)
    with pytest.raises(client.ServingError, match="unavailable"):
        client.GrpcClient("tiny", f"localhost:{_free_port()}", timeout=5).predict("encode", frames=frames)


@pytest.mark.skipif(shutil.which("tensorflow_model_server") is None,
                    reason="tensorflow_model_server is not on PATH")
def test_real_tensorflow_model_server(run, loaded, tmp_path):
    rest_port, grpc_port = _free_port(), _free_port()
    server = subprocess.Popen(
        ["tensorflow_model_server", f"--port={grpc_port}", f"--rest_api_port={rest_port}",
         "--model_name=tiny", f"--model_base_path={run[3] / 'tiny'}"],
        stdout=open(tmp_path / "server.log", "w"), stderr=subprocess.STDOUT)
    try:
        frames = frames_uint8(2, 3)
        rest = client.RestClient("tiny", port=rest_port, timeout=30)
        deadline = time.time() + 120
        while True:
            try:
                got = rest.predict("encode", frames=frames)
                break
            except client.ServingError:
                if time.time() > deadline or server.poll() is not None:
                    raise
                time.sleep(1)
        assert_close(got, _call(loaded, "encode", {"frames": frames}))
        got = rest.predict("reconstruct_and_predict", frames=frames, future_steps=4)
        assert got["future"].shape == (2, 4, SIZE, SIZE, 1)
        got = client.GrpcClient("tiny", f"localhost:{grpc_port}").predict("encode", frames=frames)
        assert_close(got, _call(loaded, "encode", {"frames": frames}))
        with pytest.raises(client.ServingError, match=r"frames must be \(batch, time, 28, 28, 1\)"):
            rest.predict("encode", frames=frames[..., 0])
    finally:
        server.kill()
        server.wait()
