"""The run directory (`--log_dir`): its layout, its records and the model it holds.

    <log_dir>/config.json                 the `Config` the run trains (checked on resume)
    <log_dir>/data.json                   what its data source read (`DataSource.describe()`)
    <log_dir>/checkpoints/ckpt-<step>.keras        a whole model, optimizer state included
    <log_dir>/checkpoints/ckpt-<step>.weights.h5   the same without TensorFlow (the model
                                                   itself is rebuilt from config.json)
    <log_dir>/metrics.json, samples.png   the evaluation of the run's own test set
    <log_dir>/train/                      TensorBoard events
    <log_dir>/visualize/                  pictures of `python -m video_lstm.visualize`
    <log_dir>/resumes.json                each resume that changed a setting, and the step it
                                          took effect at (config.json holds the current value)
    <log_dir>/lock                        the live job's lock (`core.lock`)

A fine-tuning run's log_dir holds one such directory per initialisation, each
with `finetune.json` (what it fine-tunes) and its `metrics.json`, and
`summary.json` beside them. Every other module asks this one for these names
and files instead of spelling them.

Checkpoints are written through `core.atomic` (a temporary name, renamed into
place), so a killed job never leaves half a checkpoint behind; the newest
`keep` are kept, and temporaries of other live writers are left alone. Either
kind of checkpoint loads on either backend, with or without TensorFlow.
Loading for evaluation or export (`compile=False`) builds no optimizer.
"""

import glob
import json
import os
import re
import shutil
import zipfile

import keras
import numpy as np
from absl import logging

from video_lstm import config as config_lib
from video_lstm import (
    models,  # (importing it registers the model classes with Keras)
    optimizers,
)
from video_lstm.core import atomic, files

CONFIG = "config.json"
DATA = "data.json"
CHECKPOINTS = "checkpoints"
METRICS = "metrics.json"
SAMPLES = "samples.png"
FINETUNE = "finetune.json"
SUMMARY = "summary.json"
CONFUSION = "confusion.png"
VISUALIZE = "visualize"  # the pictures of python -m video_lstm.visualize
TRAIN_EVENTS = "train"  # TensorBoard events of training
EVAL_EVENTS = "eval"  # TensorBoard events of a classifier's evaluation
LOCK = "lock"
RESUMES = "resumes.json"

# data.json keys that may differ on resume without the data being other data: where files are,
# and what training found along the way.
_DATA_INCIDENTAL = ("train_digits_origin", "video_dir", "percepts_dir", "skipped_videos")

_CHECKPOINT = re.compile(r"ckpt-(\d+)\.(keras|weights\.h5)$")
SUFFIXES = (".keras", ".weights.h5")


def path(log_dir, name):
    """`<log_dir>/<name>` for one of this module's names (CONFIG, METRICS, ...)."""
    return os.path.join(log_dir, name)


def is_run(directory):
    """Whether `directory` is a training run: a config.json and a checkpoints/ folder."""
    return os.path.isfile(path(directory, CONFIG)) and os.path.isdir(path(directory, CHECKPOINTS))


# -- records -------------------------------------------------------------------


def load_config(log_dir):
    """The `Config` of `<log_dir>/config.json`; FileNotFoundError naming the log_dir if absent."""
    config_path = path(log_dir, CONFIG)
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{config_path} not found: is {log_dir} a video_lstm training log_dir?")
    with files.open_regular(config_path) as f:
        text = f.read()
    try:
        values = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{config_path} is not a JSON config ({error}): delete it only if no checkpoint "
                         "depends on it") from None
    if not isinstance(values, dict):
        raise ValueError(f"{config_path} holds {type(values).__name__}, not a config object")
    return config_lib.Config.from_dict(values, source=config_path)


def load_config_if_any(log_dir):
    """`load_config`, or None where the log_dir has no config.json."""
    return load_config(log_dir) if log_dir and os.path.exists(path(log_dir, CONFIG)) else None


def check_writable(log_dir):
    """Raises (one line) if `log_dir` cannot be a run directory this process writes: a file
    is in its place, or it (or the folder it would be made in) is not writable."""
    atomic.check_writable(log_dir, "--log_dir")


