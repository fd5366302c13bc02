r"""The roofline: what this machine's matmuls can do, and what the model needs.

    python bench/roofline.py                                  # quickstart and paper size
    python bench/roofline.py configs/paper_composite_conditional.flags

`video_lstm.core.cpu.matmul_peaks` measures the float32 and bfloat16 GFLOP/s
of large square matmuls (the machine's practical peaks for this work; a
bfloat16 run's roofline is the bfloat16 peak, `Peaks.for_precision`), and
`cpu.header` names the CPU, its matmul units and both peaks: the header of
every figure printed here and by train_speed.py and profile_step.py.
`flops_per_sequence` counts the model's necessary multiply-adds (2 FLOPs
each) for one training sequence, forward and backward, from the config alone.
Only the matmuls are counted (the elementwise gate work is O(units) per step
against O(units^2)), and no multiplication by a known zero: the encoder's
first recurrent step (h0 = 0), a teacher-forced decoder's first input (a zero
frame), an unconditioned decoder's input (none). Gradients are counted only
where needed: none with respect to the input frames, none into the encoder's
zero initial state.

Run as a script, it prints the CPU line, both peaks, and for each flagfile
(the paper's architecture: raw pixels in, linear read-out, as train_speed.py
times it) the FLOPs per sequence and the sequences/s each peak would allow.
"""

import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout

from video_lstm.core import cpu  # noqa: E402

FLAGFILES = ("configs/quickstart.flags", "configs/paper_composite_conditional.flags")
PAPER_ARCHITECTURE = ("--reader=linear", "--readout=linear")


def lstm_flops(steps, units, input_dim, input_steps, state_needs_grad, input_needs_grad):
    """(forward, backward) FLOPs of one LSTM layer over one sequence.

    Args:
        steps: time steps.
        units: hidden units.
        input_dim: input features (0 for none).
        input_steps: steps whose input is not known to be zero.
        state_needs_grad: whether h0 is a real state that needs a gradient (a
            decoder started by the encoder); if not, h0 is a known zero.
        input_needs_grad: whether d(loss)/d(input) is needed (a layer below).
    """
    gates = 4 * units
    input_mac = input_dim * gates * input_steps
    # h_{t-1} @ U for every step whose h_{t-1} is not a known zero, and the
    # same count of dh_{t-1} = dz_t @ U^T in the backward pass.
    recurrent_mac = units * gates * (steps if state_needs_grad else steps - 1)
    forward = 2 * (input_mac + recurrent_mac)
    weight_grads = forward
    input_grads = 2 * input_mac if input_needs_grad else 0
    return forward, weight_grads + input_grads + 2 * recurrent_mac


def flops_per_sequence(config):
    """Training FLOPs (forward + backward) of one sequence for a model `Config`."""
    frame_dim = math.prod(config.input_spec.frame_shape)
    units, layers = config.units, config.num_layers
    total = 0

    def stack(steps, first_input_dim, first_input_steps, state_needs_grad):
        flops = 0
        for layer in range(layers):
            dim, input_steps = (first_input_dim, first_input_steps) if layer == 0 else (units, steps)
            fwd, bwd = lstm_flops(steps, units, dim, input_steps, state_needs_grad, layer > 0)
            flops += fwd + bwd
        return flops

    t_in = config.input_length
    total += stack(t_in, frame_dim, t_in, state_needs_grad=False)
    decoders = []
    if config.model in ("composite", "autoencoder"):
        decoders.append((t_in, config.conditional_reconstruction))
    if config.model in ("composite", "future"):
        decoders.append((config.future_length, config.conditional_future))
    for steps, conditional in decoders:
        dim, input_steps = (frame_dim, steps - 1) if conditional else (0, 0)
        total += stack(steps, dim, input_steps, state_needs_grad=True)
        total += 3 * 2 * units * frame_dim * steps  # read-out: forward, dW, dh
    return total


def main(argv):
    """Prints `cpu.header` and each flagfile's GFLOP per sequence and its roofline sequences/s."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from video_lstm import flags as flags_lib

    peaks = cpu.matmul_peaks()
    print(cpu.header(peaks))
    rows = [("flagfile", "GFLOP/seq", "float32 roofline seq/s", "bfloat16 roofline seq/s")]
    for path in argv or FLAGFILES:
        flagfile = path if os.path.exists(path) else os.path.join(ROOT, path)
        gflop = flops_per_sequence(flags_lib.config_from_flagfile(flagfile, *PAPER_ARCHITECTURE)) / 1e9
        rows.append((path, f"{gflop:.3f}", f"{peaks.float32 / gflop:.1f}", f"{peaks.bfloat16 / gflop:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))))


if __name__ == "__main__":
    main(sys.argv[1:])
