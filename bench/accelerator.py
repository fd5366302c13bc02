r"""Paper-size training speed on the accelerator at hand: JAX (ours) against PyTorch.

    python bench/accelerator.py --json=/tmp/accelerator.json            # GPU or CPU
    python bench/accelerator.py --batches=16,64 --precisions=float32
    python bench/accelerator.py --smoke --json=/tmp/smoke.json          # tiny, seconds on CPU

No TensorFlow anywhere: Keras runs on JAX (KERAS_BACKEND=jax is set before
Keras loads), so this runs on machines with JAX and PyTorch only.

The model is the paper's best Moving MNIST model, the official
lstm_combo_1layer_mnist recipe (configs/paper_composite_conditional.flags):
a composite of one 2048-unit LSTM encoder and two conditional decoders
(reconstruction, future), teacher forcing, raw pixels in, linear read-out,
64x64x1 frames, 10 input and 10 future frames, weights uniform in +-0.01,
cross-entropy summed over a frame's pixels, and the flagfile's optimizer (SGD
with momentum 0.9, the official code's L2 weight decay, step-decayed learning
rate). The flagfile is read by `video_lstm.flags.config_from_flagfile`, the
model built by `video_lstm.models.build_model(**config.model_kwargs())` and
the optimizer by `video_lstm.optimizers.make_optimizer(config)`.

- ours: that model under the Keras dtype policy (`--precision`) `float32` or
  `mixed_bfloat16`, trained by one `jax.jit` step made of
  `model.stateless_call`, `model.decoder_losses`, `jax.value_and_grad` and
  `optimizer.stateless_apply`, with the whole training state donated (updated
  in place). Float32 matmuls run at XLA's default precision, which is TF32 on
  NVIDIA GPUs since Ampere.
- peer: the same model in PyTorch (`bench/torch_peer.py`'s `TorchComposite`:
  `nn.LSTM`, hence cuDNN on a GPU) with `torch.optim.SGD`; its float32 row
  allows TF32 too (`torch.backends.{cuda.matmul,cudnn}.allow_tf32`), its
  bfloat16 row runs under `torch.autocast(dtype=torch.bfloat16)`.

Both read the same pre-generated random binary-ish frames, already on the
device. Each contender is warmed up (compiled), then they take turns for
`--repeats` rounds of `--steps` steps, each round ended by a device sync
(`block_until_ready` / `torch.cuda.synchronize`); the medians are reported.
Memory: for ours, XLA's compiled memory analysis of the step (arguments +
outputs + temporaries - donated aliases), for the peer
`torch.cuda.max_memory_allocated`; on a CPU both are the process's peak RSS.
GFLOP/seq is bench/roofline.py's analytic training count (matmuls only, no
multiplication by a known zero); a first row gives the measured TFLOP/s of
large float32 and bfloat16 `jnp.matmul`s, the practical peak.
"""

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import sys
import time

os.environ["KERAS_BACKEND"] = "jax"  # before Keras loads, wherever this is imported from
# JAX must not take 75% of the GPU up front: PyTorch runs in the same process.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for _path in (BENCH, ROOT):  # run from a checkout
    if _path not in sys.path:
        sys.path.insert(0, _path)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import roofline  # noqa: E402  (bench/roofline.py: imports no TensorFlow at module level)

from video_lstm import flags as flags_lib  # noqa: E402  (absl, numpy, cv2: no TensorFlow, no Keras)

FLAGFILE = os.path.join(ROOT, "configs", "paper_composite_conditional.flags")
PRECISIONS = ("float32", "mixed_bfloat16")
SMOKE = ("--units=16", "--frame_size=32", "--input_length=3", "--future_length=3")


def paper_config(*overrides):
    """The flagfile's `Config`, with command-line style `overrides` ("--units=16", ...)."""
    return flags_lib.config_from_flagfile(FLAGFILE, *overrides)


def frame_shape(config):
    return tuple(config.input_spec.frame_shape)


def device_name():
    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', d.platform)}"


