"""A model's own randomness as a pure function of (seed, training step), as its data is.

A Keras `SeedGenerator` (what `keras.layers.Dropout(seed=...)` draws from, and what
scheduled sampling drew its coins from) counts its draws in a variable that no checkpoint
holds (`Layer.save_own_variables` saves none): a run resumed from step k drew again from the
first draw, so its dropout masks and coins were those of steps 0, 1, ... where an
uninterrupted run's are those of k, k + 1, ... (issue 29: a killed finetune resumed to
other weights). Here every draw of step s uses the stateless seed (seed, s)
(`keras_compat.step_seed`): what a Keras generator made with `seed` gives at its s-th
draw, so a run that draws once a step draws as it did, and a resumed one as an
uninterrupted one. The step is the optimizer's step count, which the checkpoint holds.
"""

import keras

from video_lstm.core import keras_compat


class TrainingStep:
    """Mixed into a `keras.Model` whose forward pass reads the training step
    (`training_step()`: scheduled sampling's decay, the seed of every random draw)."""

    def training_step(self):
        """The optimizer's step count (0 before `compile`). Read, never assigned, in `call`,
        so replicas under tf.distribute agree on it."""
        step = getattr(self, "_step_in_jax_trainer", None)
        if step is not None:
            return step
        optimizer = getattr(self, "optimizer", None)
        return 0 if optimizer is None else optimizer.iterations

    def compute_loss_and_updates(self, *args, optimizer_variables=None, **kwargs):
        """(JAX trainer only.) Its stateless forward pass cannot read the
        optimizer's variables, so the step is handed to `training_step` here."""
        step = None
        if optimizer_variables is not None:
            step = keras_compat.traced_iterations(self.optimizer, optimizer_variables)
        object.__setattr__(self, "_step_in_jax_trainer", step)  # a traced value, not a weight
        try:
            return super().compute_loss_and_updates(*args, optimizer_variables=optimizer_variables, **kwargs)
        finally:
            object.__setattr__(self, "_step_in_jax_trainer", None)


@keras.saving.register_keras_serializable(package="video_lstm")
class StepDropout(keras.layers.Layer):
    """`keras.layers.Dropout` whose mask at training step `step` is drawn from (seed, step):
    the same masks as a Dropout of that seed called once a step, and the same again after a
    resume. Holds no variable.

    Call args:
        inputs: any float tensor.
        training: bool.
        step: the training step (scalar tensor; `TrainingStep.training_step()`); needed in
            training at a rate above 0.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate={rate}; expected a dropout rate in [0, 1)")
        self.rate, self.seed = rate, seed

    def call(self, inputs, training=False, step=None):
        if not training or self.rate == 0.0:
            return inputs
        if step is None:
            raise ValueError(f"{self.name}: dropout in training needs the training step (step=...), which seeds it")
        return keras.random.dropout(inputs, self.rate, seed=keras_compat.step_seed(self.seed, step))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
