r"""A fine-tuned classifier as a versioned SavedModel with a `classify` signature (`python -m export.classifier`).

The layout is `export.saved_model`'s (`<export_dir>/<model_name>/<version>/`, written atomically,
assets and warm-up requests). One signature, `classify` (= `serving_default`): raw uint8 frames
`(batch, time, H, W, C)` (other sizes are resized, as the encoder's) or float32 percepts
`(batch, time, D)` for a percept classifier, to `probabilities` `(batch, classes)` (the mean of the
per-step softmaxes over the clip), `top_classes` `(batch, k)` class names and `top_probabilities`
`(batch, k)`, best first (k = min(5, classes)). `assets/signatures.json` lists the classes.
TensorFlow and Keras are imported in the functions that need them, as in `export.saved_model`.
"""

import math
import os

from export import saved_model

TOP_K = 5


def _graph_class():
    import tensorflow as tf  # no TensorFlow at import (export.saved_model)

    # here: keeps TensorFlow out of `import export.saved_classifier`
    from export.signatures import ServingGraph, _entry, float32_twin

    class ClassifierGraph(ServingGraph):
        """The serving graph of a `video_lstm.classify.Classifier`: the encoder graph's request
        checks and preprocessing, then the classifier, its clip average and the top classes."""

        def __init__(self, model, classes):  # noqa: D107 (no decoders: the base's init does not apply)
            if not getattr(model, "built", False):
                raise ValueError("the classifier must be built (load it from a checkpoint)")
            self.model = model = float32_twin(model)
            self.frame_shape = tuple(int(d) for d in model.frame_shape)
            self.features = len(self.frame_shape) == 1
            if not self.features:
                self.height, self.width, self.channels = self.frame_shape
            self.frame_dim = math.prod(self.frame_shape)
            self.classes = list(classes)
            self.num_classes = len(self.classes)
            if self.num_classes != model.num_classes:
                raise ValueError(f"{len(self.classes)} class names for a classifier of {model.num_classes} classes")
            self.k = min(TOP_K, self.num_classes)
            self.layers = [model]

        def classify(self, inputs):
            logits = tf.cast(self.model(inputs), tf.float32)
            probabilities = tf.reduce_mean(tf.nn.softmax(logits, axis=-1), axis=1)
            top = tf.math.top_k(probabilities, k=self.k)
            names = tf.gather(tf.constant(self.classes), top.indices)
            return {"probabilities": probabilities, "top_classes": names, "top_probabilities": top.values}

        def endpoints(self):
            specs = self.input_specs()
            if self.features:
                return [("classify", lambda percepts: self.classify(self.preprocess_percepts(percepts)),
                         [specs["percepts"]])]
            return [("classify", lambda frames: self.classify(self.preprocess(frames, "uint8")),
                     [specs["frames_uint8"]])]

        def signature_table(self):
            name, dtype = ("percepts", "float32") if self.features else ("frames", "uint8")
            entry = {
                "description": "class probabilities of clips (mean of the per-step softmaxes) and the top classes",
                "inputs": {name: _entry(dtype, [None, None, *self.frame_shape], self.expected(dtype))},
                "outputs": {
                    "probabilities": _entry("float32", [None, self.num_classes], "mean per-step softmax"),
                    "top_classes": _entry("string", [None, self.k], "class names, most probable first"),
                    "top_probabilities": _entry("float32", [None, self.k], "their probabilities"),
                },
            }
            return {"classify": entry, "serving_default": dict(entry, description="same as classify")}

    return ClassifierGraph


def export_classifier(log_dir, export_dir, version=None, model_name=None):
    """Exports the newest checkpoint of a fine-tuning run (`<log_dir>` = `<finetune log_dir>/<init>`);
    returns the version's path."""
    # here: keeps Keras out of `import export.saved_classifier`
    from video_lstm import rundir  # no TensorFlow at import (export.saved_model)
    from video_lstm.classify import Classifier

    description = rundir.read_finetune(log_dir)
    if description is None:
        raise FileNotFoundError(f"{rundir.path(log_dir, rundir.FINETUNE)} not found: is {log_dir} a classifier of "
                                "python -m video_lstm.finetune (<log_dir>/<init>)?")
    model_name = saved_model.check_destination(log_dir, export_dir, model_name, version)
    step, checkpoint_path, model = rundir.load_latest_with_path(log_dir, compile=False)  # resolved once
    if not isinstance(model, Classifier):
        raise ValueError(f"{log_dir} holds a {type(model).__name__}, not a classifier")
    graph = _graph_class()(model, description["classes"])
    config = {**description["config"], "future_length": 0, "classes": description["classes"]}
    source = {"log_dir": os.path.abspath(log_dir), "checkpoint": os.path.abspath(checkpoint_path), "step": step,
              "classes": description["classes"]}
    return saved_model.export_model(model, config, export_dir, model_name, version, source=source, graph=graph)


def export_run(options):
    """`python -m export.classifier`: exports as `options` (an `export.saved_model.Destination`) say;
    returns the version's path."""
    options.validate("a classifier directory of video_lstm.finetune (<log_dir>/<init>)")
    return export_classifier(options.log_dir, options.export_dir, options.version, options.model_name)
