"""The serving graph of an exported model: request checks and preprocessing.

`ServingGraph(model)` turns a built `video_lstm` model into plain TensorFlow
functions with a dynamic batch *and* a dynamic time dimension. The recurrences
are the model's own layers: the encoder's `LSTMStack` runs a time axis of
run-time length in its `scan_steps` loop, and each decoder runs free in its
own loop (`FrameDecoder._free_run`) for a run-time number of steps, so the
exported functions compute what the Keras model computes, whichever reader
and read-out it has. A mixed-precision model is exported as its float32 twin
(same weights), so serving computes in float32.

Every function validates its request inside the graph (rank, channels, time
length, NaN and range of float frames, `future_steps`), with messages that
name the expected shape, and resizes frames of another height and width to the
trained size. Frames go in as uint8 (scaled by 1/255 in the graph) or as
float32 in [0, 1]; the computation is float32, whatever precision the model
was trained in.

`signature_table()` describes the signatures (names, dtypes, shapes, meaning):
it is written into the SavedModel's assets as `signatures.json`, and the
outputs of the functions are given exactly these static shapes.
"""

import math

import tensorflow as tf

MAX_FUTURE_STEPS = 1000
INPUT_DTYPES = {"uint8": tf.uint8, "float32": tf.float32}


class ServingGraph:
    """The functions behind the signatures of one model.

    Args:
        model: a built `video_lstm.models.CompositeModel` (or subclass) on
            image frames `(height, width, channels)`.
        percept_network: optional, for a model of percepts: the
            `pipelines.percept_networks.PerceptNetwork` that made them. With one, the
            export runs it too: `encode_frames` (also `serving_default`) takes
            uint8 RGB frames `(batch, time, height, width, 3)` of any size.
    """

    def __init__(self, model, percept_network=None):
        if not getattr(model, "built", False) or not hasattr(model, "frame_shape"):
            raise ValueError("the model must be built (load it from a checkpoint, or call it once)")
        self.model = model = float32_twin(model)
        self.frame_shape = tuple(int(d) for d in model.frame_shape)
        # A model of feature vectors (percepts) takes `percepts` (batch, time, D), float32 only.
        self.features = len(self.frame_shape) == 1
        if len(self.frame_shape) not in (1, 3):
            raise ValueError(
                f"only models of image frames (height, width, channels) or feature vectors (D,) can "
                f"be exported; this model was built on frames of shape {self.frame_shape}"
            )
        if not self.features:
            self.height, self.width, self.channels = self.frame_shape
        self.frame_dim = math.prod(self.frame_shape)
        self.units = int(model.units)
        self.num_layers = int(model.num_layers)
        self.decoders = {}
        if model.reconstruction_decoder is not None:
            self.decoders["reconstruction"] = model.reconstruction_decoder
        if model.future_decoder is not None:
            self.decoders["future"] = model.future_decoder
        self.percept_network = percept_network
        if percept_network is not None and (not self.features or self.frame_dim != percept_network.dim):
            raise ValueError(
                f"a percept network of {percept_network.dim}-d features ({percept_network.name}) "
                f"exports only with a model of percepts (D,) = ({percept_network.dim},); this model "
                f"reads {self.frame_shape}"
            )

    # -- request checks and preprocessing -------------------------------------

    def expected(self, dtype):
        """The one-line description of a valid `frames` (or `percepts`) input."""
        if self.features:
            return f"percepts must be (batch, time, {self.frame_dim}) float32, time >= 1, finite"
        h, w, c = self.frame_shape
        values = " in [0, 1]" if dtype == "float32" else ""
        return (
            f"frames must be (batch, time, {h}, {w}, {c}) {dtype}{values}, time >= 1 "
            f"(other heights and widths are resized to {h}x{w})"
        )

    def preprocess(self, frames, dtype):
        """Validated frames, float32 (batch, time, height, width, channels) in [0, 1]."""
        expected = self.expected(dtype)
        # Ordered checks: each runs only after the previous passed, so a
        # wrong-rank request fails on the rank check, never deeper.
        rank_ok = tf.debugging.assert_rank(frames, 5, message=expected)
        with tf.control_dependencies([rank_ok]):
            shape = tf.shape(frames)
            checks = [
                tf.debugging.assert_equal(
                    shape[4], self.channels, message=f"{expected}; wrong number of channels"
                ),
                tf.debugging.assert_greater_equal(
                    shape[1], 1, message=f"{expected}; got no time steps"
                ),
                tf.debugging.assert_greater_equal(
                    tf.reduce_min(shape[2:4]), 1, message=f"{expected}; got an empty frame"
                ),
            ]
        if dtype == "float32":
            with tf.control_dependencies(checks):
                checks.append(
                    tf.debugging.assert_all_finite(frames, message=f"{expected}; got NaN or Inf")
                )
            with tf.control_dependencies(checks):
                checks += [
                    tf.debugging.assert_greater_equal(
                        frames, 0.0, message=f"{expected}; got values below 0"
                    ),
                    tf.debugging.assert_less_equal(
                        frames, 1.0, message=f"{expected}; got values above 1"
                    ),
                ]
        with tf.control_dependencies(checks):
            frames = tf.identity(frames)
        frames.set_shape([None, None, None, None, self.channels])
        if dtype == "uint8":
            frames = tf.cast(frames, tf.float32) / 255.0
        return self._resize(frames)

    def preprocess_percepts(self, percepts):
        """Validated percepts, float32 (batch, time, D)."""
        expected = self.expected("float32")
        rank_ok = tf.debugging.assert_rank(percepts, 3, message=expected)
        with tf.control_dependencies([rank_ok]):
            shape = tf.shape(percepts)
            checks = [
                tf.debugging.assert_equal(shape[2], self.frame_dim, message=f"{expected}; wrong feature size"),
                tf.debugging.assert_greater_equal(shape[1], 1, message=f"{expected}; got no time steps"),
            ]
        with tf.control_dependencies(checks):
            checks.append(tf.debugging.assert_all_finite(percepts, message=f"{expected}; got NaN or Inf"))
        with tf.control_dependencies(checks):
            percepts = tf.identity(percepts)
        percepts.set_shape([None, None, self.frame_dim])
        return percepts

    def video_frames_to_percepts(self, frames):
        """Validated uint8 RGB frames (batch, time, H, W, 3) of any size -> float32 percepts
        (batch, time, D), through the percept network and its own preprocessing."""
        expected = self.expected_video()
        rank_ok = tf.debugging.assert_rank(frames, 5, message=expected)
        with tf.control_dependencies([rank_ok]):
            shape = tf.shape(frames)
            checks = [
                tf.debugging.assert_equal(shape[4], 3, message=f"{expected}; wrong number of channels"),
                tf.debugging.assert_greater_equal(shape[1], 1, message=f"{expected}; got no time steps"),
                tf.debugging.assert_greater_equal(
                    tf.reduce_min(shape[2:4]), 1, message=f"{expected}; got an empty frame"
                ),
            ]
        with tf.control_dependencies(checks):
            flat = tf.reshape(frames, tf.concat([[-1], shape[2:]], 0))
        flat.set_shape([None, None, None, 3])
        network = self.percept_network
        features = tf.cast(network.model(network.preprocess(flat), training=False), tf.float32)
        percepts = tf.reshape(features, [shape[0], shape[1], network.dim])
        percepts.set_shape([None, None, network.dim])
        return percepts

    def expected_video(self):
        size = self.percept_network.input_size
        return (
            f"frames must be (batch, time, height, width, 3) uint8 RGB, time >= 1 (resized to "
            f"{size}x{size} for {self.percept_network.name})"
        )

    def _resize(self, frames):
        """Frames of another height and width -> the trained size (bilinear, antialiased)."""
        shape = tf.shape(frames)
        batch, time, height, width = shape[0], shape[1], shape[2], shape[3]
        trained = [batch, time, self.height, self.width, self.channels]

        def same():
            return tf.reshape(frames, trained)

        def resize():
            flat = tf.reshape(frames, [-1, height, width, self.channels])
            flat = tf.image.resize(flat, [self.height, self.width], antialias=True)
            return tf.reshape(flat, trained)

        fits = tf.logical_and(tf.equal(height, self.height), tf.equal(width, self.width))
        frames = tf.cond(fits, same, resize)
        frames.set_shape([None, None, self.height, self.width, self.channels])
        return frames

    def check_future_steps(self, future_steps):
        message = f"future_steps must be an int32 scalar in [0, {MAX_FUTURE_STEPS}]"
        checks = [
            tf.debugging.assert_greater_equal(future_steps, 0, message=message),
            tf.debugging.assert_less_equal(future_steps, MAX_FUTURE_STEPS, message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(future_steps)

    # -- the model ------------------------------------------------------------

    def encode_frames(self, frames):
        """float (batch, time, H, W, C) -> dict(h_i, c_i, outputs), as `model.encode`."""
        encoded = self.model.encode(frames)
        result = {"outputs": encoded["outputs"]}
        for i, (h, c) in enumerate(encoded["states"]):
            result[f"h_{i}"], result[f"c_{i}"] = h, c
        return self._shaped(result, self.encode_outputs())

    def states_of(self, representation):
        return [[representation[f"h_{i}"], representation[f"c_{i}"]] for i in range(self.num_layers)]

    def decode(self, decoder, states, num_steps):
        """Free-running decoder (it feeds back its own output), as `model.generate`.

        Returns float (batch, num_steps, H, W, C): activated frames.
        """
        return decoder.activate(decoder(states, num_steps=num_steps))

    def reconstruct_and_predict_frames(self, frames, future_steps):
        representation = self.encode_frames(frames)
        states = self.states_of(representation)
        result = {}
        if "reconstruction" in self.decoders:
            time = tf.shape(frames)[1]
            reversed_frames = self.decode(self.decoders["reconstruction"], states, time)
            result["reconstruction"] = tf.reverse(reversed_frames, axis=[1])  # input order
        if "future" in self.decoders:
            result["future"] = self.decode(self.decoders["future"], states, future_steps)
        return self._shaped(result, self.reconstruct_outputs())

    @staticmethod
    def _shaped(result, table):
        return {name: tf.ensure_shape(result[name], table[name]["shape"]) for name in table}

    # -- the signature functions ----------------------------------------------

    def endpoints(self):
        """[(name, python function, input specs)], the first one is serving_default."""
        specs = self.input_specs()
        if self.features:
            return self._percept_endpoints(specs)
        found = []
        for dtype in ("uint8", "float32"):
            suffix = "" if dtype == "uint8" else "_float"

            def encode(frames, dtype=dtype):
                return self.encode_frames(self.preprocess(frames, dtype))

            found.append((f"encode{suffix}", encode, [specs["frames_" + dtype]]))

            def reconstruct_and_predict(frames, future_steps, dtype=dtype):
                future_steps = self.check_future_steps(future_steps)
                return self.reconstruct_and_predict_frames(self.preprocess(frames, dtype), future_steps)

            found.append(
                (
                    f"reconstruct_and_predict{suffix}",
                    reconstruct_and_predict,
                    [specs["frames_" + dtype], specs["future_steps"]],
                )
            )
        return found

    def _percept_endpoints(self, specs):
        def encode(percepts):
            return self.encode_frames(self.preprocess_percepts(percepts))

        def reconstruct_and_predict(percepts, future_steps):
            future_steps = self.check_future_steps(future_steps)
            return self.reconstruct_and_predict_frames(self.preprocess_percepts(percepts), future_steps)

        found = [
            ("encode", encode, [specs["percepts"]]),
            ("reconstruct_and_predict", reconstruct_and_predict, [specs["percepts"], specs["future_steps"]]),
        ]
        if self.percept_network is not None:  # serving_default: a client sends video frames

            def encode_frames(frames):
                return self.encode_frames(self.video_frames_to_percepts(frames))

            found.insert(0, ("encode_frames", encode_frames, [specs["frames_uint8"]]))
        return found

    @staticmethod
    def input_specs():
        # Unknown rank, so that a wrong-rank request reaches the in-graph
        # checks (and their message) instead of failing signature matching.
        return {
            "frames_uint8": tf.TensorSpec(shape=None, dtype=tf.uint8, name="frames"),
            "frames_float32": tf.TensorSpec(shape=None, dtype=tf.float32, name="frames"),
            "percepts": tf.TensorSpec(shape=None, dtype=tf.float32, name="percepts"),
            "future_steps": tf.TensorSpec(shape=(), dtype=tf.int32, name="future_steps"),
        }

    # -- the description ------------------------------------------------------

    def encode_outputs(self):
        table = {}
        for i in range(self.num_layers):
            table[f"h_{i}"] = _entry("float32", [None, self.units], f"final h of LSTM layer {i}")
            table[f"c_{i}"] = _entry("float32", [None, self.units], f"final c of LSTM layer {i}")
        table["outputs"] = _entry(
            "float32", [None, None, self.units], "top LSTM layer's h at every input step"
        )
        return table

    def reconstruct_outputs(self):
        frames = [None, None, *self.frame_shape]
        table = {}
        if "reconstruction" in self.decoders:
            table["reconstruction"] = _entry(
                "float32", frames, "the input frames rebuilt, in input order (decoder running free)"
            )
        if "future" in self.decoders:
            table["future"] = _entry(
                "float32", frames, "future_steps predicted frames (decoder running free)"
            )
        return table

    def signature_table(self):
        """{signature name: {inputs, outputs, description}}, shapes with null = any."""
        frames_shape = [None, None, *self.frame_shape]
        table = {}
        # Image models: uint8 frames, and float32 ones ("_float"); percept models: float32 percepts.
        variants = [("uint8", "", "frames"), ("float32", "_float", "frames")]
        if self.features:
            variants = [("float32", "", "percepts")]
        for dtype, suffix, input_name in variants:
            frames = _entry(dtype, frames_shape, self.expected(dtype))
            table[f"encode{suffix}"] = {
                "description": "the encoder's representation of the frames",
                "inputs": {input_name: frames},
                "outputs": self.encode_outputs(),
            }
            future_note = (
                "" if "future" in self.decoders else " (ignored: this model has no future decoder)"
            )
            table[f"reconstruct_and_predict{suffix}"] = {
                "description": "reconstruction of the input and future frames, decoders running free",
                "inputs": {
                    input_name: frames,
                    "future_steps": _entry(
                        "int32", [], f"frames to predict, 0..{MAX_FUTURE_STEPS}{future_note}"
                    ),
                },
                "outputs": self.reconstruct_outputs(),
            }
        if self.percept_network is not None:
            network = self.percept_network
            table["encode_frames"] = {
                "description": f"the encoder's representation of video frames, their percepts computed by "
                f"{network.name} (weights: {network.weights}) in the graph",
                "inputs": {"frames": _entry("uint8", [None, None, None, None, 3], self.expected_video())},
                "outputs": self.encode_outputs(),
            }
        default = "encode_frames" if self.percept_network is not None else "encode"
        table["serving_default"] = dict(table[default], description=f"same as {default}")
        return table


def float32_twin(model):
    """`model` itself if it computes in float32, else the same model built in
    float32 with its weights (mixed precision keeps float32 weights)."""
    if model.dtype_policy.name == "float32":
        return model
    twin = model.__class__.from_config({**model.get_config(), "dtype": "float32"})
    twin.build_from_config(model.get_build_config())
    twin.set_weights(model.get_weights())
    return twin


def _entry(dtype, shape, description):
    return {"dtype": dtype, "shape": list(shape), "description": description}
