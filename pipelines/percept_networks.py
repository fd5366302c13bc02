"""Percepts: per-frame features of a pretrained convnet, computed inside tf.data.

The paper's second kind of real-video input: every frame goes through an
ImageNet convnet and the LSTM reads the feature vectors (the official code used
VGG fc6, 4096-d). Two networks, in one table (`NETWORKS`):

    vgg16          keras.applications.VGG16(include_top=True) cut at fc1 (= fc6), 4096-d, 224x224
    inception_v3   keras.applications.InceptionV3(include_top=False, pooling="avg"), 2048-d, 299x299

each with its own `preprocess_input`. The steps:

    make_network(name, weights)      a `PerceptNetwork` (the cut Keras model and what it needs)
    extract(network, clips)          uint8 clips (B, T, H, W, 3) -> float32 percepts (B, T, D)
    percept_stage(dataset, network)  the same as a tf.data transformation

Weights. "imagenet" is Keras' own file, looked for in the Keras cache
(`~/.keras/models/<file>`) and downloaded there when missing; a path is a local
weights file (`.h5`, e.g. that same Keras file, or a `.weights.h5` saved from
the same architecture); "random" builds the network untrained, for tests and
speed measurements only: its features are meaningless, and it says so in one
warning line. Whatever cannot give the network's weights stops in
`make_network`, before any video is read: `WeightsNotFoundError` (no file, no
download) or ValueError (a file of another architecture).

Where the convnet runs. tf.data places the functions it maps on the CPU, so
the stage calls the network through `tf.py_function`: eagerly, on the
accelerator when there is one, frames of several clips batched together.
"""

import dataclasses
import os
import warnings

import numpy as np
from absl import logging

from pipelines import percept_engines
from video_lstm.core import settings
from video_lstm.core.choices import PERCEPT_NETWORKS

WEIGHTS_CHOICES = ("imagenet", "random")  # or the path of a weights file
DTYPES = settings.PERCEPT_PRECISIONS
_KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """One row of `NETWORKS`: how to build a percept network and what it gives.

    Attributes:
        constructor: the `keras.applications` function.
        kwargs: its arguments besides weights.
        output_layer: the layer whose output is the percept (None: the model's output).
        input_size: frames are resized to input_size x input_size.
        dim: features per frame (D).
        preprocessing: the `keras.applications` module whose `preprocess_input` it needs.
        keras_file: the name of Keras' ImageNet weights file for this model.
        file_hash: that file's md5, as Keras checks it.
    """

    constructor: str
    kwargs: dict
    output_layer: str | None
    input_size: int
    dim: int
    preprocessing: str
    keras_file: str
    file_hash: str

    @property
    def url(self):
        return f"{_KERAS_APPLICATIONS_URL}{self.preprocessing}/{self.keras_file}"


NETWORKS = {
    "vgg16": NetworkSpec(
        constructor="VGG16", kwargs={"include_top": True}, output_layer="fc1",
        input_size=224, dim=4096, preprocessing="vgg16",
        keras_file="vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        file_hash="64373286793e3c8b2b4e3219cbf3544b",
    ),
    "inception_v3": NetworkSpec(
        constructor="InceptionV3", kwargs={"include_top": False, "pooling": "avg"}, output_layer=None,
        input_size=299, dim=2048, preprocessing="inception_v3",
        keras_file="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        file_hash="bcbd6486424b2319ff4ef7d526e38f63",
    ),
}
assert tuple(NETWORKS) == PERCEPT_NETWORKS


class WeightsNotFoundError(FileNotFoundError):
    """A percept network's weights file is neither where it was said to be nor downloadable."""


@dataclasses.dataclass(eq=False)
class PerceptNetwork:
    """A convnet cut where its percepts are, with its preprocessing.

    Attributes:
        name: a key of `NETWORKS`.
        weights: "imagenet", "random" or the weights file's path (what was asked).
        model: the float32 Keras model, float (N, S, S, 3) preprocessed frames -> (N, D).
    """

    name: str
    weights: str
    model: object
    _compiled: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def spec(self):
        return NETWORKS[self.name]

    @property
    def input_size(self):
        return self.spec.input_size

    @property
    def dim(self):
        return self.spec.dim

    def preprocess(self, frames):
        """uint8 (N, H, W, 3) RGB frames -> float32 (N, S, S, 3), as the network was trained on."""
        # here: keeps Keras and TensorFlow out of `import pipelines.percept_networks`
        import keras
        import tensorflow as tf

        size = (self.input_size, self.input_size)
        frames = tf.cast(frames, tf.float32)
        if tuple(frames.shape[1:3]) != size:
            frames = tf.image.resize(frames, size, antialias=True)  # antialias: most videos shrink
        module = getattr(keras.applications, self.spec.preprocessing)
        return module.preprocess_input(frames)

    def frames_to_percepts(self, dtype="float32", engine="tensorflow"):
        """A compiled function: uint8 frames (N, H, W, 3) -> float32 percepts (N, D), computed in
        `dtype` by `engine` (`percept_engines.ENGINES`; the preprocessing is TensorFlow's for all)."""
        if dtype not in DTYPES:
            raise ValueError(f"dtype={dtype!r}; expected one of {list(DTYPES)}")
        if (dtype, engine) not in self._compiled:
            # here: keeps TensorFlow out of `import pipelines.percept_networks`
            import tensorflow as tf

            if engine == "tensorflow":
                model = self.model if dtype == "float32" else _mixed_bfloat16_twin(self.model)

                def run(frames):
                    return tf.cast(model(self.preprocess(frames), training=False), tf.float32)

                self._compiled[dtype, engine] = tf.function(run, reduce_retracing=True)
            else:
                convnet = percept_engines.compile_network(self.model, self.input_size, engine, dtype)
                preprocess = tf.function(self.preprocess, reduce_retracing=True)
                self._compiled[dtype, engine] = lambda frames: tf.constant(convnet(preprocess(frames).numpy()))
        return self._compiled[dtype, engine]


