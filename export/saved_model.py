r"""A training run's newest checkpoint as a versioned SavedModel for TF Serving (`python -m export.encoder`).

`export_run(EncoderExport)` (the command's one call), `export_log_dir`, and `export_model` (any
built model, or a serving graph such as `export.saved_classifier`'s) write
`<export_dir>/<model_name>/<version>/` (model_name defaults to the log_dir's name, version to the
next free integer), the layout TensorFlow Serving watches:

    saved_model.pb, variables/      the graph and the weights
    assets/config.json              the run's config
    assets/signatures.json          names, dtypes and shapes of the signatures
    assets/export.json              where it came from (log_dir, checkpoint, step)
    assets.extra/tf_serving_warmup_requests   one PredictionLog per signature

Signatures (batch and time are dynamic): `serving_default` = `encode` (uint8
frames -> final `h_i`, `c_i` of every layer and the top layer's `outputs`),
`encode_float` (float32 frames in [0, 1]), `reconstruct_and_predict` and
`reconstruct_and_predict_float` (frames and `future_steps` -> `reconstruction`
and/or `future` frames, decoders running free); see docs/export.md.

A model of percepts takes `percepts` (batch, time, D) instead. With
`--with_convnet` it is exported with the percept network its run's percepts
came from (`data.json`: network and weights, random weights rebuilt from the
seed the cache's extraction recorded; RGB percepts only), and
`serving_default` = `encode_frames` takes uint8 video frames of any size: the
SavedModel computes the percepts itself, so a TF Serving client sends frames.

The version is written into a temporary sibling directory and renamed into
place only when complete: an interrupted export leaves no version behind (its
temporary directory is removed by the next export), and exporting into an
existing version is refused.
"""

import contextlib
import dataclasses
import os
import time

import numpy as np
from absl import app

from pipelines import percept_networks
from video_lstm.core import atomic, export_layout

# TensorFlow, Keras and what imports them (the run directory, the serving graph, the percept networks) are
# imported in the functions below that need them ("no TensorFlow at import"): `python -m export.encoder`
# and export.classifier define their flags, answer --help and refuse bad flags without loading it, and
# docs/gen_commands.py imports every command.

# Set by tests: seconds to sleep with the export complete but not yet renamed.
PAUSE_ENV = "VIDEO_LSTM_EXPORT_PAUSE_BEFORE_RENAME"


@dataclasses.dataclass(frozen=True)
class Destination:
    """Where an export goes, `<export_dir>/<model_name>/<version>/`, and the run it comes from
    (`log_dir`): export.classifier's settings."""

    log_dir: str = ""
    export_dir: str | None = None
    version: int | None = None
    model_name: str | None = None

    def validate(self, log_dir_help):
        """Raises app.UsageError on a missing --log_dir (`log_dir_help`: what it is) or --export_dir, a
        version < 1."""
        if not self.log_dir:
            raise app.UsageError(f"--log_dir is required ({log_dir_help})")
        if not self.export_dir:
            raise app.UsageError("--export_dir is required (e.g. exported; TF Serving's model root)")
        if self.version is not None and self.version < 1:
            raise app.UsageError(f"--version={self.version}; expected >= 1")


@dataclasses.dataclass(frozen=True)
class EncoderExport(Destination):
    """python -m export.encoder's settings."""

    with_convnet: bool = False
    percept_weights: str | None = None
    format: str = "saved_model"
    batch_size: int | None = None
    input_length: int | None = None


HELP = {
    "export_dir": "Where models go: <export_dir>/<model_name>/<version>/.",
    "version": "Version number >= 1 (default: the next free one).",
    "model_name": "Model name (default: the log_dir's name).",
    "with_convnet": "For a percept model: export its percept network too, so that serving_default takes raw "
    "uint8 video frames.",
    "percept_weights": "With --with_convnet: the percept network's weights file (default: what the run's "
    "data.json records, e.g. imagenet).",
    "format": "saved_model (TF Serving; every signature), or the encoder for onnx (ONNX Runtime), openvino "
    "(OpenVINO IR) or litert (LiteRT, fixed shapes): export.runtimes.",
    "batch_size": "With --format=litert: the clips per call, fixed in the model (default 1).",
    "input_length": "With --format=litert: the frames read per clip, fixed in the model (default: the run's).",
}


