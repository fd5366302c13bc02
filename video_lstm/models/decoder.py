"""The decoder: unrolls frames from the encoder's final states.

One class serves both roles of the paper: the reconstruction decoder (whose
targets are the input frames in reverse order) and the future decoder (whose
targets are the frames that follow). Which frames it is asked for is the
model's business; the decoder only knows how to emit `num_steps` frames.

A *conditional* decoder reads, at step t, a frame for step t-1 (zeros at the
first step). During training that frame is chosen by `feed`:

- `"teacher"`: the ground-truth frame (teacher forcing, as the official code);
- `"own"`: the decoder's own previous output, as at test time;
- `"scheduled"`: ground truth with probability `k / (k + exp(step / k))`,
  `k = schedule_decay`, else its own output (scheduled sampling, Bengio et al.
  2015), so training moves from teacher forcing to free running. `step` is
  the training step, which the model reads from its optimizer.

Outside training a conditional decoder always feeds back its own output.
Every free-running decoder (generation, rollouts, scheduled sampling, the
serving graph) runs in one loop, `_free_run`, over `lstm.scan_steps`.
"""

import math

import keras
from keras import ops

from video_lstm.core import keras_compat
from video_lstm.core.choices import FEEDS, READERS, READOUTS
from video_lstm.models.lstm import LSTMStack, initializers, scan_steps
from video_lstm.models.reader import make_reader
from video_lstm.models.readout import ConvReadout, check_frame_shape

OUTPUT_ACTIVATIONS = ("sigmoid", "linear")