def check_resume(log_dir, config):
    """(saved config or None, {field: (saved, current)} of the resumable settings `config`
    changes): what a run in `log_dir` with `config` would resume.

    Raises:
        ValueError: the log_dir's run has other settings (`config.resume_changes`), or it
            holds checkpoints but no config.json (their settings cannot be checked).
    """
    saved = load_config_if_any(log_dir)
    if saved is None:
        if list_checkpoints(log_dir):
            raise ValueError(
                f"{checkpoint_dir(log_dir)} holds checkpoints but {path(log_dir, CONFIG)} is missing, so the "
                "settings they were trained with are unknown: restore config.json, or use a new --log_dir"
            )
        return None, {}
    return saved, config_lib.resume_changes(saved, config, log_dir)


def record_config(log_dir, config):
    """Checks the config a log_dir already records against `config` (`check_resume`), then
    records `config` (as a fresh run at step 0 would)."""
    os.makedirs(log_dir, exist_ok=True)
    saved, changes = check_resume(log_dir, config)
    record_run(log_dir, config, saved, changes, step=0)


def record_run(log_dir, config, saved, changes, step):
    """Writes config.json: `config` for a new run; for a resumed one, its saved config with
    the `changes` applied (evaluation settings stay the run's own), and appends
    {"step", "changes"} to resumes.json when there are changes."""
    recorded = config if saved is None else config_lib.replace(saved, **{k: new for k, (_, new) in changes.items()})
    if saved is not None and changes:
        history = read_json(log_dir, RESUMES, [])
        history.append({"step": int(step), "changes": {k: list(v) for k, v in sorted(changes.items())}})
        write_json(log_dir, RESUMES, history)
    atomic.write_json(path(log_dir, CONFIG), recorded.to_dict())
    return recorded


def check_same_data(log_dir, description):
    """Raises ValueError if the log_dir's data.json says the run trained on other data than
    `description` (a source's `describe()`) says it would read now, naming both values."""
    saved = read_json(log_dir, DATA)
    if not saved:
        return
    diffs = [
        f"{key}: {saved[key]!r} in the log_dir, {description[key]!r} now"
        for key in sorted(saved.keys() & description.keys())
        if key not in _DATA_INCIDENTAL and saved[key] != description[key]
    ]
    if diffs:
        raise ValueError(
            f"log_dir {log_dir} trained on other data ({'; '.join(diffs[:3])}): resume with the data it "
            f"was trained on (the same files and $VIDEO_LSTM_DATA_DIR), or use a new --log_dir"
        )


def record_data(log_dir, description):
    """Writes data.json: `description`, keeping the videos an earlier part of the run found
    unusable (`skipped_videos`)."""
    skipped = data_description(log_dir).get("skipped_videos")
    write_json(log_dir, DATA, {**description, **({"skipped_videos": skipped} if skipped else {})})


def remove_new(log_dir):
    """Deletes a log_dir this process made and that holds nothing of value (a start-up
    that failed), so that bad input leaves nothing behind."""
    shutil.rmtree(log_dir, ignore_errors=True)


_LIST_RECORDS = (RESUMES,)  # records that hold a JSON list; every other holds an object


def read_json(log_dir, name, default=None):
    """The JSON record `name` of a log_dir, or `default` where there is none.

    Raises ValueError naming the file if it is no regular file, not JSON, or not of its
    kind (a list for resumes.json, else an object)."""
    record = log_dir and path(log_dir, name)
    if not record or not os.path.exists(record):
        return default
    with files.open_regular(record) as f:
        text = f.read()
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{record} is not JSON ({error}): the run's record is damaged") from None
    kind = list if name in _LIST_RECORDS or isinstance(default, list) else dict
    if not isinstance(value, kind):
        raise ValueError(f"{record} holds {type(value).__name__}, not a JSON {'list' if kind is list else 'object'}")
    return value


