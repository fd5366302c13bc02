"""`ProbeCallback`: the linear probe evaluated during pretraining (`--probe_every`).

The callback belongs to training; the probe's math (labelled clips, encoder states, the ridge read-out,
the scalars' names) stays in `video_lstm.analysis.probe`, which this module calls. The dependency goes one
way: training imports analysis (as `loop` does for the final evaluation and `callbacks` for the
pictures), analysis never imports training.
"""

import time

from absl import logging

from video_lstm.analysis import probe
from video_lstm.core.step_counter import StepCounter


class ProbeCallback(StepCounter):
    """Evaluates the probe on a fixed labelled set every `every` training steps (and at step 0
    of a fresh run: where the curve starts).

    The labelled clips are made once (at the first evaluation); each evaluation encodes them
    with the model's encoder as it is and fits the ridge probe (no baselines). Writes the
    scalars (`analysis.probe.probe_scalars`: probe/<task>/<n>_shot, probe/<task>/all) through
    `writer.scalars(step, values)` (a `training.summaries` writer), keeps the last ones in
    `self.last` and the time spent in `self.seconds` (`record()`: for metrics.json).

    Args:
        config: the run's `Config`.
        every: steps between evaluations (the model's optimizer step count).
        writer: an object with `scalars(step, values)` (and `flush()`), or None.
        counts, seeds, pool_size, test_size, batch_size: as `analysis.probe.ProbeOptions` (smaller
            defaults: it runs often).
        source_data: for a video or percept run, see `analysis.probe.video_clips`.
    """

    def __init__(self, config, every, writer=None, counts=(1, 10, None), seeds=3, pool_size=500,
                 test_size=500, batch_size=250, source_data=None):
        super().__init__()
        self.source_data = source_data
        self.config, self.every, self.writer = config, int(every), writer
        self.counts, self.seeds, self.pool_size, self.test_size = list(counts), seeds, pool_size, test_size
        self.batch_size = batch_size
        self.clips, self.last, self.seconds, self.evaluations, self.probed_step = None, {}, 0.0, 0, None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        # A fresh run's curve starts at its initialisation (step 0); a resumed one where it stopped.
        if self.every > 0 and self.step == 0:
            self.evaluate(0)

    def on_steps_end(self, logs):  # the step counted, not read from the device
        if self.every > 0 and self.step % self.every == 0 and self.step != self.probed_step:
            self.evaluate(self.step)

    def evaluate(self, step):
        started = time.perf_counter()
        if self.clips is None:
            self.clips = probe.labelled_clips(self.config, self.pool_size, self.test_size, self.source_data)
        result = probe.probe_clips({"encoder": self.model.encoder}, self.clips, self.counts, self.seeds,
                                   self.batch_size, pixels=False)
        self.last, self.probed_step = probe.probe_scalars(result), step
        if self.writer is not None:
            self.writer.scalars(step, self.last)
            if hasattr(self.writer, "flush"):
                self.writer.flush()
        seconds = time.perf_counter() - started
        self.seconds += seconds
        self.evaluations += 1
        logging.info("probe at step %d (%.1f s): %s", step, seconds,
                     ", ".join(f"{k} {v:.3f}" for k, v in self.last.items()))
        return self.last

    def record(self):
        """What metrics.json would hold: the last scalars, the step they are of, and the cost."""
        return {**self.last, "probe/step": self.probed_step, "probe/evaluations": self.evaluations,
                "probe/seconds": round(self.seconds, 2)}
