"""Data pipelines (TensorFlow side): Moving MNIST, digits, experiment inputs."""
