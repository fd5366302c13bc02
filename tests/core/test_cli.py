"""video_lstm.core.cli: old flag names kept for a release (deprecated aliases)."""

import pytest
from absl import flags

from video_lstm.core import cli


def _flags():
    values = flags.FlagValues()
    flags.DEFINE_string("percept_network", "vgg16", "The network.", flag_values=values)
    flags.DEFINE_integer("input_length", 10, "Frames read.", flag_values=values)
    flags.DEFINE_bool("progress", True, "A bar.", flag_values=values)
    cli.define_deprecated_alias(values, "network", "percept_network")
    cli.define_deprecated_alias(values, "context", "input_length")
    cli.define_deprecated_alias(values, "show_progress", "progress")
    return values


def test_an_old_name_gives_its_value_to_the_new_flag_with_one_warning_line(capsys):
    values = _flags()
    values(["prog", "--network=inception_v3", "--context=5", "--noshow_progress"])
    cli.apply_deprecated_aliases(values, "prog")
    assert (values.percept_network, values.input_length, values.progress) == ("inception_v3", 5, False)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"prog: warning: --{old} is deprecated: use --{new} (same meaning)"
                     for old, new in (("network", "percept_network"), ("context", "input_length"),
                                      ("show_progress", "progress"))]


def test_an_old_name_unused_changes_nothing_and_says_nothing(capsys):
    values = _flags()
    values(["prog", "--input_length=7"])
    cli.apply_deprecated_aliases(values, "prog")
    assert (values.percept_network, values.input_length) == ("vgg16", 7)
    assert capsys.readouterr().err == ""


def test_old_and_new_names_with_two_values_are_refused_naming_both():
    values = _flags()
    values(["prog", "--context=5", "--input_length=6"])
    with pytest.raises(flags.Error, match="--context .*--input_length.* 5 and 6"):
        cli.apply_deprecated_aliases(values, "prog")


def test_an_old_names_help_begins_deprecated_use_the_new_name():
    values = _flags()
    assert values["network"].help.startswith("Deprecated: use --percept_network. The network.")
    assert cli.deprecated_aliases(values) == {"network": "percept_network", "context": "input_length",
                                              "show_progress": "progress"}


def test_a_retired_flag_is_accepted_ignored_and_named_in_one_warning_line(capsys):
    values = _flags()
    cli.define_retired_flag(values, "model", str, "a classifier has no decoders")
    cli.define_retired_flag(values, "conditional_future", bool, "a classifier has no decoders")
    values(["prog", "--model=future", "--noconditional_future", "--input_length=4"])
    cli.apply_deprecated_aliases(values, "prog")
    assert values.input_length == 4
    assert cli.retired_flags(values) == {"model": "a classifier has no decoders",
                                         "conditional_future": "a classifier has no decoders"}
    assert values["model"].help.startswith("Deprecated: not read: a classifier has no decoders.")
    assert capsys.readouterr().err.splitlines() == [
        "prog: warning: ignored 2 flag(s) it does not read (a classifier has no decoders): "
        "--conditional_future, --model"]