def on_gpu():
    return jax.devices()[0].platform == "gpu"


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- ours: Keras 3 on JAX ------------------------------------------------------


def make_model(config):
    """The built model of `config`, under its dtype policy `config.precision`."""
    from video_lstm.models import build_model

    model = build_model(**config.model_kwargs())
    frame = frame_shape(config)
    model({
        "frames": np.zeros((1, config.input_length) + frame, np.float32),
        "future_frames": np.zeros((1, config.future_length) + frame, np.float32),
    })
    return model


def make_trainer(config):
    """A Trainer of `config`'s model with `video_lstm.optimizers.make_optimizer(config)`."""
    from video_lstm.optimizers import make_optimizer

    return Trainer(make_model(config), make_optimizer(config))


class Trainer:
    """One jitted, donated training step of a Keras model on JAX.

    `state` is (trainable, non_trainable, optimizer) variable values;
    `step(state, frames, future)` returns (new state, (loss, future_loss)),
    the losses as device scalars (no sync).
    """

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        optimizer.build(model.trainable_variables)

        def loss_fn(trainable, non_trainable, frames, future):
            inputs = {"frames": frames, "future_frames": future}
            outputs, non_trainable = model.stateless_call(trainable, non_trainable, inputs, training=True)
            losses = model.decoder_losses(inputs, outputs)
            total = losses["reconstruction"] + losses["future"]
            return total, (non_trainable, losses["reconstruction"], losses["future"])

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def step(state, frames, future):
            trainable, non_trainable, opt = state
            (loss, (non_trainable, rec, fut)), grads = grad_fn(trainable, non_trainable, frames, future)
            trainable, opt = optimizer.stateless_apply(opt, grads, trainable)
            return (trainable, non_trainable, opt), (rec, fut)

        self.jit_step = jax.jit(step, donate_argnums=0)
        self.step = self.jit_step  # replaced by the compiled step by `compile`

        def predict(trainable, non_trainable, frames):
            """Logits with the decoders running free (no ground truth, training=False)."""
            outputs, _ = model.stateless_call(trainable, non_trainable, {"frames": frames}, training=False)
            return outputs

        self.predict = predict

    def initial_state(self):
        m, o = self.model, self.optimizer
        return tuple(
            [jnp.array(v.value) for v in vs]  # copies: the donated buffers are ours alone
            for vs in (m.trainable_variables, m.non_trainable_variables, o.variables)
        )

    def abstract_state(self):
        return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), self.initial_state())

    def lower(self, batch, config):
        """The step lowered for `batch` (abstract shapes: no device memory taken)."""
        frame = frame_shape(config)
        frames = jax.ShapeDtypeStruct((batch, config.input_length) + frame, jnp.float32)
        future = jax.ShapeDtypeStruct((batch, config.future_length) + frame, jnp.float32)
        return self.jit_step.lower(self.abstract_state(), frames, future)

    def compile(self, batch, config):
        """Compiles the step for `batch` and uses it from now on; (seconds, MB)."""
        start = time.perf_counter()
        self.step = self.lower(batch, config).compile()
        return time.perf_counter() - start, step_memory_mb(self.step)

    def write_back(self, state):
        """Copies a state's values into the Keras variables (for saving, `generate`)."""
        m, o = self.model, self.optimizer
        for vs, values in zip((m.trainable_variables, m.non_trainable_variables, o.variables), state):
            for v, value in zip(vs, values):
                v.assign(value)


def step_memory_mb(compiled):
    """XLA's memory analysis of a compiled step: arguments + outputs + temporaries - donated aliases."""
    try:
        a = compiled.memory_analysis()
        total = a.argument_size_in_bytes + a.output_size_in_bytes + a.temp_size_in_bytes - a.alias_size_in_bytes
        return total / 2**20
    except Exception:  # noqa: BLE001 - not every backend reports it
        return None


