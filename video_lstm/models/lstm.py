"""The recurrent core shared by every encoder and decoder: a stack of LSTMs.

The time loop is written out here instead of using `keras.layers.LSTM`
because the decoders need to step the whole stack one frame at a time (a
conditional decoder feeds its own output back in), and because work that
does not depend on the recurrence is hoisted out of the loop: the input
projection of a layer is one matmul over all time steps.

Two loops over time, for two jobs:

- training on a sequence of static length (`LSTMStack.call`): unrolled in
  Python, with the hand-written backward pass of `lstm_sequence` (one
  recurrent-kernel gradient matmul per layer);
- everything whose length is known only at run time (`scan_steps`, a
  `keras.ops.scan`): free-running decoders (generation, long rollouts,
  scheduled sampling), and the encoder over a dynamic time axis (the serving
  graph). It runs on TensorFlow (a `tf.while_loop`, any length) and JAX (a
  `lax.scan`, length static under `jit`).

Gate order is (input, forget, cell, output), the same as `keras.layers.LSTM`,
so weights transfer one-to-one between the two.
"""

import keras
from keras import ops


def initializers(init_scale, seed):
    """(kernel, recurrent, bias) initializers.

    `init_scale > 0` reproduces the official code (every weight uniform in
    +-init_scale); otherwise the Keras LSTM defaults with forget bias 1.
    """
    if init_scale:
        uniform = keras.initializers.RandomUniform(-init_scale, init_scale, seed=seed)
        return uniform, uniform, uniform
    return (
        keras.initializers.GlorotUniform(seed=seed),
        keras.initializers.Orthogonal(seed=seed),
        "zeros",
    )


def lstm_sequence(gates_in, h0, c0, recurrent_kernel):
    """One LSTM layer over a whole sequence, with a hand-written backward pass.

    Autodiff of the time loop would form the recurrent kernel's gradient one
    step at a time, a `(units, 4 * units)` product and sum per step (at batch
    16 and 2048 units, 64 MB written ten times per layer); here it is one
    matmul over all steps, `H_prev^T @ dZ`, as in cuDNN. The forward pass is the
    same arithmetic as `LSTMStack.cell`.

    Args:
        gates_in: float (batch, time, 4 * units), the input part of the gates
            (`x_t @ W + b`) for every step.
        h0, c0: float (batch, units), the initial state.
        recurrent_kernel: float (units, 4 * units), a tensor (not a variable).
    Returns:
        (outputs (batch, time, units), h_T, c_T).
    """

    @ops.custom_gradient
    def run(gates_in, h0, c0, recurrent_kernel):
        hiddens, cells, gates = _forward(gates_in, h0, c0, recurrent_kernel)

        def grad(*args, upstream=None):
            # TF passes one upstream gradient per output, JAX one tuple, and
            # torch a keyword; unconnected outputs may come as None.
            upstream = keras.tree.flatten(args if upstream is None else upstream)
            d_outputs, d_h, d_c = (
                ops.zeros_like(ref) if d is None else d
                for d, ref in zip(upstream, (hiddens, h0, c0))
            )
            return _backward(d_outputs, d_h, d_c, h0, c0, recurrent_kernel, hiddens, cells, gates)

        return (hiddens, hiddens[:, -1], cells[-1]), grad

    return run(gates_in, h0, c0, recurrent_kernel)


def _forward(gates_in, h, c, recurrent_kernel):
    """The time loop; keeps what the backward pass needs."""
    hs, cells, gates = [], [], []
    for t in range(gates_in.shape[1]):
        z = gates_in[:, t] + ops.matmul(h, recurrent_kernel)
        zi, zf, zg, zo = ops.split(z, 4, axis=-1)
        i, f, g, o = ops.sigmoid(zi), ops.sigmoid(zf), ops.tanh(zg), ops.sigmoid(zo)
        c = f * c + i * g
        h = o * ops.tanh(c)
        hs.append(h)
        cells.append(c)
        gates.append((i, f, g, o))
    return ops.stack(hs, axis=1), cells, gates


