"""The pretrained encoder a classifier starts from: a training log_dir's newest
checkpoint, or an exported encoder SavedModel (`python -m export.encoder`).

Both give a built `Encoder` holding exactly the trained weights, the frame
shape it was trained on and a description of where it came from.
"""

import os

from video_lstm import config as config_lib
from video_lstm import rundir
from video_lstm.core.export_layout import NotAnExportError, asset_path, read_assets, resolve_version_dir
from video_lstm.models.encoder import Encoder


def load_encoder(path):
    """(encoder, frame_shape, info) of a training log_dir or an exported SavedModel
    (a version directory, or a model directory: its newest version).

    Raises:
        FileNotFoundError: `path` is neither, naming it.
    """
    if not path or not os.path.exists(path):
        raise FileNotFoundError(f"--pretrained={path!r} does not exist; expected a training log_dir or an "
                                "exported encoder SavedModel")
    if rundir.is_run(path):
        return _from_log_dir(path)
    return _from_saved_model(path)


def _from_log_dir(log_dir):
    step, model = rundir.load_latest(log_dir, compile=False)
    info = {"pretrained": os.path.abspath(log_dir), "pretrained_kind": "log_dir", "pretrained_step": step,
            "pretrained_model": model.__class__.__name__}
    return model.encoder, tuple(model.frame_shape), info


def read_export(path):
    """(version_dir, assets) of the exported encoder at `path` (an export root or one version);
    FileNotFoundError naming --pretrained when it is neither a run nor an export."""
    try:
        version_dir = resolve_version_dir(path)
        assets = read_assets(version_dir)
    except NotAnExportError as error:
        raise FileNotFoundError(f"--pretrained={path}: not a training log_dir (config.json and checkpoints/), "
                                f"and {error}") from error
    check_export_config(version_dir, assets)
    return version_dir, assets


def check_export_config(version_dir, assets):
    """Raises ValueError naming assets/config.json when the config an export records is not a valid run config
    (an encoder's; a classifier's, which adds its classes, by its fields' types)."""
    config, where = assets.get("config"), asset_path(version_dir, "config")
    if not isinstance(config, dict):
        raise ValueError(f"{where} holds {type(config).__name__}, not a config object")
    if "classes" in config:
        config_lib.check_types(config_lib.Config, config, where)
    else:
        config_lib.Config.from_dict(config, source=where)


def _from_saved_model(path):
    # here: keeps TensorFlow out of `import video_lstm.classify.pretrained`
    import tensorflow as tf

    version_dir, assets = read_export(path)
    config, frame_shape = assets["config"], tuple(assets["signatures"]["frame_shape"])
    encoder = Encoder(config["units"], config["num_layers"], reader=config.get("reader", "linear"),
                      reader_filters=config.get("reader_filters", 32), name="encoder")
    encoder.build((None, None) + frame_shape)
    loaded = tf.saved_model.load(version_dir)
    saved = list(loaded.variables)  # the encoder's weights first, in its own order (export.encoder)
    weights = encoder.weights
    for weight, value in zip(weights, saved):
        if tuple(weight.shape) != tuple(value.shape):
            raise ValueError(f"--pretrained={path}: SavedModel variable {value.name} has shape {tuple(value.shape)}; "
                             f"the encoder its config describes expects {tuple(weight.shape)} for {weight.path}")
        weight.assign(value.numpy())
    if len(saved) < len(weights):
        raise ValueError(f"--pretrained={path}: the SavedModel holds {len(saved)} variables; its encoder needs "
                         f"{len(weights)}")
    info = {"pretrained": os.path.abspath(version_dir), "pretrained_kind": "saved_model",
            "pretrained_step": assets["export"].get("step"), "pretrained_model": config.get("model")}
    return encoder, frame_shape, info


def check_fits(frame_shape, data_shape, path, data_origin):
    """Raises ValueError when the pretrained encoder was built on other inputs than the data gives."""
    if tuple(frame_shape) != tuple(data_shape):
        raise ValueError(
            f"the encoder of --pretrained={path} reads inputs of shape {tuple(frame_shape)} per step; "
            f"{data_origin} gives {tuple(data_shape)}. Fine-tune on data of the shape it was trained on."
        )