def compile_all(trainers, config, keys, threads):
    """{(precision, batch): (compiled step, seconds)}: traced in turn, compiled in parallel threads."""
    from concurrent.futures import ThreadPoolExecutor

    lowered = {}
    for precision, batch in keys:
        start = time.perf_counter()
        lowered[precision, batch] = (trainers[precision].lower(batch, config), time.perf_counter() - start)

    def compile_one(item):
        low, trace_s = item
        start = time.perf_counter()
        compiled = low.compile()
        return compiled, trace_s + time.perf_counter() - start

    with ThreadPoolExecutor(max(1, threads)) as pool:
        return dict(zip(lowered, pool.map(compile_one, lowered.values())))


def random_frames(key, batch, config, count):
    """`count` (frames, future) pairs of binary-ish frames on the device."""
    shape_in = (count, batch, config.input_length) + frame_shape(config)
    shape_out = (count, batch, config.future_length) + frame_shape(config)
    k1, k2 = jax.random.split(key)
    frames = (jax.random.uniform(k1, shape_in) < 0.1).astype(jnp.float32)
    future = (jax.random.uniform(k2, shape_out) < 0.1).astype(jnp.float32)
    return frames, future


def ours_runner(trainer, compiled, precision, batch, steps, data):
    """(run, close, info): run() trains `steps` steps and returns the seconds (device-synced)."""
    frames, future = list(data[0]), list(data[1])  # per-batch arrays, sliced once
    holder = {"state": trainer.initial_state()}
    step = compiled
    for i in range(2):  # warm up
        holder["state"], losses = step(holder["state"], frames[i % len(frames)], future[i % len(future)])
    jax.block_until_ready((holder["state"], losses))
    if not all(math.isfinite(float(x)) for x in losses):
        raise FloatingPointError(f"ours {precision} b{batch}: non-finite loss {losses}")

    def run():
        start = time.perf_counter()
        for i in range(steps):
            holder["state"], losses = step(holder["state"], frames[i % len(frames)], future[i % len(future)])
        jax.block_until_ready((holder["state"], losses))
        return time.perf_counter() - start

    def close():
        holder.clear()

    return run, close, {"memory_mb": step_memory_mb(compiled), "loss": float(losses[1])}


# -- peer: PyTorch ---------------------------------------------------------------


def peer_runner(config, precision, batch, steps, data, cpu_threads=0):
    """Like ours_runner, for bench/torch_peer.py's TorchComposite; None without PyTorch."""
    try:
        import torch
        import torch_peer
    except ImportError:
        return None
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True  # as XLA's default precision
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats()
    else:
        torch.set_num_threads(cpu_threads or os.cpu_count())
    torch.manual_seed(config.seed)
    frame_dim = math.prod(frame_shape(config))
    model = torch_peer.TorchComposite(
        frame_dim, config.units, config.num_layers, config.conditional_reconstruction,
        config.conditional_future, config.init_scale,
    ).to(device)
    # torch's weight_decay adds weight_decay * w to the gradient: the official L2, as ours.
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=config.momentum,
                                    weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                     weight_decay=config.weight_decay)
    frames = [torch.from_numpy(np.array(f)).reshape(batch, config.input_length, -1).to(device)
              for f in data[0]]
    future = [torch.from_numpy(np.array(f)).reshape(batch, config.future_length, -1).to(device)
              for f in data[1]]
    bf16 = precision == "mixed_bfloat16"
    seen = {}
    model.encoder.register_forward_hook(lambda m, i, o: seen.__setitem__("lstm_dtype", str(o[0].dtype)))
    mode = {"pure_bf16": False}

    def step(x, y):
        if mode["pure_bf16"]:
            x, y = x.bfloat16(), y.bfloat16()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and not mode["pure_bf16"]):
            reconstruction, prediction = model(x, y)
        loss = (torch_peer.frame_cross_entropy(reconstruction.float(), x.flip(1))
                + torch_peer.frame_cross_entropy(prediction.float(), y))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    def sync():
        if cuda:
            torch.cuda.synchronize()

    start = time.perf_counter()
    try:
        loss = step(frames[0], future[0])
    except RuntimeError as e:  # an LSTM kernel without bfloat16 autocast: bfloat16 weights instead
        if not bf16:
            raise
        print(f"(peer: bfloat16 autocast failed ({str(e)[:120]}); bfloat16 weights instead)", flush=True)
        mode["pure_bf16"] = True
        model.bfloat16()
        optimizer.state.clear()
    for i in range(2):
        loss = step(frames[i % len(frames)], future[i % len(future)])
    sync()
    compile_s = time.perf_counter() - start
    if not math.isfinite(float(loss.detach())):
        raise FloatingPointError(f"peer {precision} b{batch}: non-finite loss")

    def run():
        start = time.perf_counter()
        for i in range(steps):
            step(frames[i % len(frames)], future[i % len(future)])
        sync()
        return time.perf_counter() - start

    def close():
        frames.clear()
        future.clear()
        if cuda:
            torch.cuda.empty_cache()

    memory = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    info = {"warmup_s": compile_s, "memory_mb": memory, "lstm_dtype": seen.get("lstm_dtype"),
            "mode": ("bf16_weights" if mode["pure_bf16"] else "autocast_bf16" if bf16 else "float32")
            + ("+tf32" if cuda and not bf16 else "")}
    return run, close, info


