r"""The package's trainer against a bare compiled train step: what `fit` costs beyond the step.

    python bench/trainer_overhead.py [--backends=tensorflow,jax] [--steps=5000] [--rounds=5]

For each backend, in its own process (`KERAS_BACKEND` set; `jax` runs with TensorFlow
hidden, as on the GPU machine: NumPy batches in threads, `.weights.h5` checkpoints,
the tensorboard package's event writer), a model small enough that its step takes about
a millisecond on a CPU is trained, in turn, `--rounds` times each:

- **trainer**: `training.loop.train` as `python -m video_lstm.train` runs it (its data
  source, callbacks, TensorBoard scalars and images, checkpoints, progress lines), timed
  from the end of its first checkpoint interval (compilation, the first checkpoint) to the
  end of training;
- **bare**: the model's own `train_step`, compiled as Keras compiles it (`tf.function` with
  XLA; `jax.jit` with the state donated), called in a Python loop on the same batches
  (made beforehand, already tensors), nothing else.

Prints steps/s of both (the best of the rounds: on a shared VM a round's rate swings by
10-20% either way, and the fastest round of each is the one least disturbed; medians are
in the JSON) and the ratio trainer / bare. `--json=PATH` also writes the rows.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# The model: a step of about a millisecond on a 2-core CPU (`--units` and `--batch_size` change it).
MODEL = dict(
    model="composite", units=16, num_digits=1, frame_size=28, input_length=3, future_length=3,
    digits="rendered", eval_sequences=16,
)
BOOKKEEPING = dict(checkpoint_every=500, log_every=50, image_every=250)  # the package's defaults


def make_config(args):
    from video_lstm import config as config_lib

    values = dict(MODEL, units=args.units, batch_size=args.batch_size, steps=args.steps, **BOOKKEEPING)
    if args.steps_per_execution:
        values["steps_per_execution"] = args.steps_per_execution
    return config_lib.make(**values)


class _Timer:
    """A callback that notes the time at the end of the first checkpoint interval and at the end."""

    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def on_epoch_end(inner, epoch, logs=None):
                if outer.start is None:
                    outer.start = time.perf_counter()
                    outer.start_step = (epoch + 1) * outer.interval

            def on_train_end(inner, logs=None):
                outer.end = time.perf_counter()

        outer = self
        self.start = self.end = None
        self.callback = Timer()


def trainer_rate(config, log_dir):
    """Steps/s of `loop.train` after its first checkpoint interval."""
    from video_lstm.training import loop

    timer = _Timer()
    timer.interval = min(config.checkpoint_every, config.steps)
    loop.train(config, log_dir, verbose=2, callbacks=[timer.callback])
    return (config.steps - timer.start_step) / (timer.end - timer.start)


def batches(config, count):
    """The first `count` training batches of the source, as the backend's tensors."""
    import keras

    from pipelines import sources
    from video_lstm.core import backend

    source = sources.build(config)
    if backend.tensorflow_available():
        made = list(source.train_dataset(start_step=0).take(count))
    else:
        made = [source.split(source.numpy_train_clips(step)) for step in range(count)]
    return [{k: keras.ops.convert_to_tensor(v) for k, v in batch.items()} for batch in made]


def bare_rate(config, data, steps):
    """Steps/s of the compiled train step alone, called `steps` times on `data` (cycled)."""
    import keras

    from pipelines import sources
    from video_lstm.training import loop

    model = loop.new_model(config, sources.build(config).sample_inputs(count=2))
    if keras.backend.backend() == "jax":
        import jax

        model.optimizer.build(model.trainable_variables)
        state = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables],
            [v.value for v in model.metrics_variables],
        )
        step = jax.jit(model.train_step, donate_argnums=0)
        for batch in data[:2]:  # compile, warm up
            logs, state = step(state, batch)
        jax.block_until_ready(state)
        started = time.perf_counter()
        for i in range(steps):
            logs, state = step(state, data[i % len(data)])
        jax.block_until_ready(state)
    else:
        import tensorflow as tf

        step = tf.function(model.train_step, jit_compile=config.jit_compile, reduce_retracing=True)
        for batch in data[:2]:
            logs = step(batch)
        float(logs["loss"])
        started = time.perf_counter()
        for i in range(steps):
            logs = step(data[i % len(data)])
        float(logs["loss"])
    return steps / (time.perf_counter() - started)


def child(args):
    import keras

    config = make_config(args)
    timed = config.steps - min(config.checkpoint_every, config.steps)
    data = batches(config, 100)
    rates = {"trainer": [], "bare": []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            rates["trainer"].append(trainer_rate(config, os.path.join(scratch, f"run{round_}")))
            rates["bare"].append(bare_rate(config, data, timed))
    trainer, bare = (max(rates[k]) for k in ("trainer", "bare"))
    medians = {k: round(statistics.median(rates[k]), 1) for k in rates}
    print("RESULT " + json.dumps({
        "backend": keras.backend.backend(), "units": config.units, "batch": config.batch_size,
        "steps_per_execution": getattr(config, "steps_per_execution", 1),
        "trainer_steps_per_s": round(trainer, 1), "bare_steps_per_s": round(bare, 1),
        "bare_step_ms": round(1000 / bare, 3), "ratio": round(trainer / bare, 3),
        "rounds": {k: [round(v, 1) for v in values] for k, values in rates.items()}, "medians": medians,
        "median_ratio": round(medians["trainer"] / medians["bare"], 3),
    }))


def run_backend(backend, argv):
    """The child for `backend` in its own process; `jax`: with TensorFlow hidden."""
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu")
    with tempfile.TemporaryDirectory() as shim:
        if backend == "jax":
            for package in ("tensorflow", "tensorflow_datasets"):
                os.makedirs(os.path.join(shim, package))
                with open(os.path.join(shim, package, "__init__.py"), "w") as f:
                    f.write(f"raise ImportError('{package} is hidden: the JAX-only path')\n")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (shim, ROOT, os.environ.get("PYTHONPATH")) if p)
        result = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *argv], cwd=ROOT, env=env,
                                capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        sys.exit(f"the {backend} run failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--steps", type=int, default=5000, help="steps per trainer run (the first 500 untimed)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--units", type=int, default=MODEL["units"])
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--steps_per_execution", type=int, default=0, help="0: the package's default")
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    argv = [a for a in sys.argv[1:] if not a.startswith(("--backends", "--json"))]
    rows = [run_backend(backend, argv) for backend in args.backends.split(",")]
    print(f"{'backend':<11} {'steps/exec':>10} {'bare ms':>8} {'bare steps/s':>13} {'trainer steps/s':>16} "
          f"{'trainer/bare':>13} {'(medians)':>10}")
    for row in rows:
        print(f"{row['backend']:<11} {row['steps_per_execution']:>10} {row['bare_step_ms']:>8} "
              f"{row['bare_steps_per_s']:>13} {row['trainer_steps_per_s']:>16} {row['ratio']:>13.1%} "
              f"{row['median_ratio']:>10.1%}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