def read_finetune(log_dir):
    """A classifier's record (`<log_dir>/finetune.json`), checked: its `config` a valid run
    config, its `settings` of their fields' types, its `classes` names; None if absent."""
    record = read_json(log_dir, FINETUNE)
    if record is None:
        return None
    where = path(log_dir, FINETUNE)
    if not isinstance(record.get("config"), dict):
        raise ValueError(f"{where} has no config object: not a classifier's record")
    config_lib.Config.from_dict(record["config"], source=f"{where} (config)")
    if isinstance(record.get("settings"), dict):
        config_lib.check_types(config_lib.FinetuneSettings, record["settings"], f"{where} (settings)")
    classes = record.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"{where}: classes={json.dumps(classes)}; expected a list of class names")
    return record


def write_json(log_dir, name, value):
    """Writes the JSON record `name` atomically; returns its path."""
    return atomic.write_json(path(log_dir, name), value)


def data_description(log_dir):
    """What the run's data source read, as training recorded it in data.json ({} if unknown)."""
    return read_json(log_dir, DATA, {})


# -- checkpoints -----------------------------------------------------------------


def checkpoint_dir(log_dir):
    return path(log_dir, CHECKPOINTS)


def list_checkpoints(log_dir):
    """[(step, path)] sorted by step."""
    found = []
    for candidate in glob.glob(os.path.join(checkpoint_dir(log_dir), "ckpt-*")):
        match = _CHECKPOINT.search(os.path.basename(candidate))
        if match:
            found.append((int(match.group(1)), candidate))
    return sorted(found)


def latest(log_dir):
    """(step, path) of the newest checkpoint, or None."""
    found = list_checkpoints(log_dir)
    return found[-1] if found else None


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the earlier ones are untouched."""


class DamagedCheckpointError(ValueError):
    """A checkpoint file exists but cannot be read (truncated, empty, not a Keras file)."""


def save(model, log_dir, step, keep=2, weights_only=False):
    """Writes the model at `step` atomically and prunes old checkpoints.

    `weights_only`: a `.weights.h5` (weights and optimizer state) instead of a `.keras`.
    Raises CheckpointWriteError (naming the checkpoint kept) when the write fails.
    """
    directory = checkpoint_dir(log_dir)
    os.makedirs(directory, exist_ok=True)
    suffix = ".weights.h5" if weights_only else ".keras"
    destination = os.path.join(directory, f"ckpt-{step:08d}{suffix}")
    try:
        with atomic.path(destination) as temporary:  # the temporary keeps the suffix Keras reads
            if weights_only:
                model.save_weights(temporary)
            else:
                model.save(temporary)
    except Exception as error:  # a full disk, a quota, a file-size limit, a failing writer
        found = latest(log_dir)
        kept = f"the previous checkpoint, {found[1]}, is kept" if found else "no earlier checkpoint exists"
        raise CheckpointWriteError(
            f"writing checkpoint {destination} failed ({type(error).__name__}: {error}); {kept}"
        ) from error
    for _, old in list_checkpoints(log_dir)[:-keep]:
        os.remove(old)
    for name_suffix in SUFFIXES:
        atomic.remove_stale(directory, name_suffix)  # left by killed jobs of this host
    return destination


def set_aside_from(log_dir, step, suffix):
    """Renames the checkpoints of `step` and later to `<name><suffix>`, which nothing loads
    (kept for inspection); returns their new paths."""
    moved = []
    for found_step, checkpoint in list_checkpoints(log_dir):
        if found_step >= step:
            os.replace(checkpoint, checkpoint + suffix)
            moved.append(checkpoint + suffix)
    return moved


# -- the model -------------------------------------------------------------------


def build(config, sample_inputs=None):
    """A built, uncompiled model for `config` (built on `sample_inputs`, or zeros of its input spec)."""
    model = models.build_model(**config.model_kwargs())
    model(sample_inputs if sample_inputs is not None else zero_inputs(config))  # builds every variable
    return model


def new_model(config, sample_inputs=None, jit_compile=None):
    """`build`, compiled with `config`'s optimizer; `jit_compile` default: `config.jit_compile`."""
    model = build(config, sample_inputs)
    jit_compile = config.jit_compile if jit_compile is None else jit_compile
    model.compile(optimizer=optimizers.make_optimizer(config), jit_compile=jit_compile)
    return model


