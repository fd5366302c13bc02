"""Checkpoints of a training run: weights and optimizer state.

A checkpoint is `<log_dir>/checkpoints/ckpt-<step>.keras` (a whole model; what
training writes where TensorFlow is importable) or `ckpt-<step>.weights.h5`
(what the TensorFlow-free path writes: `model.save_weights` of the compiled
model, which holds the optimizer's variables, its step count included, beside
the model's; the model itself is rebuilt from `<log_dir>/config.json`). Either
loads on either backend, with or without TensorFlow. Files are written through
`video_lstm.atomic` (a temporary name, renamed into place), so a killed job
never leaves a half-written checkpoint behind; the newest `keep` are kept.
Temporaries of other live writers (another worker saving) are left alone.
"""

import glob
import os
import re

import keras
import numpy as np

# Imported for their registration with Keras' serialisation.
from video_lstm import atomic, classify, models  # noqa: F401
from video_lstm.models import build_model
from video_lstm.training import optimizers  # noqa: F401
from video_lstm.training.optimizers import make_optimizer

_PATTERN = re.compile(r"ckpt-(\d+)\.(keras|weights\.h5)$")
SUFFIXES = (".keras", ".weights.h5")


def checkpoint_dir(log_dir):
    return os.path.join(log_dir, "checkpoints")


def list_checkpoints(log_dir):
    """[(step, path)] sorted by step."""
    found = []
    for path in glob.glob(os.path.join(checkpoint_dir(log_dir), "ckpt-*")):
        match = _PATTERN.search(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest(log_dir):
    """(step, path) of the newest checkpoint, or None."""
    found = list_checkpoints(log_dir)
    return found[-1] if found else None


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the earlier ones are untouched."""


def _failure(log_dir, path, error):
    found = latest(log_dir)
    kept = f"the previous checkpoint, {found[1]}, is kept" if found else "no earlier checkpoint exists"
    return f"writing checkpoint {path} failed ({type(error).__name__}: {error}); {kept}"


def save(model, log_dir, step, keep=2, weights_only=False):
    """Writes the model at `step` atomically and prunes old checkpoints.

    `weights_only`: a `.weights.h5` (weights and optimizer state) instead of a `.keras`.
    Raises CheckpointWriteError (naming the checkpoint kept) when the write fails.
    """
    directory = checkpoint_dir(log_dir)
    os.makedirs(directory, exist_ok=True)
    suffix = ".weights.h5" if weights_only else ".keras"
    path = os.path.join(directory, f"ckpt-{step:08d}{suffix}")
    try:
        with atomic.path(path) as temporary:  # the temporary keeps the suffix Keras reads
            if weights_only:
                model.save_weights(temporary)
            else:
                model.save(temporary)
    except Exception as error:  # a full disk, a quota, a file-size limit, a failing writer
        raise CheckpointWriteError(_failure(log_dir, path, error)) from error
    for _, old in list_checkpoints(log_dir)[:-keep]:
        os.remove(old)
    for name_suffix in SUFFIXES:
        atomic.remove_stale(directory, name_suffix)  # left by killed jobs of this host
    return path


def new_model(config, sample_inputs=None, jit_compile=None):
    """A built, compiled model for `config` (built on `sample_inputs`, or zeros of its input spec);
    `jit_compile` default: `config.jit_compile`."""
    model = build_model(**config.model_kwargs())
    model(sample_inputs if sample_inputs is not None else zero_inputs(config))  # builds every variable
    jit_compile = config.jit_compile if jit_compile is None else jit_compile
    model.compile(optimizer=make_optimizer(config), jit_compile=jit_compile)
    return model


def zero_inputs(config, batch_size=1):
    """Model inputs of zeros for `config`: `frames` (batch, input_length, *frame_shape) and
    `future_frames` unless an autoencoder."""
    frame_shape = tuple(config.input_spec.frame_shape)
    inputs = {"frames": np.zeros((batch_size, config.input_length) + frame_shape, np.float32)}
    if config.model != "autoencoder":
        inputs["future_frames"] = np.zeros((batch_size, config.future_length) + frame_shape, np.float32)
    return inputs


def load(path, config=None):
    """Loads a checkpoint (compiled, with optimizer state).

    A `.weights.h5` needs the model's config: `config`, or by default the
    `config.json` of its log_dir (the checkpoint's directory's parent).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    if path.endswith(".weights.h5"):
        return _load_weights(path, config)
    try:
        return keras.models.load_model(path)
    except Exception as error:  # a truncated or foreign file
        raise ValueError(f"checkpoint {path} could not be loaded: {error}") from error


def _load_weights(path, config):
    """A model rebuilt from `config` (default: its log_dir's config.json) with the weights
    and optimizer state of the `.weights.h5` at `path`."""
    if config is None:
        from video_lstm import config as config_lib

        config = config_lib.load(os.path.dirname(os.path.dirname(os.path.abspath(path))))
    model = new_model(config)
    model.optimizer.build(model.trainable_variables)  # so that its saved state has somewhere to go
    try:
        model.load_weights(path)
    except Exception as error:  # a truncated file, or one of another model
        raise ValueError(f"checkpoint {path} could not be loaded into the model of its config: {error}") from error
    # Keras skips (with a warning) optimizer state of another shape; the step count tells.
    step, restored = int(_PATTERN.search(path).group(1)), int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if restored != step:
        raise ValueError(
            f"checkpoint {path} holds no optimizer state for --optimizer={config.optimizer} "
            f"--momentum={config.momentum} (its step count reads {restored}, not {step}): "
            "use the optimizer flags it was trained with"
        )
    return model


def load_latest(log_dir):
    """(step, model) of the newest checkpoint; raises if there is none."""
    found = latest(log_dir)
    if found is None:
        raise FileNotFoundError(
            f"no checkpoint in {checkpoint_dir(log_dir)}: train first with "
            f"python -m video_lstm.train --log_dir={log_dir}"
        )
    step, path = found
    return step, load(path)
