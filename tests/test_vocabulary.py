"""One vocabulary: every command's flags against the table of video_lstm/core/vocabulary.py.

A command is a module ending in `cli.run(define_flags, main)`; its flags are defined on a fresh
FlagValues. No command defines an old name of a concept but as a deprecated alias of the concept's
one name, and the few-shot read-out's sizes have one default wherever they are defined.
"""

import importlib
import os

import pytest
from absl import flags

from video_lstm.core import cli, vocabulary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("video_lstm", "pipelines", "export")


def command_modules():
    found = []
    for package in PACKAGES:
        for directory, _, files in os.walk(os.path.join(ROOT, package)):
            for name in sorted(files):
                path = os.path.join(directory, name)
                if name.endswith(".py") and "cli.run(define_flags, main)" in open(path).read():
                    found.append(os.path.relpath(path, ROOT)[:-3].replace(os.sep, "."))
    return sorted(set(found) - {"video_lstm.core.cli"})


COMMANDS = command_modules()
_FLAGS = {}


def command_flags(module_name):
    """The command's FlagValues (its own `define_flags` on a fresh one), defined once per test run."""
    if module_name not in _FLAGS:
        flag_values = flags.FlagValues()
        importlib.import_module(module_name).define_flags(flag_values)
        _FLAGS[module_name] = flag_values
    return _FLAGS[module_name]


def test_the_commands_are_found():
    assert len(COMMANDS) == 14, COMMANDS


def test_the_table_gives_one_name_per_concept_and_no_name_twice():
    names = [term.name for term in vocabulary.TERMS]
    assert len(set(names)) == len(names)
    assert len({term.concept for term in vocabulary.TERMS}) == len(vocabulary.TERMS)
    olds = [old for term in vocabulary.TERMS for old, _ in term.old]
    assert len(set(olds)) == len(olds)
    for term in vocabulary.TERMS:
        assert term.meaning and all(commands for _, commands in term.old), term
        assert all(command in COMMANDS for _, commands in term.old for command in commands), term


def naming_splits(module_name):
    """The old names `module_name` defines other than as a deprecated alias of the table's name."""
    flag_values = command_flags(module_name)
    aliases = cli.deprecated_aliases(flag_values)
    current = vocabulary.by_name()
    problems = []
    for old, (term, commands) in vocabulary.old_names().items():
        if old not in flag_values:
            continue
        if old in current and module_name not in commands:
            continue  # the one name of another concept (--log_dir), not this command's old name
        if aliases.get(old) != term.name:
            problems.append(f"--{old} ({term.concept}: use --{term.name}, with --{old} a deprecated alias)")
    return problems


@pytest.mark.parametrize("module_name", COMMANDS)
def test_no_command_defines_an_old_name_but_as_a_deprecated_alias(module_name):
    assert naming_splits(module_name) == []


@pytest.mark.parametrize("term", [t for t in vocabulary.TERMS if t.one_default], ids=lambda t: t.name)
def test_the_few_shot_read_out_has_one_default_across_commands(term):
    defaults = {}
    for module_name in COMMANDS:
        flag_values = command_flags(module_name)
        if term.name in flag_values:
            default = flag_values[term.name].default
            defaults.setdefault(repr(tuple(default) if isinstance(default, list) else default), []).append(module_name)
    assert len(defaults) <= 1, f"--{term.name} has several defaults: {defaults}"


def test_a_naming_split_is_found():
    """The check fails where it should: a command with --context of its own."""
    flag_values = flags.FlagValues()
    flags.DEFINE_integer("context", 1, "frames", flag_values=flag_values)
    _FLAGS["fake.command"] = flag_values
    try:
        assert naming_splits("fake.command") == [
            "--context (frames read: use --input_length, with --context a deprecated alias)"]
    finally:
        del _FLAGS["fake.command"]
