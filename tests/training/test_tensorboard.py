"""TensorBoard as the place to look (issue 32): eval/ curves, HParams sessions, labelled pictures,
embeddings in the projector. One tiny training run (module fixture) serves the run's checks."""

import glob
import inspect
import json
import os

import numpy as np
import pytest
from helpers import events, scalar_steps, session_hparams

from video_lstm import config as config_lib
from video_lstm.analysis import figures
from video_lstm.training import hparams, summaries

STEPS = 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(log_dir, metrics) of a tiny composite run evaluated every 2 steps on 4 held-out sequences."""
    from video_lstm.training import loop

    config = config_lib.make(units=8, frame_size=32, num_digits=1, digits="rendered", input_length=2,
                             future_length=2, batch_size=2, steps=STEPS, checkpoint_every=STEPS, log_every=3,
                             image_every=3, eval_sequences=6, eval_every=2, eval_every_sequences=4,
                             jit_compile=False)
    log_dir = str(tmp_path_factory.mktemp("tb") / "run")
    return log_dir, loop.train_and_evaluate(config, log_dir, verbose=0)


def test_eval_curves_at_several_steps_end_at_the_final_evaluation(run):
    log_dir, metrics = run
    train = events(os.path.join(log_dir, "train"))
    with open(os.path.join(log_dir, "metrics.json")) as f:
        recorded = json.load(f)
    for name in ("cross_entropy_per_frame", "mse_per_frame", "mse_per_pixel", "ssim"):
        curve = scalar_steps(train, f"eval/{name}")
        assert sorted(curve) == [2, 4, STEPS], (name, curve)  # every --eval_every, the last step the final's
        assert curve[STEPS] == pytest.approx(recorded[name], rel=1e-6)
        assert curve[STEPS] == pytest.approx(metrics[name], rel=1e-6)
    reconstruction = scalar_steps(train, "eval/reconstruction/cross_entropy_per_frame")
    assert reconstruction[STEPS] == pytest.approx(recorded["reconstruction"]["cross_entropy_per_frame"], rel=1e-6)
    by_frame = scalar_steps(train, "eval_by_frame/future_cross_entropy")  # x: the frame predicted
    assert by_frame == pytest.approx({1: recorded["by_frame"]["cross_entropy"][0],
                                      2: recorded["by_frame"]["cross_entropy"][1]}, rel=1e-6)
    images = train.Tags()["tensors"] + train.Tags()["images"]
    assert "samples" in images and "rollout" in images


def test_the_run_has_an_hparams_session_of_its_settings_and_final_figures(run):
    log_dir, metrics = run
    settings = session_hparams(os.path.join(log_dir, hparams.FOLDER))
    assert settings["units"] == 8 and settings["eval_every"] == 2 and settings["model"] == "composite"
    final = events(os.path.join(log_dir, hparams.FOLDER))
    assert scalar_steps(final, "eval/ssim") == pytest.approx({STEPS: metrics["ssim"]})


def test_evaluate_writes_its_own_folder_named_by_its_test_set(run):
    from video_lstm import evaluate as evaluate_entry
    from video_lstm.core import cli

    log_dir, _ = run
    cli.call(evaluate_entry, [f"--log_dir={log_dir}", "--eval_sequences=3"])
    with open(os.path.join(log_dir, "metrics_generated_3.json")) as f:
        result = json.load(f)
    folder = os.path.join(log_dir, "eval_generated_3")
    assert scalar_steps(events(folder), "eval/mse_per_frame") == pytest.approx({STEPS: result["mse_per_frame"]})


def test_the_probe_command_writes_an_hparams_session(run):
    from video_lstm import probe as probe_entry
    from video_lstm.core import cli

    log_dir, _ = run
    cli.call(probe_entry, [f"--log_dir={log_dir}", "--shots=1", "--seeds=1", "--pool_size=100", "--test_size=20",
                           "--baselines=", "--batch_size=20"])
    folders = glob.glob(os.path.join(log_dir, "hparams_probe*"))
    assert len(folders) == 1
    settings = session_hparams(folders[0])
    assert settings["units"] == 8 and settings["probe.shots"] == '["1"]'
    assert any(tag.startswith("probe/") for tag in events(folders[0]).Tags()["tensors"]
               + events(folders[0]).Tags()["scalars"])


@pytest.mark.parametrize("kind", ["tensorflow", "tensorboard package"])
def test_hparams_record_writes_a_session_with_and_without_tensorflow(tmp_path, kind, monkeypatch):
    if kind != "tensorflow":
        monkeypatch.setattr(summaries, "writer", lambda directory, background=False: summaries.EventWriter(directory))
    folder = str(tmp_path / "hparams")
    hparams.record(folder, {"init": "scratch", "lr": 0.5, "steps": 3, "nested": {"a": None}, "shots": ("1", "all")},
                   {"accuracy/clip_top1": 0.75, "skipped": "text"}, step=3)
    assert session_hparams(folder) == {"init": "scratch", "lr": 0.5, "steps": 3.0, "nested.a": "none",
                                       "shots": '["1", "all"]'}
    assert scalar_steps(events(folder), "accuracy/clip_top1") == {3: 0.75}


def test_finetune_ablation_and_study_record_their_hparams_through_the_one_function():
    """They call `hparams.record` (tested above) with their settings and figures; a run of each is
    minutes of tests, so this reads that they do (what the ablation's and the study's sessions show
    in the dashboard: tests/analysis/test_probe.py and tests/classify/test_classify.py)."""
    from video_lstm.classify import run as classify_run
    from video_lstm.experiments import ablation, study

    assert "hparams.record(" in inspect.getsource(classify_run.FinetuneRun.run_init)
    assert "hparams.record(" in inspect.getsource(ablation.record_hparams)
    assert "record_hparams(" in inspect.getsource(ablation.run_variant)
    assert "hparams.record(" in inspect.getsource(study.Study.record_hparams)
    assert "record_hparams(" in inspect.getsource(study.Study.add_row)


def test_eval_every_is_a_bookkeeping_interval_a_resume_may_change(tmp_path):
    saved = config_lib.make(units=8)
    changes = config_lib.resume_changes(saved, config_lib.replace(saved, eval_every=7, eval_every_sequences=9),
                                        str(tmp_path))
    assert changes == {"eval_every": (500, 7), "eval_every_sequences": (300, 9)}
    with pytest.raises(ValueError, match="eval_every"):
        config_lib.make(eval_every=-1)


def test_sample_rows_are_labelled_at_their_left():
    strip = figures.sequence_strip([np.full((3, 16, 16, 1), 0.5)] * 4)
    labelled = figures.label_rows(strip, figures.STRIP_LABELS, 16)
    assert labelled.shape == (strip.shape[0], strip.shape[1] + figures.LABEL_WIDTH, 1)
    for row in range(4):  # text in every row's band
        assert labelled[row * 18:row * 18 + 16, :figures.LABEL_WIDTH].max() > 0
    rollout = figures.rollout_strip(np.zeros((2, 8, 8, 1)), np.ones((6, 8, 8, 1)), 2)
    assert rollout.shape[0] == 4 * 10  # the input and three rows of two predicted frames


def test_embed_writes_what_the_projector_reads(tmp_path):
    from google.protobuf import text_format
    from helpers import call_embed as call
    from helpers import untrained_run, write_folder
    from tensorboard.plugins.projector import projector_config_pb2

    from video_lstm import embedding

    videos = write_folder(tmp_path / "videos", per_class=2)
    log_dir = untrained_run(str(tmp_path / "run"), dataset="folder", video_dir=videos, frame_size=16, color="grey",
                            units=4, input_length=3, future_length=2, seed=0)
    outs = []
    for name in ("a", "b"):
        out = str(tmp_path / name)
        call(f"--pretrained={log_dir}", f"--video_dir={videos}", f"--out={out}")
        outs.append(out)
    out = outs[0]
    with open(os.path.join(out, embedding.PROJECTOR_CONFIG)) as f:
        config = text_format.Parse(f.read(), projector_config_pb2.ProjectorConfig())
    (embedded,) = config.embeddings
    stored = embedding.load_embeddings(out)
    count, dim = stored["pooled"].shape
    assert list(embedded.tensor_shape) == [count, dim] and count == 4
    tensors = np.loadtxt(os.path.join(out, embedded.tensor_path), delimiter="\t", ndmin=2)
    np.testing.assert_allclose(tensors, stored["pooled"], rtol=1e-6)
    with open(os.path.join(out, embedded.metadata_path)) as f:
        lines = f.read().splitlines()
    assert lines[0] == "video\tclass" and [line.split("\t")[1] for line in lines[1:]] == ["A", "A", "B", "B"]
    sprite = figures_read(os.path.join(out, embedded.sprite.image_path))
    assert sprite.shape[:2] == (2 * embedding.SPRITE_CELL, 2 * embedding.SPRITE_CELL) and sprite.max() > 0
    assert list(embedded.sprite.single_image_dim) == [embedding.SPRITE_CELL] * 2
    for name in (embedding.PROJECTOR_CONFIG, embedding.TENSORS, embedding.METADATA, embedding.SPRITE):
        with open(os.path.join(outs[0], name), "rb") as a, open(os.path.join(outs[1], name), "rb") as b:
            assert a.read() == b.read(), name  # byte-reproducible


def figures_read(path):
    import cv2

    return cv2.imread(path, cv2.IMREAD_UNCHANGED)
