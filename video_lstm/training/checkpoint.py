"""Checkpoints of a training run: whole models (weights and optimizer state).

A checkpoint is `<log_dir>/checkpoints/ckpt-<step>.keras`, written through
`video_lstm.atomic` (a temporary name, renamed into place), so a killed job
never leaves a half-written checkpoint behind; the newest `keep` are kept.
Temporaries of other live writers (another worker saving) are left alone.
"""

import glob
import os
import re

import keras

# Imported for their registration with Keras' serialisation.
from video_lstm import atomic, classify, models  # noqa: F401
from video_lstm.training import optimizers  # noqa: F401

_PATTERN = re.compile(r"ckpt-(\d+)\.keras$")


def checkpoint_dir(log_dir):
    return os.path.join(log_dir, "checkpoints")


def list_checkpoints(log_dir):
    """[(step, path)] sorted by step."""
    found = []
    for path in glob.glob(os.path.join(checkpoint_dir(log_dir), "ckpt-*.keras")):
        match = _PATTERN.search(os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest(log_dir):
    """(step, path) of the newest checkpoint, or None."""
    found = list_checkpoints(log_dir)
    return found[-1] if found else None


def save(model, log_dir, step, keep=2):
    """Writes the model at `step` atomically and prunes old checkpoints."""
    directory = checkpoint_dir(log_dir)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"ckpt-{step:08d}.keras")
    with atomic.path(path) as temporary:
        model.save(temporary)
    for _, old in list_checkpoints(log_dir)[:-keep]:
        os.remove(old)
    atomic.remove_stale(directory, ".keras")  # left by killed jobs of this host
    return path


def load(path):
    """Loads a checkpoint (compiled, with optimizer state)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        return keras.models.load_model(path)
    except Exception as error:  # a truncated or foreign file
        raise ValueError(f"checkpoint {path} could not be loaded: {error}") from error


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
