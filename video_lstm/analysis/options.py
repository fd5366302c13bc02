"""What `python -m video_lstm.evaluate`, `.visualize` and `.predict` take: their options and flags.

Light (no Keras, no TensorFlow), so that the commands check their flags before
the heavy imports.
"""

import dataclasses
import numbers

from video_lstm.core.choices import MOVING_MNIST_TEST_SETS

WHATS = ("samples", "rollout", "ood", "weights")
MAX_SEQUENCES = 64
MAX_HORIZON = 10000
DEFAULT_CHUNK_SIZE = 20


def check_horizon(horizon):
    """Raises ValueError unless 1 <= horizon <= MAX_HORIZON."""
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"--horizon={horizon}; expected an integer 1 <= horizon <= {MAX_HORIZON} frames")


@dataclasses.dataclass(frozen=True)
class VisualizeOptions:
    """What to draw and how much.

    Attributes:
        what: entries of WHATS; None for everything the model has decoders for.
        num_sequences: sequences per picture, 1..MAX_SEQUENCES.
        horizon: frames of a rollout, 1..MAX_HORIZON.
        num_units: tiles per weight picture (the strongest units).
        chunk_size: decoder steps per compiled call of a rollout.
        ood_digits: digit counts of the out-of-domain rollouts.
    """

    what: tuple | None = None
    num_sequences: int = 4
    horizon: int = 100
    num_units: int = 64
    chunk_size: int = DEFAULT_CHUNK_SIZE
    ood_digits: tuple = (1, 3)

    def __post_init__(self):
        check_options(self)


VISUALIZE_HELP = {
    "what": "Comma-separated subset of samples,rollout,ood,weights; default: all the model supports (no "
    "rollouts for an autoencoder).",
    "num_sequences": f"Sequences per sample and rollout picture (1..{MAX_SEQUENCES}).",
    "horizon": f"Frames the future decoder predicts in a rollout (1..{MAX_HORIZON}).",
    "num_units": "Units (strongest by L2 norm) shown per weight picture.",
    "chunk_size": "Decoder steps per compiled call of a rollout.",
    "ood_digits": "Digit counts of the out-of-domain rollouts (--what=ood).",
}


def check_options(options):
    """Raises ValueError naming the first option out of range."""
    if options.what is not None:
        unknown = [w for w in options.what if w not in WHATS]
        if not options.what:
            raise ValueError(f"--what is empty; expected a comma-separated subset of {','.join(WHATS)}")
        if unknown:
            raise ValueError(
                f"--what={','.join(options.what)}: unknown entries {unknown}; expected a "
                f"comma-separated subset of {','.join(WHATS)}"
            )
    if not 1 <= options.num_sequences <= MAX_SEQUENCES:
        raise ValueError(f"--num_sequences={options.num_sequences}; expected 1..{MAX_SEQUENCES}")
    check_horizon(options.horizon)
    if options.num_units < 1:
        raise ValueError(f"--num_units={options.num_units}; expected >= 1")
    if options.chunk_size < 1:
        raise ValueError(f"--chunk_size={options.chunk_size}; expected >= 1")
    if not options.ood_digits or any(n < 1 for n in options.ood_digits):
        raise ValueError(f"--ood_digits={options.ood_digits}; expected digit counts >= 1")


@dataclasses.dataclass(frozen=True)
class EvaluateOptions:
    """Overrides of the run's own test set (None: the run's value)."""

    eval_sequences: int | None = None
    test_set: str | None = None
    test_npy_path: str | None = None
    tfds_data_dir: str | None = None

    def overrides(self):
        return {name: value for name, value in dataclasses.asdict(self).items() if value is not None}


EVALUATE_CHOICES = {"test_set": MOVING_MNIST_TEST_SETS}
EVALUATE_HELP = {
    "eval_sequences": "Evaluate only this many test sequences.",
    "test_set": "Override the run's test set.",
    "test_npy_path": "mnist_test_seq.npy for --test_set=npy.",
    "tfds_data_dir": "TFDS data_dir of a prepared moving_mnist for --test_set=tfds.",
}


MAX_FUTURE = 1000  # frames --future_length predicts at most: the serving graph's limit (export.signatures)


@dataclasses.dataclass(frozen=True)
class PredictOptions:
    """What `python -m video_lstm.predict` takes besides its model (`core.settings.ModelSource`)."""

    video: str = ""
    out: str = ""
    input_length: int | None = None
    future_length: int | None = None
    start: int = 0
    overwrite: bool = False

    def validate(self):
        """Raises ValueError naming the first flag missing or out of range."""
        if not self.video:
            raise ValueError("--video is required (a video file, a .npy of frames or a folder of frame images)")
        if not self.out:
            raise ValueError("--out is required (the folder the prediction is written to)")
        if self.input_length is not None and self.input_length < 1:
            raise ValueError(f"--input_length={self.input_length}; expected >= 1 frames for the encoder to read")
        if self.future_length is not None and not 0 <= self.future_length <= MAX_FUTURE:
            raise ValueError(f"--future_length={self.future_length}; expected 0..{MAX_FUTURE} frames to predict")
        if self.start < 0:
            raise ValueError(f"--start={self.start}; expected >= 0 (the first frame to read, after the stride)")
        return self


PREDICT_HELP = {
    "video": "The video: a file OpenCV decodes, a .npy of frames (T, H, W[, C]) uint8 or float in [0, 1], or a "
    "folder of frame images (name order).",
    "out": "Folder for prediction.gif/.mp4, context.npy, future.npy, reconstruction.npy, prediction.json; "
    "default <video's name without suffix>_prediction in the current folder. One holding an earlier "
    "prediction is refused (--overwrite replaces it).",
    "input_length": "Frames the encoder reads; default the run's --input_length.",
    "future_length": f"Frames to predict, 0..{MAX_FUTURE}; default the run's --future_length (0 for an "
    "autoencoder). Longer than it was trained for is a free-running rollout.",
    "start": "The first frame to read, counted after the run's frame stride.",
    "overwrite": "Replace the outputs of an earlier prediction in --out (refused otherwise).",
}
