"""The action classifier: an encoder read out by a softmax at every time step.

As the paper's (and the official code's) classifier: the pretrained LSTM
encoder reads the clip, with dropout on its input and on its output; a softmax
reads the top layer's h at every step. The clip's prediction is the average of
the per-step probabilities; a video's, the average over its clips
(`video_lstm.classify.accuracy`). `kind="single_frame"` is the paper's
single-frame baseline: the softmax reads one frame's input (its pixels or
percept) at each step, no recurrence.
"""

import math

import keras
import numpy as np
from keras import ops

from video_lstm.core import keras_compat
from video_lstm.models.encoder import Encoder, flatten_frames
from video_lstm.models.step_random import StepDropout, TrainingStep

KINDS = ("lstm", "single_frame")


@keras.saving.register_keras_serializable(package="video_lstm")
class StepSoftmax(keras.layers.Layer):
    """Dropout, then one dense layer to class logits, at every time step.

    Args:
        num_classes: int.
        dropout_rate: float in [0, 1), dropout rate on the features.
        seed: int or None, of the dropout and the dense layer's initializer.

    Call args:
        features: float `(batch, time, features)`.
        training: bool.
        step: the training step, which seeds the dropout (`StepDropout`).

    Returns:
        float `(batch, time, num_classes)` logits.
    """

    def __init__(self, num_classes, dropout_rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.dropout_rate, self.seed = num_classes, dropout_rate, seed
        self.dropout = StepDropout(dropout_rate, seed=seed, name="dropout")
        self.dense = keras.layers.Dense(num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                                        name="dense", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, features, training=False, step=None):
        return self.dense(self.dropout(features, training=training, step=step))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dropout_rate": self.dropout_rate,
                "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**keras_compat.renamed_config(config, {"dropout": "dropout_rate"}))


@keras.saving.register_keras_serializable(package="video_lstm")
class Classifier(TrainingStep, keras.Model):
    """Per-step softmax classifier of clips.

    Args:
        num_classes: int >= 2.
        kind: "lstm" (an `Encoder`, pretrained or not, then the softmax) or
            "single_frame" (the softmax on each frame's own input).
        units, num_layers, reader, reader_filters, init_scale: the encoder's
            (`Encoder`); ignored by single_frame.
        input_dropout_rate, output_dropout_rate: dropout rates on the encoder's input
            (frames) and output (h at every step).
        freeze_encoder: bool, the encoder's weights are not trained.
        seed: int or None, initializer and dropout seed. Dropout at training step s draws
            from (seed, s) (`models.step_random`): a resumed run drops what an uninterrupted
            one does.

    Call args:
        frames: float `(batch, time, *frame_shape)` in [0, 1] (or percepts).

    Returns:
        float `(batch, time, num_classes)` logits, one softmax per step.

    Example:
    ```python
    model = Classifier(num_classes=10, units=32)
    logits = model(ops.zeros((2, 10, 64, 64, 1)))   # (2, 10, 10)
    clip_probabilities(logits)                       # (2, 10): the mean over steps
    ```
    """

    def __init__(self, num_classes, kind="lstm", units=256, num_layers=1, reader="linear", reader_filters=32,
                 init_scale=0.0, input_dropout_rate=0.0, output_dropout_rate=0.0, freeze_encoder=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r}; expected one of {KINDS}")
        if num_classes < 2:
            raise ValueError(f"num_classes={num_classes}; a classifier needs at least 2 classes")
        for name, rate in (("input_dropout_rate", input_dropout_rate), ("output_dropout_rate", output_dropout_rate)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name}={rate}; expected a rate in [0, 1)")
        self.num_classes, self.kind = num_classes, kind
        self.units, self.num_layers, self.reader, self.reader_filters = units, num_layers, reader, reader_filters
        self.init_scale, self.seed = init_scale, seed
        self.input_dropout_rate, self.output_dropout_rate = input_dropout_rate, output_dropout_rate
        self.freeze_encoder = freeze_encoder
        self.input_dropout = StepDropout(input_dropout_rate, seed=seed, name="input_dropout")
        self.encoder = None
        if kind == "lstm":
            self.encoder = Encoder(units, num_layers, init_scale, reader=reader, reader_filters=reader_filters,
                                   seed=seed, dtype=self.dtype_policy, name="encoder")
            self.encoder.trainable = not freeze_encoder
        self.head = StepSoftmax(num_classes, output_dropout_rate, seed=None if seed is None else seed + 1,
                                dtype=self.dtype_policy, name="head")

    def build(self, input_shape):
        self.frame_shape = tuple(input_shape[2:])
        if self.encoder is not None:
            self.encoder.build(input_shape)
            self.head.build((None, None, self.units))
        else:
            self.head.build((None, None, math.prod(self.frame_shape)))

    def get_build_config(self):
        return {"frame_shape": list(self.frame_shape)}

    def build_from_config(self, config):
        self.build((None, None) + tuple(config["frame_shape"]))

    @property
    def feature_dim(self):
        """What the softmax reads per step: the encoder's units or one frame's values."""
        return self.head.dense.kernel.shape[0]

    def features(self, frames, training=False, step=None):
        """float (batch, time, *frame_shape) -> (batch, time, feature_dim), before the output dropout
        (in training, at `step`: default the optimizer's)."""
        if training and step is None:
            step = self.training_step()
        frames = self.input_dropout(frames, training=training, step=step)
        if self.encoder is None:
            return flatten_frames(frames)
        return self.encoder(frames)["outputs"]

    def call(self, frames, training=False):
        if self.built and tuple(frames.shape[2:]) != self.frame_shape:
            raise ValueError(f"frames must be (batch, time) + {self.frame_shape}; got {tuple(frames.shape)}")
        step = self.training_step() if training else None
        return self.head(self.features(frames, training=training, step=step), training=training, step=step)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Cross-entropy of every step's softmax against the clip's label, averaged."""
        return step_cross_entropy(y, y_pred)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, kind=self.kind, units=self.units, num_layers=self.num_layers,
                      reader=self.reader, reader_filters=self.reader_filters, init_scale=self.init_scale,
                      input_dropout_rate=self.input_dropout_rate, output_dropout_rate=self.output_dropout_rate,
                      freeze_encoder=self.freeze_encoder, seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        renames = {"input_dropout": "input_dropout_rate", "output_dropout": "output_dropout_rate"}
        return cls(**keras_compat.renamed_config(config, renames))


@keras.saving.register_keras_serializable(package="video_lstm")
class HeadModel(TrainingStep, keras.Model):
    """The softmax of a `Classifier` alone, on features computed beforehand
    (`Classifier.features`): how a frozen encoder is fine-tuned cheaply. Shares
    (and so trains) the classifier's own head layer.

    Call args:
        features: float `(batch, time, feature_dim)`.
    Returns:
        float `(batch, time, num_classes)` logits.
    """

    def __init__(self, head, **kwargs):
        super().__init__(**kwargs)
        self.head = head

    def call(self, features, training=False):
        return self.head(features, training=training, step=self.training_step() if training else None)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return step_cross_entropy(y, y_pred)


def step_cross_entropy(labels, logits):
    """int (batch,) labels, float (batch, time, classes) logits -> the mean
    per-step softmax cross-entropy (every step is trained on the clip's label);
    under tf.distribute divided by the replica count, as the composite's loss."""
    labels = ops.cast(labels, "int32")
    labels = ops.broadcast_to(labels[:, None], ops.shape(logits)[:2])
    losses = keras.losses.sparse_categorical_crossentropy(labels, ops.cast(logits, "float32"), from_logits=True)
    return keras_compat.scale_loss_for_distribution(ops.mean(losses))


def clip_probabilities(logits):
    """float (batch, time, classes) logits -> (batch, classes): the mean of the per-step softmaxes."""
    return ops.mean(ops.softmax(ops.cast(logits, "float32"), axis=-1), axis=1)


def top_classes(model, frames, classes, k=5):
    """A classifier's answer for clips as the `classify` signature gives it: dict of
    `probabilities` (batch, classes), `top_classes` (batch, k) names and `top_probabilities`
    (batch, k), best first (k at most the number of classes), as numpy."""
    probabilities = np.asarray(ops.convert_to_numpy(clip_probabilities(model(frames))), np.float32)
    k = min(k, len(classes))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return {"probabilities": probabilities, "top_classes": np.asarray(classes)[order].astype(str),
            "top_probabilities": np.take_along_axis(probabilities, order, axis=1)}
