"""Engines that run a percept network: TensorFlow (the Keras model itself), ONNX Runtime, OpenVINO.

A percept network is a convnet without a loop, so it converts as it is: its float32 Keras model
(preprocessed frames in, percepts out) goes through `tf2onnx` into an ONNX graph in memory, which
ONNX Runtime runs, or through OpenVINO's own TensorFlow front end (`openvino.convert_model` of the
model's concrete function: InceptionV3 in 5 s at 1.5 GB peak, where tf2onnx took 25 s and 8 GB,
and VGG16 163 s and 24 GB, on the 2-core Xeon VM at 2026-12-07). The preprocessing (resize, the network's
`preprocess_input`) stays in TensorFlow for every engine, so the engines differ only in the
convnet. `--percept_precision` is the engine's precision: OpenVINO computes in bfloat16 when
asked (`INFERENCE_PRECISION_HINT`: on a CPU with AVX512_BF16 or AMX its CPU plugin uses them),
ONNX Runtime's CPU provider in float32 only.

    run = compile_network(keras_model, input_size=224, engine="openvino", dtype="float32")
    percepts = run(preprocessed)  # float32 (N, 224, 224, 3) -> float32 (N, D), NumPy

The engines' packages are the extras `[onnx]` (onnx, onnxruntime, tf2onnx) and `[openvino]`.
tf2onnx's conversion holds many copies of the weights: use `--percept_engine=openvino` for VGG16.
"""

import importlib.util

import numpy as np

from video_lstm.core import settings

ENGINES = settings.PERCEPT_ENGINES
# engine -> (modules it imports, the extra that installs them)
NEEDS = {
    "onnxruntime": (("tf2onnx", "onnx", "onnxruntime"), "onnx"),
    "openvino": (("openvino",), "openvino"),
}
OPSET = 17
OPENVINO_PRECISION = {"float32": "f32", "bfloat16": "bf16"}


def check(engine, dtype):
    """ValueError naming the flag: an unknown engine, one whose package is not installed, or a
    precision the engine does not compute in. Everything here is knowable at start-up."""
    if engine not in ENGINES:
        raise ValueError(f"--percept_engine={engine}; expected one of {', '.join(ENGINES)}")
    if engine == "tensorflow":
        return
    modules, extra = NEEDS[engine]
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"--percept_engine={engine} needs {', '.join(missing)}: pip install -e '.[{extra}]'")
    if engine == "onnxruntime" and dtype != "float32":
        raise ValueError(f"--percept_engine=onnxruntime computes in float32; --percept_precision={dtype} needs "
                         "--percept_engine=tensorflow or openvino")


def to_onnx(model, input_size):
    """The Keras `model` (float32 (N, S, S, 3) -> (N, D)) as an ONNX ModelProto, batch dynamic."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, input_size, input_size, 3), tf.float32, name="frames"),)
    function = tf.function(lambda frames: model(frames, training=False))
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    return proto


def compile_network(model, input_size, engine, dtype="float32"):
    """`preprocessed frames -> percepts` of `model` in `engine`: a function of float32 NumPy
    (N, S, S, 3) returning float32 NumPy (N, D). Not for engine "tensorflow" (the model runs
    itself: `percept_networks.PerceptNetwork.frames_to_percepts`)."""
    check(engine, dtype)
    if engine == "tensorflow":
        raise ValueError("engine 'tensorflow' runs the Keras model itself; compile_network is for the others")
    if engine == "onnxruntime":
        return _onnxruntime(to_onnx(model, input_size))
    return _openvino(model, input_size, dtype)


def _onnxruntime(proto):
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(frames):
        return np.asarray(session.run(None, {name: np.asarray(frames, np.float32)})[0], np.float32)

    return run


def openvino_convert(source):
    """`openvino.convert_model(source)`: the one call of OpenVINO's converter (here and in
    `export.runtimes`). It sends OpenVINO's usage telemetry from a forked copy of this process
    (`openvino_telemetry`, a `multiprocessing.Process` killed after a timeout when there is no
    network): `opt_in_out --opt_out` (OpenVINO's tool) turns that off; the tests turn it off in
    tests/conftest.py, since the fork of a pytest-xdist worker took the worker down."""
    import openvino as ov

    return ov.convert_model(source)


def _openvino(model, input_size, dtype):
    import openvino as ov
    import tensorflow as tf

    spec = tf.TensorSpec((None, input_size, input_size, 3), tf.float32, name="frames")
    function = tf.function(lambda frames: model(frames, training=False), input_signature=[spec])
    converted = openvino_convert(function.get_concrete_function())
    compiled = ov.Core().compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": OPENVINO_PRECISION[dtype]})
    output = compiled.outputs[0]

    def run(frames):
        return np.asarray(compiled(np.asarray(frames, np.float32))[output], np.float32)

    return run
