"""Fine-tuning: a `Classifier` trained on labelled clips, then evaluated.

`video_lstm.config.FinetuneSettings` holds what a fine-tuning run needs besides its data. Three ways to
start (`INITS`): `pretrained` (the encoder of a training run or an exported
SavedModel, frozen or trained at its own learning rate), `scratch` (the same
classifier, random init) and `single_frame` (the softmax on each frame alone).

Training reuses the trainer's fit (`training.loop.fit`: checkpoint intervals as
epochs, progress bar, TensorBoard scalars, NaN guard, checkpoints and resume);
`train_head` is the cheap path for a frozen encoder whose features were
computed once (`features`): only the softmax trains, on the cached features.
"""

import keras
import numpy as np
from absl import logging

from video_lstm import rundir
from video_lstm.classify import accuracy
from video_lstm.classify.classifier import Classifier, HeadModel, clip_probabilities
from video_lstm.config import FINETUNE_INITS
from video_lstm.core import atomic
from video_lstm.optimizers import make_optimizer
from video_lstm.training import distribute

INITS = FINETUNE_INITS


def build(init, num_classes, frame_shape, settings, encoder=None):
    """A built, compiled `Classifier` starting as `init` says.

    Args:
        init: one of INITS.
        num_classes: int.
        frame_shape: one step's input shape (H, W, C) or (D,).
        settings: `config.FinetuneSettings`; with `encoder` (pretrained), its architecture wins.
        encoder: the built pretrained `Encoder` (init "pretrained" only); its
            weights are copied exactly.
    """
    if init not in INITS:
        raise ValueError(f"init={init!r}; expected one of {INITS}")
    if (init == "pretrained") != (encoder is not None):
        raise ValueError("init='pretrained' needs the pretrained encoder, and only it takes one")
    architecture = dict(units=settings.units, num_layers=settings.num_layers, reader=settings.reader,
                        reader_filters=settings.reader_filters)
    if encoder is not None:
        architecture = dict(units=encoder.units, num_layers=encoder.num_layers, reader=encoder.reader,
                            reader_filters=encoder.reader_filters)
    model = Classifier(num_classes, kind="single_frame" if init == "single_frame" else "lstm",
                       init_scale=settings.init_scale, input_dropout_rate=settings.input_dropout,
                       output_dropout_rate=settings.output_dropout,
                       freeze_encoder=settings.freeze_encoder and init == "pretrained", seed=settings.seed,
                       name="classifier", **architecture)
    model.build((None, None) + tuple(frame_shape))
    if encoder is not None:
        model.encoder.set_weights(encoder.get_weights())
    # XLA pays for the LSTM; a lone softmax compiles for far longer than it trains
    # (single_frame: 262 s against 4 s for 300 steps on this 2-core CPU).
    jit = settings.jit_compile and init != "single_frame"
    compile_model(model, settings, encoder_rate=init == "pretrained", jit=jit)
    return model


def compile_model(model, settings, encoder_rate=True, jit=None):
    rate = settings.encoder_learning_rate if encoder_rate and settings.encoder_learning_rate else None
    jit = distribute.jit_compile(settings.jit_compile if jit is None else jit)  # off across devices
    model.compile(optimizer=make_optimizer(settings, encoder_learning_rate=rate), jit_compile=jit)


# -- training -----------------------------------------------------------------


class _Stream:
    """The `source` `training.loop.fit` reads: labelled batches from step `start_step` on."""

    def __init__(self, data, settings):
        self.data, self.settings = data, settings
        self.config = settings  # what the trainer reads (batch_size)

    def train_dataset(self, start_step=0, rows=None):
        """Labelled batches; `rows` (start, stop): one worker's rows of each global batch."""
        dataset = self.data.train_dataset(self.settings.batch_size, self.settings.seed, start_step)
        if rows is not None:
            dataset = dataset.map(lambda clips, labels: (clips[rows[0] : rows[1]], labels[rows[0] : rows[1]]))
        return dataset


