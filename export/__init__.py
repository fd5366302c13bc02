"""SavedModel export of trained models, and TensorFlow Serving clients.

`python -m export.encoder` writes a training run's newest checkpoint as a
versioned SavedModel (`<export_dir>/<model_name>/<version>/`) with the
signatures `encode` (= `serving_default`), `encode_float`,
`reconstruct_and_predict` and `reconstruct_and_predict_float`;
`python -m export.verify` checks it against the Keras model in a process that
does not import video_lstm; `export.serving_client` talks to TF Serving over REST and
gRPC. See docs/export.md. This file stays import-free.
"""