@keras.saving.register_keras_serializable(package="video_lstm")
class FrameDecoder(keras.layers.Layer):
    """An LSTM stack with a read-out to frames (linear, or convolutional).

    Args:
        units: int, hidden units per layer (must match the encoder).
        num_layers: int (must match the encoder).
        conditional: bool, whether each step reads the previous frame.
        feed: str, one of "teacher", "own", "scheduled" (training only).
        schedule_decay: float, k of the scheduled-sampling decay, in steps.
        output_activation: "sigmoid" (binary-ish frames) or "linear".
        readout: "linear" (the paper: one matrix from hidden state to
            pixels) or "conv" (`readout.ConvReadout`: a coarse grid and
            transposed convolutions; image frames only).
        readout_filters: int, channels of the conv read-out's coarse grid.
        reader: how a conditional decoder reads its previous frame: "linear"
            (raw pixels) or "conv" (`reader.ConvReader`).
        reader_filters: int, channels of the conv reader's last stage.
        init_scale: float, see `LSTMStack`.
        seed: int or None, seed of the initializers and of the sampling.

    Call args:
        initial_states: list of `num_layers` `[h, c]`, each `(batch, units)`.
        num_steps: int, how many frames to emit (a scalar tensor is taken
            too, under TensorFlow: the serving graph's run-time length).
        teacher_frames: optional float `(batch, num_steps, *frame_shape)`, the
            ground truth for each emitted step (used as inputs in training
            when `conditional` and `feed != "own"`).
        training: bool.
        step: the training step (scalar), for the scheduled-sampling decay.
        previous: optional float `(batch, frame_dim)`, the activated frame
            before the first emitted one (zeros if None): a rollout continued
            chunk by chunk.
        return_state: bool, also return the loop's final state.

    Returns:
        float `(batch, num_steps, *frame_shape)`: logits (pre-activation
        outputs). `activate()` turns them into frames. With `return_state`,
        `(logits, previous, states)`: the last activated frame
        `(batch, frame_dim)` and the final `[h, c]` of every layer, which
        continue the sequence in the next call.
    """

    def __init__(
        self,
        units,
        num_layers=1,
        conditional=True,
        feed="teacher",
        schedule_decay=1000.0,
        output_activation="sigmoid",
        readout_kind="linear",
        readout_filters=16,
        reader="linear",
        reader_filters=32,
        init_scale=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if feed not in FEEDS:
            raise ValueError(f"feed={feed!r}; expected one of {FEEDS}")
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation={output_activation!r}; expected one of {OUTPUT_ACTIVATIONS}"
            )
        if readout_kind not in READOUTS:
            raise ValueError(f"readout_kind={readout_kind!r}; expected one of {READOUTS}")
        if reader not in READERS:
            raise ValueError(f"reader={reader!r}; expected one of {READERS}")
        self.units = units
        self.num_layers = num_layers
        self.conditional = conditional
        self.feed = feed
        self.schedule_decay = schedule_decay
        self.output_activation = output_activation
        self.readout_kind = readout_kind
        self.readout_filters = readout_filters
        self.reader = reader
        self.reader_filters = reader_filters
        self.init_scale = init_scale
        self.seed = seed
        self.lstm = LSTMStack(
            units,
            num_layers,
            has_input=conditional,
            init_scale=init_scale,
            seed=seed,
            dtype=self.dtype_policy,
            name="lstm",
        )
        self.frame_shape = None

    def build(self, frame_shape):
        """frame_shape: the shape of one frame, e.g. (64, 64, 1) or (4096,)."""
        self.frame_shape = tuple(frame_shape)
        frame_dim = math.prod(self.frame_shape)
        # Only a conditional decoder reads frames.
        self.conv_reader = make_reader(self, self.frame_shape) if self.conditional else None
        self.lstm.build((None, None, self.conv_reader.output_dim if self.conv_reader else frame_dim))
        if self.readout_kind == "conv":
            check_frame_shape(self.frame_shape)
            self.conv_readout = ConvReadout(
                self.frame_shape,
                filters=self.readout_filters,
                seed=self.seed,
                dtype=self.dtype_policy,
                name="conv_readout",
            )
            self.conv_readout.build((None, self.units))
        else:
            initializer, _, bias_initializer = initializers(self.init_scale, self.seed)
            self.output_kernel = self.add_weight(
                shape=(self.units, frame_dim), initializer=initializer, name="output_kernel"
            )
            self.output_bias = self.add_weight(
                shape=(frame_dim,),
                initializer=bias_initializer,
                name="output_bias",
            )

    # -- read-out -------------------------------------------------------------

    def readout(self, hidden):
        """float (..., units) -> logits (..., frame_dim)."""
        if self.readout_kind == "conv":
            return self.conv_readout(hidden)
        return ops.matmul(hidden, self.output_kernel) + self.output_bias

    def read(self, frames):
        """Flat frames float (..., frame_dim) -> what the LSTM reads, (..., features)."""
        if self.conv_reader is None:
            return frames
        return self.conv_reader(ops.reshape(frames, ops.shape(frames)[:-1] + self.frame_shape))

    def activate(self, logits):
        """Logits -> frames (sigmoid or identity)."""
        return ops.sigmoid(logits) if self.output_activation == "sigmoid" else logits

    def step(self, previous_frame, states):
        """One decoding step.

        Args:
            previous_frame: float (batch, frame_dim), or None if unconditioned.
            states: list of [h, c].
        Returns:
            logits: float (batch, frame_dim), and the new states.
        """
        top, states = self.lstm.step(self.read(previous_frame) if self.conditional else None, states)
        return self.readout(top), states

    # -- decoding -------------------------------------------------------------

    def call(
        self,
        initial_states,
        num_steps,
        teacher_frames=None,
        training=False,
        step=0,
        previous=None,
        return_state=False,
    ):
        batch = ops.shape(initial_states[0][0])[0]
        teacher = None
        if teacher_frames is not None:
            teacher = ops.reshape(teacher_frames, (batch, num_steps, -1))  # (B, K, D)
            teacher = ops.cast(teacher, self.compute_dtype)
        uses_teacher = training and self.conditional and self.feed != "own"
        if uses_teacher and teacher is None:
            raise ValueError(
                f"{self.name}: feed={self.feed!r} needs the ground-truth frames in training"
            )
        static = isinstance(num_steps, int) and previous is None and not return_state
        if static and not self.conditional:
            hidden, _ = self.lstm(None, initial_states, num_steps=num_steps)  # (B, K, u)
            logits = self.readout(hidden)
        elif static and uses_teacher and self.feed == "teacher":
            # All inputs are known (step t reads ground truth t-1, step 0 a
            # zero frame): the whole stack runs layer by layer with the input
            # projections hoisted out of the time loop.
            hidden, _ = self.lstm(self.read(teacher), initial_states, zero_first_input=True)
            logits = self.readout(hidden)
        else:
            mix = None
            if uses_teacher:  # scheduled sampling (or teacher forcing, continued)
                probability = 1.0 if self.feed == "teacher" else self.teacher_probability(step)
                mix = (teacher, probability, step)
            unroll = training and isinstance(num_steps, int)  # a static length, differentiated
            logits, previous, states = self._free_run(initial_states, num_steps, previous, mix, unroll)
            if return_state:
                return ops.reshape(logits, (batch, num_steps) + self.frame_shape), previous, states
        return ops.reshape(logits, (batch, num_steps) + self.frame_shape)

    def _free_run(self, states, num_steps, previous=None, mix=None, unroll=False):
        """The decoder running free: each step reads its own last output.

        Args:
            states: list of [h, c].
            num_steps: int or scalar tensor.
            previous: float (batch, frame_dim), the frame before the first
                step; zeros if None.
            mix: optional (teacher (batch, num_steps, frame_dim), probability, step):
                in training, each sequence's input at each step is the ground
                truth with that probability (coins drawn for all steps at
                once, outside the loop, from (seed, training step)), else its own output.
            unroll: bool, unroll a static number of steps (training).
        Returns:
            (logits (batch, num_steps, frame_dim), last activated frame, states).
        """
        batch = ops.shape(states[0][0])[0]
        frame_dim = math.prod(self.frame_shape)
        if previous is None:
            previous = ops.zeros((batch, frame_dim), dtype=self.compute_dtype)
        previous = ops.cast(previous, self.compute_dtype)
        steps = ops.arange(num_steps)
        if mix is None:
            xs = steps
        else:
            teacher, probability, training_step = mix
            # Drawn from (seed, step), not from a generator's state, which no checkpoint holds.
            coins = keras.random.uniform((num_steps, batch, 1), seed=keras_compat.step_seed(self.seed, training_step))
            use_teacher = coins < ops.cast(probability, coins.dtype)
            xs = (steps, ops.transpose(teacher, (1, 0, 2)), use_teacher)

        def step(carry, x):
            previous, states = carry
            logits, states = self.step(previous, [list(s) for s in states])
            previous = self.activate(logits)
            if mix is not None:
                previous = ops.where(x[2], x[1], previous)
            return (previous, tuple(tuple(s) for s in states)), logits

        carry = (previous, tuple(tuple(s) for s in states))
        output = ops.zeros((batch, frame_dim), dtype=self.compute_dtype)
        (previous, states), logits = scan_steps(step, carry, xs, output, unroll)
        return ops.transpose(logits, (1, 0, 2)), previous, [list(s) for s in states]

    def teacher_probability(self, step):
        """Inverse-sigmoid decay of scheduled sampling at training step `step`."""
        k = self.schedule_decay
        step = ops.cast(step, "float32")
        return k / (k + ops.exp(ops.minimum(step / k, 50.0)))

    def load_own_variables(self, store):
        # `.keras` files written before the step came from the optimizer hold
        # a scheduled decoder's own call counter last: it is no longer a weight.
        own = keras_compat.own_variable_count(self)
        if len(store.keys()) == own + 1 and self.feed == "scheduled":
            store = {str(i): store[str(i)] for i in range(own)}
        super().load_own_variables(store)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            num_layers=self.num_layers,
            conditional=self.conditional,
            feed=self.feed,
            schedule_decay=self.schedule_decay,
            output_activation=self.output_activation,
            readout_kind=self.readout_kind,
            readout_filters=self.readout_filters,
            reader=self.reader,
            reader_filters=self.reader_filters,
            init_scale=self.init_scale,
            seed=self.seed,
        )
        return config
