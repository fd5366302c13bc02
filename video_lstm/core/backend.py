"""TensorFlow or JAX: the one place that decides.

Two questions, asked everywhere else through this module:

- `tensorflow_available()`: whether TensorFlow imports here. Where it does,
  data comes from tf.data, checkpoints are `.keras` files, `--strategy` is a
  `tf.distribute` strategy and TensorBoard events go through `tf.summary`;
  where it does not (a JAX-only machine), Moving MNIST comes from NumPy
  batches, checkpoints are `.weights.h5` and events go through the
  tensorboard package.
- `keras_backend()`: what runs the model (`KERAS_BACKEND`: tensorflow or jax),
  which decides how a function is compiled (`compile_function`).

JAX with TensorFlow installed is a valid pair: the model runs on JAX and
reads tf.data.
"""

_TENSORFLOW = []  # memo of tensorflow_available()


def tensorflow_available():
    """Whether TensorFlow can be imported here (imports it once if so)."""
    if not _TENSORFLOW:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            _TENSORFLOW.append(False)
        else:
            _TENSORFLOW.append(True)
    return _TENSORFLOW[0]


def keras_backend():
    """The Keras backend that runs the model: "tensorflow", "jax", ... (imports Keras)."""
    # here: keeps Keras out of `import video_lstm.core.backend`
    import keras

    return keras.backend.backend()


def needs_tensorflow_error(what):
    """The ValueError for `what` (e.g. "--dataset=ucf101") where TensorFlow is not importable."""
    return ValueError(
        f"{what} needs TensorFlow, which is not importable here; without TensorFlow only "
        "--dataset=moving_mnist runs (with --test_set=generated or npy): "
        "pip install tensorflow, or pick those flags"
    )


def compile_function(function, static_argnums=()):
    """`function` compiled by the model's backend: `tf.function` (Python ints static by
    retracing), `jax.jit` (with `static_argnums`), or as it is elsewhere (eager)."""
    backend = keras_backend()
    if backend == "tensorflow":
        # here: keeps TensorFlow out of `import video_lstm.core.backend`
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    if backend == "jax":
        # here: keeps JAX out of `import video_lstm.core.backend`
        import jax

        return jax.jit(function, static_argnums=static_argnums)
    return function


def replicas_in_sync():
    """Replicas of the tf.distribute strategy in scope (1 outside any, or on a backend
    other than TensorFlow)."""
    if keras_backend() != "tensorflow":
        return 1
    # here: keeps TensorFlow out of `import video_lstm.core.backend`
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync
