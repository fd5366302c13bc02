"""The encoder for ONNX Runtime, OpenVINO and LiteRT (`python -m export.encoder --format=...`).

`export_run(EncoderExport)` is the command's one call: `--format=saved_model` (the default) is
`export.saved_model`'s; the others write the same versioned layout, `<export_dir>/<model_name>/<version>/`,
atomically, with one file per signature instead of the SavedModel and the same assets:

    encode.onnx | encode.xml + encode.bin | encode.tflite    uint8 frames in [0, 255] (`encode`)
    encode_float.*                                            float32 frames in [0, 1] (image models)
    assets/config.json, assets/signatures.json (each signature's `file`, names, dtypes, shapes),
    assets/export.json (format, runtime, where it came from)

A model of percepts has one signature, `encode` (float32 percepts). `serving_default` names the same
file as `encode`. Outputs, as the SavedModel's `encode`: `h_i`, `c_i` of every layer and `outputs`.

- onnx: the encoder as ONNX's own `LSTM` operator (`export.onnx_encoder`), batch and time dynamic.
- openvino: the same ONNX graph through `openvino.convert_model`, saved as IR with float32 weights
  (`compress_to_fp16=False`: OpenVINO's default fp16 weights differ from Keras' by ~4e-4).
- litert: TensorFlow's converter of the encoder unrolled over a fixed clip: `--batch_size` (default 1)
  and `--input_length` (default: the run's) are recorded in signatures.json; any reader.

Refused (an `onnx_encoder.RuntimeExportError` naming why): the conv reader in ONNX and OpenVINO, and
`--with_convnet` in every runtime format (the SavedModel has it). The decoders' free-running loops
(`reconstruct_and_predict`) are exported only in the SavedModel. Verify with `python -m export.verify`.
"""

import os
import shutil
import tempfile
import time

from absl import app

from export import saved_model
from export.onnx_encoder import RuntimeExportError
from pipelines import percept_engines
from video_lstm.core import atomic, export_layout

FORMATS = ("saved_model", "onnx", "openvino", "litert")
SUFFIX = {"onnx": ".onnx", "openvino": ".xml", "litert": ".tflite"}
RUNTIME = {"onnx": "onnxruntime", "openvino": "openvino", "litert": "ai_edge_litert"}
EXTRA = {"onnx": "onnx", "openvino": "openvino", "litert": "litert"}
FIXED_SHAPES = ("litert",)  # formats whose batch and time are fixed at export


def export_run(options):
    """`python -m export.encoder`: exports as `options` (an `EncoderExport`) say; returns the version's path."""
    fixed = (options.batch_size, options.input_length)
    if options.format not in FIXED_SHAPES and any(value is not None for value in fixed):
        raise app.UsageError(f"--batch_size and --input_length fix the shapes of --format=litert only; "
                             f"--format={options.format} keeps batch and time dynamic")
    for name, value in zip(("batch_size", "input_length"), fixed):
        if value is not None and value < 1:
            raise app.UsageError(f"--{name}={value}; expected >= 1")
    if options.format == "saved_model":
        return saved_model.export_run(options)
    options.validate("a run directory written by video_lstm.train")
    if options.with_convnet:
        raise RuntimeExportError(f"--with_convnet exports to --format=saved_model only (not yet to {options.format}: "
                                 "the percept network would go before the encoder in the same graph)")
    return export_log_dir(options.log_dir, options.export_dir, options.format, options.version, options.model_name,
                          options.batch_size, options.input_length)


