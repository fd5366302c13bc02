"""Moving MNIST as a data source (`--dataset=moving_mnist`): bouncing digits made on the fly.

Training batch i is a pure function of (seed, i) (`pipelines.moving_mnist_tf`),
so a resumed run reads exactly the batches it would have read. The fixed test
set is TEST_SET_SIZE sequences generated with TEST_SEED from the *test*
digits, whatever the training seed (`--eval_sequences` takes a prefix of it),
or the canonical `mnist_test_seq.npy`, or TFDS `moving_mnist`.
"""

import dataclasses

import numpy as np

from pipelines import digits as digits_lib
from pipelines import moving_mnist_numpy, video_decode
from pipelines.digits import DIGIT_SIZE
from pipelines.sources import DataSource, InputSpec, TestSet, check_choices
from video_lstm.core import backend
from video_lstm.core.choices import DIGIT_SOURCES, MOVING_MNIST_TEST_SETS

TEST_SEED = 1234
TEST_SET_SIZE = 10000
SAMPLE_SEED = 4321
# The external test sets hold 20 frames of 64x64, two digits.
EXTERNAL_GEOMETRY = (64, 2)

HELP = {
    "digits": "auto: MNIST if found or downloadable, else digits rendered with OpenCV fonts; "
    "mnist: MNIST or fail; rendered: always rendered.",
    "mnist_path": "mnist.npz to use; default $VIDEO_LSTM_DATA_DIR/mnist.npz, then the Keras cache.",
    "num_digits": "Digits per Moving MNIST sequence.",
    "frame_size": "Frame height and width in pixels (64 in the paper).",
    "step_length": "Digit speed, as a fraction of the free range per frame.",
    "test_set": "generated (10,000 sequences made from MNIST test digits), npy "
    "(the canonical mnist_test_seq.npy) or tfds (TFDS moving_mnist, test split).",
    "test_npy_path": "Path of mnist_test_seq.npy for --test_set=npy.",
    "tfds_data_dir": "TFDS data_dir holding a prepared moving_mnist for --test_set=tfds; default: "
    "TFDS' own (~/tensorflow_datasets, or $TFDS_DATA_DIR).",
}
CHOICES = {"digits": DIGIT_SOURCES, "test_set": MOVING_MNIST_TEST_SETS}


@dataclasses.dataclass(frozen=True)
class Options:
    digits: str = "auto"
    mnist_path: str = ""
    num_digits: int = 2
    frame_size: int = 64
    step_length: float = 0.1
    test_set: str = "generated"
    test_npy_path: str = ""
    tfds_data_dir: str = ""

    # Fields that choose only the test set: an evaluation with other values is written
    # beside the run's own, and a resume may change them (`video_lstm.config`).
    EVALUATION_FIELDS = ("test_set", "test_npy_path", "tfds_data_dir")

    def validate(self, config):
        """Raises ValueError naming the first flag that is out of range."""
        check_choices(self, CHOICES)
        if self.num_digits < 1:
            raise ValueError(f"--num_digits={self.num_digits}; expected >= 1")
        if self.frame_size < DIGIT_SIZE:
            raise ValueError(
                f"--frame_size={self.frame_size} is smaller than a digit ({DIGIT_SIZE} pixels); "
                f"expected --frame_size >= {DIGIT_SIZE}"
            )
        if self.test_set == "npy" and not self.test_npy_path:
            raise ValueError("--test_set=npy needs --test_npy_path (the mnist_test_seq.npy file)")
        if self.test_set != "generated" and (self.frame_size, self.num_digits) != EXTERNAL_GEOMETRY:
            raise ValueError(
                f"--test_set={self.test_set} holds 64x64 two-digit clips; got --frame_size="
                f"{self.frame_size} --num_digits={self.num_digits}"
            )


def check_without_tensorflow(config):
    """Raises ValueError if `config` needs TensorFlow (only --test_set=tfds does)."""
    if config.data.test_set == "tfds":
        raise backend.needs_tensorflow_error("--test_set=tfds")


def input_spec(config):
    size = config.data.frame_size
    return InputSpec((size, size, 1), origin=f"--frame_size={size}")


def frame_preparation(config):
    """Another video as this source's frames (`pipelines.user_video`): frame_size squares, grey."""
    return video_decode.FramePreparation(config.data.frame_size, color="grey")


