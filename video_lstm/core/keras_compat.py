"""Every private Keras and TensorFlow API the project relies on, in one place.

Each shim names what it reaches into and has a test
(`tests/core/test_keras_compat.py`) that fails when Keras changes under it;
`pyproject.toml` bounds Keras to the versions those tests passed on. Nothing
else in the package touches `keras.src` or an underscored attribute of
Keras or TensorFlow.
"""


import keras
from keras.src.backend import random_seed_dtype

# What Keras' own losses apply to a per-replica loss under tf.distribute (divide by
# the replicas in sync), so a custom `compute_loss` sums to the global mean.
from keras.src.losses.loss import scale_loss_for_distribution  # noqa: F401


def optimizer_variables_of(optimizer):
    """The Keras variables an optimizer was built on, in its own order
    (`optimizer._trainable_variables`)."""
    return optimizer._trainable_variables


def keras_variable_of(optimizer, variable):
    """The Keras variable behind `variable` inside `optimizer.update_step`, where the
    TensorFlow backend hands over its own `tf.Variable` (no `.path`): found by index
    (`optimizer._get_variable_index`)."""
    return optimizer._trainable_variables[optimizer._get_variable_index(variable)]


def own_variable_count(layer):
    """How many variables `layer` owns itself (not its sublayers'): what
    `load_own_variables` receives (`layer._trainable_variables` + `_non_trainable_variables`)."""
    return len(layer._trainable_variables) + len(layer._non_trainable_variables)


def in_multi_worker_mode(strategy):
    """Whether a tf.distribute strategy spans several workers
    (`strategy.extended._in_multi_worker_mode()`)."""
    return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())


def skip_symbolic_build(model):
    """Stops `fit` from building `model` on a first batch reduced across workers, which
    fails for a dict of inputs under MultiWorkerMirroredStrategy (tensorflow/tensorflow#72388);
    the model must already be built (`Trainer._maybe_symbolic_build`)."""
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


# The JAX trainer's stateless step calls `model.compute_loss_and_updates(...,
# optimizer_variables=...)`; a model that reads the optimizer's step count during
# its forward pass overrides it to pick the traced count out of those variables.
JAX_TRAINER_HOOK = "compute_loss_and_updates"


def traced_iterations(optimizer, optimizer_variables):
    """The optimizer's step count among the traced `optimizer_variables` the JAX
    trainer hands to `compute_loss_and_updates` (same order as `optimizer.variables`)."""
    index = next(i for i, v in enumerate(optimizer.variables) if v is optimizer.iterations)
    return optimizer_variables[index]


def renamed_config(config, renames):
    """A layer config with keys renamed as `renames` ({old: new}) says: how `from_config`
    reads `.keras` files written before a constructor argument was renamed."""
    return {renames.get(key, key): value for key, value in config.items()}



class _StepSeed(keras.random.SeedGenerator):
    """A `SeedGenerator` whose every draw is one fixed seed tensor: no state variable."""

    def __init__(self, value):  # no super().__init__: nothing for a layer to track or save
        self.value = value

    def next(self, ordered=True):
        return self.value


def step_seed(seed, step):
    """What `keras.random.*(seed=...)` and `keras.random.dropout` take for the stateless seed
    `(seed, step)` (`step`: a scalar tensor, the training step), or None (unseeded) for
    `seed=None`.

    Keras takes a tensor seed only as a `SeedGenerator`, whose `next()` it calls
    (`keras.src.random.seed_generator.draw_seed`); a Keras generator's state is a variable
    that no checkpoint holds. This one holds none: its `next()` is `(seed, step)` in the
    backend's seed dtype (`keras.src.backend.random_seed_dtype`), which is what a Keras
    generator made with `seed` returns at its `step`-th draw (counting from 0).
    """
    if seed is None:
        return None
    dtype = random_seed_dtype()
    return _StepSeed(keras.ops.stack([keras.ops.cast(int(seed), dtype), keras.ops.cast(step, dtype)]))