class ExportError(Exception):
    """An export that cannot be done as asked (bad name, existing version)."""


# -- the version directory ----------------------------------------------------


def versions(model_dir):
    """The exported version numbers under model_dir, sorted."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(name) for name in os.listdir(model_dir) if name.isdigit())


def next_version(model_dir):
    found = versions(model_dir)
    return found[-1] + 1 if found else 1


def _refuse_existing(model_dir, version):
    """The version's path; raises if it exists."""
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final):
        raise ExportError(
            f"{final} exists: version {version} of model {os.path.basename(model_dir)!r} was "
            f"already exported; pass another --version, or none for the next free one "
            f"({next_version(model_dir)})"
        )
    return final


@contextlib.contextmanager
def _failure_named(final, model_dir):
    """An export that fails while writing (a full disk, a quota) becomes an ExportError that
    says what failed and which version is still served; the temporary is gone by then."""
    try:
        yield
    except ExportError:
        raise
    except Exception as error:
        earlier = versions(model_dir)
        kept = f"version {earlier[-1]} is kept" if earlier else "no earlier version exists"
        raise ExportError(f"writing {final} failed ({type(error).__name__}: {error}); {kept}") from error


def check_destination(log_dir, export_dir, model_name=None, version=None):
    """What an export of `log_dir` checks before the slow checkpoint load (the export checks again):
    the model's name (default: the log_dir's folder name; returned), a writable --export_dir, and
    a --version not there yet. Raises ExportError / OSError naming the flag."""
    if model_name is None:
        model_name = os.path.basename(os.path.normpath(os.path.abspath(log_dir)))
    _check_model_name(model_name)
    atomic.check_writable(export_dir, "--export_dir")
    if version is not None:
        _refuse_existing(os.path.join(export_dir, model_name), version)
    return model_name


def _check_model_name(name):
    ok = name and name[0] not in ".-" and all(ch.isalnum() or ch in "._-" for ch in name)
    if not ok:
        raise ExportError(
            f"model name {name!r}: use letters, digits, '.', '_' and '-' (not first); "
            "pass --model_name"
        )


# -- export -------------------------------------------------------------------


def export_model(model, config, export_dir, model_name, version=None, source=None,
                 percept_network=None, graph=None):
    """Writes `<export_dir>/<model_name>/<version>/` atomically; returns its path.

    Args:
        model: a built video_lstm model (e.g. from `rundir.load_latest`).
        config: its `video_lstm.config.Config` (written to assets/config.json).
        version: int >= 1, or None for the next free version.
        source: optional dict recorded in assets/export.json (log_dir, step...).
        percept_network: optional `pipelines.percept_networks.PerceptNetwork` exported
            with a percept model, see `signatures.ServingGraph`.
        graph: optional serving graph to write instead of `model`'s encoder graph
            (e.g. `export.saved_classifier`'s `ClassifierGraph`); it lists its `layers`.
    """
    _check_model_name(model_name)
    model_dir = os.path.join(export_dir, model_name)
    made = [d for d in (export_dir, model_dir) if not os.path.exists(d)]  # removed again if the export fails
    os.makedirs(model_dir, exist_ok=True)
    try:
        return _export_into(model, config, model_dir, model_name, version, source, percept_network, graph)
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if still empty
        raise