class Source(DataSource):
    """Moving MNIST sequences of `config.data`'s geometry, from its digit bank."""

    def __init__(self, config):
        super().__init__(config)
        self._banks = {}

    def digit_bank(self, split):
        """The 28x28 digits of `split` ("train" or "test"), loaded once.

        Rendered test digits are drawn with a fixed seed, so the test set does
        not depend on the training seed.
        """
        if split not in self._banks:
            self._banks[split] = digits_lib.load_digits(
                source=self.config.data.digits,
                split=split,
                mnist_path=self.config.data.mnist_path or None,
                seed=self.config.seed if split == "train" else 0,
            )
        return self._banks[split]

    def check(self):
        """The digits load, and a --test_set=npy file is a canonical test file of at least
        --eval_sequences sequences (its header read; the file itself only at evaluation)."""
        self.digit_bank("train")
        if self.config.data.test_set == "npy":
            moving_mnist_numpy.check_canonical_npy(self.config.data.test_npy_path, self.config.eval_sequences)

    def describe(self):
        bank = self.digit_bank("train")
        return {"dataset": "moving_mnist", "train_digits": bank.source, "train_digits_origin": bank.origin}

    def train_clips(self, start_step=0, num_steps=None, rows=None):
        # here: keeps TensorFlow out of `import pipelines.sources.moving_mnist`
        from pipelines import moving_mnist_tf

        data, config = self.config.data, self.config
        clips = moving_mnist_tf.train_dataset(
            self.digit_bank("train").images,
            batch_size=config.batch_size,
            num_frames=config.clip_length,
            num_digits=data.num_digits,
            seed=config.seed,
            frame_size=data.frame_size,
            step_length=data.step_length,
            start_batch=start_step,
            num_batches=num_steps,
        )
        # A whole batch is drawn and painted (cheap, in tf.data); a worker keeps its rows.
        return clips if rows is None else clips.map(lambda batch: batch[rows[0] : rows[1]])

    def numpy_train_clips(self, step):
        return moving_mnist_numpy.render(self.digit_bank("train").images, *self.train_draws(step),
                                         self.config.data.frame_size)

    def train_draws(self, step):
        """(positions, digit indices) of training batch `step` (`moving_mnist_numpy.sample`)."""
        data, config = self.config.data, self.config
        return moving_mnist_numpy.sample(
            config.seed, step, config.batch_size, config.clip_length, data.num_digits,
            len(self.digit_bank("train").images), data.frame_size, data.step_length,
        )

    def train_draws_many(self, first, count):
        """`train_draws` of steps first .. first + count - 1, stacked, drawn together (`sample_steps`)."""
        data, config = self.config.data, self.config
        return moving_mnist_numpy.sample_steps(
            config.seed, np.arange(first, first + count), config.batch_size, config.clip_length,
            data.num_digits, len(self.digit_bank("train").images), data.frame_size, data.step_length,
        )

    def device_renderer(self):
        """Frames pasted by JAX where the model runs (`pipelines.moving_mnist_jax`), cut into model inputs."""
        # here: keeps JAX out of `import pipelines.sources.moving_mnist`
        from pipelines import moving_mnist_jax

        return moving_mnist_jax.renderer(self.digit_bank("train").images, self.config.data.frame_size,
                                         then=self.model_inputs)

    def sample_clips(self, count=3, tensorflow=None):
        """`count` fixed clips (seed [SAMPLE_SEED, seed]); `tensorflow` False: made in NumPy
        (equal), None: in TensorFlow where it is importable."""
        data = self.config.data
        if not _with_tensorflow(tensorflow):
            return moving_mnist_numpy.make_batch_seeded(
                self.digit_bank("train").images, [SAMPLE_SEED, self.config.seed], count,
                self.config.clip_length, data.num_digits, data.frame_size, data.step_length,
            )
        # here: keeps TensorFlow out of `import pipelines.sources.moving_mnist`
        import tensorflow as tf

        # here: keeps TensorFlow out of `import pipelines.sources.moving_mnist`
        from pipelines import moving_mnist_tf

        clips = moving_mnist_tf.make_batch(
            tf.constant(self.digit_bank("train").images),
            tf.constant([SAMPLE_SEED, self.config.seed], tf.int64),
            count,
            self.config.clip_length,
            data.num_digits,
            data.frame_size,
            data.step_length,
        )
        return clips.numpy()

    def test_set_name(self):
        return self.config.data.test_set

    def test_set(self, tensorflow=None):
        """The fixed test set; `tensorflow` False: the generated one made in NumPy (equal),
        None: in TensorFlow where it is importable."""
        config, data = self.config, self.config.data
        if data.test_set == "npy":
            clips = moving_mnist_numpy.load_canonical_npy(data.test_npy_path)
            digits = "mnist_test_seq.npy"
        elif data.test_set == "tfds":
            # here: keeps TensorFlow out of `import pipelines.sources.moving_mnist`
            from pipelines import moving_mnist_tf

            clips, digits = moving_mnist_tf.load_tfds_test(data.tfds_data_dir or None), "tfds:moving_mnist"
        else:
            bank = self.digit_bank("test")
            geometry = {
                "num_sequences": max(TEST_SET_SIZE, config.eval_sequences),
                "num_frames": config.clip_length,
                "num_digits": data.num_digits,
                "seed": TEST_SEED,
                "frame_size": data.frame_size,
                "step_length": data.step_length,
            }
            if _with_tensorflow(tensorflow):
                # here: keeps TensorFlow out of `import pipelines.sources.moving_mnist`
                from pipelines import moving_mnist_tf

                clips = moving_mnist_tf.test_sequences(bank.images, **geometry)
            else:
                clips = moving_mnist_numpy.test_sequences(bank.images, count=config.eval_sequences, **geometry)
            digits = bank.source
        if clips.shape[1] < config.clip_length:
            raise ValueError(
                f"test clips have {clips.shape[1]} frames; --input_length + --future_length "
                f"= {config.clip_length} needs more"
            )
        clips = clips[: config.eval_sequences, : config.clip_length]
        return TestSet(clips, data.test_set, {"test_digits": digits})


def _with_tensorflow(tensorflow):
    """Whether to make data with TensorFlow: `tensorflow`, or if None, whether it is importable."""
    return backend.tensorflow_available() if tensorflow is None else tensorflow
