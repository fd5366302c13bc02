"""The optimizer a config names: SGD with momentum (the official code), RMSprop
or Adam, with a step-decayed learning rate, optional global-norm clipping and
the official code's weight decay.

Weight decay here is an L2 penalty added to the gradient before the update
rule sees it, `g += weight_decay * w` (so it passes through momentum and
Adam's scaling), as in the official code; Keras' own `weight_decay` is
decoupled (AdamW-style) and is not used.

Under tf.distribute, Keras clips (`--clip_norm`) each replica's share of the
gradient before the replicas' shares are summed, so a clipped multi-replica
run is not the same computation as a clipped one-replica run.
"""

import keras
from keras import ops

from video_lstm.core import backend, keras_compat


class _L2Gradient:
    """Adds `l2 * w` to each gradient, then applies the base optimizer's rule.

    Args:
        l2: float >= 0, the L2 coefficient.
    """

    def __init__(self, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = l2

    def apply(self, grads, trainable_variables=None):
        variables = keras_compat.optimizer_variables_of(self) if trainable_variables is None else trainable_variables
        # Under tf.distribute the replicas' gradients are summed after this:
        # each adds its share of the L2 term.
        l2 = self.l2 / backend.replicas_in_sync()
        grads = [
            g if g is None else g + ops.cast(l2, g.dtype) * ops.cast(v, g.dtype)
            for g, v in zip(grads, variables)
        ]
        return super().apply(grads, trainable_variables)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


@keras.saving.register_keras_serializable(package="video_lstm")
class SGDWithL2(_L2Gradient, keras.optimizers.SGD):
    """SGD (with momentum) whose gradients include an L2 term."""


@keras.saving.register_keras_serializable(package="video_lstm")
class RMSpropWithL2(_L2Gradient, keras.optimizers.RMSprop):
    """RMSprop whose gradients include an L2 term."""


@keras.saving.register_keras_serializable(package="video_lstm")
class AdamWithL2(_L2Gradient, keras.optimizers.Adam):
    """Adam whose gradients include an L2 term (not AdamW)."""


class _EncoderRate:
    """Multiplies the learning rate of the encoder's variables (paths under
    `encoder/`) by `encoder_scale`: a classifier's encoder fine-tuned at its
    own learning rate, in one optimizer (and one checkpointed state).

    Args:
        encoder_scale: float > 0, encoder learning rate / learning rate.
    """

    def __init__(self, encoder_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder_scale = encoder_scale

    def update_step(self, gradient, variable, learning_rate):
        # The backend may hand over its own variable (TensorFlow: the tf.Variable); the
        # Keras variable, which has the path, is found by index.
        path = keras_compat.keras_variable_of(self, variable).path
        if self.encoder_scale != 1.0 and "encoder/" in path:
            learning_rate = ops.cast(learning_rate, variable.dtype) * self.encoder_scale
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "encoder_scale": self.encoder_scale}


def _encoder_rate_class(base):
    cls = type(f"EncoderRate{base.__name__}", (_EncoderRate, base), {"__module__": __name__})
    return keras.saving.register_keras_serializable(package="video_lstm")(cls)


OPTIMIZER_CLASSES = {
    "sgd": (keras.optimizers.SGD, SGDWithL2),
    "rmsprop": (keras.optimizers.RMSprop, RMSpropWithL2),
    "adam": (keras.optimizers.Adam, AdamWithL2),
}


ENCODER_RATE_CLASSES = {
    base: _encoder_rate_class(base) for pair in OPTIMIZER_CLASSES.values() for base in pair
}


def make_optimizer(config, encoder_learning_rate=None):
    """The optimizer `config.optimizer` names, with the step-decayed learning rate;
    with `encoder_learning_rate`, the encoder's variables (paths under `encoder/`)
    train at that rate instead (decayed alike)."""
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate, config.lr_decay_steps, config.lr_decay_rate, staircase=True
    )
    kwargs = {"learning_rate": schedule}
    if config.clip_norm:
        kwargs["global_clipnorm"] = config.clip_norm
    if config.optimizer == "sgd":
        kwargs["momentum"] = config.momentum
    plain, with_l2 = OPTIMIZER_CLASSES[config.optimizer]
    cls = with_l2 if config.weight_decay else plain
    if config.weight_decay:
        kwargs["l2"] = config.weight_decay
    if encoder_learning_rate is not None and encoder_learning_rate != config.learning_rate:
        cls = ENCODER_RATE_CLASSES[cls]
        kwargs["encoder_scale"] = encoder_learning_rate / config.learning_rate
    return cls(**kwargs)


def carry_state(old, new, variables):
    """Builds optimizer `new` on `variables` and gives it the state of `old` (built on the
    same variables): step count and slots. What a resume with another learning rate or
    clip norm uses; `new` must be of `old`'s kind (the same variables, in order).

    Raises:
        ValueError: their states differ in layout (another optimizer).
    """
    new.build(variables)
    if [tuple(v.shape) for v in old.variables] != [tuple(v.shape) for v in new.variables]:
        raise ValueError(
            f"optimizer state of {type(old).__name__} does not fit {type(new).__name__}: use the optimizer "
            "flags the run was trained with"
        )
    for source, target in zip(old.variables, new.variables):
        target.assign(source)
    return new
