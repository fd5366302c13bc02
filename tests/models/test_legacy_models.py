"""`.keras` files written before the subpackage move still load and compute the same.

The files in tests/models/data were written by the commit before the move
(`tests/models/data/make_legacy_models.py`, with their free-running outputs), among
them a scheduled-sampling decoder that then kept its own step counter as a
weight.
"""

import os

import numpy as np
import pytest

from video_lstm import rundir
from video_lstm.models import CompositeModel

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@pytest.mark.parametrize("name", ["legacy_composite", "legacy_conv_scheduled"])
def test_a_keras_file_from_before_the_move_loads_with_equal_outputs(name):
    reference = np.load(os.path.join(DATA, "legacy_outputs.npz"))
    model = rundir.load(os.path.join(DATA, f"{name}.keras"))
    assert type(model) is CompositeModel
    assert int(model.optimizer.iterations) == 1  # the optimizer state came along
    generated = model.generate(reference["frames"], future_length=5)
    assert set(generated) == {"reconstruction", "future"}
    for key, value in generated.items():
        np.testing.assert_allclose(np.asarray(value), reference[f"{name}/{key}"], atol=1e-6, err_msg=key)


def test_the_loaded_scheduled_model_trains_on():
    model = rundir.load(os.path.join(DATA, "legacy_conv_scheduled.keras"))
    frames = np.random.default_rng(0).uniform(size=(2, 4, 16, 16, 1)).astype("float32")
    model.train_on_batch({"frames": frames, "future_frames": frames[:, :3]})
    assert int(model.optimizer.iterations) == 2


def test_classifier_configs_written_before_the_dropout_arguments_were_renamed_load():
    from video_lstm.classify import Classifier

    old = Classifier(3, units=4, input_dropout_rate=0.1, output_dropout_rate=0.3).get_config()
    old = {("input_dropout" if k == "input_dropout_rate" else "output_dropout" if k == "output_dropout_rate" else k): v
           for k, v in old.items()}
    restored = Classifier.from_config(old)
    assert (restored.input_dropout_rate, restored.output_dropout_rate) == (0.1, 0.3)
    assert restored.head.dropout_rate == 0.3
