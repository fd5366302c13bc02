"""The run directory (video_lstm.rundir): one owner of the log_dir's files and of model I/O."""

import os

import numpy as np
import pytest

from video_lstm import config as config_lib
from video_lstm import rundir

TINY = dict(units=4, input_length=2, future_length=1, frame_size=28, num_digits=1, digits="rendered",
            eval_sequences=2, jit_compile=False)


def tiny_run(log_dir, weights_only=False, **values):
    """A log_dir as training leaves it: config.json and a checkpoint at step 3 (no training)."""
    config = config_lib.make(**{**TINY, **values})
    rundir.record_config(str(log_dir), config)
    model = rundir.new_model(config)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(3)
    rundir.save(model, str(log_dir), 3, weights_only=weights_only)
    return config, model


def weights(model):
    return [np.asarray(w) for w in model.weights]


def test_a_log_dir_records_its_config_and_refuses_another_model(tmp_path):
    config, _ = tiny_run(tmp_path)
    assert rundir.is_run(str(tmp_path)) and rundir.load_config(str(tmp_path)) == config
    rundir.record_config(str(tmp_path), config_lib.replace(config, steps=7))  # same model: fine
    with pytest.raises(ValueError, match=r"--units: 4 in the log_dir, 5 now"):
        rundir.record_config(str(tmp_path), config_lib.replace(config, units=5))


