"""Runs an exported SavedModel in a process that knows nothing of video_lstm.

    python export/_load_check.py <version_dir> <inputs.npz> <cases.json> <outputs.npz>

Started by `export.verify` as a script (not `-m`), so that nothing of the
project is imported: it loads the SavedModel with `tf.saved_model.load`, calls
each case's signature on its inputs, writes every output to outputs.npz (keys
`<case>/<output>`), prints the signatures like `saved_model_cli show --all`,
and exits 3 if `video_lstm` was imported along the way. Only TensorFlow and
NumPy are used here.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import types_pb2  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

VIDEO_LSTM_IMPORTED = 3


def _shape(tensor_info):
    shape = tensor_info.tensor_shape
    if shape.unknown_rank:
        return "unknown_rank"
    dims = [d.size for d in shape.dim]
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def signature_listing(path):
    """The SignatureDefs of a SavedModel, in `saved_model_cli show --all`'s format."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    lines = []
    for meta_graph in saved_model.meta_graphs:
        tags = ", ".join(meta_graph.meta_info_def.tags)
        lines.append(f"MetaGraphDef with tag-set: '{tags}' contains the following SignatureDefs:")
        for key in sorted(meta_graph.signature_def):
            signature = meta_graph.signature_def[key]
            lines += ["", f"signature_def['{key}']:"]
            for kind, tensors in (("input", signature.inputs), ("output", signature.outputs)):
                lines.append(f"  The given SavedModel SignatureDef contains the following {kind}(s):")
                for name in sorted(tensors):
                    info = tensors[name]
                    lines += [
                        f"    {kind}s['{name}'] tensor_info:",
                        f"        dtype: {_dtype_name(info.dtype)}",
                        f"        shape: {_shape(info)}",
                        f"        name: {info.name}",
                    ]
            lines.append(f"  Method name is: {signature.method_name}")
    return "\n".join(lines)


def _dtype_name(enum):
    return types_pb2.DataType.Name(enum)


def main(version_dir, inputs_path, cases_path, outputs_path):
    cases = json.load(open(cases_path))
    inputs = np.load(inputs_path)
    loaded = tf.saved_model.load(version_dir)
    outputs = {}
    for case, spec in cases.items():
        function = loaded.signatures[spec["signature"]]
        kwargs = {name: tf.constant(inputs[key]) for name, key in spec["inputs"].items()}
        for name, value in function(**kwargs).items():
            array = value.numpy()
            # Strings (class names) as unicode arrays: no pickled objects in the .npz.
            outputs[f"{case}/{name}"] = array.astype(str) if array.dtype == object else array
    np.savez(outputs_path, **outputs)
    print(signature_listing(version_dir))
    imported = sorted(m for m in sys.modules if m == "video_lstm" or m.startswith("video_lstm."))
    if imported:
        print(f"video_lstm was imported while loading the SavedModel: {imported}", file=sys.stderr)
        return VIDEO_LSTM_IMPORTED
    print(f"\n(loaded in a fresh process without video_lstm: {len(cases)} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
