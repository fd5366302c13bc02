"""bench/accelerator*.py and pipelines/moving_mnist_numpy.py: the TensorFlow-free accelerator path.

The generator tests are quick; the scripts run once, as bench/accelerator_run.sh
with SMOKE=1 (the benchmark's --smoke, then a 1 s --smoke training run: tiny
shapes, about 30 s on a CPU).
"""

import json
import os
import subprocess
import sys

import helpers
import numpy as np
import pytest

from pipelines import digits as digits_lib
from pipelines import moving_mnist_numpy as mm
from video_lstm.core.prefetch import Prefetcher

ROOT = helpers.ROOT
BENCH_ROW_KEYS = {
    "config", "batch", "precision", "ours_seq_per_s", "peer_seq_per_s", "gflop_per_seq",
    "achieved_tflops", "peak_memory_mb", "device",
}


def subprocess_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_python(code):
    """The stdout of `python -c code` run in the checkout on the CPU; fails the test on an error."""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env=subprocess_env(JAX_PLATFORMS="cpu"))
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def digits():
    return digits_lib.render_digits(20, seed=3)[0]


# -- the NumPy generator --------------------------------------------------------------


def test_batch_shapes_and_values(digits):
    frames = mm.make_batch(digits, seed=0, step=0, batch_size=3, num_frames=5, frame_size=40)
    assert frames.shape == (3, 5, 40, 40, 1) and frames.dtype == np.float32
    assert frames.min() >= 0.0 and frames.max() <= 1.0
    assert frames.max() == 1.0  # the digits' 255 pixels


def test_batches_are_a_function_of_seed_and_step(digits):
    batch = lambda seed, step: mm.make_batch(digits, seed, step, 2, 4)  # noqa: E731
    np.testing.assert_array_equal(batch(0, 7), batch(0, 7))
    assert not np.array_equal(batch(0, 7), batch(0, 8))
    assert not np.array_equal(batch(0, 7), batch(1, 7))
    # The test stream never repeats a training batch with the same seed.
    train = mm.sample(0, 0, 4, 3)[0]
    test = mm.sample(0, 0, 4, 3, stream=mm.TEST_STREAM)[0]
    assert not np.array_equal(train, test)


def test_digits_stay_inside_the_frame(digits):
    positions, indices = mm.sample(5, 0, 200, 30, num_digits=2, num_available=len(digits), frame_size=64)
    assert positions.min() >= 0 and positions.max() <= 64 - 28
    assert indices.min() >= 0 and indices.max() < len(digits)
    # Every digit pixel lands in the frame: total ink is the sum of the glyphs' when
    # one digit is drawn (no max between digits, nothing clipped away).
    one = mm.make_batch(digits, 5, 0, 50, 10, num_digits=1)
    ink = one.reshape(50, 10, -1).sum(-1)
    _, idx = mm.sample(5, 0, 50, 10, num_digits=1, num_available=len(digits))
    expected = digits[idx[:, 0]].reshape(50, -1).sum(-1) / 255.0
    np.testing.assert_allclose(ink, np.broadcast_to(expected[:, None], ink.shape), rtol=1e-5)


def test_render_pastes_at_the_position_with_max():
    glyph = np.zeros((2, 28, 28), np.uint8)
    glyph[0, 0, 0] = 200
    glyph[1, 0, 0] = 100
    positions = np.array([[[[3, 5], [3, 5]], [[10, 0], [0, 10]]]], np.int32)  # (1, 2, 2, 2)
    frames = mm.render(glyph, positions, np.array([[0, 1]]), frame_size=40)[..., 0] * 255
    assert frames[0, 0, 3, 5] == pytest.approx(200)  # overlapping: max, not sum
    assert frames[0, 1, 10, 0] == pytest.approx(200) and frames[0, 1, 0, 10] == pytest.approx(100)
    assert np.count_nonzero(frames) == 3


def test_trajectory_rule_matches_reflection_step_by_step():
    """The closed form (triangle wave) is a bounce off both walls, simulated here frame by frame."""
    rng = np.random.default_rng(0)
    start = rng.random((50, 2, 2))
    angle = rng.random((50, 2)) * 2 * np.pi
    steps, step_length, free = 40, 0.1, 64 - 28
    closed = mm.trajectories(start, angle, steps, 64, 28, step_length)
    pos = start.copy()
    vel = step_length * np.stack([np.sin(angle), np.cos(angle)], -1)
    simulated = []
    for _ in range(steps):
        simulated.append(pos.copy())
        pos = pos + vel
        for _ in range(2):  # a step of 0.1 reflects at most once per wall
            over, under = pos > 1, pos < 0
            pos = np.where(over, 2 - pos, np.where(under, -pos, pos))
            vel = np.where(over | under, -vel, vel)
    simulated = np.round(np.stack(simulated, 1) * free)
    mismatch = np.abs(closed - simulated)
    assert mismatch.max() <= 1 and (mismatch > 0).mean() < 1e-3  # float32 vs float64 at .5 ties