def restore_or_build(log_dir, build_fn):
    """(step, model): the newest classifier checkpoint in log_dir, or `build_fn()` at step 0."""
    if rundir.latest(log_dir) is None:
        return 0, build_fn()
    step, path, model = rundir.load_latest_with_path(log_dir)
    if not isinstance(model, Classifier):
        raise ValueError(f"{path} is a checkpoint of {type(model).__name__}, not of a classifier: use a new --log_dir")
    model.compile(optimizer=model.optimizer, jit_compile=distribute.jit_compile(model.jit_compile))
    logging.info("Resuming the classifier from %s (step %d)", path, step)
    return step, model


def fit(model, data, settings, log_dir, step=0, verbose=None, strategy=None, chief=True):
    """Trains `model` on `data` from `step` to `settings.steps` through the trainer's fit
    (checkpoints, TensorBoard scalars and the progress bar in `log_dir`, SIGTERM saves
    and stops), under `strategy` (default: none); returns the final step."""
    # here: keeps cv2 out of `import video_lstm.classify.trainer`
    from video_lstm.training import loop

    run = loop.Run(None, log_dir, model, step, _Stream(data, settings), None, strategy=strategy, chief=chief,
                   fit_settings=settings.fit)  # no training Config: the fit loop reads these alone
    return loop.fit(run, verbose)


def features(model, clips_batches):
    """float32 (N, time, feature_dim): what the classifier's softmax reads, for batches of clips."""
    parts = [keras.ops.convert_to_numpy(model.features(batch)) for batch in clips_batches]
    return np.concatenate(parts).astype(np.float32)


def train_head(model, train_features, labels, settings, steps=None, verbose=0):
    """Trains only `model.head` on cached features (a frozen encoder), `steps` (default
    `settings.steps`) steps of `settings.batch_size` drawn from (seed, step)."""
    steps = steps or settings.steps
    # here: keeps TensorFlow out of `import video_lstm.classify.trainer`
    import tensorflow as tf

    head = HeadModel(model.head)
    compile_model(head, settings, encoder_rate=False, jit=False)
    feats, labels = tf.constant(train_features), tf.constant(np.asarray(labels), tf.int32)

    def batch(step):
        index = tf.random.stateless_uniform([settings.batch_size], tf.stack([tf.cast(settings.seed, tf.int64), step]),
                                            maxval=len(train_features), dtype=tf.int32)
        return tf.gather(feats, index), tf.gather(labels, index)

    dataset = tf.data.Dataset.range(steps).map(batch).prefetch(2)
    head.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=verbose)
    return head


# -- evaluation ---------------------------------------------------------------


def clip_predictions(model, test, batch_size):
    """float (clips, classes): each test clip's mean per-step softmax."""
    parts = [keras.ops.convert_to_numpy(clip_probabilities(model(batch))) for batch in test.batches(batch_size)]
    return np.concatenate(parts)


def head_predictions(model, test_features, batch_size=1024):
    """`clip_predictions` from cached features (the frozen-encoder path)."""
    parts = [keras.ops.convert_to_numpy(clip_probabilities(model.head(test_features[i : i + batch_size])))
             for i in range(0, len(test_features), batch_size)]
    return np.concatenate(parts)


def evaluate(probabilities, test, classes, log_dir=None, extra=None, key=None):
    """The metrics of clip predictions on `test` (`metrics.summarize`); with `log_dir`, writes
    `metrics.json` and `confusion.png` there (with `key`, an evaluation other than the run's
    own: `metrics_<key>.json` and `confusion_<key>.png`), each complete before either is in place."""
    result = accuracy.summarize(probabilities, test.video, test.labels, classes)
    result.update(extra or {})
    if log_dir:
        metrics_name = rundir.METRICS if key is None else f"metrics_{key}.json"
        confusion_name = rundir.CONFUSION if key is None else f"confusion_{key}.png"
        with atomic.path(rundir.path(log_dir, confusion_name)) as confusion:
            accuracy.write_confusion_png(confusion, result["confusion_matrix"], classes)
            rundir.write_json(log_dir, metrics_name, result)
    return result
