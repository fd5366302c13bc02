"""Every enumerated option of the project, declared once.

Plain tuples and no imports, so that flags and the config can be checked
before Keras or TensorFlow load. The layers and models that implement a choice
import its tuple from here.
"""

# Models (video_lstm.models).
KINDS = ("composite", "autoencoder", "future")
FEEDS = ("teacher", "own", "scheduled")
LOSSES = ("cross_entropy", "squared_error")
ACTIVATIONS = {"cross_entropy": "sigmoid", "squared_error": "linear"}  # loss -> output activation
READERS = ("linear", "conv")
READOUTS = ("linear", "conv")

# Training (video_lstm.training).
OPTIMIZERS = ("sgd", "rmsprop", "adam")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")  # auto: core.cpu.auto_precision
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # video_lstm.training.distribute

# Data (pipelines.sources): --dataset, and the sources' own choices.
DATASETS = ("moving_mnist", "ucf101", "hmdb51", "folder", "percepts")
DIGIT_SOURCES = ("auto", "mnist", "rendered")
MOVING_MNIST_TEST_SETS = ("generated", "npy", "tfds")
VIDEO_COLORS = ("rgb", "grey")
VIDEO_ORIGINS = ("files", "tfds")

# Percepts (pipelines.percept_networks): the pretrained convnet whose per-frame features the LSTM reads.
PERCEPT_NETWORKS = ("vgg16", "inception_v3")
PERCEPT_ORIGINS = ("cache", "videos")  # --percepts_from: a cache of extract_percepts, or inline
VIDEO_DATASETS = ("ucf101", "hmdb51", "folder")  # the --dataset values of video files
VIDEO_LISTINGS = (*VIDEO_DATASETS, "list")  # python -m video_lstm.embed --dataset: or a list file
