"""Training across devices and machines: `--strategy`, `TF_CONFIG`, the input per worker.

- `default`: TensorFlow's default strategy (one device, what a plain run uses);
- `mirrored`: `tf.distribute.MirroredStrategy`, every GPU (or logical CPU) of this machine;
- `multi_worker`: `tf.distribute.MultiWorkerMirroredStrategy`, the cluster from `TF_CONFIG`
  exactly as TensorFlow defines it (`{"cluster": {"chief": [...], "worker": [...]},
  "task": {"type": "worker", "index": i}}`);
- `tpu`: `tf.distribute.TPUStrategy` on the TPU `TPU_NAME` names (`local` on a TPU VM);
  wired, not tested on this project's machines.

The chief (task `chief`, or worker 0 when the cluster has no chief) is the one
task that writes into the log_dir. Training batch i is the same global batch
whatever the strategy: each input pipeline (one per worker) takes its rows of
it (`worker_rows`), so a run's data is a function of (seed, step) alone and a
two-worker run sees what a one-worker run with the same --batch_size sees.

`TF_CONFIG` itself is read by `video_lstm.core.cluster`.
"""

import contextlib
import os

from absl import logging

from video_lstm.core import backend, cluster, keras_compat


class NoStrategy:
    """`--strategy=default` where TensorFlow is not importable (JAX alone): one device, no scope."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def make_strategy(name, collective_timeout_s=None):
    """The `tf.distribute.Strategy` that `--strategy=name` names (a `NoStrategy`
    for default without TensorFlow).

    Args:
        collective_timeout_s: multi_worker only: a collective that waits
            longer than this fails instead of waiting on. Leave it None under
            TensorFlow 2.21: each collective op with a timeout leaves a thread
            behind (about 14 per training step).
    """
    if not backend.tensorflow_available():
        if name != "default":
            raise ValueError(f"--strategy={name} needs TensorFlow (tf.distribute), which is not importable")
        return NoStrategy()
    # here: keeps TensorFlow out of `import video_lstm.training.distribute`
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        cluster.tf_config()  # a malformed TF_CONFIG is named here, not deep inside TensorFlow
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout_s)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", "local"))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"--strategy={name!r}; expected default, mirrored, multi_worker or tpu")


def is_default(strategy):
    """Whether `strategy` is TensorFlow's default (no distribution)."""
    if isinstance(strategy, NoStrategy):
        return True
    # here: keeps TensorFlow out of `import video_lstm.training.distribute`
    import tensorflow as tf

    with strategy.scope():
        return not tf.distribute.has_strategy()


def is_multi_worker(strategy):
    """Whether `strategy` spans several machines (collectives across workers)."""
    if isinstance(strategy, NoStrategy):
        return False
    return keras_compat.in_multi_worker_mode(strategy)


def jit_compile(requested):
    """`requested` (--jit_compile), unless the strategy in scope spreads the step over several
    devices or workers: Keras compiles the whole cross-replica step, which XLA cannot (its
    variables live on several devices); each replica's step then runs without XLA."""
    if not backend.tensorflow_available():
        return requested
    # here: keeps TensorFlow out of `import video_lstm.training.distribute`
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    if not requested or (strategy.num_replicas_in_sync == 1 and not is_multi_worker(strategy)):
        return requested
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return False  # TPUStrategy compiles the step with XLA itself
    if not _warned:
        _warned.append(True)
        logging.warning(
            "--jit_compile is off under %s with %d replicas: XLA cannot compile a step that spans "
            "devices (about 2x slower per replica on a CPU)", type(strategy).__name__,
            strategy.num_replicas_in_sync,
        )
    return False


_warned = []


def per_replica_batch(global_batch, strategy):
    """--batch_size split over the strategy's replicas; raises if it does not divide."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise ValueError(
            f"--batch_size={global_batch} does not divide over {replicas} replicas: "
            f"use a multiple of {replicas}"
        )
    return global_batch // replicas


def worker_rows(global_batch, pipeline, pipelines):
    """(start, stop): the rows of each global batch that input pipeline `pipeline` of `pipelines` reads."""
    if global_batch % pipelines:
        raise ValueError(f"--batch_size={global_batch} does not divide over {pipelines} workers")
    share = global_batch // pipelines
    return pipeline * share, (pipeline + 1) * share


def train_dataset(strategy, source, start_step):
    """The source's training stream from `start_step`, distributed over the strategy's replicas.

    Each worker's input pipeline reads its rows of every global batch and hands
    its local replicas `per_replica_batch` rows each; the default strategy gets
    the plain dataset.
    """
    # here: keeps TensorFlow out of `import video_lstm.training.distribute`
    import tensorflow as tf

    global_batch = source.config.batch_size
    per_replica = per_replica_batch(global_batch, strategy)
    if is_default(strategy):
        return source.train_dataset(start_step=start_step)

    def dataset_fn(context):
        rows = worker_rows(global_batch, context.input_pipeline_id, context.num_input_pipelines)
        dataset = source.train_dataset(start_step=start_step, rows=rows)
        if per_replica != rows[1] - rows[0]:  # several replicas on this worker: one element each
            dataset = dataset.unbatch().batch(per_replica, drop_remainder=True)
        return dataset.prefetch(tf.data.AUTOTUNE)

    return strategy.distribute_datasets_from_function(dataset_fn)


@contextlib.contextmanager
def training_inputs(strategy, source, start_step):
    """What `fit` reads: `train_dataset`, or without TensorFlow the source's NumPy
    batches (`DataSource.training_inputs`)."""
    if isinstance(strategy, NoStrategy):
        with source.training_inputs(start_step) as inputs:
            yield inputs
    else:
        yield train_dataset(strategy, source, start_step)


def prepare_model(model, strategy):
    """Makes a compiled `model` ready for `fit` under `strategy`: its optimizer's
    variables built under the scope now.

    Across workers, two workarounds for Keras 3 (tensorflow/tensorflow#72388;
    still so in Keras 3.15): its build before `fit` (which then has nothing
    left to build) is skipped, since it reduces a batch across workers, which
    fails for a dict of inputs; and each logged value (a worker's mean) leaves
    the step with shape (1,), since `fit` averages logs across workers along
    axis 0, which fails for scalars. The logs `fit` hands on are scalars: the
    mean over the workers' means, which is the global batch's mean.
    """
    with strategy.scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    if is_multi_worker(strategy):
        keras_compat.skip_symbolic_build(model)
        model.train_step = _with_logs_of_shape_1(model.train_step)
    return model


def _with_logs_of_shape_1(train_step):
    # here: keeps TensorFlow out of `import video_lstm.training.distribute`
    import tensorflow as tf

    def step(data):
        return {name: tf.reshape(value, (1,)) for name, value in train_step(data).items()}

    return step


def any_worker(strategy):
    """A function `flag -> bool`: whether `flag` is true on any worker.

    One all-reduce across the cluster per call, compiled once (eager
    collectives start threads on every call)."""
    # here: keeps TensorFlow out of `import video_lstm.training.distribute`
    import tensorflow as tf

    @tf.function
    def total(flag):
        local = strategy.run(tf.identity, args=(flag,))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, local, axis=None)

    return lambda flag: int(total(tf.constant(1 if flag else 0, tf.int32))) > 0
