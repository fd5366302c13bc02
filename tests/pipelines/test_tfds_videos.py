"""--dataset=ucf101 --videos_from=tfds: UCF-101 from TensorFlow Datasets, offline.

The test prepares a tiny TFDS `ucf101` itself: the real builder (`tfds.builder("ucf101",
config="ucf101_1", data_dir=...)`, its features, file format and version) with its
download step replaced by a few generated videos, so everything after the download, the
tf.data stream in tf.data's own threads included, runs as it would on a user's prepared copy.
"""

import numpy as np
import pytest

from pipelines import sources
from video_lstm.config import make

TRAIN_VIDEOS, TEST_VIDEOS, FRAMES = 3, 2, 7


def _videos(count, seed):
    """(key, example) of `count` videos: a bright square moving right on a dark frame."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        video = np.full((FRAMES, 256, 256, 3), 20, np.uint8)
        top = int(rng.integers(0, 200))
        for t in range(FRAMES):
            video[t, top : top + 48, 10 + 25 * t : 58 + 25 * t] = (230, 120, 40)
        yield f"video_{index}", {"video": video, "label": index}


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    """A data_dir holding a prepared TFDS ucf101 (config ucf101_1) of 3 train and 2 test videos."""
    import tensorflow_datasets as tfds

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    builder = tfds.builder("ucf101", config="ucf101_1", data_dir=data_dir)
    # The one step that would download: the archive's videos become these.
    builder._split_generators = lambda dl_manager: {"train": _videos(TRAIN_VIDEOS, 0),
                                                     "test": _videos(TEST_VIDEOS, 1)}
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return data_dir


def config(data_dir, **overrides):
    values = dict(dataset="ucf101", videos_from="tfds", video_dir=data_dir, frame_size=16, input_length=2,
                  future_length=2, batch_size=2, eval_sequences=3, loss="squared_error", units=8, steps=2,
                  checkpoint_every=2, jit_compile=False)
    values.update(overrides)
    return make(**values)


def test_tfds_ucf101_streams_clips_in_tf_data_and_covers_its_test_split(tfds_dir):
    cfg = config(tfds_dir)
    source = sources.build(cfg)
    assert len(source.train_videos) == TRAIN_VIDEOS and source.train_videos.num_classes == 101
    batch = source.batch(0)
    assert batch.shape == (2, 4, 16, 16, 3) and batch.dtype == np.uint8
    # The square moves right: its columns' brightness shifts between frames.
    assert not np.array_equal(batch[:, 0], batch[:, 1])
    streamed = next(iter(source.train_dataset(start_step=0, num_steps=1)))  # in tf.data's threads
    np.testing.assert_array_equal(
        np.round(np.concatenate([streamed["frames"], streamed["future_frames"]], 1) * 255), batch
    )
    test = source.test_set()
    # Each 7-frame test video is covered by two 4-frame clips (starts 0 and 3): 4 clips, 3 kept.
    assert len(test.clips) == 3 and test.clips[:3].shape == (3, 4, 16, 16, 3)


def test_tfds_ucf101_trains_and_evaluates_through_the_driver(tfds_dir, tmp_path):
    from video_lstm.training import loop

    metrics = loop.train_and_evaluate(config(tfds_dir), str(tmp_path), verbose=0)
    assert metrics["num_sequences"] == 3 and np.isfinite(metrics["mse_per_frame"])


def test_tfds_is_ucf101_only():
    with pytest.raises(ValueError, match="--videos_from=tfds has ucf101 only; got --dataset=hmdb51"):
        make(dataset="hmdb51", videos_from="tfds")
    with pytest.raises(ValueError, match="--dataset=folder needs --video_dir"):
        make(dataset="folder")
