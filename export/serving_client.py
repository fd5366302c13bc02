r"""TensorFlow Serving clients for exported video_lstm models: REST and gRPC.

Request *builders* are pure functions (a JSON payload, a `PredictRequest`
proto); the *transports* send them and turn the answer into NumPy arrays, or
raise `ServingError` with one clear line (connection refused, timeout, the
server's error message, a response that is not JSON).

    from export import serving_client as client
    rest = client.RestClient("quickstart", host="localhost", port=8501)
    rep = rest.predict("encode", frames=frames_uint8)            # h_0, c_0, outputs
    out = rest.predict("reconstruct_and_predict", frames=frames_uint8, future_steps=20)
    grpc = client.GrpcClient("quickstart", target="localhost:8500")
    rep = grpc.predict("encode", frames=frames_uint8)

From the command line, a smoke test with random frames (`smoke_test`):

    python -m export.client --model_name=quickstart [--protocol=grpc] \
        [--signature_name=reconstruct_and_predict --future_length=10]

`write_models_config(path, [(name, base_path), ...])` writes TF Serving's
`--model_config_file` for several models. See docs/export.md.
"""

import dataclasses
import json
import socket
import urllib.error
import urllib.request

import numpy as np

from video_lstm.core import atomic

DEFAULT_REST_PORT = 8501
DEFAULT_GRPC_PORT = 8500
DEFAULT_TIMEOUT_S = 30.0
# Frames come back as float32: 16 clips of 20 frames of 64x64 are 5 MB, more
# than gRPC's default 4 MB limit.
GRPC_MAX_MESSAGE_BYTES = 512 * 1024 * 1024


class ServingError(Exception):
    """A request that the server refused, or a server that did not answer."""


# -- builders: REST -----------------------------------------------------------


def rest_url(model_name, host="localhost", port=DEFAULT_REST_PORT, version=None, verb="predict",
             scheme="http"):
    """`http://host:port/v1/models/<name>[/versions/<v>]:predict`."""
    if not model_name:
        raise ValueError("model_name is required")
    path = f"/v1/models/{model_name}"
    if version is not None:
        path += f"/versions/{int(version)}"
    return f"{scheme}://{host}:{port}{path}:{verb}"


def _json_value(value):
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"inputs must be numeric arrays; got dtype {array.dtype}")
    return array.tolist()


