"""Data pipelines: where a run's sequences come from (floor 1, beside the models).

- `sources/`: the data sources a run chooses with `--dataset`, behind one
  contract (`pipelines.sources`): Moving MNIST, video folders and UCF-101 /
  HMDB-51 (frames or patches), and percepts;
- `moving_mnist_tf`: the Moving MNIST generator in TensorFlow ops (stateless);
  `moving_mnist_numpy` the same sequences in NumPy (`stateless_random`:
  TensorFlow's stateless RNG in NumPy; `trajectory`: the rule both share);
  `labelled_moving_mnist`: its labelled tasks (appearance, motion);
- `digits`: the 28x28 digits it is made of (MNIST, or rendered with OpenCV);
- `video_decode`: OpenCV decoding of video files into clips; `flow`: optical
  flow images; `action_datasets`: UCF-101 / HMDB-51 / folder split lists;
  `tfds_videos`: the same through TensorFlow Datasets;
- `percept_networks`: the VGG16 / InceptionV3 stage (keras.applications) that
  turns frames into percepts; `percept_records`: the TFRecord cache of them;
- `extract_percepts`: the command that fills that cache (an entry point).

Imports the ground floor (`video_lstm.core`) and nothing else of the project.
"""
