"""The three models of the paper: autoencoder, future predictor, composite.

All three are one class, `CompositeModel`, with one shared `Encoder` and up to
two `FrameDecoder`s; `Autoencoder` and `FuturePredictor` fix which decoders
exist. The model is self-supervised: its targets come from its own inputs (the
reversed input frames, and `future_frames`), so `fit` takes only `x`.

Inputs are a dict:
    frames:        float (batch, time, height, width, channels) in [0, 1], or
                   (batch, time, features) for percepts/patches.
    future_frames: float (batch, future_length, ...), the frames that follow
                   (targets of the future decoder, and its teacher inputs).
A bare tensor is taken as `frames`.

Outputs are a dict of logits (pre-activation): `reconstruction`
(batch, time, ...) in *reversed* order, as the decoder emits it, and `future`
(batch, future_length, ...). `model.generate()` returns frames.
"""

import inspect

import keras
from keras import ops

from video_lstm.core import keras_compat
from video_lstm.core.choices import ACTIVATIONS, KINDS
from video_lstm.models import losses
from video_lstm.models.decoder import FrameDecoder
from video_lstm.models.encoder import Encoder
from video_lstm.models.step_random import TrainingStep


def _as_inputs(inputs):
    return inputs if isinstance(inputs, dict) else {"frames": inputs}


def _float32(logits):
    """Losses are computed in float32 under a mixed-precision policy."""
    return ops.cast(logits, "float32")