def _backward(d_outputs, d_h, d_c, h0, c0, recurrent_kernel, hiddens, cells, gates):
    """Backpropagation through time; returns grads of (gates_in, h0, c0, kernel)."""
    kernel_t = ops.transpose(recurrent_kernel)
    num_steps = len(cells)
    d_z = [None] * num_steps
    for t in reversed(range(num_steps)):
        i, f, g, o = gates[t]
        c_prev = c0 if t == 0 else cells[t - 1]
        tanh_c = ops.tanh(cells[t])
        d_h = d_h + d_outputs[:, t]
        d_c = d_c + d_h * o * (1.0 - tanh_c * tanh_c)
        d_z[t] = ops.concatenate(
            [
                d_c * g * i * (1.0 - i),
                d_c * c_prev * f * (1.0 - f),
                d_c * i * (1.0 - g * g),
                d_h * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        d_c = d_c * f
        d_h = ops.matmul(d_z[t], kernel_t)
    d_z = ops.stack(d_z, axis=1)  # (B, T, 4u)
    units = ops.shape(recurrent_kernel)[0]
    h_prev = ops.concatenate([h0[:, None], hiddens[:, :-1]], axis=1)  # (B, T, u)
    d_kernel = ops.matmul(
        ops.transpose(ops.reshape(h_prev, (-1, units))), ops.reshape(d_z, (-1, 4 * units))
    )
    return d_z, d_h, d_c, d_kernel


def scan_steps(step, carry, xs, output, unroll=False):
    """The one loop over a time axis whose length may be known only at run time.

    `keras.ops.scan` with per-step outputs of any shape: Keras' TensorFlow
    `scan` stacks outputs shaped like the carry, so the last output rides in
    the carry (`output` gives its shape and dtype) and the stacked carries are
    dropped (under `jit` the compiler drops them too).

    With `unroll=True` (a static length) the same `step` runs in a Python
    loop instead: what training needs, since XLA cannot differentiate
    TensorFlow's while loop of unbounded length, and what the unrolled
    training graph has always been.

    Args:
        step: `(carry, x) -> (carry, y)`, keras.ops only; `carry` keeps its
            structure (tuples, not lists), shapes and dtypes.
        carry: the initial carry, a tree of tensors.
        xs: a tree of time-major tensors `(time, ...)`, e.g. `ops.arange(n)`;
            `time` may be a run-time value on TensorFlow.
        output: a tensor shaped like one step's `y` (its value is unused).
        unroll: bool, run in Python over a static time length.
    Returns:
        (final carry, ys stacked time-major `(time, ...)`).
    """
    if unroll:
        ys = []
        for t in range(keras.tree.flatten(xs)[0].shape[0]):
            carry, y = step(carry, keras.tree.map_structure(lambda x: x[t], xs))
            ys.append(y)
        return carry, ops.stack(ys, axis=0)

    def body(packed, x):
        carry, y = step(packed[0], x)
        return (carry, y), (carry, y)

    (carry, _), (_, ys) = ops.scan(body, (carry, output), xs)
    return carry, ys


@keras.saving.register_keras_serializable(package="video_lstm")
class LSTMStack(keras.layers.Layer):
    """`num_layers` LSTM layers of `units` each, run over time or step by step.

    Args:
        units: int, hidden units of every layer.
        num_layers: int, number of stacked layers.
        has_input: bool, whether the first layer reads a per-step input. An
            unconditioned decoder has none: its gates see only its state.
        init_scale: float. If > 0, all weights are drawn uniform in
            [-init_scale, init_scale] (the paper's code uses 0.01); if 0, Keras'
            LSTM defaults (Glorot kernel, orthogonal recurrent kernel, forget
            bias 1).
        seed: int or None, seed of the initializers.

    State: a list of `num_layers` pairs `[h, c]`, each float `(batch, units)`.

    Example:
    ```python
    stack = LSTMStack(units=32, num_layers=2)
    outputs, states = stack(ops.zeros((4, 10, 64)))  # (4, 10, 32), 2 x [h, c]
    ```
    """

    def __init__(self, units, num_layers=1, has_input=True, init_scale=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if units < 1 or num_layers < 1:
            raise ValueError(
                f"LSTMStack needs units >= 1 and num_layers >= 1, got units={units}, "
                f"num_layers={num_layers}"
            )
        self.units = units
        self.num_layers = num_layers
        self.has_input = has_input
        self.init_scale = init_scale
        self.seed = seed

    def build(self, input_shape=None):
        input_dim = input_shape[-1] if (self.has_input and input_shape is not None) else None
        if self.has_input and input_dim is None:
            raise ValueError(f"{self.name}: has_input=True needs a known feature size, got {input_shape}")
        kernel_init, recurrent_init, bias_init = initializers(self.init_scale, self.seed)
        self.kernels, self.recurrent_kernels, self.biases = [], [], []
        for layer in range(self.num_layers):
            in_dim = input_dim if layer == 0 else self.units
            kernel = None
            if in_dim is not None:
                kernel = self.add_weight(
                    shape=(in_dim, 4 * self.units), initializer=kernel_init, name=f"kernel_{layer}"
                )
            self.kernels.append(kernel)
            self.recurrent_kernels.append(
                self.add_weight(
                    shape=(self.units, 4 * self.units),
                    initializer=recurrent_init,
                    name=f"recurrent_kernel_{layer}",
                )
            )
            self.biases.append(
                self.add_weight(
                    shape=(4 * self.units,),
                    initializer=self._bias_initializer(bias_init),
                    name=f"bias_{layer}",
                )
            )

    def _bias_initializer(self, bias_init):
        if bias_init != "zeros":
            return bias_init

        def unit_forget_bias(shape, dtype=None):
            u = self.units
            return ops.concatenate(
                [ops.zeros((u,), dtype), ops.ones((u,), dtype), ops.zeros((2 * u,), dtype)]
            )

        return unit_forget_bias

    # -- pieces ---------------------------------------------------------------

    def input_gates(self, inputs, layer=0):
        """Input part of the gates, `x @ W + b`, for any leading shape.

        Args:
            inputs: float (..., input_dim), or None for a layer with no input.
        Returns:
            float (..., 4 * units), or just the bias (4 * units,) if inputs is None.
        """
        if inputs is None or self.kernels[layer] is None:
            return self.biases[layer]
        return ops.matmul(inputs, self.kernels[layer]) + self.biases[layer]

    def cell(self, gates_in, state, layer):
        """One LSTM update given the precomputed input gates.

        Args:
            gates_in: float (batch, 4 * units) or (4 * units,).
            state: [h, c], each (batch, units).
        Returns:
            The new [h, c].
        """
        h, c = state
        gates = gates_in + ops.matmul(h, self.recurrent_kernels[layer])  # (B, 4u)
        i, f, g, o = ops.split(gates, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return [h, c]

    def zero_states(self, batch_size, dtype="float32"):
        zeros = ops.zeros((batch_size, self.units), dtype=dtype)
        return [[zeros, zeros] for _ in range(self.num_layers)]

    # -- whole sequences and single steps -------------------------------------

    def call(self, inputs=None, initial_states=None, num_steps=None, zero_first_input=False):
        """Runs the stack over a sequence, layer by layer.

        Each layer's input projection is one matmul over all steps; only the
        recurrent matmul stays in the time loop. With a static time length the
        loop is unrolled and the backward pass is the hand-written one of
        `lstm_sequence`; a time length known only at run time (an exported
        encoder) runs in `scan_steps`.

        Args:
            inputs: float (batch, time, input_dim), or None for a stack with no
                input (then `initial_states` and `num_steps` are required).
            initial_states: optional list of [h, c]; zeros if None.
            num_steps: int, used when inputs is None (a static length).
            zero_first_input: bool. If True, step 0 reads a zero input and step
                t reads `inputs[:, t - 1]` (a conditional decoder under teacher
                forcing); `inputs[:, -1]` is not read. The zero step costs no
                matmul.
        Returns:
            outputs: float (batch, time, units), the top layer's h at each step.
            states: list of `num_layers` final [h, c].
        """
        if inputs is not None:
            num_steps = inputs.shape[1]
            batch = ops.shape(inputs)[0]
        else:
            batch = ops.shape(initial_states[0][0])[0]
        if initial_states is None:
            initial_states = self.zero_states(batch, self.compute_dtype)
        if num_steps is None:  # a run-time length
            if zero_first_input:
                raise ValueError(f"{self.name}: zero_first_input needs a static time length")
            return self._scan(inputs, initial_states)
        shape = (batch, num_steps, 4 * self.units)
        layer_inputs = inputs
        final_states = []
        for layer in range(self.num_layers):
            if layer == 0 and zero_first_input and inputs is not None:
                gates_in = ops.concatenate(
                    [
                        ops.broadcast_to(self.biases[0], (batch, 1, 4 * self.units)),
                        self.input_gates(inputs[:, :-1], 0),
                    ],
                    axis=1,
                )
            else:
                gates_in = ops.broadcast_to(self.input_gates(layer_inputs, layer), shape)
            h, c = initial_states[layer]
            kernel = ops.cast(self.recurrent_kernels[layer], self.compute_dtype)
            layer_inputs, h, c = lstm_sequence(gates_in, h, c, kernel)
            final_states.append([h, c])
        return layer_inputs, final_states

    def _scan(self, inputs, initial_states):
        """`call` over a time axis of run-time length: layer by layer, each in `scan_steps`."""
        layer_inputs = inputs
        final_states = []
        for layer in range(self.num_layers):
            gates_in = ops.transpose(self.input_gates(layer_inputs, layer), (1, 0, 2))  # (T, B, 4u)

            def step(state, gates, layer=layer):
                h, c = self.cell(gates, list(state), layer)
                return (h, c), h

            h0, c0 = initial_states[layer]
            (h, c), hiddens = scan_steps(step, (h0, c0), gates_in, output=h0)
            layer_inputs = ops.transpose(hiddens, (1, 0, 2))
            final_states.append([h, c])
        return layer_inputs, final_states

    def step(self, inputs, states):
        """Advances every layer by one time step.

        Args:
            inputs: float (batch, input_dim), or None for a stack with no input.
            states: list of `num_layers` [h, c].
        Returns:
            top: float (batch, units), the top layer's new h.
            states: the new list of [h, c].
        """
        new_states = []
        layer_input = inputs
        for layer in range(self.num_layers):
            state = self.cell(self.input_gates(layer_input, layer), states[layer], layer)
            new_states.append(state)
            layer_input = state[0]
        return layer_input, new_states

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            num_layers=self.num_layers,
            has_input=self.has_input,
            init_scale=self.init_scale,
            seed=self.seed,
        )
        return config
