"""video_lstm: unsupervised video representations with LSTM encoder-decoders.

The package is built in floors, each importing only those below it: the plan is
`FLOORS` in tests/test_architecture.py, drawn in docs/architecture.md.

This file stays import-free so that the entry points can check flags and
configure TensorFlow's logging before Keras loads.
"""

__version__ = "0.1.0"
