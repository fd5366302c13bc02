"""Action recognition from the pretrained encoder (floor 3: a use of a model).

- `classifier`: `Classifier` (encoder + per-step softmax, or the single-frame
  baseline), `HeadModel` (its softmax alone, on cached features);
- `pretrained`: the encoder of a training log_dir or an exported SavedModel;
- `data`: labelled clips (Moving MNIST tasks, UCF-101 / HMDB-51 / folder
  videos, percept caches): seeded class-balanced subsets, training streams and
  the clips of each test video;
- `accuracy`: clip and pooled video top-1 / top-5, per-class accuracy,
  confusion matrix (PNG);
- `trainer`: build, fit and evaluate one classifier (frozen or trained
  encoder at its own learning rate; checkpoints, TensorBoard, resume);
- `run`: `FinetuneRun`, what `python -m video_lstm.finetune` runs.

Importing it registers the classes with Keras' serialisation.
"""

from video_lstm.classify.classifier import Classifier, HeadModel, StepSoftmax, clip_probabilities

__all__ = ["Classifier", "HeadModel", "StepSoftmax", "clip_probabilities"]
