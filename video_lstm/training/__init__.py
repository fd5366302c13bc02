"""The training machinery: the fit loop, its callbacks, checkpoints, optimizers.

- `loop`: `setup`, `fit`, `train`, `train_and_evaluate` (what
  `python -m video_lstm.train` runs);
- `callbacks`: checkpoint per interval, stop at the step limit, NaN guard,
  SIGTERM, TensorBoard scalars and image strips;
- `checkpoint`: atomic `.keras` checkpoints (`.weights.h5` without
  TensorFlow), newest-first resume;
- `summaries`: TensorBoard event files, through `tf.summary` or the
  tensorboard package alone;
- `optimizers`: SGD / RMSprop / Adam with the official code's L2 weight decay;
- `distribute`: `--strategy`, `TF_CONFIG`, each worker's rows of the global batch;
- `lock`: one live job per log_dir.
"""
