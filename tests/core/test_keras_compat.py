"""Each private Keras / TensorFlow API the package reaches (video_lstm/core/keras_compat.py)
still exists and still means what the shim assumes: these fail when Keras changes under it."""

import inspect

import keras
import numpy as np
import pytest

from video_lstm.core import keras_compat


def test_scale_loss_for_distribution_leaves_a_loss_alone_outside_a_strategy():
    loss = keras.ops.convert_to_tensor(3.0)
    assert float(keras_compat.scale_loss_for_distribution(loss)) == 3.0


def test_scale_loss_for_distribution_divides_by_the_replicas_in_sync(monkeypatch):
    """Under a strategy of 4 replicas in sync a loss is divided by 4 (each replica's gradients
    are summed); under a real one-replica MirroredStrategy it is left alone."""
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.distribute replicas exist on the TensorFlow backend only")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    scaled = strategy.run(lambda: keras_compat.scale_loss_for_distribution(tf.constant(3.0)))
    assert float(strategy.experimental_local_results(scaled)[0]) == 3.0  # one replica: / 1

    class FourReplicas:  # what the shim reads of the strategy in scope
        num_replicas_in_sync = 4

    monkeypatch.setattr(tf.distribute, "get_strategy", lambda: FourReplicas())
    assert float(keras_compat.scale_loss_for_distribution(tf.constant(3.0))) == 0.75
    half = keras_compat.scale_loss_for_distribution(tf.constant(3.0, tf.float16))
    assert half.dtype == tf.float16 and float(half) == 0.75  # in the loss's own dtype


def _built_adam():
    variables = [keras.Variable(np.ones((2, 3), "float32"), name="a"), keras.Variable(np.zeros(3, "float32"), name="b")]
    optimizer = keras.optimizers.Adam()
    optimizer.build(variables)
    return optimizer, variables


def test_optimizer_variables_are_the_ones_it_was_built_on_in_order():
    optimizer, variables = _built_adam()
    assert keras_compat.optimizer_variables_of(optimizer) == variables


def test_the_keras_variable_behind_a_backend_variable_is_found_by_index():
    optimizer, variables = _built_adam()
    for variable in variables:
        assert keras_compat.keras_variable_of(optimizer, variable) is variable
        # What the TensorFlow backend hands to update_step: its own tf.Variable.
        assert keras_compat.keras_variable_of(optimizer, variable.value) is variable


def test_own_variable_count_excludes_sublayers():
    class Outer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = keras.layers.Dense(2)

        def build(self, shape):
            self.scale = self.add_weight(shape=(), initializer="ones")
            self.counter = self.add_weight(shape=(), initializer="zeros", trainable=False)
            self.inner.build(shape)

        def call(self, x):
            return self.inner(x) * self.scale

    layer = Outer()
    layer.build((None, 3))
    assert keras_compat.own_variable_count(layer) == 2
    assert len(layer.weights) == 4


def test_multi_worker_mode_is_a_method_of_every_strategy_extended():
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.distribute import collective_all_reduce_strategy, mirrored_strategy

    for extended in (mirrored_strategy.MirroredExtended, collective_all_reduce_strategy.CollectiveAllReduceExtended):
        assert callable(getattr(extended, "_in_multi_worker_mode", None)), extended
    assert keras_compat.in_multi_worker_mode(tf.distribute.get_strategy()) is False


def test_fit_still_builds_through_maybe_symbolic_build():
    method = getattr(keras.Model, "_maybe_symbolic_build", None)
    assert callable(method)
    assert {"iterator", "data_batch"} <= set(inspect.signature(method).parameters)
    model = keras.Sequential([keras.layers.Dense(1)])
    keras_compat.skip_symbolic_build(model)
    assert model._maybe_symbolic_build(iterator=None, data_batch=None) is None


def test_the_jax_trainer_hands_optimizer_variables_to_the_hook():
    pytest.importorskip("jax")
    from keras.src.backend.jax.trainer import JAXTrainer

    hook = getattr(JAXTrainer, keras_compat.JAX_TRAINER_HOOK)
    assert "optimizer_variables" in inspect.signature(hook).parameters
    optimizer, _ = _built_adam()
    optimizer.iterations.assign(7)
    values = [np.asarray(v) for v in optimizer.variables]
    assert int(keras_compat.traced_iterations(optimizer, values)) == 7


def test_step_seed_is_a_keras_seed_generators_draw_at_that_step_and_holds_no_state():
    """keras.random takes it where a SeedGenerator goes (`draw_seed` calls `next()`), and the
    seed (seed, s) draws what a generator made with `seed` draws at its s-th draw; a Dropout of
    that seed called once a step therefore drops what `StepDropout` drops at step s."""
    from video_lstm.models.step_random import StepDropout

    generator = keras.random.SeedGenerator(7)
    dropout, stepwise = keras.layers.Dropout(0.5, seed=7), StepDropout(0.5, seed=7)
    x = keras.ops.ones((4, 6))
    for step in range(3):
        expected = keras.ops.convert_to_numpy(keras.random.uniform((5,), seed=generator))
        seed = keras_compat.step_seed(7, keras.ops.convert_to_tensor(step))
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.random.uniform((5,), seed=seed)), expected)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(stepwise(x, training=True, step=step)),
                                      keras.ops.convert_to_numpy(dropout(x, training=True)))
    assert keras_compat.step_seed(None, 0) is None  # unseeded: Keras' global generator
    assert stepwise.variables == [] and isinstance(seed, keras.random.SeedGenerator)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(stepwise(x)), keras.ops.convert_to_numpy(x))
    with pytest.raises(ValueError, match="needs the training step"):
        stepwise(x, training=True)
