r"""Trains the paper's conditional composite model on JAX for a wall-clock budget.

    python bench/accelerator_train.py --out=/tmp/acc_train                     # 360 s, paper size
    python bench/accelerator_train.py --precision=auto --bench_json=bench.json --out=...
    python bench/accelerator_train.py --smoke --out=/tmp/acc_smoke             # seconds on a CPU

No TensorFlow: Keras runs on JAX and Moving MNIST comes from
pipelines/moving_mnist_numpy.py. The random part of each batch (positions and
digit indices, a pure function of (seed, step)) is drawn by NumPy in a
background thread, `DRAW_CHUNK` steps at a time (`sample_steps`); the digits
are pasted into frames on the device by `pipelines/moving_mnist_jax.py` (as
the package's trainer does under JAX), so the accelerator is not kept waiting. The
training step is bench/accelerator.py's (`model.stateless_call` +
`optimizer.stateless_apply`, jitted, state donated), so a persistent
compilation cache shared with the benchmark (`--cache_dir`) saves its compile.

Every `--log_every` steps it logs step, seconds and the training
cross-entropy per predicted frame (mean since the last log). When the budget
is spent it evaluates the cross-entropy per predicted frame (binary
cross-entropy summed over a frame's pixels, mean over frames and sequences)
with the decoders running free (no ground truth fed back: training=False) on
a fixed test set of `--eval_sequences` sequences made from MNIST test digits
with `--test_seed`, and writes into `--out`: metrics.json, curve.json and
samples.png (per test clip: input | ground truth | prediction rows).
"""

import argparse
import json
import math
import os
import sys
import threading
import time

import accelerator as acc  # noqa: E402  (sets KERAS_BACKEND=jax, sys.path)
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from pipelines import digits as digits_lib  # noqa: E402
from pipelines import moving_mnist_jax  # noqa: E402
from pipelines import moving_mnist_numpy as mmnist  # noqa: E402
from pipelines.sources import DRAW_CHUNK  # noqa: E402
from video_lstm.core.prefetch import Prefetcher  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--train_seconds", type=float, default=360.0, help="wall-clock training budget")
    p.add_argument("--deadline", type=float, default=None,
                   help="unix time by which training must stop, leaving --reserve_seconds (caps the budget)")
    p.add_argument("--reserve_seconds", type=float, default=45.0, help="kept for eval and writing")
    p.add_argument("--batch", type=int, default=16, help="sequences per step (the paper's 16)")
    p.add_argument("--precision", default="auto", help="float32, mixed_bfloat16, or auto")
    p.add_argument("--bench_json", default=None, help="benchmark rows that --precision=auto reads")
    p.add_argument("--mnist_path", default=None,
                   help="mnist.npz; default $VIDEO_LSTM_DATA_DIR/mnist.npz, then the Keras cache")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test_seed", type=int, default=1234)
    p.add_argument("--eval_sequences", type=int, default=10000)
    p.add_argument("--eval_batch", type=int, default=1000)
    p.add_argument("--log_every", type=int, default=100)
    p.add_argument("--samples", type=int, default=4, help="test clips in samples.png")
    p.add_argument("--cache_dir", default=None, help="JAX persistent compilation cache")
    p.add_argument("--smoke", action="store_true", help="tiny model; OpenCV-rendered digits if MNIST is absent")
    return p.parse_args(argv)


def choose_precision(requested, bench_json, batch):
    """The precision to train in; 'auto': the faster one at `batch` in the benchmark rows."""
    if requested != "auto":
        return requested, "requested"
    if bench_json and os.path.isfile(bench_json):
        with open(bench_json) as f:
            rows = [r for r in json.load(f) if r.get("batch") == batch and r.get("ours_seq_per_s")]
        if rows:
            best = max(rows, key=lambda r: r["ours_seq_per_s"])
            return best["precision"], f"fastest at batch {batch} in {os.path.basename(bench_json)}"
    return "float32", "default (no benchmark rows)"


def load_banks(args):
    """(train digits, test digits, "mnist" or "rendered"): `pipelines.digits.load_digits`'s,
    never downloaded; MNIST required unless --smoke (then a few rendered digits stand in)."""
    banks = [
        digits_lib.load_digits("auto" if args.smoke else "mnist", split, args.mnist_path, allow_download=False,
                               rendered_count=count, seed=args.seed)
        for split, count in (("train", 200), ("test", 50))
    ]
    return banks[0].images, banks[1].images, banks[0].source


