r"""An exported SavedModel checked against the Keras model it came from (`python -m export.verify`); an ONNX,
OpenVINO or LiteRT export is checked in its own runtime by `export.runtime_verification`.

`verify(path, ...)`, and `run(options)` the command's one call. Loads the SavedModel in a fresh
subprocess that does not import video_lstm (`export/_load_check.py`; it fails if the package got
imported), runs every signature on sample inputs (two batch sizes and time lengths, and frames of
another size for `encode`), and compares each output with the Keras model's, which is loaded from
the checkpoint recorded in `assets/export.json` (or the one given). Inputs and outputs cross between
the processes in a temporary .npz. Prints the signatures in `saved_model_cli show --all`'s format
and one line per output; exits 1 on a mismatch (or a missing output, a wrong shape).
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from export import runtime_verification
from pipelines import percept_networks
from video_lstm.core import export_layout
from video_lstm.core.export_layout import NotAnExportError, read_assets, resolve_version_dir

# TensorFlow, Keras and the run directory are imported in the functions that need them ("no TensorFlow at
# import"): `python -m export.verify` defines its flags and refuses bad ones without loading them, and the
# SavedModel's own check runs in a fresh process that must not see video_lstm.


@dataclasses.dataclass(frozen=True)
class VerifyOptions:
    """python -m export.verify's settings: the export to check (`path`, its argument) and against what."""

    path: str = ""
    log_dir: str = ""
    checkpoint: str | None = None
    atol: float | None = None
    rtol: float = 1e-4


HELP = {
    "checkpoint": "Compare with this checkpoint (.keras or .weights.h5).",
    "atol": "Absolute tolerance (default 1e-4; 5e-2 for mixed precision).",
    "rtol": "Relative tolerance.",
}
VERIFY_ERRORS = (NotAnExportError, FileNotFoundError, ValueError)  # with VerifyError: bad input, one line

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_load_check.py")


class VerifyError(Exception):
    """The SavedModel or its checkpoint cannot be found or read."""


def make_cases(assets, seed=0):
    """(cases, arrays): every signature on two batch/time shapes, encode also resized."""
    frame_shape = tuple(assets["signatures"]["frame_shape"])
    video_shape = (37, 45, 3)  # encode_frames of a model exported with its convnet: any size
    config = assets["config"]
    time = int(config.get("input_length", 4))
    future = int(config.get("future_length") or 3)
    rng = np.random.RandomState(seed)
    shapes = {
        "a": ((2, time) + frame_shape, future),
        "b": ((3, time + 2) + frame_shape, future + 3),
    }
    cases, arrays = {}, {}
    for name, table in sorted(assets["signatures"]["signatures"].items()):
        variants = dict(shapes)
        if name in ("encode", "encode_float") and len(frame_shape) == 3:
            height, width, channels = frame_shape
            variants["resized"] = ((1, time, height + 8, width + 4, channels), future)
        for variant, (shape, steps) in variants.items():
            case = f"{name}:{variant}"
            if len(frame_shape) == 1 and "frames" in table["inputs"]:
                shape = shape[:2] + video_shape
            frames = rng.randint(0, 256, shape).astype(np.uint8)
            inputs, frames_key = {}, None
            for input_name, entry in table["inputs"].items():
                key = f"{case}:{input_name}"
                if input_name == "frames":
                    arrays[key] = frames if entry["dtype"] == "uint8" else frames.astype(np.float32) / 255
                    frames_key = key
                elif input_name == "percepts":  # feature vectors: any real values
                    arrays[key] = rng.normal(size=shape).astype(np.float32)
                    frames_key = key
                else:
                    arrays[key] = np.int32(steps)
                inputs[input_name] = key
            cases[case] = {
                "signature": name,
                "inputs": inputs,
                "frames": frames_key,
                "future_steps": steps,
                "resized": variant == "resized",
            }
    return cases, arrays


def run_fresh_process(version_dir, cases, arrays, workdir):
    """Runs the cases in export/_load_check.py; returns (outputs, listing)."""

    inputs_path = os.path.join(workdir, "inputs.npz")
    cases_path = os.path.join(workdir, "cases.json")
    outputs_path = os.path.join(workdir, "outputs.npz")
    np.savez(inputs_path, **arrays)
    with open(cases_path, "w") as f:
        json.dump(cases, f)
    result = subprocess.run(
        [sys.executable, CHILD, version_dir, inputs_path, cases_path, outputs_path],
        capture_output=True,
        text=True,
        cwd=workdir,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.strip().splitlines() if line.strip()]
        raise VerifyError(  # the exception's own line (the child's traceback is in its stderr)
            f"{os.path.join(version_dir, 'saved_model.pb')} failed to load or run in a fresh process (exit "
            f"{result.returncode}): {lines[-1] if lines else 'no message'}"
        )
    with np.load(outputs_path) as outputs:
        return {key: outputs[key] for key in outputs.files}, result.stdout


