"""bench/: the speed script runs, and its baselines compute what ours computes."""

import json
import os
import subprocess
import sys

import helpers
import numpy as np
import pytest
import tensorflow as tf

ROOT = helpers.ROOT
sys.path.insert(0, os.path.join(ROOT, "bench"))

import naive_keras  # noqa: E402
import roofline  # noqa: E402

from video_lstm import flags as flags_lib  # noqa: E402
from video_lstm.core import cpu  # noqa: E402
from video_lstm.models import build_model  # noqa: E402

ROW_KEYS = {
    "config", "batch", "ours_seq_per_s", "naive_seq_per_s", "peer_seq_per_s",
    "pipeline_seq_per_s", "gflop_per_seq", "roofline_gflops", "roofline_fraction", "peak_rss_mb",
    "precision", "cpu", "float32_peak_gflops", "bfloat16_peak_gflops", "ours_no_xla_roofline_fraction",
}


@pytest.mark.large  # a benchmark's smoke run (14 s)
def test_train_speed_smoke_writes_rows(tmp_path):
    """One variant (no_xla, the one without an XLA compile) in the smoke run; the others'
    flags are checked by test_train_speed_variants_make_their_configs."""
    out = tmp_path / "speed.json"
    result = subprocess.run(
        [sys.executable, "bench/train_speed.py", "--smoke", "--variants=no_xla", f"--json={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(out.read_text())
    assert ROW_KEYS <= set(row)
    assert row["config"] == "smoke_b2" and row["batch"] == 2
    for key in ("ours_seq_per_s", "ours_no_xla_seq_per_s", "naive_seq_per_s", "pipeline_seq_per_s",
                "roofline_gflops"):
        assert row[key] > 0, key
    assert row["roofline_fraction"] == pytest.approx(
        row["ours_seq_per_s"] * row["gflop_per_seq"] / row["roofline_gflops"], rel=0.01, abs=1e-4
    )
    assert row["precision"] == "float32" and row["roofline_gflops"] == row["float32_peak_gflops"]
    assert row["bfloat16_peak_gflops"] > 0 and row["cpu"] == cpu.describe()
    assert "ours/naive" in result.stdout and "roofline" in result.stdout and "no_xla seq/s" in result.stdout
    assert result.stdout.startswith(f"cpu: {cpu.describe()}\nmatmul peaks (TensorFlow): float32 ")


def test_train_speed_measures_a_bfloat16_run_against_the_bfloat16_peak():
    import train_speed

    peaks = cpu.Peaks(float32=100.0, bfloat16=400.0)
    assert train_speed.roofline_fraction(10.0, 2.0, peaks, "float32") == pytest.approx(0.2)
    assert train_speed.roofline_fraction(10.0, 2.0, peaks, "mixed_bfloat16") == pytest.approx(0.05)
    bfloat16 = train_speed.load_config("smoke", 2, *train_speed.VARIANTS["mixed_bfloat16"])
    assert peaks.for_precision(bfloat16.precision) == 400.0


def test_train_speed_variants_make_their_configs():
    """Each variant's flags give the smoke config with just that setting changed."""
    import train_speed  # (defines its flags on absl's global FlagValues)

    base = train_speed.load_config("smoke", 2).to_dict()
    expected = {"no_xla": {"jit_compile": False}, "mixed_bfloat16": {"precision": "mixed_bfloat16"},
                "conv_readout": {"readout": "conv"}}
    assert set(train_speed.VARIANTS) == set(expected)
    for variant, changed in expected.items():
        config = train_speed.load_config("smoke", 2, *train_speed.VARIANTS[variant]).to_dict()
        assert {k: v for k, v in config.items() if base[k] != v} == changed, variant
    assert base["units"] == 8 and base["batch_size"] == 2 and base["readout"] == "linear"


def tiny_config(conditional):
    return flags_lib.config_from_flagfile(
        os.path.join(ROOT, "configs/paper_composite_conditional.flags"),
        "--units=4", "--frame_size=28", "--input_length=3", "--future_length=2",
        f"--conditional_reconstruction={conditional}", f"--conditional_future={conditional}",
    )


def clip(config, seed=0):
    rng = np.random.default_rng(seed)
    frame = tuple(config.input_spec.frame_shape)
    return {
        "frames": rng.uniform(size=(2, config.input_length) + frame).astype("float32"),
        "future_frames": rng.uniform(size=(2, config.future_length) + frame).astype("float32"),
    }


@pytest.mark.parametrize("conditional", [True, False])
def test_naive_baseline_computes_the_same_loss_and_gradients(conditional):
    config = tiny_config(conditional)
    x = clip(config)
    ours = build_model(**config.model_kwargs())
    ours(x)
    naive = naive_keras.build(config)
    naive(x)
    naive_keras.copy_weights(ours, naive)

    def loss_and_grad(model, variable):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y_pred=model(x, training=True))
        return float(loss), np.asarray(tape.gradient(loss, variable))

    ours_loss, ours_grad = loss_and_grad(ours, ours.encoder.lstm.kernels[0])
    naive_loss, naive_grad = loss_and_grad(naive, naive.encoder[0].cell.kernel)
    assert ours_loss == pytest.approx(naive_loss, rel=1e-5)
    assert np.abs(ours_grad).max() > 0
    np.testing.assert_allclose(ours_grad, naive_grad, rtol=1e-4, atol=1e-5)


@pytest.mark.large  # opt-in: needs PyTorch, `pip install -e '.[bench]'`, then `pytest -m large` (BUILD.md)
def test_torch_peer_computes_the_same_outputs():
    """bench/torch_peer.py, given our weights, computes our outputs (the peer the benchmarks time).
    Under `-m large` a missing PyTorch fails, not skips: the opt-in run is where this is checked."""
    try:
        import torch
    except ImportError:
        pytest.fail("PyTorch is not installed: pip install -e '.[bench]' (the -m large run needs it)")
    import torch_peer

    config = tiny_config(True)
    x = clip(config)
    ours = build_model(**config.model_kwargs())
    ours(x)
    peer = torch_peer.TorchComposite(28 * 28, config.units, 1, True, True)
    pairs = [(ours.encoder.lstm, peer.encoder)] + [
        (ours.reconstruction_decoder.lstm, peer.decoders["reconstruction"]),
        (ours.future_decoder.lstm, peer.decoders["future"]),
    ]
    with torch.no_grad():
        for stack, lstm in pairs:
            lstm.weight_ih_l0.copy_(torch.from_numpy(np.asarray(stack.kernels[0]).T))
            lstm.weight_hh_l0.copy_(torch.from_numpy(np.asarray(stack.recurrent_kernels[0]).T))
            lstm.bias_ih_l0.copy_(torch.from_numpy(np.asarray(stack.biases[0])))
            lstm.bias_hh_l0.zero_()
        for name, decoder in (("reconstruction", ours.reconstruction_decoder), ("future", ours.future_decoder)):
            peer.readouts[name].weight.copy_(torch.from_numpy(np.asarray(decoder.output_kernel).T))
            peer.readouts[name].bias.copy_(torch.from_numpy(np.asarray(decoder.output_bias)))
        frames = torch.from_numpy(x["frames"].reshape(2, config.input_length, -1))
        future = torch.from_numpy(x["future_frames"].reshape(2, config.future_length, -1))
        reconstruction, prediction = peer(frames, future)
    out = ours(x, training=True)
    np.testing.assert_allclose(
        np.asarray(out["future"]).reshape(prediction.shape), prediction.numpy(), atol=1e-5
    )
    np.testing.assert_allclose(
        np.asarray(out["reconstruction"]).reshape(reconstruction.shape), reconstruction.numpy(), atol=1e-5
    )


def test_flops_count_matches_a_hand_count():
    # units u=4 (4u=16 gates), D=784 pixels, 3 input and 2 future frames, conditional decoders.
    u, g, d = 4, 16, 784
    encoder = 2 * (d * g * 3 + u * g * 2) * 2 + 2 * u * g * 2  # fwd + dW (x2), dh for 2 steps
    reconstruction = 2 * (d * g * 2 + u * g * 3) * 2 + 2 * u * g * 3 + 3 * 2 * u * d * 3
    future = 2 * (d * g * 1 + u * g * 2) * 2 + 2 * u * g * 2 + 3 * 2 * u * d * 2
    assert roofline.flops_per_sequence(tiny_config(True)) == encoder + reconstruction + future
    # Unconditioned decoders drop exactly the decoders' input projections.
    saved = 2 * 2 * d * g * (2 + 1)
    assert roofline.flops_per_sequence(tiny_config(False)) == encoder + reconstruction + future - saved


def test_paper_size_is_about_8_gflop_per_sequence():
    paper = flags_lib.config_from_flagfile(os.path.join(ROOT, "configs/paper_composite_conditional.flags"))
    assert 7e9 < roofline.flops_per_sequence(paper) < 9e9