def _export_into(model, config, model_dir, model_name, version, source, percept_network, graph):
    """`export_model` once `model_dir` exists."""
    atomic.remove_stale(model_dir)  # left by killed exports of this host
    if version is None:
        version = next_version(model_dir)
    if int(version) < 1:
        raise ExportError(f"version {version}: versions are integers >= 1")
    version = int(version)
    final = _refuse_existing(model_dir, version)
    started = time.time()
    refuse = lambda path: ExportError(f"{path} appeared during the export; version {version} is taken")  # noqa: E731
    with _failure_named(final, model_dir), atomic.directory(final, refuse=refuse) as temporary:
        if graph is None:
            graph = write_saved_model(model, temporary, percept_network)
        else:
            write_graph(graph, temporary, graph.layers)
        assets = os.path.join(temporary, "assets")
        os.makedirs(assets, exist_ok=True)
        config_dict = config.to_dict() if hasattr(config, "to_dict") else dict(config)
        atomic.write_json(export_layout.asset_path(temporary, "config"), config_dict)
        atomic.write_json(
            export_layout.asset_path(temporary, "signatures"),
            {
                "model_name": model_name,
                "version": version,
                "frame_shape": list(graph.frame_shape),
                "convnet": _convnet_entry(percept_network),
                "signatures": graph.signature_table(),
                **({"classes": graph.classes} if getattr(graph, "classes", None) else {}),
            },
        )
        # here: keeps Keras and TensorFlow out of `import export.saved_model`
        import keras  # no TensorFlow at import
        import tensorflow as tf

        atomic.write_json(
            export_layout.asset_path(temporary, "export"),
            {
                "model_name": model_name,
                "version": version,
                "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                **(source or {}),
            },
        )
        write_warmup_requests(
            os.path.join(temporary, "assets.extra", "tf_serving_warmup_requests"),
            warmup_requests(graph, model_name, config_dict),
        )
        pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
        if pause:
            print(f"export complete in {temporary}; pausing {pause}s before the rename", flush=True)
            time.sleep(pause)
    print(f"exported {final} in {time.time() - started:.1f}s", flush=True)
    return final


def _convnet_entry(network):
    if network is None:
        return None
    return {"network": network.name, "weights": network.weights, "input_size": network.input_size,
            "dim": network.dim}


def write_saved_model(model, path, percept_network=None):
    """The SavedModel itself (graph + variables) at path; returns the ServingGraph."""
    from export.signatures import ServingGraph  # no TensorFlow at import

    graph = ServingGraph(model, percept_network)
    layers = [graph.model.encoder, *graph.decoders.values()]
    if percept_network is not None:
        layers.append(percept_network.model)
    write_graph(graph, path, layers)
    return graph


def write_graph(graph, path, layers):
    """Writes the SavedModel of `graph`'s endpoints and the weights of `layers` at path."""
    import keras  # no TensorFlow at import

    archive = keras.export.ExportArchive()
    for name, fn, specs in graph.endpoints():  # the first is also serving_default
        archive.add_endpoint(name, fn, specs)
    # The loaded object lists its weights (`.variables`, `.trainable_variables`).
    # Not with `archive.track(layer)`: that saves the Keras variable wrappers
    # besides the tf.Variables the endpoints capture, every weight twice on
    # disk; the tf.Variables themselves are stored once.
    weights = [w for layer in layers for w in layer.weights]
    archive.add_variable_collection("variables", [w.value for w in weights])
    archive.add_variable_collection("trainable_variables", [w.value for w in weights if w.trainable])
    archive.write_out(path, verbose=False)


def warmup_requests(graph, model_name, config):
    """One PredictRequest per signature, batch 1, the trained clip lengths."""
    # here: keeps TensorFlow and TensorFlow Serving out of `import export.saved_model`
    import tensorflow as tf  # no TensorFlow at import
    from tensorflow_serving.apis import predict_pb2

    time_steps = int(config.get("input_length", 10))
    future_steps = int(config.get("future_length", 10) or 1)
    frames = {
        "uint8": np.zeros((1, time_steps, *graph.frame_shape), np.uint8),
        "float32": np.zeros((1, time_steps, *graph.frame_shape), np.float32),
    }
    requests = []
    for name, table in graph.signature_table().items():
        if name == "serving_default":
            continue  # the same function as encode
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = name
        for input_name, entry in table["inputs"].items():
            if input_name == "frames" and getattr(graph, "percept_network", None) is not None:  # encode_frames
                size = graph.percept_network.input_size
                value = np.zeros((1, time_steps, size, size, 3), np.uint8)
            elif input_name in ("frames", "percepts"):
                value = frames[entry["dtype"]]
            else:
                value = np.int32(future_steps)
            request.inputs[input_name].CopyFrom(tf.make_tensor_proto(value))
        requests.append(request)
    return requests


