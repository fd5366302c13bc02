"""Runs an ONNX, OpenVINO or LiteRT export in a process that knows nothing of video_lstm, Keras or TensorFlow.

    python export/_runtime_check.py <format> <version_dir> <inputs.npz> <cases.json> <outputs.npz>

Started by `export.verify` as a script (not `-m`), so that nothing of the project is imported: it
reads assets/signatures.json, runs each case's signature file in its runtime (onnxruntime, openvino,
ai_edge_litert) on its inputs, writes every output to outputs.npz (keys `<case>/<output>`), prints
the runtime and the signatures, and exits 3 if video_lstm, keras or tensorflow got imported.
"""

import json
import os
import sys

import numpy as np

FORBIDDEN_IMPORTED = 3
FORBIDDEN = ("video_lstm", "keras", "tensorflow")


def onnx_runner(path):
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return lambda feeds: dict(zip(names, session.run(None, feeds))), f"onnxruntime {ort.__version__}"


def openvino_runner(path):
    import openvino as ov

    # On a CPU with bfloat16 units (AVX512_BF16, AMX) OpenVINO's CPU plugin computes in bfloat16
    # unless told otherwise; verification compares float32 with float32.
    compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})

    def run(feeds):
        result = compiled(feeds)
        return {output.get_any_name(): np.asarray(result[output]) for output in compiled.outputs}

    return run, f"openvino {ov.__version__}"


def litert_runner(path):
    import importlib.metadata

    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    return lambda feeds: runner(**feeds), f"ai-edge-litert {importlib.metadata.version('ai-edge-litert')}"


RUNNERS = {"onnx": onnx_runner, "openvino": openvino_runner, "litert": litert_runner}


def main(fmt, version_dir, inputs_path, cases_path, outputs_path):
    with open(os.path.join(version_dir, "assets", "signatures.json")) as f:
        table = json.load(f)["signatures"]
    with open(cases_path) as f:
        cases = json.load(f)
    runners, outputs = {}, {}
    with np.load(inputs_path) as inputs:
        for case, spec in cases.items():
            name = spec["signature"]
            if name not in runners:
                runners[name] = RUNNERS[fmt](os.path.join(version_dir, table[name]["file"]))
                print(f"signature {name!r}: {table[name]['file']} in {runners[name][1]}")
                for kind in ("inputs", "outputs"):
                    for key, entry in table[name][kind].items():
                        print(f"  {kind[:-1]} {key}: {entry['dtype']} {entry['shape']}")
            feeds = {key: inputs[array] for key, array in spec["inputs"].items()}
            for key, value in runners[name][0](feeds).items():
                outputs[f"{case}/{key}"] = np.asarray(value)
    np.savez(outputs_path, **outputs)
    imported = sorted(name for name in FORBIDDEN if name in sys.modules)
    if imported:
        print(f"{', '.join(imported)} imported while running the {fmt} export", file=sys.stderr)
        sys.exit(FORBIDDEN_IMPORTED)


if __name__ == "__main__":
    main(*sys.argv[1:6])
