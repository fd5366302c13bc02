"""`--eval_every`: the held-out error as training goes, in TensorBoard.

`EvaluationCurve` evaluates the model every `every` training steps on a fixed subset of the run's
test set (its first `--eval_every_sequences` sequences: the test sets are fixed, and a smaller
`--eval_sequences` takes a prefix of them), decoders running free, with the final evaluation's own
code (`analysis.evaluation.measure`), and writes its `eval/*` scalars (`evaluation.scalars`) through
the trainer's writer. The last step is left to the final, full evaluation, which writes the same
tags there (`loop.train_and_evaluate`), so a curve ends at metrics.json's values.
"""

import inspect
import time

from absl import logging

from pipelines import sources
from video_lstm import config as config_lib
from video_lstm.analysis import evaluation
from video_lstm.core.step_counter import StepCounter


class EvaluationCurve(StepCounter):
    """Evaluates on `count` held-out sequences every `every` steps (not at `last_step`: the final
    evaluation's), writing `eval/*` through `writer.scalars(step, values)`; keeps the time spent in
    `seconds` and the evaluations made in `evaluations`.

    Args:
        config: the run's `Config` (its test set, loss and clip).
        every: steps between evaluations.
        count: held-out sequences (at most the run's --eval_sequences).
        writer: a `training.summaries` writer, or None.
        last_step: the run's --steps.
    """

    def __init__(self, config, every, count, writer=None, last_step=None):
        super().__init__()
        self.config, self.every, self.writer, self.last_step = config, int(every), writer, last_step
        self.count = min(int(count), config.eval_sequences)
        self.source, self.clips, self.last = None, None, {}
        self.seconds, self.evaluations = 0.0, 0

    def on_steps_end(self, logs):  # the step counted, not read from the device
        if self.every > 0 and self.step % self.every == 0 and (self.last_step is None or self.step < self.last_step):
            self.evaluate(self.step)

    def held_out(self):
        """(source, clips): the fixed subset, made at the first evaluation."""
        if self.clips is None:
            self.source = sources.build(config_lib.replace(self.config, eval_sequences=self.count))
            # Generated Moving MNIST: made in NumPy, only the `count` sequences (equal to TensorFlow's, which
            # makes all 10,000 of the fixed test set first: a minute of the quickstart's CPU time).
            own = {"tensorflow": False} if "tensorflow" in inspect.signature(self.source.test_set).parameters else {}
            self.clips = self.source.test_set(**own).clips[: self.count]
        return self.source, self.clips

    def evaluate(self, step):
        started = time.perf_counter()
        source, clips = self.held_out()
        result = evaluation.measure(self.model, source, self.config, clips, verbose=0)
        self.last = evaluation.scalars(result)
        if self.writer is not None:
            self.writer.scalars(step, self.last)
        seconds = time.perf_counter() - started
        self.seconds += seconds
        self.evaluations += 1
        logging.info("evaluation of %d held-out sequences at step %d (%.1f s): %s", len(clips), step, seconds,
                     ", ".join(f"{k} {v:.4g}" for k, v in self.last.items()))
        return self.last
