"""The encoder written as ONNX's own `LSTM` operator, for ONNX Runtime and OpenVINO.

The encoder's time loop (`LSTMStack._scan`, a `tf.while_loop` in the SavedModel) does not convert:
tf2onnx fails on the `while` ("While loop couldn't find scan output index") and OpenVINO in
`TensorListInLoopOptimization`. So the graph is written here with the `onnx` helper API instead, one
`LSTM` node per layer, which both runtimes implement natively, with batch and time dynamic:

    frames (batch, time, H, W, C) uint8 -> Cast, * 1/255          (`encode`; `encode_float` takes float32)
      or percepts (batch, time, D) float32                         (a model of percepts)
    -> Reshape (batch, time, D) -> Transpose (time, batch, D)
    -> LSTM layer 0 -> Squeeze -> LSTM layer 1 -> ...             (h_i, c_i: each layer's Y_h, Y_c)
    -> outputs (batch, time, units): the top layer's Y

Weights map one to one: the package's gates are ordered (input, forget, cell, output) along the last
axis of `kernel_i` (in, 4u), `recurrent_kernel_i` (u, 4u) and `bias_i` (4u,), the input projection
`x @ W + b` hoisted out of the loop (`LSTMStack.input_gates`); ONNX's `W` (1, 4u, in) and `R` (1, 4u, u)
are the transposes with the gates reordered to (input, output, forget, cell), and its bias (1, 8u) is
`[Wb, Rb]` = `[bias, 0]`. The activations are ONNX's defaults (sigmoid, tanh, tanh), no peepholes, as
`LSTMStack.cell`.

Refused (`RuntimeExportError`): the conv reader (`--reader=conv`: its strided convolutions are not
written as ONNX ops yet) and `--with_convnet` (the percept network would have to go before the LSTM
in the same graph); the decoders' free-running loops (`reconstruct_and_predict`) are not exported.
"""

import numpy as np

OPSET = 17
# Keras' gate blocks (i, f, g, o) in ONNX's order (i, o, f, c).
ONNX_GATE_ORDER = (0, 3, 1, 2)


class RuntimeExportError(ValueError):
    """A model (or option) that a runtime's export cannot express; the message says why."""


def lstm_weights(model):
    """[(kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u,))] float32 of the encoder's layers.

    Raises RuntimeExportError for an encoder that is not the linear reader's."""
    encoder = model.encoder
    if getattr(encoder, "conv_reader", None) is not None:
        raise RuntimeExportError(
            "the conv reader (--reader=conv) is not written as ONNX operators yet: only the linear reader's "
            "encoder (the paper's: the LSTM reads the flattened frame) exports to ONNX and OpenVINO; export "
            "--format=saved_model"
        )
    stack = encoder.lstm
    return [
        tuple(np.asarray(keras_value(w), np.float32) for w in (stack.kernels[i], stack.recurrent_kernels[i],
                                                              stack.biases[i]))
        for i in range(stack.num_layers)
    ]


def keras_value(variable):
    import keras  # no TensorFlow at import

    return keras.ops.convert_to_numpy(variable)


def _gates_onnx(matrix):
    """(rows, 4u) in Keras' gate order -> (4u, rows) in ONNX's."""
    blocks = np.split(matrix, 4, axis=-1)
    return np.concatenate([blocks[k] for k in ONNX_GATE_ORDER], axis=-1).T


def build_encoder(weights, frame_shape, input_name="frames", input_dtype="float32", name="encode"):
    """The ONNX ModelProto of the encoder.

    Args:
        weights: `lstm_weights(model)`.
        frame_shape: one frame's shape, (H, W, C) or (D,) for percepts.
        input_name: "frames" or "percepts".
        input_dtype: "uint8" (scaled by 1/255 in the graph) or "float32".
    Returns:
        onnx.ModelProto with input `input_name` (batch, time, *frame_shape) and outputs h_i, c_i of
        every layer and `outputs` (batch, time, units), batch and time dynamic.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    units = weights[0][1].shape[0]
    feature_dim = int(np.prod(frame_shape))
    if weights[0][0].shape[0] != feature_dim:
        raise RuntimeExportError(f"the encoder reads {weights[0][0].shape[0]} features, frames give {feature_dim}")
    elem = {"uint8": TensorProto.UINT8, "float32": TensorProto.FLOAT}[input_dtype]
    inputs = [helper.make_tensor_value_info(input_name, elem, ["batch", "time", *frame_shape])]
    initializers = [
        numpy_helper.from_array(np.array([0, 0, feature_dim], np.int64), "flat_shape"),
        numpy_helper.from_array(np.array([0], np.int64), "axis_0"),
        numpy_helper.from_array(np.array([1], np.int64), "axis_1"),
    ]
    nodes = []
    x = input_name
    if input_dtype == "uint8":
        initializers.append(numpy_helper.from_array(np.array(1 / 255, np.float32), "scale"))
        nodes += [helper.make_node("Cast", [x], ["frames_f"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", ["frames_f", "scale"], ["frames_scaled"])]
        x = "frames_scaled"
    nodes += [helper.make_node("Reshape", [x, "flat_shape"], ["flat"]),
              helper.make_node("Transpose", ["flat"], ["time_major"], perm=[1, 0, 2])]
    x = "time_major"
    outputs = []
    for i, (kernel, recurrent, bias) in enumerate(weights):
        initializers += [
            numpy_helper.from_array(_gates_onnx(kernel)[None], f"W_{i}"),
            numpy_helper.from_array(_gates_onnx(recurrent)[None], f"R_{i}"),
            numpy_helper.from_array(
                np.concatenate([_gates_onnx(bias[None])[:, 0], np.zeros(4 * units, np.float32)])[None], f"B_{i}"),
        ]
        nodes += [
            helper.make_node("LSTM", [x, f"W_{i}", f"R_{i}", f"B_{i}"], [f"Y_{i}", f"Yh_{i}", f"Yc_{i}"],
                             hidden_size=units, name=f"lstm_{i}"),
            helper.make_node("Squeeze", [f"Y_{i}", "axis_1"], [f"hiddens_{i}"]),  # (T, B, u)
            helper.make_node("Squeeze", [f"Yh_{i}", "axis_0"], [f"h_{i}"]),
            helper.make_node("Squeeze", [f"Yc_{i}", "axis_0"], [f"c_{i}"]),
        ]
        outputs += [helper.make_tensor_value_info(f"h_{i}", TensorProto.FLOAT, ["batch", units]),
                    helper.make_tensor_value_info(f"c_{i}", TensorProto.FLOAT, ["batch", units])]
        x = f"hiddens_{i}"
    nodes.append(helper.make_node("Transpose", [x], ["outputs"], perm=[1, 0, 2]))
    outputs.append(helper.make_tensor_value_info("outputs", TensorProto.FLOAT, ["batch", "time", units]))
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="video_lstm")
    model.ir_version = min(model.ir_version, 9)  # readable by older runtimes
    onnx.checker.check_model(model)
    return model