def zero_inputs(config, batch_size=1):
    """Model inputs of zeros for `config`: `frames` (batch, input_length, *frame_shape) and
    `future_frames` unless an autoencoder."""
    frame_shape = tuple(config.input_spec.frame_shape)
    inputs = {"frames": np.zeros((batch_size, config.input_length) + frame_shape, np.float32)}
    if config.model != "autoencoder":
        inputs["future_frames"] = np.zeros((batch_size, config.future_length) + frame_shape, np.float32)
    return inputs


def load(checkpoint, config=None, compile=True):
    """Loads a checkpoint.

    Args:
        checkpoint: the path of a `.keras` or `.weights.h5` checkpoint.
        config: a `.weights.h5`'s `Config`; default: the config.json of its log_dir
            (the checkpoint's directory's parent).
        compile: with the optimizer and its state (to resume training); False for a
            model to call (evaluation, export), which builds no optimizer.
    """
    if not os.path.exists(checkpoint):
        raise FileNotFoundError(f"checkpoint {checkpoint} not found")
    kind = files.not_regular(checkpoint)  # a FIFO or a device would block the reader forever
    if kind is not None:
        raise DamagedCheckpointError(f"checkpoint {checkpoint} could not be loaded: it is {kind}, not a regular file")
    run_dir = os.path.dirname(os.path.dirname(os.path.abspath(checkpoint)))
    if checkpoint.endswith(".weights.h5"):
        if config is None:
            config = load_config(run_dir)
        _check_weights_fit(checkpoint, config, path(run_dir, CONFIG))
        return _load_weights(checkpoint, config, compile)
    if not zipfile.is_zipfile(checkpoint):  # Keras would say "File not found" of a file that is there
        raise DamagedCheckpointError(f"checkpoint {checkpoint} could not be loaded: it is damaged, not a .keras "
                                     f"archive (truncated, empty or another kind of file; "
                                     f"{os.path.getsize(checkpoint)} bytes)")
    if config is None and os.path.exists(path(run_dir, CONFIG)):
        config = load_config(run_dir)
    try:
        model = keras.models.load_model(checkpoint, compile=compile)
    except Exception as error:  # a damaged archive
        raise DamagedCheckpointError(f"checkpoint {checkpoint} could not be loaded: {_first_line(error)}") from error
    if config is not None:
        check_fits(model, config, checkpoint, path(run_dir, CONFIG))
    return model


class CheckpointMismatchError(ValueError):
    """A run's config.json describes another model than its checkpoint holds."""


# Model settings a checkpoint records (its model's `get_config()`), by config field.
_RECORDED = {"units": "units", "num_layers": "num_layers", "readout": "readout", "reader": "reader",
             "readout_filters": "readout_filters", "reader_filters": "reader_filters", "loss": "loss_name",
             "future_length": "future_length"}


def _mismatch(config_path, checkpoint, diffs):
    shown = "; ".join(f"--{name}={ours!r} in {config_path}, {theirs!r} in the checkpoint" for name, ours, theirs
                      in diffs[:3])
    return CheckpointMismatchError(f"{config_path} does not describe the model of checkpoint {checkpoint} ({shown}): "
                                   "the run's record was changed; restore config.json as training wrote it")


def check_fits(model, config, checkpoint, config_path):
    """Raises CheckpointMismatchError (one line naming config.json and the checkpoint) when a
    loaded autoencoder model was built with other shape-deciding settings than `config`."""
    if not isinstance(model, models.CompositeModel):
        return  # a classifier: its record is finetune.json
    recorded = model.get_config()
    diffs = []
    kind = {models.Autoencoder: "autoencoder", models.FuturePredictor: "future"}.get(type(model), "composite")
    if kind != config.model:
        diffs.append(("model", config.model, kind))
    for name, key in _RECORDED.items():
        if key not in recorded or (name == "future_length" and config.model == "autoencoder"):
            continue
        if name in ("readout_filters", "reader_filters") and not config_lib._shapes_model(config, name):
            continue
        if getattr(config, name) != recorded[key]:
            diffs.append((name, getattr(config, name), recorded[key]))
    frame_shape = getattr(model, "frame_shape", None)
    if not diffs and frame_shape is not None and tuple(frame_shape) != tuple(config.input_spec.frame_shape):
        diffs.append(("input spec", list(config.input_spec.frame_shape), list(frame_shape)))
    if diffs:
        raise _mismatch(config_path, checkpoint, diffs)