def write_samples(path, clips, predicted, input_length):
    """PNG: per clip three rows, input | ground truth | prediction, white rules between."""
    import cv2

    rows = []
    for clip, pred in zip(clips, predicted):
        inputs, truth = clip[:input_length, ..., 0], clip[input_length:, ..., 0]
        pred = pred[..., 0]
        width = max(len(inputs), len(truth))

        def strip(frames):
            pad = np.zeros((width - len(frames),) + frames.shape[1:], frames.dtype)
            return np.concatenate(list(np.concatenate([frames, pad])), axis=1)

        for frames in (inputs, truth, pred):
            rows.append(strip(frames))
        rows.append(np.ones((4, rows[-1].shape[1]), np.float32))
    image = np.clip(np.concatenate(rows[:-1], axis=0), 0.0, 1.0)
    cv2.imwrite(path, np.round(image * 255).astype(np.uint8))


def main(argv=None):
    t_start = time.time()
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    acc.setup_cache(args.cache_dir)
    overrides = acc.SMOKE if args.smoke else ()
    if args.smoke:
        args.eval_sequences = min(args.eval_sequences, 64)
        args.eval_batch = min(args.eval_batch, 32)
        args.log_every = min(args.log_every, 50)
    precision, why = choose_precision(args.precision, args.bench_json, args.batch)
    config = acc.paper_config(*overrides, f"--precision={precision}")
    budget = args.train_seconds
    if args.deadline:
        budget = min(budget, max(5.0, args.deadline - args.reserve_seconds - time.time()))
    size, t_in, t_out = config.data.frame_size, config.input_length, config.future_length
    num_digits, step_length = config.data.num_digits, config.data.step_length
    num_frames = t_in + t_out
    print(f"device {acc.device_name()}; precision {precision} ({why}); batch {args.batch}; "
          f"budget {budget:.0f} s; units {config.units}", flush=True)

    train_digits, test_digits, source = load_banks(args)
    train_bank = jax.device_put(train_digits)
    test_bank = jax.device_put(test_digits)
    def split(frames):
        return frames[:, :t_in], frames[:, t_in:]

    render = jax.jit(lambda *a: split(moving_mnist_jax.render(*a)), static_argnums=3)  # -> (frames, future)

    trainer = acc.make_trainer(config)
    state = trainer.initial_state()

    def draws_of(chunk):  # the positions and digits of DRAW_CHUNK steps, in one vectorised draw
        steps = np.arange(chunk * DRAW_CHUNK, (chunk + 1) * DRAW_CHUNK)
        positions, indices = mmnist.sample_steps(args.seed, steps, args.batch, num_frames, num_digits,
                                                 len(train_digits), size, step_length)
        return [(jax.device_put(p), jax.device_put(i)) for p, i in zip(positions, indices)]

    # Compile (or load from the cache) before the clock starts ticking for steps.
    compile_s, memory_mb = trainer.compile(args.batch, config)
    jax.block_until_ready(render(train_bank, *draws_of(0)[0], size))
    print(f"step compiled in {compile_s:.1f} s ({memory_mb or 0:.0f} MB on the device)", flush=True)

    samples = max(1, args.samples)

    @jax.jit
    def evaluate(trainable, non_trainable, bank, positions, indices):
        frames, future = split(moving_mnist_jax.render(bank, positions, indices, size))
        outputs = trainer.predict(trainable, non_trainable, frames)

        def ce(target, logits):  # (B, T): binary cross-entropy summed over each frame's pixels
            logits = logits.astype(jnp.float32).reshape(logits.shape[:2] + (-1,))
            target = target.reshape(target.shape[:2] + (-1,))
            per_pixel = jax.nn.relu(logits) - logits * target + jnp.log1p(jnp.exp(-jnp.abs(logits)))
            return per_pixel.sum(-1)

        return (ce(future, outputs["future"]), ce(jnp.flip(frames, axis=1), outputs["reconstruction"]),
                jax.nn.sigmoid(outputs["future"][:samples].astype(jnp.float32)))

    eval_batch = min(args.eval_batch, args.eval_sequences)
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state[:2])
    lowered_eval = evaluate.lower(
        *abstract, jax.ShapeDtypeStruct(test_bank.shape, test_bank.dtype),
        jax.ShapeDtypeStruct((eval_batch, num_frames, num_digits, 2), jnp.int32),
        jax.ShapeDtypeStruct((eval_batch, num_digits), jnp.int32))
    eval_compiled = {}
    eval_thread = threading.Thread(target=lambda: eval_compiled.setdefault("fn", lowered_eval.compile()))
    eval_thread.start()  # compiles on the CPU while the accelerator trains

    if args.deadline:  # the compile may have eaten into the time left
        budget = min(budget, max(5.0, args.deadline - args.reserve_seconds - time.time()))
    curve, pending, step = [], [], 0
    with Prefetcher(draws_of, start=0, depth=4, threads=1) as chunks:
        batches = (drawn for chunk in chunks for drawn in chunk)
        train_start = time.perf_counter()
        stop_at = train_start + budget
        while True:
            frames, future = render(train_bank, *next(batches), size)
            state, (rec, fut) = trainer.step(state, frames, future)
            pending.append((rec, fut))
            step += 1
            if step % args.log_every == 0 or time.perf_counter() >= stop_at:
                rec_mean, fut_mean = (float(x) for x in jnp.mean(jnp.array(pending), axis=0))  # syncs
                pending = []
                now = time.perf_counter()
                curve.append({
                    "step": step, "seconds": now - train_start, "sequences": step * args.batch,
                    "train_future_ce_per_frame": fut_mean, "train_reconstruction_ce_per_frame": rec_mean,
                })
                print(f"step {step:6d}  {now - train_start:7.1f} s  train future CE/frame {fut_mean:9.2f}  "
                      f"reconstruction {rec_mean:9.2f}", flush=True)
                if not math.isfinite(fut_mean):
                    print("non-finite loss: stopping", flush=True)
                    break
                if now >= stop_at:
                    break
    train_seconds = time.perf_counter() - train_start

    # -- evaluation: decoders running free on the fixed test set --------------------
    t_eval = time.perf_counter()
    trainable, non_trainable, _ = state
    positions, indices = mmnist.test_set(test_digits, args.eval_sequences, num_frames, num_digits,
                                         args.test_seed, size, step_length)
    positions, indices = positions.astype(np.int32), indices.astype(np.int32)

    future_sum = np.zeros(t_out)
    rec_sum = np.zeros(t_in)
    predicted = None
    n = args.eval_sequences
    eval_thread.join()
    evaluate = eval_compiled["fn"]
    for lo in range(0, n, eval_batch):
        real = min(eval_batch, n - lo)
        p, i = positions[lo:lo + real], indices[lo:lo + real]
        if real < eval_batch:  # pad the last chunk to the compiled shape; padding is dropped below
            p = np.concatenate([p, np.repeat(p[-1:], eval_batch - real, 0)])
            i = np.concatenate([i, np.repeat(i[-1:], eval_batch - real, 0)])
        f, r, pred = evaluate(trainable, non_trainable, test_bank, p, i)
        future_sum += np.asarray(f, np.float64)[:real].sum(0)
        rec_sum += np.asarray(r, np.float64)[:real].sum(0)
        if predicted is None:
            predicted = np.asarray(pred)
    per_frame_future = future_sum / n
    per_frame_rec = rec_sum / n
    eval_seconds = time.perf_counter() - t_eval

    sample_clips = mmnist.render(test_digits, positions[:samples], indices[:samples], size)
    write_samples(os.path.join(args.out, "samples.png"), sample_clips, predicted, t_in)
    metrics = {
        "future_ce_per_frame": float(per_frame_future.mean()),
        "future_ce_per_frame_by_step": per_frame_future.tolist(),
        "reconstruction_ce_per_frame": float(per_frame_rec.mean()),
        "eval_sequences": n,
        "test_seed": args.test_seed,
        "decoders": "free running (training=False: each conditional decoder reads its own output)",
        "final_train_future_ce_per_frame": curve[-1]["train_future_ce_per_frame"] if curve else None,
        "steps": step,
        "sequences_seen": step * args.batch,
        "train_seconds": train_seconds,
        "train_seq_per_s": step * args.batch / train_seconds if train_seconds else None,
        "budget_seconds": budget,
        "compile_seconds": compile_s,
        "step_memory_mb": memory_mb,
        "eval_seconds": eval_seconds,
        "batch": args.batch,
        "precision": precision,
        "precision_reason": why,
        "units": config.units,
        "frame_size": size,
        "input_length": t_in,
        "future_length": t_out,
        "optimizer": config.optimizer,
        "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay,
        "digits": source,
        "data": "pipelines/moving_mnist_numpy.py (NumPy; the same sequences as the tf.data generator)",
        "device": acc.device_name(),
        "jax": jax.__version__,
        "total_seconds": time.time() - t_start,
        "tensorflow_imported": "tensorflow" in sys.modules,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    with open(os.path.join(args.out, "curve.json"), "w") as f:
        json.dump(curve, f, indent=2)
    print(f"{step} steps in {train_seconds:.0f} s ({metrics['train_seq_per_s']:.1f} seq/s); eval of {n} "
          f"sequences in {eval_seconds:.1f} s: future CE/frame {metrics['future_ce_per_frame']:.2f}, "
          f"reconstruction {metrics['reconstruction_ce_per_frame']:.2f}", flush=True)
    return metrics


if __name__ == "__main__":
    main()
