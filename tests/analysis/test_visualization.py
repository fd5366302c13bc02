"""python -m video_lstm.visualize: pictures, chunked rollouts, persistence metrics, bad input."""

import glob
import json
import os
import subprocess
import sys

import cv2
import helpers
import keras
import numpy as np
import pytest
from PIL import Image

from pipelines import digits as digits_lib
from video_lstm import config as config_lib
from video_lstm.analysis import rollout
from video_lstm.analysis import visualization as visualize_lib
from video_lstm.analysis.options import VisualizeOptions
from video_lstm.models import CompositeModel
from video_lstm.training import loop as train_lib

ROOT = helpers.ROOT
SIZE, IN, OUT = 32, 3, 3
N, HORIZON, CHUNK, TILES = 2, 30, 8, 10
FRAME = SIZE + visualize_lib.GAP  # one frame and its gap
LABEL = visualize_lib.LABEL_HEIGHT


def tiny(**overrides):
    """A composite of 16 units on 32x32 frames of two rendered digits: seconds to train."""
    values = dict(units=16, frame_size=SIZE, num_digits=2, digits="rendered", input_length=IN,
                  future_length=OUT, batch_size=4, steps=4, checkpoint_every=4, log_every=4,
                  image_every=100, eval_sequences=8, jit_compile=False)
    values.update(overrides)
    return config_lib.make(**values)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny two-digit composite trained for 4 steps, drawn once with every --what."""
    log_dir = str(tmp_path_factory.mktemp("run"))
    train_lib.train(tiny(), log_dir, verbose=0)
    options = VisualizeOptions(num_sequences=N, horizon=HORIZON, num_units=TILES, chunk_size=CHUNK)
    written = visualize_lib.visualize_log_dir(log_dir, options)
    return log_dir, written


def out(log_dir, name):
    return os.path.join(log_dir, visualize_lib.OUTPUT_DIR, name)


def png_shape(path):
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image.shape[:2]


def gif_frames_and_size(path):
    with Image.open(path) as gif:
        return gif.n_frames, (gif.size[1], gif.size[0])  # (frames, (height, width))


def rule_stacked(height, count):
    """Height of `count` pictures of `height` with white rules between them."""
    return count * height + (count - 1) * visualize_lib.RULE


# -- the CLI's outputs on a trained run -----------------------------------------


def test_samples_grid_and_gifs(run):
    log_dir, written = run
    # Per sequence: input, reconstruction, prediction, truth rows; 3 frames each.
    assert png_shape(out(log_dir, "samples.png")) == (rule_stacked(4 * FRAME, N), max(IN, OUT) * FRAME)
    for i in range(N):
        path = out(log_dir, f"samples_{i}.gif")
        assert path in written
        # Truth | model side by side, one frame per input and per future frame.
        assert gif_frames_and_size(path) == (IN + OUT, (LABEL + SIZE, 2 * FRAME))


@pytest.mark.parametrize("name, digits", [("rollout", 2), ("rollout_1digit", 1), ("rollout_3digits", 3)])
def test_rollout_and_ood_figures_and_metrics(run, name, digits):
    log_dir, written = run
    strip = min(HORIZON, visualize_lib.MAX_STRIP_FRAMES)
    # GIF: truth row over prediction row, one column per sequence, every frame.
    assert gif_frames_and_size(out(log_dir, f"{name}.gif")) == (HORIZON, (LABEL + 2 * FRAME, N * FRAME))
    assert png_shape(out(log_dir, f"{name}.png")) == (rule_stacked(2 * FRAME, N), strip * FRAME)
    assert png_shape(out(log_dir, f"{name}_curves.png")) == (3 * 160, 480)
    path = out(log_dir, f"{name}_metrics.json")
    assert path in written
    with open(path) as f:
        report = json.load(f)
    assert report["num_digits"] == digits and report["trained_num_digits"] == 2
    assert report["frames_done"] == HORIZON and len(report["strip_frames"]) == strip
    rows = report["rows"]
    assert [row["frame"] for row in rows] == list(range(1, HORIZON + 1))
    for row in rows:
        assert set(row) == set(rollout.METRIC_KEYS)
        assert row["intensity_ratio"] > 0 and row["mse"] > 0 and row["centre_error_px"] >= 0


def test_weight_pictures(run):
    log_dir, _ = run
    columns = int(np.ceil(np.sqrt(TILES)))
    shape = (int(np.ceil(TILES / columns)) * FRAME, columns * FRAME)
    names = [f"encoder_{gate}_gate_weights" for gate in visualize_lib.GATES]
    names += ["reconstruction_decoder_output_weights", "future_decoder_output_weights"]
    for name in names:
        assert png_shape(out(log_dir, f"{name}.png")) == shape, name


def test_tensorboard_gets_every_png(run):
    import tensorflow as tf

    log_dir, written = run
    tags = set()
    for path in glob.glob(out(log_dir, "tensorboard/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    pngs = {os.path.basename(p)[: -len(".png")] for p in written if p.endswith(".png")}
    assert len(pngs) == 1 + 3 * 2 + 4 + 2 and pngs <= tags, pngs - tags


@pytest.mark.parametrize("horizon, gif_frames", [(1, 1), (30, 30), (200, 200), (450, 150), (10000, 200)])
def test_long_rollouts_keep_a_bounded_number_of_pictures(horizon, gif_frames):
    gif_every, strip = visualize_lib.rollout_frames(horizon)
    assert len(range(0, horizon, gif_every)) == gif_frames
    assert len(strip) == min(horizon, visualize_lib.MAX_STRIP_FRAMES)
    assert strip[0] == 0 and strip[-1] == horizon - 1 and strip == sorted(set(strip))


def test_weights_are_sorted_by_norm_and_reshaped_to_frames(tmp_path):
    model = CompositeModel(units=4, future_length=2, seed=0)
    model(np.zeros((1, 2, 6, 6, 1), np.float32))
    # Unit u writes only pixel u, with weight u + 1: the strongest unit (3) comes first.
    kernel = np.zeros((4, 36), np.float32)
    kernel[np.arange(4), np.arange(4)] = np.arange(1, 5)
    model.future_decoder.output_kernel.assign(kernel)
    writer = visualize_lib.Writer(str(tmp_path), step=0)
    visualize_lib.draw_weights(model, writer, VisualizeOptions(num_units=3))
    writer.close()
    grid = cv2.imread(str(tmp_path / "future_decoder_output_weights.png"), cv2.IMREAD_UNCHANGED)
    assert grid.shape == (2 * 8, 2 * 8)  # 3 tiles of 6x6 in a 2x2 grid
    tiles = [grid[r * 8 : r * 8 + 6, c * 8 : c * 8 + 6] for r, c in ((0, 0), (0, 1), (1, 0))]
    for tile, unit in zip(tiles, (3, 2, 1)):
        assert np.argwhere(tile == 255).tolist() == [[0, unit]]  # scaled to [0, 1] per tile
        assert tile.min() == 0


def test_unit_drawings_are_the_weight_rows_of_a_linear_readout_and_shown_for_conv(tmp_path):
    linear = CompositeModel(units=4, future_length=2, seed=0)
    linear(np.zeros((1, 2, 8, 8, 1), np.float32))
    decoder = linear.future_decoder
    np.testing.assert_allclose(visualize_lib.unit_drawings(decoder, scale=2.0),
                               2.0 * np.asarray(decoder.output_kernel), atol=1e-5)
    conv = CompositeModel(units=4, future_length=2, seed=0, readout="conv", reader="conv", readout_filters=8)
    conv(np.zeros((1, 2, 16, 16, 1), np.float32))
    writer = visualize_lib.Writer(str(tmp_path), step=0)
    visualize_lib.draw_weights(conv, writer, VisualizeOptions(num_units=4))
    writer.close()
    assert sorted(os.listdir(tmp_path / "tensorboard")) and not list(tmp_path.glob("encoder_*"))
    grid = cv2.imread(str(tmp_path / "future_decoder_output_weights.png"), cv2.IMREAD_UNCHANGED)
    assert grid.shape == (2 * 18, 2 * 18) and grid.max() == 255  # 4 tiles of 16x16


# -- persistence metrics on hand-made sequences ------------------------------


def blobs(centres, size=SIZE, half=2):
    """float (batch, time, size, size, 1) with a (2*half+1)^2 square at each integer centre.

    centres: int (batch, time, digits, 2).
    """
    frames = np.zeros(centres.shape[:2] + (size, size, 1), np.float32)
    for b, t, d in np.ndindex(centres.shape[:3]):
        r, c = centres[b, t, d]
        frames[b, t, r - half : r + half + 1, c - half : c + half + 1] = 1.0
    return frames


@pytest.fixture(scope="module")
def bank():
    return digits_lib.render_digits(20, seed=5)[0]


def test_a_sequence_against_itself_has_ratio_one_and_no_error(bank):
    truth = rollout.tracked_sequences(bank, 2, 6, 2, seed=3, frame_size=SIZE)
    frames, centres = truth.frames(0, 6), truth.centres(0, 6)
    for row in rollout.persistence_rows(frames, frames, centres):
        assert row["intensity_ratio"] == pytest.approx(1.0)
        assert row["centre_error_px"] == pytest.approx(0.0, abs=1e-9)
        assert row["mse"] == 0.0


def test_fading_digits_have_a_falling_intensity_ratio_below_one(bank):
    truth = rollout.tracked_sequences(bank, 2, 8, 2, seed=4, frame_size=SIZE)
    frames, centres = truth.frames(0, 8), truth.centres(0, 8)
    factors = np.linspace(0.9, 0.1, 8)
    rows = rollout.persistence_rows(frames, frames * factors[None, :, None, None, None], centres)
    ratios = np.array([row["intensity_ratio"] for row in rows])
    assert np.all(np.diff(ratios) < 0) and np.all(ratios < 1)
    np.testing.assert_allclose(ratios, factors, rtol=1e-6)
    assert all(row["centre_error_px"] == pytest.approx(0.0, abs=1e-9) for row in rows)  # fading, not moving
    gone = rollout.persistence_rows(frames, np.zeros_like(frames), centres)
    assert all(row["intensity_ratio"] == 0.0 and row["centre_error_px"] is None for row in gone)


@pytest.mark.parametrize(
    "centres, shift",
    [
        ([[[8, 9]], [[10, 12]], [[14, 15]]], (3, 4)),  # one digit moving, shifted by 5 px
        ([[[7, 7], [24, 24]], [[8, 9], [23, 22]]], (2, -1)),  # two digits, each shifted
    ],
)
def test_a_shifted_copy_has_the_shift_as_centre_error(centres, shift):
    centres = np.array([centres])  # (1, time, digits, 2)
    truth, shifted = blobs(centres), blobs(centres + np.array(shift))
    rows = rollout.persistence_rows(truth, shifted, centres.astype(float))
    for row in rows:
        assert row["centre_error_px"] == pytest.approx(np.hypot(*shift), abs=1.0)
        assert row["intensity_ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize("num_digits", [1, 3])
def test_out_of_domain_sequences_hold_that_many_digits(bank, num_digits):
    truth = rollout.tracked_sequences(bank, 2, 5, num_digits, seed=(7, num_digits), frame_size=SIZE)
    assert truth.positions.shape == (2, 5, num_digits, 2) and truth.indices.shape == (2, num_digits)
    alone = truth.digit_frames(0, 5)  # (batch, time, digit, H, W, 1)
    assert alone.shape[2] == num_digits
    assert np.all(alone.sum(axis=(3, 4, 5)) > 0)  # every digit is drawn in every frame
    np.testing.assert_array_equal(truth.frames(0, 5), alone.max(axis=2))  # and nothing else is
    np.testing.assert_allclose(truth.centres(0, 5), rollout.centre_of_mass(alone[..., 0]), atol=1e-4)


# -- the chunked rollout ------------------------------------------------------


def small_model(conditional):
    model = CompositeModel(units=8, num_layers=2, future_length=3, conditional_future=conditional,
                           init_scale=0.3, seed=3)
    frames = np.random.default_rng(0).uniform(size=(2, 3, 6, 6, 1)).astype("float32")
    model(frames)
    return model, frames


@pytest.mark.parametrize("conditional", [True, False])
def test_a_chunked_rollout_equals_generate(conditional):
    model, frames = small_model(conditional)
    chunks = list(rollout.rollout_chunks(model, frames, horizon=12, chunk_size=5))
    assert [start for start, _ in chunks] == [0, 5, 10] and chunks[-1][1].shape == (2, 2, 6, 6, 1)
    chunked = np.concatenate([c for _, c in chunks], axis=1)
    whole = keras.ops.convert_to_numpy(model.generate(frames, future_length=12)["future"])
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    assert np.std(chunked[:, 0] - chunked[:, -1]) > 1e-4  # the rollout does move


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="counts tf.function traces")
def test_a_long_rollout_traces_one_chunk_of_steps():
    model, frames = small_model(True)
    calls = []
    step = model.future_decoder.step
    model.future_decoder.step = lambda *args: calls.append(1) or step(*args)
    assert sum(c.shape[1] for _, c in rollout.rollout_chunks(model, frames, 40, chunk_size=5)) == 40
    # The decoder's loop holds one step whatever the chunk size, and one trace served all 8 chunks.
    assert len(calls) == 1


# -- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(horizon=0), "--horizon=0; expected an integer 1 <= horizon <= 10000"),
        (dict(horizon=-5), "--horizon=-5; expected"),
        (dict(horizon=10001), "--horizon=10001; expected"),
        (dict(what=("samples", "bogus")), r"unknown entries \['bogus'\]; expected a comma-separated subset"),
        (dict(what=()), "--what is empty; expected a comma-separated subset"),
        (dict(num_sequences=0), "--num_sequences=0; expected 1..64"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        VisualizeOptions(**options)


def test_a_log_dir_without_checkpoint_or_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        visualize_lib.visualize_log_dir(str(tmp_path))
    (tmp_path / "config.json").write_text(tiny().to_json())
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        visualize_lib.visualize_log_dir(str(tmp_path))


def test_a_model_of_feature_vectors_gets_no_pictures(tmp_path):
    """The model of a percept run (feature vectors in) is refused by `visualize`, which the
    log_dir route calls once the checkpoint is loaded (a log_dir whose config.json describes
    another model than its checkpoint is refused before that: tests/core/test_rundir.py)."""
    model = CompositeModel(units=4, future_length=OUT)
    model(np.zeros((1, IN, 20), np.float32))  # percepts: (batch, time, features)
    for what in ("samples", "rollout", "weights"):
        with pytest.raises(ValueError, match=r"frames of shape \(20,\) \(feature vectors"):
            visualize_lib.visualize(model, tiny(units=4), str(tmp_path), VisualizeOptions(what=(what,)))


def test_an_autoencoder_has_no_rollout(tmp_path):
    model = CompositeModel(units=4, reconstruct=True, predict_future=False, future_length=0)
    model(np.zeros((1, IN, SIZE, SIZE, 1), np.float32))
    assert visualize_lib.applicable(model, tiny()) == ("samples", "weights")
    with pytest.raises(ValueError, match="need a future decoder"):
        visualize_lib.visualize(model, tiny(), str(tmp_path), VisualizeOptions(what=("ood",)))


def test_cli_draws_and_refuses_with_one_line_and_status_1(run, capsys):
    from video_lstm import visualize
    from video_lstm.core import cli

    log_dir, _ = run
    # The one subprocess run of python -m video_lstm.visualize.
    result = subprocess.run([sys.executable, "-m", "video_lstm.visualize", f"--log_dir={log_dir}", "--what=weights",
                             "--num_units=4"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out(log_dir, "encoder_input_gate_weights.png") in result.stdout.split()
    for args, message in [
        (("--what=samples,nope",), "unknown entries ['nope']"),
        (("--horizon=0",), "--horizon=0; expected"),
        (("--ood_digits=1,x",), "--ood_digits=1,x; expected comma-separated digit counts"),
    ]:
        capsys.readouterr()
        assert cli.call(visualize, [f"--log_dir={log_dir}", *args]) == 1
        err = capsys.readouterr().err
        ours = [line for line in err.splitlines() if "video_lstm.visualize" in line]
        assert len(ours) == 1 and ours[0].startswith("video_lstm.visualize: error: ")
        assert message in ours[0] and "Traceback" not in err