def test_a_missing_config_or_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json not found: is .* a video_lstm training log_dir"):
        rundir.load_config(str(tmp_path))
    assert rundir.load_config_if_any(str(tmp_path)) is None and not rundir.is_run(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no checkpoint in .*checkpoints: train first"):
        rundir.load_latest(str(tmp_path))


def test_saving_keeps_the_newest_checkpoints(tmp_path):
    config, model = tiny_run(tmp_path)
    for step in (5, 9):
        rundir.save(model, str(tmp_path), step, keep=2)
    assert [step for step, _ in rundir.list_checkpoints(str(tmp_path))] == [5, 9]
    assert rundir.latest(str(tmp_path))[1].endswith("ckpt-00000009.keras")


@pytest.mark.parametrize("weights_only", [False, True], ids=["keras", "weights_h5"])
def test_loading_to_call_builds_no_optimizer_and_loading_to_train_restores_it(tmp_path, weights_only):
    _, model = tiny_run(tmp_path, weights_only)
    step, to_call = rundir.load_latest(str(tmp_path), compile=False)
    assert step == 3 and getattr(to_call, "optimizer", None) is None
    for a, b in zip(weights(model), weights(to_call)):
        np.testing.assert_array_equal(a, b)
    _, to_train = rundir.load_latest(str(tmp_path))
    assert int(np.asarray(to_train.optimizer.iterations)) == 3


def test_an_evaluation_reads_config_json_once(tmp_path, monkeypatch):
    from video_lstm.analysis import evaluation

    tiny_run(tmp_path, weights_only=True)
    reads = []
    original = config_lib.Config.from_dict.__func__
    monkeypatch.setattr(config_lib.Config, "from_dict",
                        classmethod(lambda cls, values, source="config": reads.append(source) or original(cls, values,
                                                                                                         source)))
    result = evaluation.evaluate_log_dir(str(tmp_path), eval_sequences=1)
    config_reads = [source for source in reads if source.endswith(rundir.CONFIG)]
    assert config_reads == [os.path.join(str(tmp_path), rundir.CONFIG)]
    assert result["written"] == "metrics_generated_1.json"  # another size than the run's own: beside it
    assert os.path.exists(rundir.path(str(tmp_path), result["written"]))


@pytest.mark.parametrize("damage", ["truncated", "empty", "random_bytes"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before_it(tmp_path, damage, caplog):
    _, model = tiny_run(tmp_path)
    newest = rundir.save(model, str(tmp_path), 8)
    data = open(newest, "rb").read()
    damaged = {"truncated": data[: len(data) // 2], "empty": b"",
               "random_bytes": np.random.default_rng(0).bytes(len(data))}[damage]
    open(newest, "wb").write(damaged)
    step, path, loaded = rundir.load_latest_with_path(str(tmp_path), compile=False)
    assert step == 3 and path.endswith("ckpt-00000003.keras")
    assert any(newest in record.getMessage() and "falling back" in record.getMessage() for record in caplog.records)
    for a, b in zip(weights(model), weights(loaded)):
        np.testing.assert_array_equal(a, b)
    # None loads: the newest one's error, naming its file.
    open(path, "wb").write(b"")
    with pytest.raises(rundir.DamagedCheckpointError, match=r"checkpoint .*ckpt-00000008.keras could not be loaded"):
        rundir.load_latest(str(tmp_path))


@pytest.mark.parametrize("text", [b"{nope", b"\xff\xfe\x00", b"[1, 2]"], ids=["json", "bytes", "list"])
def test_a_garbage_config_is_named(tmp_path, text):
    (tmp_path / rundir.CONFIG).write_bytes(text)
    with pytest.raises(ValueError, match=f"{tmp_path / rundir.CONFIG}"):
        rundir.load_config(str(tmp_path))


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "folder"])
def test_a_newest_checkpoint_that_is_no_regular_file_is_skipped_as_a_damaged_one(tmp_path, kind, caplog):
    """A FIFO (or /dev/zero linked) as the newest checkpoint would block every reader forever."""
    tiny_run(tmp_path)
    newest = os.path.join(rundir.checkpoint_dir(str(tmp_path)), "ckpt-00000009.keras")
    {"fifo": os.mkfifo, "dev_zero": lambda p: os.symlink("/dev/zero", p), "folder": os.mkdir}[kind](newest)
    step, path, _ = rundir.load_latest_with_path(str(tmp_path), compile=False)
    assert step == 3
    words = {"fifo": "a FIFO", "dev_zero": "a character device", "folder": "a folder"}[kind]
    assert any(f"{newest} could not be loaded: it is {words}, not a regular file; falling back" in r.getMessage()
               for r in caplog.records)


def test_a_config_json_that_is_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / rundir.CONFIG)
    with pytest.raises(ValueError, match=f"{tmp_path / rundir.CONFIG} is a FIFO, not a regular file"):
        rundir.load_config(str(tmp_path))


@pytest.mark.parametrize("weights_only", [False, True], ids=["keras", "weights_h5"])
def test_a_config_json_of_another_model_than_its_checkpoint_is_refused_naming_both(tmp_path, weights_only):
    import json

    tiny_run(tmp_path, weights_only=weights_only)
    values = json.loads((tmp_path / rundir.CONFIG).read_text())
    (tmp_path / rundir.CONFIG).write_text(json.dumps({**values, "units": 6}))
    with pytest.raises(rundir.CheckpointMismatchError,
                       match=rf"{tmp_path / rundir.CONFIG} does not describe the model of checkpoint .*ckpt-00000003"
                             rf".* \(--units=6 in .*config.json, 4 in the checkpoint\)"):
        rundir.load_latest(str(tmp_path), compile=False)


@pytest.mark.parametrize("text, message", [(b"[1]", "holds list, not a JSON object"), (b"{no", "is not JSON")])
def test_a_damaged_record_is_named(tmp_path, text, message):
    (tmp_path / rundir.DATA).write_bytes(text)
    with pytest.raises(ValueError, match=f"{tmp_path / rundir.DATA} {message}"):
        rundir.data_description(str(tmp_path))


def test_a_finetune_record_is_checked_when_read(tmp_path):
    config = config_lib.make(**TINY)
    record = {"config": config.to_dict(), "settings": {"units": 4}, "classes": ["a", "b"]}
    rundir.write_json(str(tmp_path), rundir.FINETUNE, record)
    assert rundir.read_finetune(str(tmp_path)) == record
    rundir.write_json(str(tmp_path), rundir.FINETUNE, {**record, "config": {**config.to_dict(), "units": True}})
    with pytest.raises(ValueError, match=r"finetune.json \(config\): --units=true; expected an integer"):
        rundir.read_finetune(str(tmp_path))
    rundir.write_json(str(tmp_path), rundir.FINETUNE, {**record, "classes": "ab"})
    with pytest.raises(ValueError, match=r'classes="ab"; expected a list of class names'):
        rundir.read_finetune(str(tmp_path))