def load_keras_model(assets, checkpoint_path=None, log_dir=None):
    from video_lstm import rundir  # no TensorFlow at import
    from video_lstm.classify import Classifier  # noqa: F401  (registers a fine-tuned classifier's classes)

    if log_dir:
        return rundir.load_latest(log_dir, compile=False)[1]
    path = checkpoint_path or assets["export"].get("checkpoint")
    if not path:
        raise VerifyError("assets/export.json names no checkpoint; pass --checkpoint or --log_dir")
    if not os.path.exists(path):
        raise VerifyError(
            f"checkpoint {path}, which this version was exported from, is gone; pass "
            "--checkpoint or --log_dir"
        )
    return rundir.load(path, compile=False)


def convnet_of(assets):
    """The percept network exported with a percept model, rebuilt from its recorded weights;
    None when there is none, or when it had random weights (they cannot be rebuilt)."""
    entry = assets["signatures"].get("convnet")
    if not entry or entry["weights"] == "random":
        return None
    return percept_networks.make_network(entry["network"], entry["weights"])


def keras_reference(model, case, arrays, frame_shape, classes=None, convnet=None):
    """The Keras model's outputs for one case (None: no reference, e.g. an encoder's classify
    hook, or video frames of a percept model whose convnet is not given). A fine-tuned
    classifier's `classify` is compared with its Keras twin; `classes` name its outputs."""
    import tensorflow as tf  # no TensorFlow at import

    frames = arrays[case["frames"]]
    if len(frame_shape) == 1 and frames.ndim == 5:  # video frames into a percept model
        if convnet is None:
            return None
        frames = percept_networks.extract(convnet, frames)
    elif frames.dtype == np.uint8:
        frames = frames.astype(np.float32) / 255
    if case["resized"]:
        batch, time = frames.shape[:2]
        flat = frames.reshape((-1,) + frames.shape[2:])
        flat = tf.image.resize(flat, frame_shape[:2], antialias=True).numpy()
        frames = flat.reshape((batch, time) + tuple(frame_shape))
    signature = case["signature"]
    if classes is not None and signature in ("classify", "serving_default"):  # a fine-tuned classifier
        from video_lstm.classify.classifier import top_classes  # no TensorFlow at import

        return top_classes(model, frames, classes)
    if signature in ("encode", "encode_float", "encode_frames", "serving_default"):
        result = model.encode(frames)
        reference = {"outputs": result["outputs"]}
        for i, (h, c) in enumerate(result["states"]):
            reference[f"h_{i}"], reference[f"c_{i}"] = h, c
    elif signature.startswith("reconstruct_and_predict"):
        reference = model.generate(frames, future_length=case["future_steps"])
    else:
        return None
    return {name: np.asarray(value, dtype=np.float32) for name, value in reference.items()}


def compare(cases, outputs, references, schema, atol, rtol):
    """Rows (case, output, shape, max |diff|, problem or '')."""

    rows = []
    for case, spec in cases.items():
        expected_outputs = schema[spec["signature"]]["outputs"]
        reference = references[case]
        for name, entry in expected_outputs.items():
            key = f"{case}/{name}"
            if key not in outputs:
                rows.append((case, name, "-", float("nan"), "missing from the SavedModel's outputs"))
                continue
            value = outputs[key]
            problem = ""
            declared = entry["shape"]
            if len(value.shape) != len(declared) or any(
                d is not None and d != s for d, s in zip(declared, value.shape)
            ):
                problem = f"shape {value.shape} does not fit the declared {declared}"
            elif entry["dtype"] == "string" and value.dtype.kind == "U":
                pass
            elif str(value.dtype) != entry["dtype"]:
                problem = f"dtype {value.dtype}, declared {entry['dtype']}"
            diff = float("nan")
            if reference is not None and not problem:
                ref = reference[name]
                if ref.shape != value.shape:
                    problem = f"shape {value.shape}, Keras gives {ref.shape}"
                elif value.dtype.kind == "U":
                    diff = float(np.mean(value != ref))
                    if diff:
                        problem = "class names differ from the Keras model's"
                else:
                    diff = float(np.max(np.abs(value - ref))) if value.size else 0.0
                    if not np.allclose(value, ref, atol=atol, rtol=rtol):
                        problem = f"differs from the Keras model (atol={atol}, rtol={rtol})"
            rows.append((case, name, str(tuple(value.shape)), diff, problem))
        extra = sorted(k.split("/", 1)[1] for k in outputs if k.startswith(case + "/")
                       and k.split("/", 1)[1] not in expected_outputs)
        for name in extra:
            rows.append((case, name, "-", float("nan"), "not declared in assets/signatures.json"))
    return rows


