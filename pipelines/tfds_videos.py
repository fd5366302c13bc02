"""UCF-101 from TensorFlow Datasets, as an alternative to the video files (`--videos_from=tfds`).

TFDS' `ucf101` (configs `ucf101_1`..`ucf101_3`, one per official split) holds
decoded videos `(T, H, W, 3)` uint8 and labels. A video is named by a key
`tfds://ucf101_<split>/<subset>/<index>`; `frames(key)` loads that one example
(TFDS reads it whole) and yields its frames. For users who have the TFDS
dataset prepared (`tfds.builder("ucf101", config="ucf101_1").download_and_prepare()`,
which downloads the archive); tests prepare a tiny one with the real builder.
"""

import functools

from pipelines.action_datasets import ActionDataset, VideoItem

PREFIX = "tfds://"


def is_key(path):
    return str(path).startswith(PREFIX)


@functools.lru_cache(maxsize=8)
def _builder(config_name, data_dir):
    # here: keeps TensorFlow Datasets out of `import pipelines.tfds_videos`
    import tensorflow_datasets as tfds

    return tfds.builder("ucf101", config=config_name, data_dir=data_dir or None)


def ucf101(split=1, subset="train", data_dir=None):
    """The `ActionDataset` of a TFDS ucf101 split's subset, items keyed `tfds://...`.

    Listing does not read the examples (each holds a decoded video), so the
    items carry label -1 and no class name: enough for unsupervised training;
    a labelled use reads `example["label"]` with the video.
    """
    config_name = f"ucf101_{split}"
    builder = _builder(config_name, data_dir)
    classes = list(builder.info.features["label"].names)
    count = int(builder.as_dataset(split=subset).cardinality())  # known for prepared TFDS data
    if count < 0:
        raise ValueError(f"TFDS ucf101 ({config_name}, {subset}) does not say how many videos it holds")
    items = [
        VideoItem(f"{subset}/{i}", f"{PREFIX}{config_name}/{subset}/{i}", -1, "", f"{config_name}_{subset}_{i}")
        for i in range(count)
    ]
    return ActionDataset("ucf101", split, subset, classes, items, root=f"tfds:{data_dir or 'default'}")


def frames(key, data_dir=None):
    """Yields the RGB uint8 frames (H, W, 3) of the video that `key` names."""
    # here: keeps TensorFlow Datasets out of `import pipelines.tfds_videos`
    import tensorflow_datasets as tfds

    config_name, subset, index = key[len(PREFIX) :].split("/")
    dataset = _builder(config_name, data_dir).as_dataset(split=f"{subset}[{index}:{int(index) + 1}]")
    for example in tfds.as_numpy(dataset.take(1)):
        yield from example["video"]