def test_trajectories_equal_the_tensorflow_formula_given_the_same_start_and_angle():
    tf = pytest.importorskip("tensorflow")
    from pipelines import moving_mnist_tf

    seed = tf.constant([11, 0], tf.int64)
    batch, frames, num_digits = 300, 20, 2
    reference = moving_mnist_tf.trajectories(seed, batch, frames, num_digits).numpy()
    # The start and angle moving_mnist.trajectories draws for this seed.
    start_seed, angle_seed = tf.unstack(tf.random.split(seed, 2))
    start = tf.random.stateless_uniform([batch, 1, num_digits, 2], start_seed).numpy()[:, 0]
    angle = tf.random.stateless_uniform([batch, 1, num_digits], angle_seed, maxval=2.0 * np.pi).numpy()[:, 0]
    np.testing.assert_array_equal(mm.trajectories(start, angle, frames), reference)


def test_prefetcher_yields_in_step_order():
    with Prefetcher(lambda step: step * step, start=3, depth=4, threads=3) as items:
        assert [next(items) for _ in range(20)] == [s * s for s in range(3, 23)]


def test_test_set_is_fixed(digits):
    """The same set at every call, a function of its seed (another seed: another set), and what
    its docstring says it is: stream TEST_STREAM's one draw, never a training batch; a smaller
    set is a prefix of a larger one."""
    a = mm.test_set(digits, num_sequences=10, num_frames=4, seed=1234)
    b = mm.test_set(digits, num_sequences=10, num_frames=4, seed=1234)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    reference = mm.sample(1234, 0, 10, 4, 2, len(digits), 64, 0.1, stream=mm.TEST_STREAM)
    for x, y in zip(a, reference):
        np.testing.assert_array_equal(x, y)
    other = mm.test_set(digits, num_sequences=10, num_frames=4, seed=1235)
    assert not np.array_equal(a[0], other[0]) and not np.array_equal(a[1], other[1])
    train = mm.sample(1234, 0, 10, 4, 2, len(digits), 64, 0.1)
    assert not np.array_equal(a[0], train[0])
    assert len(np.unique(a[0][:, 0], axis=0)) > 1  # not one sequence repeated
    larger = mm.test_set(digits, num_sequences=20, num_frames=4, seed=1234)
    np.testing.assert_array_equal(larger[0][:10], a[0])


def test_the_benchmark_renders_with_the_packages_jax_renderer_without_tensorflow():
    """bench/accelerator_train.py pastes frames with pipelines/moving_mnist_jax.py (tested equal to
    NumPy's in tests/pipelines/test_moving_mnist_numpy.py) and its chunked draws equal `sample`'s."""
    pytest.importorskip("jax")
    code = (
        "import sys, numpy as np; sys.path.insert(0, 'bench');"
        "import accelerator_train as t;"
        "from pipelines import moving_mnist_jax, moving_mnist_numpy as mm;"
        "assert t.moving_mnist_jax is moving_mnist_jax and t.mmnist is mm;"
        "p, i = mm.sample_steps(2, [3, 4], 4, 6, num_available=20, frame_size=48);"
        "e = mm.sample(2, 4, 4, 6, num_available=20, frame_size=48);"
        "np.testing.assert_array_equal(p[1], e[0]); np.testing.assert_array_equal(i[1], e[1]);"
        "print('tensorflow' in sys.modules)"
    )
    assert run_python(code).strip() == "False"  # no TensorFlow on the accelerator path


def test_paper_config_and_flop_count_without_tensorflow():
    code = (
        "import sys; sys.path.insert(0, 'bench'); import accelerator as a, roofline;"
        "from video_lstm.optimizers import make_optimizer; import video_lstm.models;"
        "c = a.paper_config(); s = a.paper_config(*a.SMOKE, '--precision=mixed_bfloat16');"
        "assert (c.units, c.optimizer, c.weight_decay, a.frame_shape(c)) == (2048, 'sgd', 1e-4, (64, 64, 1));"
        "assert (s.units, s.precision, a.frame_shape(s)) == (16, 'mixed_bfloat16', (32, 32, 1));"
        "assert type(make_optimizer(c)).__name__ == 'SGDWithL2';"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported';"
        "print(roofline.flops_per_sequence(c))"
    )
    assert int(run_python(code)) == pytest.approx(7.684e9, rel=1e-3)  # paper size, GFLOP/seq 7.684


