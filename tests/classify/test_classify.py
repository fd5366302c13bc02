"""The classifier of issue 13: pretrained encoder, fine-tuning, metrics, labelled tasks, the
few-labels study and the exported classify signature. Tiny shapes throughout."""

import dataclasses
import json
import os

import numpy as np
import pytest
from helpers import generated_ucf, hparams_dashboard, tree_hashes

from pipelines import action_datasets
from pipelines import labelled_moving_mnist as lmm
from video_lstm.classify import accuracy, pretrained, trainer
from video_lstm.classify import data as data_lib
from video_lstm.classify.classifier import clip_probabilities
from video_lstm.config import FinetuneOptions, FinetuneSettings, make

TINY = dict(dataset="moving_mnist", digits="rendered", num_digits=1, frame_size=28, units=4, input_length=3,
            future_length=2, batch_size=2, steps=2, checkpoint_every=2, jit_compile=False, seed=0)


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory):
    """(log_dir, SavedModel version dir) of a two-step composite on one-digit 28x28 Moving MNIST."""
    from export.encoder import export_log_dir
    from video_lstm.training import loop

    base = tmp_path_factory.mktemp("pretrained")
    log_dir = str(base / "composite")
    loop.train(make(**TINY), log_dir, verbose=0)
    return log_dir, export_log_dir(log_dir, str(base / "exported"), model_name="encoder")


def settings(**overrides):
    values = dict(units=4, batch_size=4, steps=3, jit_compile=False, learning_rate=0.05, output_dropout=0.0)
    values.update(overrides)
    return FinetuneSettings(**values)


def tiny_task(task="appearance", pool=40, test=8):
    return data_lib.moving_mnist_task(task, pool, test, num_frames=3, frame_size=28, digits="rendered")


def weights(layer):
    return [np.array(w) for w in layer.get_weights()]


# -- the pretrained encoder ---------------------------------------------------


def test_the_classifier_starts_from_exactly_the_pretrained_encoder_from_a_log_dir_and_a_saved_model(pretrained_run):
    from video_lstm import rundir

    log_dir, version_dir = pretrained_run
    trained = weights(rundir.load_latest(log_dir)[1].encoder)
    for path in (log_dir, version_dir):
        encoder, frame_shape, info = pretrained.load_encoder(path)
        assert frame_shape == (28, 28, 1) and info["pretrained_kind"] in ("log_dir", "saved_model")
        model = trainer.build("pretrained", 10, frame_shape, settings(), encoder)
        assert len(weights(model.encoder)) == len(trained)
        for got, want in zip(weights(model.encoder), trained):
            np.testing.assert_array_equal(got, want)


def test_frozen_encoder_weights_stay_and_a_trained_encoder_moves_at_its_own_rate(pretrained_run):
    encoder = pretrained.load_encoder(pretrained_run[0])[0]
    data = tiny_task()
    before = weights(encoder)
    frozen = trainer.build("pretrained", 10, data.frame_shape, settings(), encoder)
    head_before = weights(frozen.head)
    frozen.fit(data.train_dataset(4, 0), epochs=1, steps_per_epoch=3, verbose=0)
    for got, want in zip(weights(frozen.encoder), before):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(weights(frozen.head), head_before))
    # Trained at its own learning rate: one SGD step moves the encoder by exactly that rate.
    moved = {}
    for rate in (0.0, 1e-9, 1e-2):
        model = trainer.build("pretrained", 10, data.frame_shape, settings(
            freeze_encoder=False, optimizer="sgd", momentum=0.0, encoder_learning_rate=rate or 0.05), encoder)
        model.fit(data.train_dataset(4, 0), epochs=1, steps_per_epoch=1, verbose=0)
        moved[rate] = sum(float(np.abs(a - b).sum()) for a, b in zip(weights(model.encoder), before))
    assert moved[1e-9] < 1e-5 < moved[1e-2] < moved[0.0]
    np.testing.assert_allclose(moved[1e-2] / moved[0.0], 1e-2 / 0.05, rtol=0.05)  # float32 rounding