def export_log_dir(log_dir, export_dir, fmt, version=None, model_name=None, batch_size=None, input_length=None):
    """Exports the newest checkpoint of a training run in `fmt`; returns the version's path."""
    _runtime_module(fmt)  # a missing extra is refused before the slow checkpoint load
    from video_lstm import rundir  # no TensorFlow at import

    config = rundir.load_config(log_dir)
    model_name = saved_model.check_destination(log_dir, export_dir, model_name, version)
    step, path, model = rundir.load_latest_with_path(log_dir, config, compile=False)
    source = {"log_dir": os.path.abspath(log_dir), "checkpoint": os.path.abspath(path), "step": step}
    if fmt in FIXED_SHAPES:
        input_length = input_length or int(config.input_length)
        batch_size = batch_size or 1
    return export_model(model, config, export_dir, model_name, fmt, version, source, batch_size, input_length)


def _runtime_module(fmt):
    """Imports what writing `fmt` needs; refuses by name when its extra is not installed."""
    needed = {"onnx": ("onnx",), "openvino": ("onnx", "openvino"), "litert": ("tensorflow",)}[fmt]
    for module in needed:
        try:
            __import__(module)
        except ImportError as error:
            raise RuntimeExportError(
                f"--format={fmt} needs {module} ({error}); install video_lstm[{EXTRA[fmt]}]") from None


def signature_inputs(frame_shape):
    """[(signature, input name, dtype)] of a model reading frames of `frame_shape`."""
    if len(frame_shape) == 1:
        return [("encode", "percepts", "float32")]
    if len(frame_shape) == 3:
        return [("encode", "frames", "uint8"), ("encode_float", "frames", "float32")]
    raise RuntimeExportError(
        f"only models of image frames (H, W, C) or percepts (D,) export; this one reads {frame_shape}")


def signature_table(fmt, frame_shape, units, num_layers, batch_size=None, input_length=None):
    """The `signatures` of signatures.json: {name: {file, description, inputs, outputs}}."""
    batch, steps = (batch_size, input_length) if fmt in FIXED_SHAPES else (None, None)
    outputs = {}
    for i in range(num_layers):
        outputs[f"h_{i}"] = _entry("float32", [batch, units], f"final h of LSTM layer {i}")
        outputs[f"c_{i}"] = _entry("float32", [batch, units], f"final c of LSTM layer {i}")
    outputs["outputs"] = _entry("float32", [batch, steps, units], "top LSTM layer's h at every input step")
    table = {}
    for name, input_name, dtype in signature_inputs(frame_shape):
        values = {"uint8": " in [0, 255]", "float32": "" if input_name == "percepts" else " in [0, 1]"}[dtype]
        table[name] = {
            "file": name + SUFFIX[fmt],
            "description": "the encoder's representation of the frames",
            "inputs": {input_name: _entry(dtype, [batch, steps, *frame_shape], f"{input_name}, {dtype}{values}")},
            "outputs": outputs,
        }
    table["serving_default"] = dict(table["encode"], description="same as encode")
    return table


def _entry(dtype, shape, description):
    return {"dtype": dtype, "shape": list(shape), "description": description}


def export_model(model, config, export_dir, model_name, fmt, version=None, source=None, batch_size=None,
                 input_length=None):
    """Writes `<export_dir>/<model_name>/<version>/` in `fmt` atomically; returns its path."""
    from export.signatures import float32_twin  # no TensorFlow at import

    model = float32_twin(model)
    frame_shape = tuple(int(d) for d in model.frame_shape)
    signature_inputs(frame_shape)  # what cannot be expressed is refused before any folder is made
    if fmt in ("onnx", "openvino"):
        from export.onnx_encoder import lstm_weights

        lstm_weights(model)
    saved_model._check_model_name(model_name)
    model_dir = os.path.join(export_dir, model_name)
    os.makedirs(model_dir, exist_ok=True)
    atomic.remove_stale(model_dir)
    version = int(version or saved_model.next_version(model_dir))
    final = saved_model._refuse_existing(model_dir, version)
    started = time.time()
    refuse = lambda path: saved_model.ExportError(f"{path} appeared during the export; version {version} is taken")  # noqa: E731
    with saved_model._failure_named(final, model_dir), atomic.directory(final, refuse=refuse) as temporary:
        runtime_version = WRITERS[fmt](model, frame_shape, temporary, batch_size, input_length)
        config_dict = config.to_dict() if hasattr(config, "to_dict") else dict(config)
        atomic.write_json(export_layout.asset_path(temporary, "config"), config_dict)
        atomic.write_json(export_layout.asset_path(temporary, "signatures"), {
            "model_name": model_name, "version": version, "format": fmt, "frame_shape": list(frame_shape),
            "convnet": None,
            "fixed_shape": {"batch_size": batch_size, "input_length": input_length} if fmt in FIXED_SHAPES else None,
            "signatures": signature_table(fmt, frame_shape, int(model.units), int(model.num_layers), batch_size,
                                          input_length),
        })
        import keras  # no TensorFlow at import

        atomic.write_json(export_layout.asset_path(temporary, "export"), {
            "model_name": model_name, "version": version, "format": fmt, "runtime": RUNTIME[fmt],
            "exported_with": runtime_version, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "keras": keras.__version__, **(source or {}),
        })
    print(f"exported {final} ({fmt}) in {time.time() - started:.1f}s", flush=True)
    return final