def _check_weights_fit(checkpoint, config, config_path):
    """The units and layers of a `.weights.h5` (its encoder's recurrent kernels, read without
    loading) against `config`, before a model of `config` is built for it."""
    try:
        # here: keeps h5py out of `import video_lstm.rundir`
        import h5py

        with h5py.File(checkpoint, "r") as f:
            group = f.get("encoder/lstm/vars")
            shapes = [group[k].shape for k in sorted(group, key=int)] if group is not None else []
    except Exception:  # not HDF5, or another layout: loading says what is wrong
        return
    if len(shapes) < 3 or len(shapes[1]) != 2:
        return
    diffs = []
    if shapes[1][0] != config.units:
        diffs.append(("units", config.units, int(shapes[1][0])))
    if len(shapes) // 3 != config.num_layers:
        diffs.append(("num_layers", config.num_layers, len(shapes) // 3))
    if diffs:
        raise _mismatch(config_path, checkpoint, diffs)


def _first_line(error):
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _load_weights(checkpoint, config, compile):
    """A model rebuilt from `config` with the weights (and, compiled, the optimizer
    state) of the `.weights.h5` at `checkpoint`."""
    if not compile:
        model = build(config)
        try:
            model.load_weights(checkpoint, skip_mismatch=False)
        except Exception as error:  # a truncated file, or one of another model
            raise DamagedCheckpointError(f"checkpoint {checkpoint} could not be loaded into the model of its "
                                         f"config: {_first_line(error)}") from error
        return model
    model = new_model(config)
    model.optimizer.build(model.trainable_variables)  # so that its saved state has somewhere to go
    try:
        model.load_weights(checkpoint)
    except Exception as error:  # a truncated file, or one of another model
        raise DamagedCheckpointError(f"checkpoint {checkpoint} could not be loaded into the model of its config: "
                                     f"{_first_line(error)}") from error
    # Keras skips (with a warning) optimizer state of another shape; the step count tells.
    step = int(_CHECKPOINT.search(checkpoint).group(1))
    restored = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if restored != step:
        raise ValueError(
            f"checkpoint {checkpoint} holds no optimizer state for --optimizer={config.optimizer} "
            f"--momentum={config.momentum} (its step count reads {restored}, not {step}): "
            "use the optimizer flags it was trained with"
        )
    return model


def load_latest(log_dir, config=None, compile=True):
    """(step, model) of the newest checkpoint (see `load`); raises if there is none."""
    step, _, model = load_latest_with_path(log_dir, config, compile)
    return step, model


def load_for_calling(log_dir, checkpoint="", config=None):
    """(step, path, model) of `checkpoint` (a path; its step from its name, None if it has
    none) or, if empty, of the newest checkpoint of `log_dir` that loads; no optimizer."""
    if not checkpoint:
        return load_latest_with_path(log_dir, config, compile=False)
    if not os.path.exists(checkpoint):
        raise FileNotFoundError(f"--checkpoint={checkpoint} not found")
    match = re.search(r"(\d+)", os.path.basename(checkpoint))
    return int(match.group(1)) if match else None, checkpoint, load(checkpoint, config, compile=False)


def load_latest_with_path(log_dir, config=None, compile=True):
    """(step, path, model) of the newest checkpoint that loads, its path looked up once (a
    job still training may write a newer one meanwhile).

    A damaged newest checkpoint (truncated, empty, not a Keras file) is skipped with a
    warning naming it, for the one before it. Raises FileNotFoundError if there is no
    checkpoint, and the newest one's DamagedCheckpointError if none loads.
    """
    found = list_checkpoints(log_dir)
    if not found:
        raise FileNotFoundError(
            f"no checkpoint in {checkpoint_dir(log_dir)}: train first with "
            f"python -m video_lstm.train --log_dir={log_dir}"
        )
    damaged = []
    for step, checkpoint in reversed(found):
        try:
            return step, checkpoint, load(checkpoint, config, compile)
        except DamagedCheckpointError as error:
            damaged.append(error)
            logging.warning("%s; falling back to the checkpoint before it", error)
    raise damaged[0]