# -- clip and video averaging ----------------------------------------------------


def test_clip_and_video_averaging_on_a_hand_made_case():
    # Two steps, three classes: step softmaxes (1, 0, 0)-ish and (0, 1, 0)-ish average per clip.
    big = 50.0
    logits = np.array([[[big, 0, 0], [0, big, 0]],      # clip 0: half class 0, half class 1
                       [[0, 0, big], [0, 0, big]],      # clip 1: class 2
                       [[0, big, 0], [0, big, 0]]], np.float32)  # clip 2: class 1
    clips = np.asarray(clip_probabilities(logits))
    np.testing.assert_allclose(clips, [[0.5, 0.5, 0], [0, 0, 1], [0, 1, 0]], atol=1e-6)
    video = np.array([0, 0, 1])  # video 0 = clips 0 and 1, video 1 = clip 2
    pooled = accuracy.pool_videos(clips, video)
    np.testing.assert_allclose(pooled, [[0.25, 0.25, 0.5], [0, 1, 0]], atol=1e-6)
    result = accuracy.summarize(clips, video, np.array([2, 0]), ["a", "b", "c"])
    assert result["clip_top1"] == pytest.approx(1 / 3)  # only clip 1 (class 2) is right; clip 0 ties to class 0
    assert result["video_top1"] == 0.5 and result["video_top5"] == 1.0
    assert result["per_class_accuracy"] == {"a": 0.0, "b": None, "c": 1.0}
    assert result["confusion_matrix"] == [[0, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert accuracy.top_k_accuracy(pooled, np.array([0, 2]), k=2) == 0.5
    with pytest.raises(ValueError, match="video 1 has no clip"):
        accuracy.pool_videos(clips, np.array([0, 0, 2]))


def test_confusion_png_is_written(tmp_path):
    path = accuracy.write_confusion_png(str(tmp_path / "c.png"), [[3, 1], [0, 2]], ["x", "y"])
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


# -- labelled subsets -------------------------------------------------------------


def test_seeded_label_subsets_are_stable_balanced_and_nested():
    labels = np.repeat(np.arange(4), [7, 9, 5, 8])
    subset = action_datasets.balanced_indices(labels, 5, seed=3)
    assert subset == action_datasets.balanced_indices(labels, 5, seed=3)
    assert subset != action_datasets.balanced_indices(labels, 5, seed=4)
    assert np.bincount(labels[subset]).tolist() == [5, 5, 5, 5]
    assert set(action_datasets.balanced_indices(labels, 2, seed=3)) <= set(subset)
    with pytest.raises(ValueError, match=r"class 'c2' \(label 2\) has 5 items; per_class=6"):
        action_datasets.balanced_indices(labels, 6, seed=0, class_names=["c0", "c1", "c2", "c3"])
    with pytest.raises(ValueError, match=r"class '4' \(label 4\) has 0 items"):  # an empty class
        action_datasets.balanced_indices(labels, 1, seed=0, num_classes=5)
    data = tiny_task(pool=60)
    small = data.subset(2, seed=1)
    assert np.bincount(small.labels, minlength=10).tolist() == [2] * 10
    np.testing.assert_array_equal(small.clips, data.subset(2, seed=1).clips)


# -- the labelled Moving MNIST tasks --------------------------------------------------


def test_direction_bins():
    angles = np.deg2rad([0, 44, 46, 90, 180, 270, 337, 359])
    assert lmm.direction_bin(angles).tolist() == [0, 1, 1, 2, 4, 6, 7, 0]
    assert [lmm.DIRECTIONS[b] for b in lmm.direction_bin(np.deg2rad([0, 90, 180, 270]))] == [
        "right", "down", "left", "up"]


def test_appearance_labels_name_the_digit_on_screen():
    # Ten "digits", each a square of its own grey level; bank labels in a scrambled order.
    images = np.zeros((10, 28, 28), np.uint8)
    for i in range(10):
        images[i, 4:24, 4:24] = 20 * (i + 1)
    bank_labels = np.array([3, 7, 0, 9, 1, 5, 2, 8, 6, 4])
    clips, labels = lmm.labelled_batch(images, bank_labels, "appearance", [5, 0], 32, 4, frame_size=40)
    shown = clips.reshape(32, -1).max(axis=1) // 20 - 1  # which square is on screen
    np.testing.assert_array_equal(labels, bank_labels[shown])


def test_motion_labels_follow_the_digit():
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, 10:18, 10:18] = 255
    clips, labels = lmm.labelled_batch(images, np.zeros(1), "motion", [7, 0], 64, 2, frame_size=64,
                                       step_length=0.15)
    rows, cols = np.mgrid[:64, :64]
    mass = clips[..., 0].astype(float)
    centre = np.stack([(mass * rows).sum((2, 3)), (mass * cols).sum((2, 3))], -1) / mass.sum((2, 3))[..., None]
    step = centre[:, 1] - centre[:, 0]
    unit = (centre[:, 0] - 14) / 36  # top-left corner in units of the free range
    moving = np.all((unit > 0.16) & (unit < 0.84), axis=1)  # far from the walls: no bounce in the first step
    direction = np.arctan2(step[moving, 0], step[moving, 1])
    centre_of_bin = labels[moving] * np.pi / 4
    error = np.abs((direction - centre_of_bin + np.pi) % (2 * np.pi) - np.pi)
    assert moving.sum() > 15 and np.all(error < np.deg2rad(22.5 + 12))  # +12: positions rounded to pixels
    assert len(set(labels.tolist())) == 8


# -- bad input --------------------------------------------------------------------------


def test_bad_input_is_named_at_start_up(pretrained_run, tmp_path):
    from video_lstm.classify import run as run_lib

    config = make(**{**TINY, "frame_size": 32, "model": "autoencoder"})
    options = FinetuneOptions(pretrained=pretrained_run[1], inits=("pretrained",), task="appearance",
                              labels_per_class="all", stride=16, pool_size=20, test_size=4)
    with pytest.raises(ValueError, match=r"--pretrained=.* reads inputs of shape \(28, 28, 1\).*\(32, 32, 1\)"):
        run_lib.FinetuneRun(config, options, settings(), str(tmp_path))
    with pytest.raises(FileNotFoundError, match="--pretrained='nowhere' does not exist"):
        pretrained.load_encoder("nowhere")
    data = tiny_task()
    with pytest.raises(ValueError, match="label 12, outside the class list of 10"):
        data_lib.ArrayData(data.classes, data.clips, np.full(len(data.labels), 12), data.test)
    with pytest.raises(ValueError, match=r"per_class=50 needs that many"):
        data.subset(50, seed=0)
    config = make(**{**TINY, "model": "autoencoder", "num_digits": 2})
    with pytest.raises(ValueError, match="one digit per sequence; got --num_digits=2"):
        run_lib.FinetuneRun(config, FinetuneOptions(inits=("scratch",)), settings(), str(tmp_path))


# -- the study --------------------------------------------------------------------------


STUDY_SETTINGS = {"task", "labels_per_class", "init", "seed", "pool_size", "test_size", "head_steps"}


def assert_study_sessions(log_dir, rows):
    """TensorBoard's HParams dashboard over a study's --log_dir: a session per row of few_labels.json
    (`<log_dir>/hparams/<task>_<init>_<labels>_<seed>`), its task, init, labels per class, seed and
    head beside its accuracy, which the table sorts by (highest first)."""
    from video_lstm.experiments import study as few_labels

    columns, sessions = hparams_dashboard(log_dir, "accuracy/clip_top1")
    assert columns["metrics"] == {"accuracy/clip_top1"}
    assert STUDY_SETTINGS | {"head"} <= columns["hparams"]
    found = {}
    for session in sessions:
        settings = session["hparams"]
        key = (settings["task"], int(settings["labels_per_class"]), settings["init"], int(settings["seed"]))
        task, count, init, seed = key
        assert session["run"] == os.path.join("hparams", f"{task}_{init}_{count}_{seed}") and key not in found
        assert settings.get("head") == ("probe" if settings["init"] in few_labels.ENCODER_INITS else None)
        found[key] = session["metrics"]["accuracy/clip_top1"]
    expected = {(r["task"], r["labels_per_class"], r["init"], r["seed"]): r["accuracy"] for r in rows}
    assert found == pytest.approx(expected, abs=1e-7)
    accuracies = [session["metrics"]["accuracy/clip_top1"] for session in sessions]
    assert accuracies == sorted(accuracies, reverse=True)


def test_every_row_of_the_study_is_an_hparams_session_the_dashboard_sorts_by_accuracy(tmp_path):
    """`Study.add_row` (what `run_task` calls after each row's run; a run of a tiny study: the large
    test below) records the row's HParams session. No training: made-up accuracies."""
    from video_lstm.experiments import study as few_labels

    inits, counts, seeds = few_labels.INITS, [1, 5], [0, 1]
    study = few_labels.Study(str(tmp_path), make(**TINY), settings(), ["motion"], counts, seeds, inits, 60, 6, 2)
    keys = [(init, count, seed) for init in inits for count in counts for seed in seeds]
    accuracies = np.random.default_rng(0).permutation(len(keys)) / len(keys)  # neither the rows' order nor its reverse
    for (init, count, seed), made_up in zip(keys, accuracies):
        study.add_row("motion", count, init, seed, made_up)
    rows = json.load(open(tmp_path / "few_labels.json"))
    assert len(rows) == len(keys) and {row["init"] for row in rows} == set(inits)
    assert_study_sessions(str(tmp_path), rows)
    _, sessions = hparams_dashboard(str(tmp_path), "accuracy/clip_top1")
    best = max(zip(accuracies, keys))[1]
    shown = {k: sessions[0]["hparams"][k] for k in ("init", "labels_per_class", "seed", "pool_size", "test_size")}
    assert shown == {"init": best[0], "labels_per_class": best[1], "seed": best[2], "pool_size": 60, "test_size": 6}


@pytest.mark.large  # 14 s: a whole (tiny) study
def test_a_tiny_study_writes_the_table_the_plot_and_every_row(tmp_path):
    from video_lstm import config as config_lib
    from video_lstm.experiments import study as few_labels

    pretrain = config_lib.replace(make(**TINY), checkpoint_every=1)
    study = few_labels.Study(str(tmp_path), pretrain, settings(steps=2), ["appearance", "motion"], [1, None],
                             [0], few_labels.INITS, pool_size=60, test_size=6, head_steps=2)
    table = study.run()
    rows = json.load(open(tmp_path / "few_labels.json"))
    assert len(rows) == 2 * 2 * len(few_labels.INITS)
    keys = {"task", "labels_per_class", "init", "seed", "accuracy"}
    assert all(set(row) == (keys | {"head"} if row["init"] in few_labels.ENCODER_INITS else keys) for row in rows)
    assert {row.get("head") for row in rows if row["init"] in few_labels.ENCODER_INITS} == {"probe"}
    assert {row["init"] for row in rows} == {"scratch", "random", "composite", "autoencoder", "future", "single_frame"}
    assert all(0 <= row["accuracy"] <= 1 for row in rows)
    assert "**appearance**" in table and "| future |" in table and "±" in table
    assert (tmp_path / "few_labels.md").read_text() == table
    assert open(tmp_path / "few_labels.png", "rb").read(4) == b"\x89PNG"
    assert json.load(open(tmp_path / "study.json"))["timings_s"]["total_s"] > 0
    assert_study_sessions(str(tmp_path), rows)
    # A restarted study skips its finished rows (and reuses the pretraining).
    again = few_labels.Study(str(tmp_path), pretrain, settings(steps=2), ["appearance", "motion"], [1, None],
                             [0], few_labels.INITS, pool_size=60, test_size=6, head_steps=2)
    assert again.run() == table
    # Its rows were read by the probe: a restart with the softmax head is refused, not mixed in.
    with pytest.raises(ValueError, match="--frozen_head=probe; this study has --frozen_head=softmax"):
        few_labels.Study(str(tmp_path), pretrain, settings(steps=2), ["motion"], [1], [0], few_labels.INITS,
                         pool_size=60, test_size=6, head_steps=2, frozen_head="softmax")


# -- the exported classifier ------------------------------------------------------------------


def test_the_exported_classifier_matches_keras(pretrained_run, tmp_path):
    from export.classifier import export_classifier
    from export.verify import verify
    from video_lstm.classify import run as run_lib

    config = make(**{**TINY, "model": "autoencoder", "checkpoint_every": 1})
    options = FinetuneOptions(pretrained=pretrained_run[1], inits=("pretrained",), task="motion", labels_per_class="1",
                              stride=16, pool_size=60, test_size=6)
    summary = run_lib.FinetuneRun(config, options, settings(steps=2, checkpoint_every=1), str(tmp_path)).run(verbose=0)
    assert set(summary["pretrained"]) >= {"clip_top1", "clip_top5", "video_top1", "video_top5", "per_class_accuracy"}
    assert os.path.exists(tmp_path / "pretrained" / "confusion.png")
    version = export_classifier(str(tmp_path / "pretrained"), str(tmp_path / "exported"))
    lines = []
    assert verify(version, out=lines.append), "\n".join(lines)
    assert any("top_classes" in line for line in lines)


# -- real video ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory):
    """UCF-101-named class folders of generated videos (100 frames), with split 1 lists."""
    classes = {"Basketball": ["v_Basketball_g01_c02", "v_Basketball_g07_c04"],
               "Fencing": ["v_Fencing_g01_c06", "v_Fencing_g02_c01.mp4"]}
    return generated_ucf(tmp_path_factory.mktemp("ucf"), classes, {"v_Basketball_g07_c04", "v_Fencing_g02_c01.mp4"},
                         num_frames=100)


def test_finetune_on_ucf101_videos_pools_clips_per_video_and_resumes(video_dir, tmp_path):
    from video_lstm.classify import run as run_lib

    values = dict(dataset="ucf101", video_dir=video_dir, frame_size=8, color="grey", model="autoencoder", units=4,
                  input_length=4, batch_size=2, steps=2, checkpoint_every=1, jit_compile=False, seed=0)
    options = FinetuneOptions(inits=("scratch", "single_frame"), labels_per_class="1", stride=40)
    run = run_lib.FinetuneRun(make(**values), options, settings(steps=2, checkpoint_every=1), str(tmp_path))
    assert run.data.classes == ["Basketball", "Fencing"] and len(run.data.test.labels) == 2
    assert len(run.data.test.video) > 2  # several clips per test video, pooled
    clips, labels = run.data.batch(0, 2, seed=0)
    assert clips.shape == (2, 4, 8, 8, 1) and clips.dtype == np.uint8 and set(labels) <= {0, 1}
    summary = run.run(verbose=0)
    metrics_json = json.load(open(tmp_path / "scratch" / "metrics.json"))
    assert metrics_json["videos"] == 2 and metrics_json["clips"] == len(run.data.test.video)
    assert set(summary) == {"scratch", "single_frame"}
    # Resumed: three steps continue from the checkpoint at step 2.
    resumed = run_lib.FinetuneRun(make(**{**values, "steps": 3}), options, settings(steps=3, checkpoint_every=1),
                                  str(tmp_path)).run(verbose=0)
    assert resumed["scratch"]["step"] == 3


def test_a_finetune_killed_after_any_checkpoint_resumes_to_the_uninterrupted_weights_and_metrics(tmp_path):
    """Issue 29: dropout drew its masks from Keras seed generators, whose state no checkpoint
    holds, so a classifier resumed from checkpoint k dropped the units of steps 0, 1, ... where an
    uninterrupted run dropped those of k, k + 1, ...; now each step's masks come from (seed, step).
    A kill after checkpoint k: the uninterrupted run's log_dir less every checkpoint after k and the
    results, rerun. Weights, optimizer state and metrics.json come out equal to the bit."""
    import shutil

    from video_lstm import rundir
    from video_lstm.classify import run as run_lib

    config = make(**{**TINY, "model": "autoencoder", "steps": 6, "keep_checkpoints": 10})
    options = FinetuneOptions(inits=("scratch",), pool_size=12, test_size=4)
    tuned = settings(steps=6, checkpoint_every=2, keep_checkpoints=10, input_dropout=0.25, output_dropout=0.5)

    def finetune(log_dir):
        run_lib.FinetuneRun(config, options, tuned, log_dir).run(verbose=0)
        step, model = rundir.load_latest(os.path.join(log_dir, "scratch"))
        assert step == 6
        with open(os.path.join(log_dir, "scratch", "metrics.json"), "rb") as f:
            return weights(model) + [np.array(v) for v in model.optimizer.variables], f.read()

    straight = str(tmp_path / "straight")
    expected, expected_metrics = finetune(straight)
    for kill_after in (2, 4):
        killed = str(tmp_path / f"killed_after_{kill_after}")
        shutil.copytree(straight, killed)
        for step, checkpoint in rundir.list_checkpoints(os.path.join(killed, "scratch")):
            if step > kill_after:
                os.remove(checkpoint)
        for name in ("scratch/metrics.json", "scratch/confusion.png", "summary.json"):
            os.remove(os.path.join(killed, name))
        resumed, metrics = finetune(killed)
        assert metrics == expected_metrics, kill_after
        assert len(resumed) == len(expected)
        for a, b in zip(expected, resumed):
            np.testing.assert_array_equal(a, b, err_msg=f"killed after checkpoint {kill_after}")


def test_a_split_naming_absent_videos_is_refused(video_dir, tmp_path):
    import shutil

    from video_lstm.classify import run as run_lib

    broken = tmp_path / "ucf"
    shutil.copytree(video_dir, broken, symlinks=True)
    with open(broken / "ucfTrainTestlist" / "trainlist01.txt", "a") as f:
        f.write("Fencing/v_Fencing_g99_c01.avi 2\r\n")
    config = make(dataset="ucf101", video_dir=str(broken), frame_size=8, model="autoencoder", input_length=4)
    with pytest.raises(FileNotFoundError, match="v_Fencing_g99_c01.avi"):
        run_lib.FinetuneRun(config, FinetuneOptions(inits=("scratch",)), settings(), str(tmp_path / "run"))


# -- cached percepts ------------------------------------------------------------------------------


def test_finetune_on_cached_percepts_and_its_classify_signature_takes_percepts(tmp_path):
    from helpers import DIM, write_cache

    from export.classifier import export_classifier
    from export.verify import verify
    from video_lstm.classify import run as run_lib

    train = write_cache(str(tmp_path / "train"), [12, 9, 30, 4, 15])
    test = write_cache(str(tmp_path / "test"), [10, 7], num_shards=1, seed=1)
    config = make(dataset="percepts", percepts_dir=train, percepts_test_dir=test, model="autoencoder", units=4,
                  input_length=4, batch_size=2, steps=2, checkpoint_every=1, jit_compile=False, loss="squared_error")
    options = FinetuneOptions(inits=("scratch", "single_frame"), labels_per_class="2", stride=3)
    run = run_lib.FinetuneRun(config, options, settings(steps=2, checkpoint_every=1), str(tmp_path / "run"))
    assert run.data.classes == ["c0", "c1"] and run.data.frame_shape == (DIM,)
    assert sorted(run.data.label_of.values()) == [0, 0, 1, 1]  # 2 per class of 3 (c0) and 2 (c1) videos
    assert run.data.test.video.tolist() == [0, 0, 0, 1, 1]  # clips start every 3 steps, pooled per video
    summary = run.run(verbose=0)
    assert summary["scratch"]["videos"] == 2
    with pytest.raises(ValueError, match=r"class 'c1' \(label 1\) has 2 items; per_class=3"):
        run_lib.FinetuneRun(config, FinetuneOptions(inits=("scratch",), labels_per_class="3"), settings(),
                            str(tmp_path / "other"))
    version = export_classifier(str(tmp_path / "run" / "scratch"), str(tmp_path / "exported"))
    lines = []
    assert verify(version, out=lines.append), "\n".join(lines)


def test_a_rerun_with_another_model_is_refused_and_another_stride_is_written_beside(tmp_path):
    """The classifier's settings are checked against finetune.json before anything is written;
    a test set cut otherwise is an evaluation of its own, never over the run's."""
    from video_lstm.classify import run as run_lib

    config = make(**{**TINY, "model": "autoencoder", "num_digits": 1, "steps": 2, "checkpoint_every": 1})
    options = FinetuneOptions(inits=("scratch",), pool_size=20, test_size=4, stride=16)
    log_dir = str(tmp_path / "run")
    run_lib.FinetuneRun(config, options, settings(steps=2, checkpoint_every=1), log_dir).run(verbose=0)
    before = tree_hashes(log_dir)
    with pytest.raises(ValueError, match=r"holds a classifier trained otherwise \(--units: 4 in the log_dir, 8 now"):
        run_lib.FinetuneRun(config, options, settings(steps=2, units=8), log_dir).run(verbose=0)
    assert tree_hashes(log_dir) == before
    other = dataclasses.replace(options, stride=8)
    run_lib.FinetuneRun(config, other, settings(steps=2, checkpoint_every=1), log_dir).run(verbose=0)
    after = tree_hashes(log_dir)
    for name in ("scratch/metrics.json", "scratch/confusion.png", "summary.json", "scratch/finetune.json"):
        assert after[name] == before[name], name
    assert json.loads(open(os.path.join(log_dir, "scratch", "metrics_stride_8.json")).read())["stride"] == 8
    assert "summary_stride_8.json" in after


def test_a_failed_finetune_start_up_leaves_no_log_dir(tmp_path):
    from video_lstm.classify import run as run_lib

    config = make(**{**TINY, "model": "autoencoder", "num_digits": 1})
    with pytest.raises(ValueError, match="per_class=500 needs that many"):
        options = FinetuneOptions(inits=("scratch",), pool_size=20, test_size=4, labels_per_class="500")
        run_lib.FinetuneRun(config, options, settings(), str(tmp_path / "new")).run(verbose=0)
    assert not (tmp_path / "new").exists()


def test_a_folder_classifier_is_scored_on_held_out_videos_only(tmp_path):
    from helpers import moving_shapes, write_video

    for c, name in enumerate(("run", "walk")):
        (tmp_path / name).mkdir()
        for i in range(5):
            write_video(tmp_path / name / f"{i}.avi", moving_shapes(12, 24, 32, seed=10 * c + i))
    config = make(dataset="folder", video_dir=str(tmp_path), frame_size=8, model="autoencoder", input_length=4)
    data = data_lib.video_data(config, labels_per_class=None, seed=0, stride=4)
    held = action_datasets.held_out(action_datasets.folder(str(tmp_path)).items, 0.2)
    assert set(data.test.names) == held and len(held) == 2  # one of each class's five
    trained = {os.path.relpath(path, tmp_path).replace(os.sep, "/") for path in data.label_of}
    assert len(trained) == 8 and not trained & held
    assert data.info["test_videos"] == 2 and "held-out 20% per class" in data.info["test_list"]