def _mixed_bfloat16_twin(model):
    """The same network computing in bfloat16 (variables stay float32), sharing no variables."""
    # here: keeps Keras out of `import pipelines.percept_networks`
    import keras

    def mixed(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "mixed_bfloat16"})

    twin = keras.models.clone_model(model, clone_function=mixed)
    twin.set_weights(model.get_weights())
    return twin


# -- weights -----------------------------------------------------------------


def keras_cache_path(file_name):
    """Where Keras caches (and looks for) the applications' weights file `file_name`.

    `$KERAS_HOME/models`, else `~/.keras/models`, or `/tmp/.keras/models` when
    that is not writable, as `keras.utils.get_file` picks.
    """
    home = os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")))
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return os.path.join(home, "models", file_name)


def _how_to_supply(spec):
    return (
        f"expected Keras' {spec.keras_file} ({spec.url}), which Keras caches at "
        f"{keras_cache_path(spec.keras_file)}: download it there on a machine with network, "
        "or pass a local copy as weights=PATH (--weights=PATH)"
    )


def _imagenet_file(name):
    """The path of `name`'s ImageNet weights: Keras' cached file, downloaded if missing."""
    # here: keeps Keras out of `import pipelines.percept_networks`
    import keras

    spec = NETWORKS[name]
    try:
        return keras.utils.get_file(
            spec.keras_file, spec.url, cache_subdir="models", file_hash=spec.file_hash
        )
    except Exception as error:  # offline: Keras raises a bare Exception ("URL fetch failure ...")
        raise WeightsNotFoundError(
            f"weights=imagenet for {name}: not in the Keras cache and cannot be downloaded "
            f"({error}); {_how_to_supply(spec)}"
        ) from error


def _load(model, path, name):
    """model.load_weights(path), or a ValueError naming the file and the network it should fit."""
    spec = NETWORKS[name]
    try:
        with warnings.catch_warnings():  # Keras warns once per layer before its own error
            warnings.simplefilter("ignore")
            model.load_weights(path)
    except Exception as error:  # ValueError (layers, shapes), OSError (not HDF5), KeyError
        reason = str(error).strip().splitlines()[0]
        raise ValueError(
            f"weights file {path} does not fit {name} (keras.applications.{spec.constructor}"
            f"{_arguments(spec.kwargs)}): {reason}; {_how_to_supply(spec)}, or a .weights.h5 "
            f"saved from that model"
        ) from error


def _arguments(kwargs):
    return "(" + ", ".join(f"{key}={value!r}" for key, value in kwargs.items()) + ")"


def make_network(name, weights="imagenet"):
    """Builds the percept network `name` with `weights`.

    Args:
        name: one of `PERCEPT_NETWORKS` ("vgg16", "inception_v3").
        weights: "imagenet" (Keras' file, from its cache or downloaded),
            "random" (untrained: meaningless features, for tests and speed),
            or the path of a weights file (`.h5` / `.weights.h5`) of the
            architecture in `NETWORKS[name]`.

    Returns:
        A `PerceptNetwork`.

    Raises:
        ValueError: an unknown name, or a weights file of another architecture
            (or not a weights file at all).
        WeightsNotFoundError: (a FileNotFoundError) a weights path that does
            not exist, or ImageNet weights neither cached nor downloadable.
    """
    # here: keeps Keras out of `import pipelines.percept_networks`
    import keras

    if name not in NETWORKS:
        raise ValueError(f"percept network {name!r}; expected one of {list(PERCEPT_NETWORKS)}")
    weights = os.fspath(weights)
    spec = NETWORKS[name]
    if weights == "imagenet":
        path = _imagenet_file(name)
    elif weights == "random":
        path = None
        logging.warning(
            "percept network %s has random weights: its features are meaningless, not the "
            "paper's (use weights=imagenet or a weights file for real percepts)", name,
        )
    else:
        path = weights
        if not os.path.isfile(path):
            raise WeightsNotFoundError(
                f"weights file {path} for {name} does not exist; {_how_to_supply(spec)}"
            )
    model = getattr(keras.applications, spec.constructor)(weights=None, **spec.kwargs)
    if path is not None:
        _load(model, path, name)
    if spec.output_layer is not None:
        model = keras.Model(model.input, model.get_layer(spec.output_layer).output, name=f"{name}_percepts")
    return PerceptNetwork(name=name, weights=weights, model=model)