# -- the scripts ------------------------------------------------------------------------


def check_bench_rows(rows):
    peak, *rows = rows
    assert peak["config"] == "matmul_peak"
    assert peak["matmul_fp32_tflops"] > 0 and peak["matmul_bf16_tflops"] > 0
    assert {r["precision"] for r in rows} == {"float32", "mixed_bfloat16"}
    for row in rows:
        assert BENCH_ROW_KEYS <= set(row), BENCH_ROW_KEYS - set(row)
        for key in ("ours_seq_per_s", "gflop_per_seq", "achieved_tflops", "peak_memory_mb"):
            assert row[key] > 0, key
        assert row["achieved_tflops"] == pytest.approx(row["ours_seq_per_s"] * row["gflop_per_seq"] / 1e3)
        assert row["peer_seq_per_s"] is None or row["peer_seq_per_s"] > 0
        assert row["tensorflow_imported"] is False


@pytest.mark.large
def test_run_script_smoke_leaves_the_files(tmp_path):
    result = subprocess.run(
        ["bash", "bench/accelerator_run.sh"], cwd=ROOT, capture_output=True, text=True, timeout=400,
        env=subprocess_env(SMOKE="1", OUT=str(tmp_path), PYTHON=sys.executable, TRAIN_SECONDS="1",
                           JAX_PLATFORMS="cpu", JAX_CACHE_DIR=str(tmp_path / "cache")),
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert {"bench.json", "metrics.json", "curve.json", "samples.png", "run.log"} <= set(os.listdir(tmp_path))
    check_bench_rows(json.loads((tmp_path / "bench.json").read_text()))
    assert "ours/peer" in (tmp_path / "run.log").read_text()  # the benchmark's table
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] > 0 and metrics["eval_sequences"] == 64
    assert 0 < metrics["future_ce_per_frame"] < 32 * 32 * 2  # per 32x32 frame, below chance-ish bound
    assert metrics["precision"] in ("float32", "mixed_bfloat16")
    assert metrics["precision_reason"].startswith("fastest")
    assert metrics["tensorflow_imported"] is False
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert curve and all(np.isfinite(c["train_future_ce_per_frame"]) for c in curve)
    import cv2

    image = cv2.imread(str(tmp_path / "samples.png"), cv2.IMREAD_GRAYSCALE)
    assert image is not None and image.shape[0] > 3 * 32


@pytest.mark.large
def test_driver_script_smoke_trains_stops_on_budget_and_evaluates(tmp_path):
    """bench/accelerator_driver.sh: the package's own trainer stopped by its budget, then evaluated."""
    out = tmp_path / "out"
    result = subprocess.run(
        ["bash", "bench/accelerator_driver.sh"], cwd=ROOT, capture_output=True, text=True, timeout=400,
        env=subprocess_env(SMOKE="1", OUT=str(out), RUN_DIR=str(tmp_path / "run"), PYTHON=sys.executable,
                           TRAIN_SECONDS="90", JAX_PLATFORMS="cpu"),
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    files = set(os.listdir(out))
    assert {"config.json", "data.json", "run.log", "train"} <= files, files
    metrics = json.loads((out / "metrics_generated_16.json").read_text())
    assert metrics["num_sequences"] == 16 and metrics["step"] > 0


@pytest.mark.large
def test_paper_figure_script_smoke_trains_evaluates_and_probes_both_models(tmp_path):
    """bench/paper_figure.sh (issue 21's GPU figure): the unconditioned composite and the
    conditional one with scheduled sampling, each trained on a budget, evaluated and probed."""
    out = tmp_path / "out"
    result = subprocess.run(
        ["bash", "bench/paper_figure.sh"], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=subprocess_env(SMOKE="1", OUT=str(out), RUN_ROOT=str(tmp_path / "runs"), PYTHON=sys.executable,
                           TRAIN_SECONDS="60", JAX_PLATFORMS="cpu"),
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    for model in ("unconditioned", "scheduled"):
        assert any(name.startswith("metrics") for name in os.listdir(out / model)), model
        probe = json.loads(next((out / model).glob("probe*.json")).read_text())
        assert {row["task"] for row in probe["results"]} == {"appearance", "motion"}
    config = json.loads((tmp_path / "runs" / "scheduled" / "config.json").read_text())
    assert config["feed"] == "scheduled" and config["conditional_future"] is True
    table = result.stdout.splitlines()
    assert any(line.startswith("| unconditioned |") for line in table) and any(
        line.startswith("| scheduled |") for line in table)