# -- the roofline --------------------------------------------------------------------


def matmul_tflops(n, dtype, precision=None, repeats=3, inner=10):
    """Median TFLOP/s of an (n, n) @ (n, n) jnp.matmul in `dtype` (device-synced)."""
    a = jax.random.uniform(jax.random.PRNGKey(0), (n, n), jnp.float32).astype(dtype)
    b = jax.random.uniform(jax.random.PRNGKey(1), (n, n), jnp.float32).astype(dtype)
    fn = jax.jit(lambda x, y: jnp.matmul(x, y, precision=precision))
    fn(a, b).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            out = fn(a, b)
        out.block_until_ready()
        times.append((time.perf_counter() - start) / inner)
    return 2 * n**3 / statistics.median(times) / 1e12


def matmul_row(n):
    row = {
        "config": "matmul_peak", "matmul_size": n, "device": device_name(),
        "matmul_fp32_tflops": matmul_tflops(n, jnp.float32),
        "matmul_fp32_highest_tflops": matmul_tflops(n, jnp.float32, jax.lax.Precision.HIGHEST),
        "matmul_bf16_tflops": matmul_tflops(n, jnp.bfloat16),
    }
    return row


# -- the benchmark -------------------------------------------------------------------


def take_turns(runners, repeats):
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(run())
    return {name: statistics.median(t) for name, t in times.items()}


