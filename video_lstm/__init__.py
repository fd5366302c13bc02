"""video_lstm: unsupervised video representations with LSTM encoder-decoders.

The floors, each importing only those below it (tests/test_architecture.py):

0. `core`: the ground floor: atomic writes, enumerated choices, command lines,
   the TensorFlow-or-JAX seam, TF_CONFIG, the threaded prefetcher, private
   Keras API (`keras_compat`), the exported-model layout;
1. `models` (keras.ops only) and `optimizers`; the data in `pipelines/`;
2. `config` and `flags` (the settings), `rundir` (the run directory: its files,
   checkpoints, building and loading the model);
3. `training`, `analysis`, `classify`, `experiments`: uses of a model;
4. `export/`: SavedModels for TF Serving;
5. entry points: `python -m video_lstm.train`, `.evaluate`, `.visualize`,
   `.finetune`, `.experiments.few_labels`, `pipelines.extract_percepts`,
   `export.encoder`, `export.classifier`, `export.verify`, `export.client`.

This file stays import-free so that the entry points can check flags and
configure TensorFlow's logging before Keras loads.
"""

__version__ = "0.1.0"
