"""An ONNX, OpenVINO or LiteRT export run in its own runtime (the runtime side of `python -m export.verify`).

`run_cases(version_dir, assets)`, called by `export.verification.verify` when the export's
assets/export.json names a format other than saved_model, which compares the outputs with the Keras
model's. The export runs in a fresh subprocess
(`export/_runtime_check.py`) that imports neither video_lstm nor Keras nor TensorFlow, only NumPy and
its runtime (onnxruntime, openvino, ai_edge_litert); inputs and outputs cross in a temporary .npz.
Each signature runs on two batch and time shapes (one, the recorded one, for LiteRT's fixed shapes),
and the largest absolute difference to the Keras model is reported per output; an output above the
tolerance fails the check, by name.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np


class RuntimeCheckError(Exception):
    """The export failed to load or run in its runtime (`export.verification` reports it)."""

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_runtime_check.py")


def make_cases(assets, seed=0):
    """(cases, arrays) for each signature but serving_default (the same file as encode)."""
    signatures = assets["signatures"]
    frame_shape = tuple(signatures["frame_shape"])
    fixed = signatures.get("fixed_shape")
    time = int(assets["config"].get("input_length", 4))
    shapes = {"a": (2, time), "b": (3, time + 2)}
    if fixed:
        shapes = {"fixed": (fixed["batch_size"], fixed["input_length"])}
    rng = np.random.RandomState(seed)
    cases, arrays = {}, {}
    for name, table in sorted(signatures["signatures"].items()):
        if name == "serving_default":
            continue
        (input_name, entry), = table["inputs"].items()
        for variant, (batch, steps) in shapes.items():
            case, shape = f"{name}:{variant}", (batch, steps) + frame_shape
            if input_name == "percepts":
                value = rng.normal(size=shape).astype(np.float32)
            else:
                value = rng.randint(0, 256, shape).astype(np.uint8)
                if entry["dtype"] == "float32":
                    value = value.astype(np.float32) / 255
            arrays[f"{case}:{input_name}"] = value
            cases[case] = {"signature": name, "inputs": {input_name: f"{case}:{input_name}"},
                           "frames": f"{case}:{input_name}", "future_steps": 0, "resized": False}
    return cases, arrays


def run_fresh_process(fmt, version_dir, cases, arrays, workdir):
    """Runs the cases in export/_runtime_check.py; returns (outputs, listing)."""
    inputs_path, cases_path = os.path.join(workdir, "inputs.npz"), os.path.join(workdir, "cases.json")
    outputs_path = os.path.join(workdir, "outputs.npz")
    np.savez(inputs_path, **arrays)
    with open(cases_path, "w") as f:
        json.dump(cases, f)
    result = subprocess.run([sys.executable, CHILD, fmt, version_dir, inputs_path, cases_path, outputs_path],
                            capture_output=True, text=True, cwd=workdir)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.strip().splitlines() if line.strip()]
        raise RuntimeCheckError(
            f"the {fmt} export {version_dir} failed to load or run in a fresh process (exit {result.returncode}): "
            f"{lines[-1] if lines else 'no message'}")
    with np.load(outputs_path) as outputs:
        return {key: outputs[key] for key in outputs.files}, result.stdout


def run_cases(version_dir, assets):
    """The export's signatures run in its own runtime in a fresh process, on random inputs at two
    batch/time shapes (LiteRT: its one fixed shape); returns (cases, arrays, outputs, listing)."""
    fmt = assets["export"]["format"]
    cases, arrays = make_cases(assets)
    with tempfile.TemporaryDirectory(prefix="export-verify-") as workdir:
        outputs, listing = run_fresh_process(fmt, os.path.abspath(version_dir), cases, arrays, workdir)
    return cases, arrays, outputs, listing