def measure(config, trainer, compiled, precision, batch, steps, repeats, peak, contenders, peer_threads=0):
    data = random_frames(jax.random.PRNGKey(batch), batch, config, count=2)
    runners, closers, info = {}, [], {}
    run, close, info["ours"] = ours_runner(trainer, compiled[0], precision, batch, steps, data)
    info["ours"]["compile_s"] = compiled[1]
    runners["ours"] = run
    closers.append(close)
    rss = peak_rss_mb()
    if "peer" in contenders:
        try:
            made = peer_runner(config, precision, batch, steps, data, peer_threads)
        except Exception as e:  # noqa: BLE001 - a peer that cannot run this precision
            print(f"(peer {precision} b{batch} failed: {type(e).__name__}: {str(e)[:200]})", flush=True)
            made = None
            info["peer_error"] = f"{type(e).__name__}: {str(e)[:200]}"
        if made is not None:
            runners["peer"], close, info["peer"] = made
            closers.append(close)
    seconds = take_turns(runners, repeats)
    for close in closers:
        close()
    gflop = roofline.flops_per_sequence(config) / 1e9
    ours = steps * batch / seconds["ours"]
    peer = steps * batch / seconds["peer"] if "peer" in seconds else None
    achieved = ours * gflop / 1e3
    peak_key = "matmul_bf16_tflops" if precision == "mixed_bfloat16" else "matmul_fp32_tflops"
    gpu = on_gpu()
    row = {
        "config": f"{'paper' if config.units == 2048 else 'smoke'}_b{batch}_{precision}",
        "batch": batch,
        "precision": precision,
        "ours_seq_per_s": ours,
        "peer_seq_per_s": peer,
        "ours_step_ms": 1e3 * seconds["ours"] / steps,
        "peer_step_ms": 1e3 * seconds["peer"] / steps if peer else None,
        "gflop_per_seq": gflop,
        "achieved_tflops": achieved,
        "peer_achieved_tflops": peer * gflop / 1e3 if peer else None,
        "roofline_fraction": achieved / peak[peak_key] if peak.get(peak_key) else None,
        "peak_memory_mb": info["ours"]["memory_mb"] if gpu and info["ours"]["memory_mb"] else rss,
        "peer_peak_memory_mb": (info.get("peer") or {}).get("memory_mb") if gpu else rss,
        "memory_measure": "xla_memory_analysis/torch_max_allocated" if gpu else "process_peak_rss",
        "ours_compile_s": info["ours"]["compile_s"],
        "ours_first_loss": info["ours"]["loss"],
        "peer_error": info.get("peer_error"),
        "peer_mode": (info.get("peer") or {}).get("mode"),
        "peer_lstm_dtype": (info.get("peer") or {}).get("lstm_dtype"),
        "device": device_name(),
        "units": config.units,
        "frame_shape": list(frame_shape(config)),
        "steps": steps,
        "repeats": repeats,
    }
    gc.collect()
    return row


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def print_table(rows, peak):
    columns = [
        ("config", lambda r: r["config"]),
        ("ours seq/s", lambda r: fmt(r["ours_seq_per_s"])),
        ("peer seq/s", lambda r: fmt(r["peer_seq_per_s"])),
        ("ours/peer", lambda r: ratio(r["ours_seq_per_s"], r["peer_seq_per_s"])),
        ("step ms", lambda r: fmt(r["ours_step_ms"], ".2f")),
        ("GFLOP/seq", lambda r: fmt(r["gflop_per_seq"], ".3f")),
        ("TFLOP/s", lambda r: fmt(r["achieved_tflops"], ".2f")),
        ("roofline", lambda r: f"{100 * r['roofline_fraction']:.0f}%" if r["roofline_fraction"] else "-"),
        ("mem MB", lambda r: fmt(r["peak_memory_mb"], ".0f")),
        ("peer MB", lambda r: fmt(r["peer_peak_memory_mb"], ".0f")),
        ("compile s", lambda r: fmt(r["ours_compile_s"], ".1f")),
    ]
    cells = [[name for name, _ in columns]] + [[fn(r) for _, fn in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    print(f"(device {peak['device']}; matmul {peak['matmul_size']}^3: float32 {peak['matmul_fp32_tflops']:.1f} "
          f"TFLOP/s at default precision, {peak['matmul_fp32_highest_tflops']:.1f} at HIGHEST, bfloat16 "
          f"{peak['matmul_bf16_tflops']:.1f}; roofline = achieved / matmul peak of the row's precision)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", default="16,64,80,256", help="comma-separated batch sizes")
    p.add_argument("--precisions", default=",".join(PRECISIONS), help="float32,mixed_bfloat16")
    p.add_argument("--contenders", default="peer", help="'peer' or '' (ours alone)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per round")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds (the median is reported)")
    p.add_argument("--max_seconds", type=float, default=150.0,
                   help="start no configuration past this many seconds (the rest are skipped)")
    p.add_argument("--matmul_size", type=int, default=None, help="default 8192 on a GPU, 1024 on a CPU")
    p.add_argument("--cache_dir", default=None, help="JAX persistent compilation cache")
    p.add_argument("--compile_threads", type=int, default=min(8, os.cpu_count() or 1),
                   help="XLA compiles of the configurations run in parallel")
    p.add_argument("--peer_threads", type=int, default=0,
                   help="PyTorch's CPU threads (0: every core; --smoke: 1); GPUs ignore it")
    p.add_argument("--smoke", action="store_true", help="tiny model and frames, seconds on a CPU")
    p.add_argument("--json", default=None, help="write the rows here")
    return p.parse_args(argv)


def setup_cache(cache_dir):
    if cache_dir:
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def main(argv=None):
    start = time.perf_counter()
    args = parse_args(argv)
    setup_cache(args.cache_dir)
    overrides = SMOKE if args.smoke else ()
    config = paper_config(*overrides)
    batches = [2] if args.smoke else [int(b) for b in args.batches.split(",") if b]
    precisions = [p for p in args.precisions.split(",") if p]
    for p in precisions:
        if p not in PRECISIONS:
            raise SystemExit(f"--precisions: {p!r} is not one of {PRECISIONS}")
    steps, repeats = (2, 1) if args.smoke else (args.steps, args.repeats)
    # Tiny shapes on a shared CPU: one thread, as many would spin against each other.
    peer_threads = args.peer_threads or (1 if args.smoke else 0)
    contenders = [c for c in args.contenders.split(",") if c]
    size = args.matmul_size or (256 if args.smoke else 8192 if on_gpu() else 1024)
    print(f"device {device_name()}; jax {jax.__version__}; config {config.to_dict()}", flush=True)
    peak = matmul_row(size)
    failures = []
    trainers = {p: make_trainer(paper_config(*overrides, f"--precision={p}")) for p in precisions}
    keys = [(p, b) for b in batches for p in precisions]
    t0 = time.perf_counter()
    compiled = compile_all(trainers, config, keys, args.compile_threads)
    peak["compile_all_s"] = time.perf_counter() - t0
    print(f"compiled {len(keys)} steps in {peak['compile_all_s']:.1f} s "
          f"({args.compile_threads} threads)", flush=True)
    rows, last = [], 0.0

    def write():
        if args.json:  # after every configuration, so a run cut short still leaves its rows
            with open(args.json, "w") as f:
                json.dump([peak] + rows, f, indent=2)

    write()
    for precision, batch in keys:
        elapsed = time.perf_counter() - start
        if rows and elapsed + 1.5 * last > args.max_seconds:
            print(f"(skipped b{batch} {precision}: {elapsed:.0f} s spent of --max_seconds)", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            row = measure(config, trainers[precision], compiled.pop((precision, batch)), precision,
                          batch, steps, repeats, peak, contenders, peer_threads)
        except Exception as e:  # noqa: BLE001 - report it and go on with the next configuration
            print(f"(b{batch} {precision} failed: {type(e).__name__}: {str(e)[:300]})", flush=True)
            failures.append({"batch": batch, "precision": precision, "error": f"{type(e).__name__}: {e}"[:500]})
            peak["failures"] = failures
            write()
            continue
        rows.append(row)
        last = time.perf_counter() - t0
        print(f"{row['config']}: ours {row['ours_seq_per_s']:.1f} seq/s, peer {fmt(row['peer_seq_per_s'])} "
              f"seq/s ({last:.0f} s)", flush=True)
        write()
    print_table(rows, peak)
    for r in rows:
        r["tensorflow_imported"] = "tensorflow" in sys.modules
    peak["tensorflow_imported"] = "tensorflow" in sys.modules
    peak["python"] = platform.python_version()
    peak["jax"] = jax.__version__
    try:
        import torch

        peak["torch"] = torch.__version__
    except ImportError:
        pass
    try:
        stats = jax.devices()[0].memory_stats() or {}
        peak["jax_process_peak_mb"] = stats.get("peak_bytes_in_use", 0) / 2**20 or None
    except Exception:  # noqa: BLE001 - CPUs report none
        peak["jax_process_peak_mb"] = None
    peak["bench_seconds"] = time.perf_counter() - start
    print(f"(tensorflow imported: {'tensorflow' in sys.modules}; {peak['bench_seconds']:.0f} s)")
    write()
    if not rows:
        raise SystemExit("no configuration ran")
    return [peak] + rows


if __name__ == "__main__":
    main()