def _onnx_models(model, frame_shape):
    from export import onnx_encoder

    weights = onnx_encoder.lstm_weights(model)
    return [(name, onnx_encoder.build_encoder(weights, frame_shape, input_name, dtype, name))
            for name, input_name, dtype in signature_inputs(frame_shape)]


def write_onnx(model, frame_shape, directory, batch_size=None, input_length=None):
    import onnx

    os.makedirs(os.path.join(directory, "assets"), exist_ok=True)
    for name, proto in _onnx_models(model, frame_shape):
        onnx.save(proto, os.path.join(directory, name + SUFFIX["onnx"]))
    return {"onnx": onnx.__version__}


def write_openvino(model, frame_shape, directory, batch_size=None, input_length=None):
    import onnx
    import openvino as ov

    os.makedirs(os.path.join(directory, "assets"), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="openvino-export-") as scratch:
        for name, proto in _onnx_models(model, frame_shape):
            onnx_path = os.path.join(scratch, name + ".onnx")
            onnx.save(proto, onnx_path)
            converted = percept_engines.openvino_convert(onnx_path)
            ov.save_model(converted, os.path.join(directory, name + SUFFIX["openvino"]), compress_to_fp16=False)
    return {"onnx": onnx.__version__, "openvino": ov.__version__}


def write_litert(model, frame_shape, directory, batch_size, input_length):
    """The encoder unrolled over `input_length` steps at `batch_size`, through a SavedModel of one
    signature (so that the converter freezes the weights), converted by TensorFlow's LiteRT converter."""
    import tensorflow as tf

    os.makedirs(os.path.join(directory, "assets"), exist_ok=True)
    for name, input_name, dtype in signature_inputs(frame_shape):
        spec = tf.TensorSpec([batch_size, input_length, *frame_shape], getattr(tf, dtype), name=input_name)

        @tf.function(input_signature=[spec])
        def encode(frames, dtype=dtype):
            frames = tf.cast(frames, tf.float32) / 255.0 if dtype == "uint8" else frames
            encoded = model.encode(frames)
            result = {"outputs": encoded["outputs"]}
            for i, (h, c) in enumerate(encoded["states"]):
                result[f"h_{i}"], result[f"c_{i}"] = h, c
            return result

        module = tf.Module()
        module.weights = [w.value for w in model.encoder.weights]
        scratch = tempfile.mkdtemp(prefix="litert-export-")
        try:
            tf.saved_model.save(module, scratch, signatures={"serving_default": encode.get_concrete_function()})
            flatbuffer = tf.lite.TFLiteConverter.from_saved_model(scratch).convert()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        with open(os.path.join(directory, name + SUFFIX["litert"]), "wb") as f:
            f.write(flatbuffer)
    return {"tensorflow": tf.__version__}


WRITERS = {"onnx": write_onnx, "openvino": write_openvino, "litert": write_litert}