@keras.saving.register_keras_serializable(package="video_lstm")
class CompositeModel(TrainingStep, keras.Model):
    """One shared encoder feeding a reconstruction and a future decoder.

    Args:
        units: int, hidden units of every LSTM layer.
        num_layers: int, LSTM layers in the encoder and in each decoder.
        future_length: int, frames the future decoder emits (0 if none).
        reconstruct: bool, whether there is a reconstruction decoder.
        predict_future: bool, whether there is a future decoder.
        conditional_reconstruction: bool, reconstruction decoder reads its
            previous frame.
        conditional_future: bool, future decoder reads its previous frame.
        feed: str, training input of conditional decoders: "teacher", "own"
            or "scheduled" (see `decoder.py`; scheduled sampling decays with
            the optimizer's step).
        schedule_decay: float, k of scheduled sampling.
        loss_name: "cross_entropy" (sigmoid outputs, for binary-ish frames) or
            "squared_error" (linear outputs, for patches and percepts).
        readout: "linear" (the paper) or "conv" (see `readout.py`), for
            both decoders.
        readout_filters: int, channels of the conv read-out's coarse grid.
        reader: how the encoder and conditional decoders read frames:
            "linear" (raw pixels, the paper) or "conv" (see `reader.py`).
        reader_filters: int, channels of the conv reader's last stage.
        init_scale: float, uniform init range (0.01 in the paper); 0 for
            Keras' LSTM defaults.
        seed: int or None.

    Example:
    ```python
    model = CompositeModel(units=64, future_length=10)
    clip = keras.random.uniform((2, 20, 64, 64, 1))
    out = model({"frames": clip[:, :10], "future_frames": clip[:, 10:]})
    out["reconstruction"].shape, out["future"].shape  # (2,10,64,64,1) twice
    ```
    """

    def __init__(
        self,
        units=256,
        num_layers=1,
        future_length=10,
        reconstruct=True,
        predict_future=True,
        conditional_reconstruction=True,
        conditional_future=True,
        feed="teacher",
        schedule_decay=1000.0,
        loss_name="cross_entropy",
        readout="linear",
        readout_filters=16,
        reader="linear",
        reader_filters=32,
        init_scale=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._check_arguments(reconstruct, predict_future, future_length, conditional_future)
        self.units = units
        self.num_layers = num_layers
        self.future_length = future_length
        self.reconstruct = reconstruct
        self.predict_future = predict_future
        self.conditional_reconstruction = conditional_reconstruction
        self.conditional_future = conditional_future
        self.feed = feed
        self.schedule_decay = schedule_decay
        self.loss_name = loss_name
        self.frame_loss = losses.get(loss_name)
        self.readout = readout
        self.readout_filters = readout_filters
        self.reader = reader
        self.reader_filters = reader_filters
        self.init_scale = init_scale
        self.seed = seed

        self.encoder = Encoder(
            units,
            num_layers,
            init_scale,
            reader=reader,
            reader_filters=reader_filters,
            seed=seed,
            dtype=self.dtype_policy,
            name="encoder",
        )
        decoder_args = dict(
            units=units,
            num_layers=num_layers,
            feed=feed,
            schedule_decay=schedule_decay,
            output_activation=ACTIVATIONS[loss_name],
            readout_kind=readout,
            readout_filters=readout_filters,
            reader=reader,
            reader_filters=reader_filters,
            init_scale=init_scale,
            dtype=self.dtype_policy,
        )
        self.reconstruction_decoder = None
        self.future_decoder = None
        if reconstruct:
            self.reconstruction_decoder = FrameDecoder(
                conditional=conditional_reconstruction,
                seed=None if seed is None else seed + 1,
                name="reconstruction_decoder",
                **decoder_args,
            )
            self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        if predict_future:
            self.future_decoder = FrameDecoder(
                conditional=conditional_future,
                seed=None if seed is None else seed + 2,
                name="future_decoder",
                **decoder_args,
            )
            self.future_loss_tracker = keras.metrics.Mean(name="future_loss")

    @staticmethod
    def _check_arguments(reconstruct, predict_future, future_length, conditional_future):
        if not (reconstruct or predict_future):
            raise ValueError("A model needs at least one decoder: reconstruct or predict_future must be True")
        if predict_future and future_length < 1:
            raise ValueError(
                f"future_length={future_length}: a model with a future decoder needs "
                "future_length >= 1"
            )

    # -- building -------------------------------------------------------------

    def build(self, input_shape):
        frames_shape = input_shape["frames"] if isinstance(input_shape, dict) else input_shape
        if len(frames_shape) not in (3, 5):
            raise ValueError(
                "frames must be (batch, time, height, width, channels) or "
                f"(batch, time, features); got shape {tuple(frames_shape)}"
            )
        self.frame_shape = tuple(frames_shape[2:])
        self.encoder.build(frames_shape)
        for decoder in self.decoders:
            decoder.build(self.frame_shape)

    def get_build_config(self):
        return {"frame_shape": list(self.frame_shape)}

    def build_from_config(self, config):
        self.build((None, None) + tuple(config["frame_shape"]))

    @property
    def decoders(self):
        return [d for d in (self.reconstruction_decoder, self.future_decoder) if d is not None]

    # -- forward --------------------------------------------------------------

    def _check_frames(self, frames, name="frames"):
        if not self.built:
            return
        if tuple(frames.shape[2:]) != self.frame_shape or len(frames.shape) != 2 + len(self.frame_shape):
            raise ValueError(
                f"{name} must have shape (batch, time) + {self.frame_shape}; got {tuple(frames.shape)}"
            )
        if "float" not in str(frames.dtype):
            raise ValueError(f"{name} must be float in [0, 1]; got dtype {frames.dtype}")

    def encode(self, frames):
        """frames (batch, time, ...) -> dict(outputs (B, T, units), states [[h, c], ...])."""
        return self.encoder(frames)

    def call(self, inputs, training=False):
        inputs = _as_inputs(inputs)
        frames = inputs["frames"]
        future_frames = inputs.get("future_frames")
        self._check_frames(frames)
        states = self.encoder(frames)["states"]
        step = self.training_step() if training else 0
        outputs = {}
        if self.reconstruction_decoder is not None:
            outputs["reconstruction"] = self.reconstruction_decoder(
                states,
                num_steps=frames.shape[1],
                teacher_frames=ops.flip(frames, axis=1),
                training=training,
                step=step,
            )
        if self.future_decoder is not None:
            if future_frames is not None:
                self._check_frames(future_frames, "future_frames")
            outputs["future"] = self.future_decoder(
                states,
                num_steps=self.future_length,
                teacher_frames=future_frames,
                training=training,
                step=step,
            )
        return outputs

    def generate(self, frames, future_length=None):
        """Reconstruction and prediction as frames, decoders running free.

        Args:
            frames: float (batch, time, ...), the input sequence.
            future_length: int, frames to predict; defaults to the trained
                `future_length` and may be much longer (rollouts).
        Returns:
            dict with `reconstruction` (batch, time, ...) in the *input's*
            order and `future` (batch, future_length, ...), as frames.
        """
        self._check_frames(frames)
        states = self.encoder(frames)["states"]
        outputs = {}
        if self.reconstruction_decoder is not None:
            logits = self.reconstruction_decoder(states, num_steps=frames.shape[1])
            outputs["reconstruction"] = ops.flip(self.reconstruction_decoder.activate(logits), axis=1)
        if self.future_decoder is not None:
            steps = future_length or self.future_length
            logits = self.future_decoder(states, num_steps=steps)
            outputs["future"] = self.future_decoder.activate(logits)
        return outputs

    # -- loss -----------------------------------------------------------------

    def decoder_losses(self, inputs, outputs):
        """Per-decoder loss: the per-frame loss averaged over frames and batch."""
        inputs = _as_inputs(inputs)
        result = {}
        if "reconstruction" in outputs:
            target = ops.flip(inputs["frames"], axis=1)
            result["reconstruction"] = ops.mean(self.frame_loss(target, _float32(outputs["reconstruction"])))
        if "future" in outputs:
            if inputs.get("future_frames") is None:
                raise ValueError("The future decoder's loss needs inputs['future_frames']")
            result["future"] = ops.mean(
                self.frame_loss(inputs["future_frames"], _float32(outputs["future"]))
            )
        return result

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        per_decoder = self.decoder_losses(x, y_pred)
        if "reconstruction" in per_decoder:
            self.reconstruction_loss_tracker.update_state(per_decoder["reconstruction"])
        if "future" in per_decoder:
            self.future_loss_tracker.update_state(per_decoder["future"])
        # Under tf.distribute each replica's loss is divided by the replica
        # count, so the summed gradients are those of the global batch's mean
        # (a no-op on one replica and on other backends).
        return keras_compat.scale_loss_for_distribution(ops.sum(ops.stack(list(per_decoder.values()))))

    def get_config(self):
        """The base's config and every argument of this constructor (its signature: written once)."""
        config = super().get_config()
        config.update({name: getattr(self, name) for name in _ARGUMENTS})
        return config

    @classmethod
    def from_config(cls, config):
        # Checkpoints written before these arguments were renamed.
        return cls(**keras_compat.renamed_config(config, {"loss": "loss_name", "predict": "predict_future"}))


_ARGUMENTS = tuple(name for name, parameter in inspect.signature(CompositeModel.__init__).parameters.items()
                   if name != "self" and parameter.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD)


@keras.saving.register_keras_serializable(package="video_lstm")
class Autoencoder(CompositeModel):
    """Encoder + reconstruction decoder (targets: the input reversed).

    Takes the arguments of `CompositeModel` except `reconstruct`, `predict_future`,
    `future_length` and `conditional_future`.
    """

    def __init__(self, **kwargs):
        for fixed in ("reconstruct", "predict_future", "future_length", "conditional_future"):
            kwargs.pop(fixed, None)
        super().__init__(reconstruct=True, predict_future=False, future_length=0, **kwargs)


@keras.saving.register_keras_serializable(package="video_lstm")
class FuturePredictor(CompositeModel):
    """Encoder + future decoder (targets: the next `future_length` frames).

    Takes the arguments of `CompositeModel` except `reconstruct`, `predict_future`
    and `conditional_reconstruction`.
    """

    def __init__(self, **kwargs):
        for fixed in ("reconstruct", "predict_future", "conditional_reconstruction"):
            kwargs.pop(fixed, None)
        super().__init__(reconstruct=False, predict_future=True, **kwargs)


def build_model(kind, **kwargs):
    """`kind` in KINDS -> an unbuilt model."""
    classes = {"composite": CompositeModel, "autoencoder": Autoencoder, "future": FuturePredictor}
    if kind not in classes:
        raise ValueError(f"Unknown model kind {kind!r}; expected one of {KINDS}")
    return classes[kind](**kwargs)