def rest_predict_payload(inputs, signature_name="serving_default", row_format=False):
    """The JSON body of a REST predict request.

    Args:
        inputs: dict input name -> array (e.g. `frames` (batch, time, H, W, C)
            uint8, `future_steps` an int).
        signature_name: which signature to run.
        row_format: False: the columnar `{"inputs": {name: value}}` (any
            inputs, scalars included); True: the row `{"instances": [{name:
            value_i}, ...]}` format, one object per batch element (every input
            must have the same batch size, so not `future_steps`).
    Returns:
        A dict, ready for `json.dumps`.
    """
    if not inputs:
        raise ValueError("inputs is empty; expected e.g. {'frames': array}")
    payload = {"signature_name": signature_name}
    if not row_format:
        payload["inputs"] = {name: _json_value(value) for name, value in inputs.items()}
        return payload
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    sizes = {name: (a.shape[0] if a.ndim else None) for name, a in arrays.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(
            f"the row ('instances') format needs every input batched with the same batch size; got "
            f"{sizes} (None: a scalar). Use the columnar format (row_format=False) for "
            "future_steps"
        )
    batch = next(iter(sizes.values()))
    payload["instances"] = [
        {name: _json_value(a[i]) for name, a in arrays.items()} for i in range(batch)
    ]
    return payload


def parse_rest_response(body):
    """A REST predict response (bytes or str) -> dict name -> np.ndarray.

    Handles the columnar `{"outputs": {...}}` and the row `{"predictions":
    [{...}, ...]}` answers (and their one-output forms, named `output` and
    `predictions`); `{"error": ...}` raises ServingError.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        answer = json.loads(body)
    except ValueError as error:
        raise ServingError(f"the response is not JSON ({error}): {body[:200]!r}") from None
    if not isinstance(answer, dict):
        raise ServingError(f"unexpected response: {body[:200]!r}")
    if "error" in answer:
        raise ServingError(f"the server answered: {concise_error(answer['error'])}")
    if "outputs" in answer:
        outputs = answer["outputs"]
        if isinstance(outputs, dict):
            return {name: np.asarray(value) for name, value in outputs.items()}
        return {"output": np.asarray(outputs)}
    if "predictions" in answer:
        predictions = answer["predictions"]
        if predictions and all(isinstance(p, dict) for p in predictions):
            return {name: np.asarray([p[name] for p in predictions]) for name in predictions[0]}
        return {"predictions": np.asarray(predictions)}
    raise ServingError(f"a predict response has 'outputs' or 'predictions'; got keys {sorted(answer)}")


# -- builders: gRPC -----------------------------------------------------------


def grpc_predict_request(model_name, inputs, signature_name="serving_default", version=None):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest`.

    Array dtypes are kept (frames as uint8 for `encode`, float32 for
    `encode_float`); Python ints become int32 (`future_steps`).
    """
    # here: keeps TensorFlow and TensorFlow Serving out of `import export.serving_client`
    import tensorflow as tf  # function-local: TensorFlow only for gRPC (REST needs NumPy alone)
    from tensorflow_serving.apis import predict_pb2

    if not inputs:
        raise ValueError("inputs is empty; expected e.g. {'frames': array}")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in inputs.items():
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            value = np.int32(value)
        request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
    return request


def parse_grpc_response(response):
    """A `PredictResponse` -> dict name -> np.ndarray."""
    import tensorflow as tf  # function-local: TensorFlow only for gRPC

    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


# -- transports ---------------------------------------------------------------


def concise_error(message):
    """The useful line of a TensorFlow error that a server passes on.

    A request refused by a signature's checks comes back as a multi-line
    graph execution error; its `assertion failed: [...]` line holds the
    message (e.g. "frames must be (batch, time, 64, 64, 1) uint8...") and what
    was received.
    """
    text = str(message)
    for line in text.splitlines():
        if "assertion failed:" in line:
            return line[line.index("assertion failed:") :].strip()
    noise = ("[[", "Detected at node", "<stack traces", "Graph execution error")
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith(noise)]
    return " ".join(kept) or text.strip()



