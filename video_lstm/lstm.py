"""The recurrent core shared by every encoder and decoder: a stack of LSTMs.

The time loop is written out here instead of using `keras.layers.LSTM`
because the decoders need to step the whole stack one frame at a time (a
conditional decoder feeds its own output back in), and because work that
does not depend on the recurrence is hoisted out of the loop: the input
projection of a layer is one matmul over all time steps.

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

    def call(self, inputs=None, initial_states=None, num_steps=None):
        """Runs the stack over a sequence, layer by layer.

        Each layer's input projection is one matmul over all steps; only the
        recurrent matmul stays in the time loop.

        Args:
            inputs: float (batch, time, input_dim), or None for a stack with no
                input (then `initial_states` and `num_steps` are required).
            initial_states: optional list of [h, c]; zeros if None.
            num_steps: int, used when inputs is None.
        Returns:
            outputs: float (batch, time, units), the top layer's h at each step.
            states: list of `num_layers` final [h, c].
        """
        if inputs is not None:
            num_steps = inputs.shape[1]
            if num_steps is None:
                raise ValueError(f"{self.name}: the time dimension must be static, got {inputs.shape}")
        if initial_states is None:
            initial_states = self.zero_states(ops.shape(inputs)[0], self.compute_dtype)
        layer_inputs = inputs
        final_states = []
        for layer in range(self.num_layers):
            gates_in = self.input_gates(layer_inputs, layer)  # (B, T, 4u) or (4u,)
            state = initial_states[layer]
            hiddens = []
            for t in range(num_steps):
                step_gates = gates_in if len(gates_in.shape) == 1 else gates_in[:, t]
                state = self.cell(step_gates, state, layer)
                hiddens.append(state[0])
            final_states.append(state)
            layer_inputs = ops.stack(hiddens, axis=1)  # (B, T, u)
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