def verify(path, checkpoint_path=None, log_dir=None, atol=None, rtol=1e-4, out=print, convnet=None):
    """Runs the check; returns True when every output matches. Raises VerifyError.

    `convnet`: the percept network of an export made with one (default: rebuilt
    from the weights it records; with random weights its signatures are
    checked for shapes only)."""
    version_dir = resolve_version_dir(path)
    assets = read_assets(version_dir)
    precision = assets["config"].get("precision", "float32")
    if atol is None:
        atol = 1e-4 if precision == "float32" else 5e-2
    if export_layout.format_of(assets) != "saved_model":  # ONNX Runtime, OpenVINO, LiteRT: export.runtimes
        return _verify_runtime(version_dir, assets, checkpoint_path, log_dir, atol, rtol, out)
    cases, arrays = make_cases(assets)
    with tempfile.TemporaryDirectory(prefix="export-verify-") as workdir:
        outputs, listing = run_fresh_process(os.path.abspath(version_dir), cases, arrays, workdir)
    out(listing)
    model = load_keras_model(assets, checkpoint_path, log_dir)
    frame_shape = assets["signatures"]["frame_shape"]
    classes = assets["signatures"].get("classes")
    convnet = convnet or convnet_of(assets)
    references = {
        case: keras_reference(model, spec, arrays, frame_shape, classes, convnet) for case, spec in cases.items()
    }
    rows = compare(cases, outputs, references, assets["signatures"]["signatures"], atol, rtol)
    out("")
    out(f"{'case':<40} {'output':<16} {'shape':<24} {'max|diff|':>10}")
    for case, name, shape, diff, problem in rows:
        out(f"{case:<40} {name:<16} {shape:<24} {diff:>10.2e}" + (f"  MISMATCH: {problem}" if problem else ""))
    bad = [row for row in rows if row[4]]
    unchecked = sorted({case for case, ref in references.items() if ref is None})
    if unchecked:
        out(f"no Keras reference (shapes and dtypes checked only): {', '.join(unchecked)}")
    if bad:
        out(f"MISMATCH: {len(bad)} of {len(rows)} outputs of {version_dir} differ from the Keras model")
        return False
    out(f"OK: {len(rows)} outputs of {len(cases)} calls of {version_dir} match the Keras model "
        f"(atol={atol}, rtol={rtol}; SavedModel loaded without video_lstm)")
    return True


def _verify_runtime(version_dir, assets, checkpoint_path, log_dir, atol, rtol, out):
    """An ONNX Runtime, OpenVINO or LiteRT export run in its runtime without video_lstm, Keras or
    TensorFlow (`export.runtime_verification`) against the Keras model; True when every output of
    every case is within `atol` (+ `rtol` * |Keras|)."""
    fmt = assets["export"]["format"]
    try:
        cases, arrays, outputs, listing = runtime_verification.run_cases(version_dir, assets)
    except runtime_verification.RuntimeCheckError as error:
        raise VerifyError(str(error)) from None
    out(listing)
    model = load_keras_model(assets, checkpoint_path, log_dir)
    frame_shape = assets["signatures"]["frame_shape"]
    references = {case: keras_reference(model, spec, arrays, frame_shape) for case, spec in cases.items()}
    rows = compare(cases, outputs, references, assets["signatures"]["signatures"], atol, rtol)
    out(f"{'case':<40} {'output':<16} {'shape':<24} {'max|diff|':>10}")
    for case, name, shape, diff, problem in rows:
        out(f"{case:<40} {name:<16} {shape:<24} {diff:>10.2e}" + (f"  MISMATCH: {problem}" if problem else ""))
    worst = {}
    for _, name, _, diff, _ in rows:
        worst[name] = max(worst.get(name, 0.0), diff)
    out("largest |diff| per output: " + ", ".join(f"{name} {diff:.2e}" for name, diff in worst.items()))
    bad = [row for row in rows if row[4]]
    if bad:
        names = sorted({row[1] for row in bad})
        out(f"MISMATCH: {', '.join(names)} of the {fmt} export {version_dir} differ from the Keras model "
            f"({len(bad)} of {len(rows)} outputs; atol={atol}, rtol={rtol})")
        return False
    out(f"OK: {len(rows)} outputs of {len(cases)} calls of the {fmt} export {version_dir} match the Keras model "
        f"(atol={atol}, rtol={rtol}; run in {fmt}'s runtime without video_lstm, Keras or TensorFlow)")
    return True


def run(options):
    """`python -m export.verify`: `verify` as `options` (a `VerifyOptions`) say; True when every output matches."""
    return verify(options.path, options.checkpoint, options.log_dir or None, options.atol, options.rtol)
