"""The layout of an exported model: `<export_dir>/<model_name>/<version>/`, TF Serving's.

    <version>/saved_model.pb, variables/   the SavedModel
    <version>/assets/config.json           the run's config
    <version>/assets/signatures.json       names, dtypes and shapes of the signatures
    <version>/assets/export.json           where it came from (log_dir, checkpoint, step)

or, for ONNX Runtime, OpenVINO and LiteRT (`export.runtimes`), one file per signature (encode.onnx,
encode.xml, encode.tflite...) beside the same assets, export.json naming the `format`.

`export.encoder` writes it; `export.verify` and a classifier that starts from an
exported encoder (`classify.pretrained`) read it through this module.
"""

import json
import os

from video_lstm.core import files

ASSETS = ("config", "signatures", "export")  # assets/<name>.json


class NotAnExportError(FileNotFoundError):
    """A path holds no SavedModel written by `export.encoder`."""


def asset_path(version_dir, name):
    """`<version_dir>/assets/<name>.json` for one of ASSETS."""
    return os.path.join(version_dir, "assets", f"{name}.json")


def _is_version(path):
    """A SavedModel, or a runtime format's export (`export.runtimes`: its assets/export.json names the format)."""
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return True
    if not os.path.exists(asset_path(path, "export")):
        return False
    try:
        with files.open_regular(asset_path(path, "export")) as f:
            return json.loads(f.read()).get("format", "saved_model") != "saved_model"
    except (OSError, ValueError):
        return False


def format_of(assets):
    """The format of an export (read_assets' answer): saved_model, onnx, openvino or litert."""
    return assets["export"].get("format", "saved_model")


def resolve_version_dir(path):
    """A version directory, or the newest version of a model directory."""
    if _is_version(path):
        return path
    if os.path.isdir(path):
        found = sorted((int(n) for n in os.listdir(path) if n.isdigit()), reverse=True)
        for version in found:
            candidate = os.path.join(path, str(version))
            if _is_version(candidate):
                return candidate
    raise NotAnExportError(f"{path} holds no SavedModel (saved_model.pb), no runtime export (assets/export.json) "
                           "and no numbered version of either")


def read_assets(version_dir):
    """{name: the parsed assets/<name>.json} for every name of ASSETS."""
    assets = {}
    for name in ASSETS:
        path = asset_path(version_dir, name)
        if not os.path.exists(path):
            raise NotAnExportError(f"{path} not found: was {version_dir} written by export.encoder?")
        try:
            with files.open_regular(path) as f:
                assets[name] = json.loads(f.read())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise NotAnExportError(f"{path} is not JSON ({error}): the export is damaged; export it again") from None
    return assets