def rest_predict(url, payload, timeout=DEFAULT_TIMEOUT_S):
    """POSTs a payload (from `rest_predict_payload`) -> dict name -> np.ndarray."""
    data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", errors="replace")
        try:
            message = concise_error(json.loads(text)["error"])
        except (ValueError, KeyError, TypeError):
            message = text.strip()[:500] or error.reason
        raise ServingError(f"{url}: HTTP {error.code}: {message}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, ConnectionRefusedError):
            raise ServingError(
                f"{url}: connection refused: is tensorflow_model_server running with a "
                "--rest_api_port there?"
            ) from None
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise ServingError(f"{url}: no answer within {timeout}s") from None
        raise ServingError(f"{url}: {reason}") from None
    except (socket.timeout, TimeoutError):
        raise ServingError(f"{url}: no answer within {timeout}s") from None
    except (ConnectionError, OSError) as error:
        raise ServingError(f"{url}: {error}") from None
    try:
        return parse_rest_response(body)
    except ServingError as error:
        raise ServingError(f"{url}: {error}") from None


def grpc_predict(target, request, timeout=DEFAULT_TIMEOUT_S):
    """Sends a PredictRequest to `host:port` with a deadline -> dict name -> np.ndarray."""
    # here: keeps TensorFlow Serving and gRPC out of `import export.serving_client`
    import grpc  # function-local: gRPC and TensorFlow only for gRPC
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    options = [
        ("grpc.max_send_message_length", GRPC_MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", GRPC_MAX_MESSAGE_BYTES),
    ]
    with grpc.insecure_channel(target, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout)
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                raise ServingError(
                    f"{target}: unavailable ({error.details()}): is tensorflow_model_server "
                    "running with a --port there?"
                ) from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ServingError(f"{target}: no answer within {timeout}s") from None
            raise ServingError(f"{target}: {code.name}: {concise_error(error.details())}") from None
    return parse_grpc_response(response)


class RestClient:
    """`predict(signature_name, **inputs)` over REST for one model."""

    def __init__(self, model_name, host="localhost", port=DEFAULT_REST_PORT, version=None,
                 timeout=DEFAULT_TIMEOUT_S):
        self.url = rest_url(model_name, host, port, version)
        self.timeout = timeout

    def predict(self, signature_name="serving_default", **inputs):
        return rest_predict(self.url, rest_predict_payload(inputs, signature_name), self.timeout)


class GrpcClient:
    """`predict(signature_name, **inputs)` over gRPC for one model."""

    def __init__(self, model_name, target=f"localhost:{DEFAULT_GRPC_PORT}", version=None,
                 timeout=DEFAULT_TIMEOUT_S):
        self.model_name = model_name
        self.target = target
        self.version = version
        self.timeout = timeout

    def predict(self, signature_name="serving_default", **inputs):
        request = grpc_predict_request(self.model_name, inputs, signature_name, self.version)
        return grpc_predict(self.target, request, self.timeout)


# -- TF Serving's model config file -------------------------------------------


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def models_config_text(models):
    """TF Serving's `--model_config_file` text proto for [(name, base_path), ...]."""
    models = list(models)
    if not models:
        raise ValueError("models is empty; expected [(name, base_path), ...]")
    names = [name for name, _ in models]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique; got {names}")
    lines = ["model_config_list {"]
    for name, base_path in models:
        if not name or not base_path:
            raise ValueError(f"every model needs a name and a base_path; got {(name, base_path)}")
        lines += [
            "  config {",
            f"    name: {_quote(name)}",
            f"    base_path: {_quote(base_path)}",
            '    model_platform: "tensorflow"',
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_models_config(path, models):
    """Writes `models_config_text(models)` to path (atomically); returns path.

    `base_path` is where the server sees the model directory (the one holding
    the numbered versions), e.g. `/models/quickstart` inside the Docker image.
    """
    return atomic.write_text(path, models_config_text(models))


# -- the smoke test of python -m export.client -------------------------------------


@dataclasses.dataclass(frozen=True)
class ClientOptions:
    """python -m export.client's settings: one request of random clips to a served model."""

    model_name: str | None = None
    protocol: str = "rest"
    host: str = "localhost"
    rest_port: int = DEFAULT_REST_PORT
    grpc_port: int = DEFAULT_GRPC_PORT
    version: int | None = None
    signature_name: str = "serving_default"
    batch_size: int = 1
    input_length: int = 10
    frame_size: int = 64
    future_length: int = 10
    timeout: float = DEFAULT_TIMEOUT_S


CHOICES = {"protocol": ("rest", "grpc")}
HELP = {
    "model_name": "The served model's name (required).",
    "protocol": "REST (port 8501) or gRPC (8500).",
    "host": "The server.",
    "rest_port": "TF Serving's --rest_api_port.",
    "grpc_port": "TF Serving's --port.",
    "version": "A model version (default: the newest served).",
    "signature_name": "Which signature to call.",
    "batch_size": "Random clips in the request.",
    "input_length": "Frames per clip.",
    "frame_size": "Frame height and width.",
    "future_length": "Frames to predict, for reconstruct_and_predict (its future_steps input).",
    "timeout": "Seconds to wait for the answer.",
}


def smoke_test(options):
    """Sends one request of random uint8 clips (float32 for a *_float signature) as `options` say;
    returns one line per output (name, dtype, shape, mean). Raises ServingError, ValueError."""
    rng = np.random.RandomState(0)
    shape = (options.batch_size, options.input_length, options.frame_size, options.frame_size, 1)
    inputs = {"frames": rng.randint(0, 256, shape).astype(np.uint8)}
    if options.signature_name.startswith("reconstruct_and_predict"):
        inputs["future_steps"] = options.future_length
    if options.signature_name.endswith("_float"):
        inputs["frames"] = inputs["frames"].astype(np.float32) / 255
    if options.protocol == "rest":
        client = RestClient(options.model_name, options.host, options.rest_port, options.version, options.timeout)
    else:
        client = GrpcClient(options.model_name, f"{options.host}:{options.grpc_port}", options.version,
                            options.timeout)
    outputs = client.predict(options.signature_name, **inputs)
    return [f"{name:<16} {str(value.dtype):<8} {tuple(value.shape)}  mean {float(np.mean(value)):.4f}"
            for name, value in sorted(outputs.items())]
