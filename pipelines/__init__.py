"""Data pipelines (the TensorFlow side): sequence generators and data sources.

- `sources/`: the data sources a run chooses with `--dataset` and their
  contract (`pipelines.sources`): today `moving_mnist`; room for video
  folders, UCF-101 / HMDB-51, image patches and cached percepts;
- `moving_mnist`: the Moving MNIST generator (TensorFlow ops, stateless);
  `moving_mnist_numpy` the same sequences in NumPy (`stateless_random`:
  TensorFlow's stateless RNG in NumPy; `trajectory`: the rule both share);
- `digits`: the 28x28 digits it is made of (MNIST, or rendered with OpenCV).

Planned beside them: `video` (OpenCV decoding into clips), `patches` (fixed
random crops held across a clip) and `percepts` (a VGG16 / InceptionV3 stage
with a TFRecord cache).
"""
