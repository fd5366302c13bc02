"""The training machinery: the fit loop and its callbacks (floor 3).

- `loop`: `setup`, `fit`, `train`, `train_and_evaluate` (what
  `python -m video_lstm.train` runs);
- `callbacks`: checkpoint per interval, stop at the step limit, NaN guard,
  SIGTERM, TensorBoard scalars and image strips;
- `probe_callback`: the linear probe every `--probe_every` steps;
- `summaries`: TensorBoard event files, through `tf.summary` or the
  tensorboard package alone;
- `distribute`: `--strategy`, each worker's rows of the global batch;
- `lock`: one live job per log_dir.

Training imports analysis (the final evaluation of `train_and_evaluate`, the
probe's math, the pictures' figures), never the reverse: both are on floor 3 and
the dependency goes one way.

Checkpoints and the log_dir's files belong to `video_lstm.rundir`; the
optimizers to `video_lstm.optimizers`.
"""