# -- percepts of clips ---------------------------------------------------------


def _check_clips(shape, dtype):
    dtype = np.dtype(dtype).name
    if dtype != "uint8" or len(shape) not in (4, 5) or shape[-1] != 3:
        raise ValueError(
            f"clips {dtype} {tuple(shape)}; expected uint8 RGB (batch, T, H, W, 3) or (T, H, W, 3)"
        )


def _check_batch_frames(batch_frames):
    if int(batch_frames) < 1:
        raise ValueError(f"batch_frames={batch_frames}; expected >= 1")


def extract(network, clips, batch_frames=32, dtype="float32", engine="tensorflow"):
    """Percepts of clips, eagerly: each frame through `network`, `batch_frames` at a time.

    Args:
        network: a `PerceptNetwork`.
        clips: uint8 RGB (batch, T, H, W, 3) or one clip (T, H, W, 3); numpy
            or a tensor. Frames of any size: they are resized to the network's.
        batch_frames: frames per call of the network (frames of several clips
            go together; memory grows with it).
        dtype: "float32" or "bfloat16", the precision the network computes in.
        engine: what runs the network (`percept_engines.ENGINES`).

    Returns:
        np.ndarray float32 (batch, T, D), or (T, D) for one clip.
    """
    # here: keeps TensorFlow out of `import pipelines.percept_networks`
    import tensorflow as tf

    clips = tf.convert_to_tensor(clips)
    _check_clips(clips.shape, clips.dtype.as_numpy_dtype)
    _check_batch_frames(batch_frames)
    run = network.frames_to_percepts(dtype, engine)
    leading = tf.shape(clips)[:-3]  # (batch, T) or (T,)
    frames = tf.reshape(clips, tf.concat([[-1], tf.shape(clips)[-3:]], 0))  # (batch * T, H, W, 3)
    chunks = [run(frames[start : start + batch_frames]) for start in range(0, frames.shape[0], batch_frames)]
    percepts = tf.concat(chunks, 0) if chunks else tf.zeros((0, network.dim))
    return tf.reshape(percepts, tf.concat([leading, [network.dim]], 0)).numpy()


def percept_stage(dataset, network, batch_frames=32, dtype="float32", engine="tensorflow"):
    """A tf.data transformation: clips -> percepts, the network fed `batch_frames` frames at a time.

    Elements of `dataset` are uint8 clips, batches (batch, T, H, W, 3) or
    single clips (T, H, W, 3). Single clips are batched
    `max(1, batch_frames // T)` at a time before the network and unbatched
    after it, so the network sees frames of several clips together; batches
    go through as they are (their frames cut into calls of `batch_frames`).
    Order is kept; the result is prefetched.

        dataset, report = video.clip_dataset(paths, clip_length=16, size=224)
        percepts = percept_stage(dataset, make_network("vgg16"), batch_frames=64)

    Args:
        dataset: a tf.data.Dataset of uint8 clips.
        network: a `PerceptNetwork`.
        batch_frames, dtype, engine: as in `extract`.

    Returns:
        A tf.data.Dataset of float32 percepts, (batch, T, D) or (T, D) per element.
    """
    # here: keeps TensorFlow out of `import pipelines.percept_networks`
    import tensorflow as tf

    spec = dataset.element_spec
    if not isinstance(spec, tf.TensorSpec):
        raise ValueError(f"percept_stage needs a dataset of clip tensors; its elements are {spec}")
    _check_clips(spec.shape, spec.dtype.as_numpy_dtype)
    _check_batch_frames(batch_frames)
    network.frames_to_percepts(dtype, engine)  # an unknown dtype fails here, not in tf.data's thread

    def percepts(clips):  # (batch, T, H, W, 3) -> (batch, T, D)
        features = tf.py_function(
            lambda c: extract(network, c, batch_frames, dtype, engine), [clips], tf.float32
        )
        features.set_shape(clips.shape[:2].concatenate([network.dim]))
        return features

    single = spec.shape.rank == 4
    if single:
        time = spec.shape[0]
        dataset = dataset.batch(max(1, batch_frames // time) if time else 1)
    # One call at a time: the network uses every core (or the accelerator) by itself.
    dataset = dataset.map(percepts)
    if single:
        dataset = dataset.unbatch()
    return dataset.prefetch(tf.data.AUTOTUNE)
