"""pipelines/percept_networks.py: convnet features of frames, eagerly and inside tf.data.

Random weights throughout (ImageNet files cannot be fetched here); VGG16 costs
about 15 GFLOP a frame, so every test runs one or two frames and each network
is built once for the module.
"""

import importlib.util
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_network

from pipelines import percept_engines, percept_networks
from video_lstm.core.choices import PERCEPT_NETWORKS


@pytest.fixture(scope="module")
def networks():
    return {name: percept_networks.make_network(name, "random") for name in PERCEPT_NETWORKS}


@pytest.fixture(scope="module")
def inception_weights(networks, tmp_path_factory):
    """A .weights.h5 of the module's random InceptionV3 (88 MB)."""
    path = tmp_path_factory.mktemp("weights") / "inception_v3.weights.h5"
    networks["inception_v3"].model.save_weights(path)
    return str(path)


def random_clips(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def assert_close(actual, expected, rtol=1e-4):
    # Random-weight features are small (InceptionV3's about 1e-3): tolerance relative to their scale.
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def test_table_names_and_dims():
    assert tuple(percept_networks.NETWORKS) == PERCEPT_NETWORKS
    assert {name: (spec.dim, spec.input_size) for name, spec in percept_networks.NETWORKS.items()} == {
        "vgg16": (4096, 224), "inception_v3": (2048, 299),
    }


@pytest.mark.parametrize("name", PERCEPT_NETWORKS)
def test_extract_equals_the_keras_model_on_preprocessed_frames(networks, name):
    network = networks[name]
    size = network.input_size
    clips = random_clips((1, 2, size, size, 3))  # frames already at the network's size
    features = percept_networks.extract(network, clips, batch_frames=1)
    assert features.shape == (1, 2, network.dim) and features.dtype == np.float32

    preprocess = getattr(keras.applications, network.spec.preprocessing).preprocess_input
    frames = preprocess(clips.reshape(2, size, size, 3).astype("float32"))
    expected = np.asarray(network.model(frames, training=False)).reshape(1, 2, network.dim)
    assert_close(features, expected)
    if name == "vgg16":
        assert network.model.output.shape == (None, 4096) and network.model.layers[-1].name == "fc1"


def test_frames_of_any_size_are_resized_and_one_clip_gives_time_by_features(networks):
    network = networks["inception_v3"]
    clip = random_clips((2, 40, 48, 3), seed=1)  # one clip (T, H, W, 3)
    features = percept_networks.extract(network, clip)
    assert features.shape == (2, 2048)

    resized = tf.image.resize(clip.astype("float32"), (299, 299), antialias=True)
    expected = network.model(keras.applications.inception_v3.preprocess_input(resized), training=False)
    assert_close(features, np.asarray(expected))


def test_stage_inside_tf_data_batches_frames_across_clips(networks):
    network = networks["inception_v3"]
    clips = random_clips((3, 1, 32, 32, 3), seed=2)  # three one-frame clips
    expected = percept_networks.extract(network, clips)

    single = percept_networks.percept_stage(tf.data.Dataset.from_tensor_slices(clips), network, batch_frames=2)
    assert single.element_spec == tf.TensorSpec((1, 2048), tf.float32)
    assert_close(np.stack(list(single.as_numpy_iterator())), expected)

    batched = tf.data.Dataset.from_tensor_slices(clips).batch(2)  # (2, 1, ...) then (1, 1, ...)
    stage = percept_networks.percept_stage(batched, network, batch_frames=1)
    assert stage.element_spec == tf.TensorSpec((None, 1, 2048), tf.float32)
    assert_close(np.concatenate(list(stage.as_numpy_iterator())), expected)


def test_bfloat16_is_close_to_float32(networks):
    network = networks["inception_v3"]
    clip = random_clips((1, 64, 64, 3), seed=3)
    full = percept_networks.extract(network, clip)
    half = percept_networks.extract(network, clip, dtype="bfloat16")
    assert half.dtype == np.float32 and half.shape == full.shape
    assert np.corrcoef(full.ravel(), half.ravel())[0, 1] > 0.999
    assert_close(half, full, rtol=0.05)


def test_bad_clips_and_arguments(networks):
    network = networks["inception_v3"]
    with pytest.raises(ValueError, match=r"clips float32 \(1, 8, 8, 3\); expected uint8"):
        percept_networks.extract(network, np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match="expected uint8 RGB"):
        percept_networks.extract(network, np.zeros((1, 8, 8, 1), "uint8"))
    with pytest.raises(ValueError, match="batch_frames=0"):
        percept_networks.extract(network, np.zeros((1, 8, 8, 3), "uint8"), batch_frames=0)
    with pytest.raises(ValueError, match="dtype='float16'"):
        percept_networks.percept_stage(tf.data.Dataset.from_tensors(np.zeros((1, 8, 8, 3), "uint8")), network,
                                       dtype="float16")


def test_unknown_network_name():
    with pytest.raises(ValueError, match=r"percept network 'vgg19'; expected one of \['vgg16', 'inception_v3'\]"):
        percept_networks.make_network("vgg19", "random")


def test_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "vgg16_fc6.h5"
    with pytest.raises(FileNotFoundError, match=f"weights file {missing} for vgg16 does not exist"):
        percept_networks.make_network("vgg16", missing)


def test_imagenet_unavailable_says_which_file_and_where(monkeypatch, tmp_path):
    def offline(*args, **kwargs):  # what keras.utils.get_file raises without network
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(percept_networks.WeightsNotFoundError) as raised:
        percept_networks.make_network("vgg16", "imagenet")
    message = str(raised.value)
    expected_file = tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    assert "cannot be downloaded" in message and "URL fetch failure" in message
    assert f"which Keras caches at {expected_file}" in message
    assert "--weights=PATH" in message and "\n" not in message
    assert isinstance(raised.value, FileNotFoundError)


@pytest.mark.large  # builds and saves a full InceptionV3
def test_local_weights_file_loads(networks, inception_weights, monkeypatch):
    loaded = percept_networks.make_network("inception_v3", inception_weights)
    clip = random_clips((1, 48, 48, 3), seed=4)
    assert_close(percept_networks.extract(loaded, clip), percept_networks.extract(networks["inception_v3"], clip))
    # weights=imagenet loads the file Keras' cache gives, with Keras' name and hash.
    asked = {}

    def cached(file_name, origin, cache_subdir, file_hash):
        asked.update(file_name=file_name, origin=origin, cache_subdir=cache_subdir)
        return inception_weights

    monkeypatch.setattr(keras.utils, "get_file", cached)
    assert percept_networks.make_network("inception_v3", "imagenet").weights == "imagenet"
    assert asked["file_name"] == "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert asked["origin"].endswith("/inception_v3/" + asked["file_name"])


@pytest.mark.large  # builds a full InceptionV3
def test_weights_of_another_architecture_are_refused(inception_weights, tmp_path):
    with pytest.raises(ValueError, match=f"weights file {inception_weights} does not fit vgg16") as raised:
        percept_networks.make_network("vgg16", inception_weights)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in str(raised.value)

    tiny = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    tiny_file = tmp_path / "tiny.weights.h5"
    tiny.save_weights(tiny_file)
    with pytest.raises(ValueError, match=f"weights file {tiny_file} does not fit inception_v3"):
        percept_networks.make_network("inception_v3", tiny_file)


def test_random_weights_warn_in_one_line(caplog):
    with caplog.at_level(logging.WARNING):
        percept_networks.make_network("inception_v3", "random")
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "random weights" in warnings[0] and "meaningless" in warnings[0] and "not the paper's" in warnings[0]


def _engine_installed(engine):
    modules = percept_engines.NEEDS[engine][0]
    return all(importlib.util.find_spec(name) is not None for name in modules)


ENGINES = [pytest.param(engine, marks=pytest.mark.skipif(not _engine_installed(engine),
                                                         reason=f"{engine} is not installed"))
           for engine in ("onnxruntime", "openvino")]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_gives_tensorflows_percepts(engine):
    """A stand-in network through ONNX Runtime / OpenVINO: TensorFlow's percepts to float32
    round-off (the real architectures: the large test below)."""
    network = tiny_network("vgg16")
    clips = random_clips((2, 3, 40, 48, 3))
    expected = percept_networks.extract(network, clips)
    actual = percept_networks.extract(network, clips, engine=engine)
    assert actual.dtype == np.float32 and actual.shape == expected.shape == (2, 3, 4096)
    assert_close(actual, expected)
    if engine == "openvino":  # in bfloat16 where asked (its CPU plugin: the bfloat16 units, if any)
        half = percept_networks.extract(network, clips, dtype="bfloat16", engine=engine)
        assert np.corrcoef(half.ravel(), expected.ravel())[0, 1] > 0.999


@pytest.mark.large  # converts the real networks: OpenVINO both in seconds; tf2onnx InceptionV3 in 25 s and 8 GB
@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_gives_tensorflows_percepts_of_the_real_networks(networks, engine):
    clip = random_clips((1, 4, 64, 64, 3), seed=5)
    names = ["inception_v3"] if engine == "onnxruntime" else list(networks)  # tf2onnx: VGG16 needs 24 GB
    for name in names:
        network = networks[name]
        assert_close(percept_networks.extract(network, clip, engine=engine), percept_networks.extract(network, clip))


def test_an_engine_is_checked_at_start_up(monkeypatch):
    percept_engines.check("tensorflow", "bfloat16")
    with pytest.raises(ValueError, match=r"--percept_engine=nope; expected one of tensorflow, onnxruntime, openvino"):
        percept_engines.check("nope", "float32")
    monkeypatch.setitem(percept_engines.NEEDS, "onnxruntime", (("no_such_module_here",), "onnx"))
    with pytest.raises(ValueError, match=r"--percept_engine=onnxruntime needs no_such_module_here: "
                                         r"pip install -e '\.\[onnx\]'"):
        percept_engines.check("onnxruntime", "float32")
    monkeypatch.setitem(percept_engines.NEEDS, "onnxruntime", ((), "onnx"))  # as if installed
    with pytest.raises(ValueError, match=r"--percept_engine=onnxruntime computes in float32; "
                                         r"--percept_precision=bfloat16 needs"):
        percept_engines.check("onnxruntime", "bfloat16")
