"""Action recognition from the pretrained encoder (issue 13).

- `classifier`: `Classifier` (encoder + per-step softmax, or the single-frame
  baseline), `HeadModel` (its softmax alone, on cached features);
- `pretrained`: the encoder of a training log_dir or an exported SavedModel;
- `data`: labelled clips (Moving MNIST tasks, UCF-101 / HMDB-51 / folder
  videos, percept caches): seeded class-balanced subsets, training streams and
  the clips of each test video;
- `metrics`: clip and pooled video top-1 / top-5, per-class accuracy,
  confusion matrix (PNG);
- `finetune`: the fine-tuning run (frozen or trained encoder, its own learning
  rate; checkpoints, TensorBoard, resume) and its evaluation.

Importing it registers the classes with Keras' serialisation.
"""

from video_lstm.classify.classifier import Classifier, HeadModel, StepSoftmax, clip_probabilities

__all__ = ["Classifier", "HeadModel", "StepSoftmax", "clip_probabilities"]
