"""No inert flag: every flag of every command reaches the settings the command hands on.

For every command module (a `python -m` entry point: `cli.run(define_flags, main)`), its flags
are defined on a fresh `absl.flags.FlagValues()` and parsed with the minimal required flags;
`settings(flag_values)` (pure: it reads flags, loads no model, touches no file) gives the
default settings. Then each flag in turn gets a valid non-default value, and the settings must
differ. Skipped: deprecated aliases (`cli.deprecated_aliases`: they give their value to the new
flag), retired flags (`cli.retired_flags`: accepted and ignored for a release, with a warning)
and the flags in `ALLOWED` (by design in no settings object).
"""

import dataclasses
import importlib
import os

import pytest
from absl import flags

from pipelines import sources
from video_lstm.core import choices, cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY = 'if __name__ == "__main__":\n    cli.run(define_flags, main)'


def command_modules():
    found = []
    for package in ("video_lstm", "pipelines", "export"):
        for directory, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                path = os.path.join(directory, name)
                if name.endswith(".py") and ENTRY in open(path).read():
                    found.append(os.path.relpath(path, ROOT)[:-3].replace(os.sep, "."))
    return sorted(found)


COMMANDS = command_modules()
# The flags a command needs to parse at all (its required ones).
REQUIRED = {module: ["--log_dir=runs/x"] for module in (
    "video_lstm.train", "video_lstm.evaluate", "video_lstm.visualize", "video_lstm.finetune", "video_lstm.probe",
    "video_lstm.experiments.few_labels", "video_lstm.experiments.pretrain_ablation")}
# Flags that by design reach no settings object: --log_dir is the folder `main` works in, handed on
# beside the settings (every command with one).
ALLOWED = {"log_dir"}
# Non-default values where the generic rule (`other_value`) would be invalid or the same.
VALUES = {"test_set": "tfds", "inits": "scratch", "frozen_head": "softmax", "tasks": "motion",
          "variants": "base", "labels_per_class": "1", "ood_digits": "1", "what": "samples"}


# What a data source needs to be chosen at all (read as text: no file is opened).
SOURCE_NEEDS = {"ucf101": ["--video_dir=videos"], "hmdb51": ["--video_dir=videos"], "folder": ["--video_dir=videos"],
                "percepts": ["--percepts_dir=cache", "--video_dir=videos"],
                "percepts_inline": ["--percepts_from=videos", "--video_dir=videos"]}


def sources_of(name):
    """The data sources with option `name` (its flag only matters under one), moving_mnist (the
    default) as None."""
    found = [dataset for dataset in choices.DATASETS
             if name in {f.name for f in dataclasses.fields(sources.options_class(dataset))}]
    return [None if dataset == "moving_mnist" else dataset for dataset in found] or [None]


def contexts(name, flag_values):
    """Flags under which --`name` can take effect: its source chosen, with what that needs."""
    if "dataset" not in flag_values:  # a command without data sources (export.encoder's --percept_weights)
        return [[]]
    if name == "dataset":  # the next choice, ucf101, with what it needs
        return [SOURCE_NEEDS["ucf101"]]
    found = [[]]  # as they are (a command's own flag of a source's name: extract_percepts' --percept_network)
    for source in sources_of(name):
        for needs in ("percepts", "percepts_inline") if source == "percepts" else (source,):
            context = [f"--dataset={source}", *SOURCE_NEEDS.get(needs, [])] if source else []
            if source == "percepts" and "loss" in flag_values:  # a training run of features in any range
                context.append("--loss=squared_error")
            found.append(context)
    return found


def other_value(flag):
    if flag.name in VALUES:
        return VALUES[flag.name]
    default = flag.default
    if getattr(flag.parser, "enum_values", None):
        return next(v for v in flag.parser.enum_values if v != default)
    if flag.boolean:
        return "false" if default else "true"
    if isinstance(default, bool):
        return str(not default).lower()
    if isinstance(default, int):
        return str(default + 1)
    if isinstance(default, float):
        return str(0.125 if default == 0 else default / 2 if 0 < default < 1 else default * 2)
    if isinstance(default, list):
        return default[0] if len(default) > 1 else "x"
    if default is None:
        return "1"
    return default + "x" if default else "x"


def settings_of(module, argv):
    flag_values = flags.FlagValues()
    module.define_flags(flag_values)
    flag_values(["command", *argv])
    cli.apply_deprecated_aliases(flag_values, module.__name__)
    return flag_values, module.settings(flag_values)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_flag_reaches_the_settings(name):
    module = importlib.import_module(name)
    assert hasattr(module, "settings"), f"{name} has no settings(flag_values)"
    base = REQUIRED.get(name, [])
    flag_values, _ = settings_of(module, base)
    aliases = {**cli.deprecated_aliases(flag_values), **cli.retired_flags(flag_values)}
    inert = []
    for flag_name in sorted(flag_values):
        if flag_name in aliases or flag_name in ALLOWED:
            continue
        flag = flag_values[flag_name]
        for context in contexts(flag_name, flag_values):
            try:
                _, default = settings_of(module, base + context)
                _, changed = settings_of(module, base + context + [f"--{flag_name}={other_value(flag)}"])
            except (ValueError, flags.Error):  # not an option of this source's (another may take it)
                continue
            if changed != default:
                break
        else:
            inert.append(flag_name)
    assert not inert, f"{name}: flags that reach no settings: {inert}"


def test_the_commands_are_found():
    assert {"video_lstm.train", "video_lstm.finetune", "video_lstm.experiments.few_labels"} <= set(COMMANDS)
    assert "video_lstm.core.cli" not in COMMANDS
