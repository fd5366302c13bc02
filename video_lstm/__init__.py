"""video_lstm: unsupervised video representations with LSTM encoder-decoders.

- `video_lstm.models`: CompositeModel, Autoencoder, FuturePredictor and their
  layers (keras.ops only: TensorFlow or JAX);
- `video_lstm.training`: the fit loop, callbacks, checkpoints, optimizers;
- `video_lstm.analysis`: evaluation, metrics, rollouts, figures;
- `config`, `flags`, `choices`, `atomic`, `cli`: what the entry points share.

Entry points: `python -m video_lstm.train`, `.evaluate`, `.visualize`. This
file stays import-free so that the entry points can check flags and configure
TensorFlow's logging before Keras loads.
"""

__version__ = "0.1.0"
