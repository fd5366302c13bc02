"""video_lstm: unsupervised video representations with LSTM encoder-decoders.

Models live in `video_lstm.models` (CompositeModel, Autoencoder,
FuturePredictor); entry points are `python -m video_lstm.train` and
`python -m video_lstm.evaluate`. This file stays import-free so that the entry
points can configure TensorFlow's logging before Keras loads it.
"""

__version__ = "0.1.0"
