"""--dataset=ucf101 --videos_from=tfds: UCF-101 from TensorFlow Datasets, offline.

TFDS' own mock_data stands in for the prepared dataset behind the builder (random
videos of the dataset's declared shapes), so the route runs end to end here.
"""

import numpy as np
import pytest

from pipelines import sources
from video_lstm.config import make


def config(**overrides):
    values = dict(dataset="ucf101", videos_from="tfds", frame_size=16, input_length=2, future_length=2,
                  batch_size=2, eval_sequences=3, loss="squared_error", units=8, steps=2, checkpoint_every=2,
                  jit_compile=False)
    values.update(overrides)
    return make(**values)


def test_tfds_ucf101_gives_clips_a_test_set_and_a_trainable_model():
    """(In the calling thread: TFDS' mock does not reach tf.data's worker threads,
    so the tf.data stream itself is exercised by the file-based tests.)"""
    import tensorflow_datasets as tfds

    from video_lstm.training import loop

    cfg = config()
    with tfds.testing.mock_data(num_examples=3):
        source = sources.build(cfg)
        assert len(source.train_videos) == 3 and source.train_videos.num_classes == 101
        batch = source.batch(0)
        assert batch.shape == (2, 4, 16, 16, 3) and batch.dtype == np.uint8
        np.testing.assert_array_equal(batch, sources.build(cfg).batch(0))
        test = source.test_set()
        assert len(test.clips) == 3 and test.clips[:3].shape == (3, 4, 16, 16, 3)
        model = loop.new_model(cfg, source.sample_inputs())
        history = model.fit(source.split(source.batch(1)), epochs=3, verbose=0).history
    assert np.isfinite(history["loss"]).all()


def test_tfds_is_ucf101_only():
    with pytest.raises(ValueError, match="--videos_from=tfds has ucf101 only; got --dataset=hmdb51"):
        config(dataset="hmdb51")
    with pytest.raises(ValueError, match="--dataset=folder needs --video_dir"):
        make(dataset="folder")