def write_warmup_requests(path, requests):
    """assets.extra/tf_serving_warmup_requests: a TFRecord of PredictionLog."""
    # here: keeps TensorFlow and TensorFlow Serving out of `import export.saved_model`
    import tensorflow as tf  # no TensorFlow at import
    from tensorflow_serving.apis import prediction_log_pb2

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())


def percept_network_of(log_dir, weights=None):
    """The percept network whose features a run trained on (its data.json), for --with_convnet.

    Args:
        log_dir: a run of `--dataset=percepts`.
        weights: the network's weights (a path, or "imagenet"); default: those
            the run's data.json records.
    Raises:
        ExportError: the run did not train on RGB percepts, or its network had
            random weights whose seed is not recorded and no weights were given.
            (Random weights of an extracted cache are rebuilt from the --seed its
            manifest records, as the extractor drew them; this seeds Keras'
            global random state.)
    """
    from video_lstm import rundir  # no TensorFlow at import

    data = rundir.read_json(log_dir, rundir.DATA)
    if data is None:
        raise ExportError(f"--with_convnet: {rundir.path(log_dir, rundir.DATA)} not found: is {log_dir} a "
                          "training log_dir?")
    if data.get("dataset") != "percepts":
        raise ExportError(
            f"--with_convnet: {log_dir} trained on --dataset={data.get('dataset')}, not on percepts; "
            "its model reads frames already"
        )
    if data.get("stream", "rgb") != "rgb":
        raise ExportError(
            f"--with_convnet: {log_dir} trained on {data['stream']} percepts, whose flow images OpenCV "
            "computes outside the graph; export without --with_convnet and send percepts"
        )
    weights = weights or data["weights"]
    if weights == "random":
        seed = _extraction_seed(data)
        if seed is None:
            raise ExportError(
                f"--with_convnet: the percepts of {log_dir} came from {data['network']} with random weights "
                "whose seed is not recorded (not a cache of pipelines.extract_percepts), so they cannot be rebuilt; "
                "pass --percept_weights=PATH (the weights that made them)"
            )
        import keras  # no TensorFlow at import

        # as pipelines.extract_percepts.prepare draws them: the same seed, then the same network
        keras.utils.set_random_seed(seed)
    return percept_networks.make_network(data["network"], weights)


def _extraction_seed(data):
    """The seed a percept cache's random weights came from: data.json's `extraction_seed`, else
    the cache's manifest.json (`extraction.seed`); None if neither records one."""
    if data.get("extraction_seed") is not None:
        return data["extraction_seed"]
    directory = data.get("percepts_dir")
    if data.get("percepts_from", "cache") != "cache" or not directory:
        return None
    from pipelines.sources.percepts import extraction_seed  # no TensorFlow at import

    try:
        return extraction_seed(directory)
    except (OSError, ValueError):
        return None


def export_log_dir(log_dir, export_dir, version=None, model_name=None,
                   with_convnet=False, percept_weights=None):
    """Exports the newest checkpoint of a training run; returns the version's path.

    With `with_convnet`, a percept model is exported with its percept network
    (`percept_network_of(log_dir, percept_weights)`)."""
    from video_lstm import rundir  # no TensorFlow at import

    config = rundir.load_config(log_dir)
    model_name = check_destination(log_dir, export_dir, model_name, version)
    network = percept_network_of(log_dir, percept_weights) if with_convnet else None
    step, path, model = rundir.load_latest_with_path(log_dir, config, compile=False)  # resolved once
    source = {"log_dir": os.path.abspath(log_dir), "checkpoint": os.path.abspath(path), "step": step}
    return export_model(model, config, export_dir, model_name, version, source, network)


def export_run(options):
    """`python -m export.encoder`: exports as `options` (an `EncoderExport`) say; returns the version's path."""
    options.validate("a run directory written by video_lstm.train")
    return export_log_dir(options.log_dir, options.export_dir, options.version, options.model_name,
                          with_convnet=options.with_convnet, percept_weights=options.percept_weights)
