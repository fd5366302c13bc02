"""The training machinery: the fit loop and its callbacks (floor 3).

- `loop`: `setup`, `fit`, `train`, `train_and_evaluate` (what
  `python -m video_lstm.train` runs);
- `callbacks`: checkpoint per interval, stop at the step limit, NaN guard,
  SIGTERM, TensorBoard scalars and image strips;
- `summaries`: TensorBoard event files, through `tf.summary` or the
  tensorboard package alone;
- `distribute`: `--strategy`, each worker's rows of the global batch;
- `lock`: one live job per log_dir.

Checkpoints and the log_dir's files belong to `video_lstm.rundir`; the
optimizers to `video_lstm.optimizers`.
"""
