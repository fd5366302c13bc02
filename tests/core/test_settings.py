"""One settings schema: shared parts, flags generated from dataclasses, the same optimizer for
the fine-tuning command and the few-labels study."""

import dataclasses

import helpers
import pytest
from absl import flags

from pipelines import percept_extraction
from video_lstm import config as config_lib
from video_lstm import finetune
from video_lstm.core import cli, settings
from video_lstm.experiments import few_labels
from video_lstm.experiments import study as study_lib


def parsed(define, *argv):
    flag_values = flags.FlagValues()
    define(flag_values)
    flag_values(["program", *argv])
    return flag_values


@pytest.mark.parametrize("cls", [config_lib.FinetuneSettings, config_lib.FinetuneOptions, study_lib.StudySettings,
                                 percept_extraction.ExtractOptions], ids=lambda cls: cls.__name__)
def test_generated_flags_default_to_the_dataclass_defaults(cls):
    helps = {**config_lib.FINETUNE_HELP, **settings.HELP, **settings.FEWSHOT_HELP, **study_lib.HELP,
             **percept_extraction.HELP}
    flag_values = parsed(lambda fv: cli.define_dataclass_flags(cls, fv, helps))
    values = cli.dataclass_values(cls, flag_values)
    for field in dataclasses.fields(cls):
        if field.default is not dataclasses.MISSING:
            assert values[field.name] == field.default, field.name


def test_a_config_field_is_written_once_and_shared_by_both_settings():
    for part in (settings.EncoderSettings, settings.OptimizerSettings, settings.Bookkeeping):
        for field in dataclasses.fields(part):
            default = field.default
            assert dataclasses.fields(config_lib.Config)[[f.name for f in dataclasses.fields(config_lib.Config)].index(
                field.name)].default == default
            assert getattr(config_lib.FinetuneSettings(), field.name) == default


def test_a_bad_enum_value_is_refused_when_the_flags_are_parsed():
    with pytest.raises(flags.IllegalFlagValueError, match="missing"):
        parsed(finetune.define_flags, "--missing=sometimes")
    with pytest.raises(flags.IllegalFlagValueError, match="optimizer"):
        parsed(finetune.define_flags, "--optimizer=lion")


@pytest.mark.parametrize("value, count", [("all", None), ("0", None), ("7", 7)])
def test_labels_per_class_is_a_count_or_all(value, count):
    assert config_lib.label_count(value) == count  # "0" as the flag once spelled all


@pytest.mark.parametrize("value, count", [("all", None), (None, None), ("7", 7), (7, 7)])
def test_all_labels_has_one_representation_from_flag_to_record(value, count):
    assert settings.parse_count(value, "shots") == count
    assert settings.count_text(count) == ("all" if count is None else count)
    assert settings.FewShotSettings(shots=("10", str(value) if value is not None else "all", "5")).shot_counts() == (
        sorted({5, 10} | {count}, key=lambda c: (c is None, c or 0)))


def test_a_bad_label_count_is_named():
    with pytest.raises(ValueError, match=r"--labels_per_class='some'; expected a count per class >= 1 or 'all'"):
        config_lib.label_count("some")


def test_the_finetune_command_and_the_study_build_the_same_optimizer(tmp_path):
    from video_lstm.optimizers import make_optimizer

    command = parsed(finetune.define_flags, "--flagfile=configs/finetune_moving_mnist.flags", "--learning_rate=0.003",
                     "--batch_size=16", "--steps=200", "--output_dropout=0.4")
    _, _, command_settings = finetune.settings(command)
    study = parsed(few_labels.define_flags, f"--log_dir={tmp_path}", "--finetune_learning_rate=0.003",
                   "--finetune_batch_size=16", "--finetune_steps=200", "--output_dropout=0.4")
    _, study_settings = few_labels.settings(study)
    shared = [f.name for f in dataclasses.fields(settings.OptimizerSettings)]
    assert {n: getattr(command_settings, n) for n in shared} == {n: getattr(study_settings, n) for n in shared}
    assert command_settings.output_dropout == study_settings.output_dropout == 0.4
    assert command_settings.lr_decay_rate == study_settings.lr_decay_rate == settings.OptimizerSettings.lr_decay_rate
    one, other = make_optimizer(command_settings), make_optimizer(study_settings)
    assert type(one) is type(other)
    unnamed = lambda optimizer: {k: v for k, v in optimizer.get_config().items() if k != "name"}  # noqa: E731
    assert unnamed(one) == unnamed(other)


def test_no_entry_point_writes_a_flag_by_hand():
    """Every flag comes from a dataclass (cli.define_dataclass_flags); only the generator and
    --log_dir (absl.logging's own flag) call absl's DEFINE functions."""
    import glob
    import os
    import re

    root = helpers.ROOT
    found = {}
    for package in ("video_lstm", "pipelines", "export"):
        for path in glob.glob(os.path.join(root, package, "**", "*.py"), recursive=True):
            if path.endswith(os.path.join("core", "cli.py")):
                continue
            calls = re.findall(r"flags\.DEFINE_\w+\(", open(path).read())
            if calls:
                found[os.path.relpath(path, root)] = len(calls)
    assert found == {}
