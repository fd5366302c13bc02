"""Knowing the global training step from inside Keras callbacks without asking the device.

`StepCounter` is the base of the trainer's callbacks (`training.callbacks`,
`training.probe_callback`).
"""

import keras


def global_step(model):
    """The optimizer's step count, which survives restarts (it is checkpointed)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class StepCounter(keras.callbacks.Callback):
    """A callback that knows the global step at each batch end without asking the device.

    `self.step` is the optimizer's step count read once at the start of training, plus
    the steps Keras has run since (`batch` of `on_train_batch_end` is the index of the
    epoch's last step run, every `steps_per_execution` steps). Subclasses implement
    `on_steps_end(logs)`, called at each batch end with `self.step` set; `logs` hold the
    backend's arrays (`training.callbacks.CallbackList`): reading one waits for the steps that
    made it.
    """

    takes_device_logs = True

    def on_train_begin(self, logs=None):
        self.step = self._epoch_start = global_step(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self.step

    def on_train_batch_end(self, batch, logs=None):
        self.step = self._epoch_start + batch + 1
        self.on_steps_end(logs or {})

    @property
    def steps_in_epoch(self):
        """Steps run since the current epoch began."""
        return self.step - self._epoch_start

    def on_steps_end(self, logs):
        pass
