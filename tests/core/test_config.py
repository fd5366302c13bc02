"""Config: flagfiles, validation, JSON round trip."""

import glob
import importlib
import os

import helpers
import pytest
from absl import flags

from video_lstm import config as config_lib
from video_lstm import flags as flags_lib

ROOT = helpers.ROOT
FLAGFILES = sorted(glob.glob(os.path.join(ROOT, "configs", "*.flags")))
OTHER_PROGRAMS = ("video_lstm.finetune", "video_lstm.experiments.few_labels")


def program_of(path):
    """The `python -m` program a flagfile's comment runs it with (each names its command)."""
    text = open(path).read()
    for program in ("video_lstm.train", *OTHER_PROGRAMS):
        if f"python -m {program} --flagfile=configs/{os.path.basename(path)}" in text:
            return program
    return None


TRAIN_FLAGFILES = [p for p in FLAGFILES if program_of(p) in ("video_lstm.train", None)]


def test_there_is_a_flagfile_per_paper_setting():
    names = {os.path.basename(p) for p in FLAGFILES}
    for kind in ("composite", "autoencoder", "future"):
        for decoder in ("conditional", "unconditioned"):
            assert f"paper_{kind}_{decoder}.flags" in names
    assert {"quickstart.flags", "paper_composite_conditional_2layer.flags"} <= names


@pytest.mark.parametrize("path", TRAIN_FLAGFILES, ids=os.path.basename)
def test_every_flagfile_gives_a_valid_config(path):
    config = flags_lib.config_from_flagfile(path)
    with open(path) as f:
        assert f.readline().startswith("#"), "a flagfile starts with a comment giving its command"
    assert "python -m video_lstm.train --flagfile=configs/" + os.path.basename(path) in open(path).read()
    if os.path.basename(path).startswith("paper_"):
        assert config.units == 2048 and config.init_scale == 0.01 and config.optimizer == "sgd"
        assert (config.input_length, config.future_length) == (10, 10)


def test_overrides_follow_the_flagfile():
    config = flags_lib.config_from_flagfile(os.path.join(ROOT, "configs", "quickstart.flags"), "--units=32")
    assert config.units == 32


def test_paper_setting_matches_the_official_recipe():
    config = flags_lib.config_from_flagfile(os.path.join(ROOT, "configs", "paper_composite_conditional.flags"))
    assert config.conditional_reconstruction and config.conditional_future and config.feed == "teacher"
    assert (config.learning_rate, config.momentum, config.lr_decay_steps, config.lr_decay_rate) == (
        1e-4, 0.9, 10000, 0.9)
    assert config.weight_decay == 1e-4 and config.num_layers == 1
    two_layer = flags_lib.config_from_flagfile(
        os.path.join(ROOT, "configs", "paper_composite_conditional_2layer.flags"))
    assert two_layer.num_layers == 2


def test_unknown_flags_and_files_are_named(tmp_path):
    bad = tmp_path / "bad.flags"
    bad.write_text("--units=8\n--no_such_flag=1\n")
    with pytest.raises(Exception, match="no_such_flag"):
        flags_lib.config_from_flagfile(str(bad))
    with pytest.raises(FileNotFoundError, match="missing.flags"):
        flags_lib.config_from_flagfile(str(tmp_path / "missing.flags"))


def test_json_round_trip_and_unknown_keys():
    config = config_lib.Config(units=12, feed="scheduled")
    assert config_lib.Config.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"):
        config_lib.Config.from_json('{"colour": 1}', source="x.json")


def test_a_conv_layers_filters_only_matter_when_that_layer_is_conv():
    linear = config_lib.Config(readout_filters=16, reader_filters=32)
    config_lib.check_same_model(linear, config_lib.Config(readout_filters=64, reader_filters=8), "run")
    conv = config_lib.Config(readout="conv", readout_filters=16)
    config_lib.check_same_model(conv, config_lib.Config(readout="conv", readout_filters=16, reader_filters=8), "run")
    with pytest.raises(ValueError, match=r"--readout_filters: 16 in the log_dir, 32 now"):
        config_lib.check_same_model(conv, config_lib.Config(readout="conv", readout_filters=32), "run")
    with pytest.raises(ValueError, match=r"--readout: 'conv' in the log_dir, 'linear' now"):
        config_lib.check_same_model(conv, linear, "run")


@pytest.mark.parametrize("program", OTHER_PROGRAMS)
def test_flagfiles_of_the_other_programs_parse_with_their_own_flags(program):
    """Each program's flags on a FlagValues of its own: unknown flags and bad values fail here."""
    module = importlib.import_module(program)
    paths = [p for p in FLAGFILES if program_of(p) == program]
    assert paths, f"no flagfile runs {program}"
    for path in paths:
        flag_values = flags.FlagValues()
        module.define_flags(flag_values)
        flag_values(["check", "--flagfile=" + path])
        if program == "video_lstm.finetune":
            module.settings(flag_values)  # and the data, options and classifier they describe


def test_the_paper_settings_share_one_base_flagfile():
    base = os.path.join(ROOT, "configs", "shared", "paper.flags")
    shared = {line for line in open(base).read().splitlines() if line.startswith("--")}
    assert len(shared) >= 15
    for path in FLAGFILES:
        if os.path.basename(path).startswith("paper_"):
            lines = open(path).read().splitlines()
            assert "--flagfile=configs/shared/paper.flags" in lines, path
            assert not shared & set(lines), f"{path} repeats lines of the base flagfile"


@pytest.mark.parametrize("key, value, message", [
    ("units", 10**7, r"--units=10000000; expected <= 16384"),
    ("units", float("nan"), r"--units=NaN; expected an integer"),
    ("units", 8.5, r"--units=8.5; expected an integer"),
    ("units", True, r"--units=true; expected an integer"),
    ("units", "8", r'--units="8"; expected an integer'),
    ("units", 0, r"--units=0; expected >= 1"),
    ("learning_rate", float("inf"), r"--learning_rate=Infinity; expected a finite number"),
    ("learning_rate", -1, r"--learning_rate=-1; expected > 0"),
    ("jit_compile", 1, r"--jit_compile=1; expected true or false"),
    ("frame_size", None, r"--frame_size=null; expected an integer"),
    ("step_length", float("nan"), r"--step_length=NaN; expected a finite number"),
    ("dataset", 3, r"--dataset=3; expected one of"),
], ids=lambda v: str(v)[:12])
def test_a_record_read_back_is_checked_by_type_and_range(key, value, message):
    """config.json as read back: of its fields' types (a JSON true is no integer) and in the flags' ranges,
    every error naming the record first."""
    values = {**config_lib.make(units=8).to_dict(), key: value}
    with pytest.raises(ValueError, match=f"^run/config.json: {message}"):
        config_lib.Config.from_dict(values, source="run/config.json")


def test_the_flags_refuse_what_a_record_may_not_hold():
    """The same messages from the flags: infinite and NaN floats, too many units."""
    for flag, message in [("--learning_rate=inf", "--learning_rate=inf; expected a finite number"),
                          ("--init_scale=nan", "--init_scale=nan; expected a finite number"),
                          ("--units=10000000", "--units=10000000; expected <= 16384")]:
        flag_values = flags.FlagValues()
        flags_lib.define_flags(flag_values)
        flag_values(["prog", flag])
        with pytest.raises(ValueError, match=message):
            flags_lib.config_from_flags(flag_values)
    assert config_lib.make(units=8, learning_rate=1).learning_rate == 1  # an integer is a number
