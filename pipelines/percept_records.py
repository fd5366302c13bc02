"""The percept cache's format: one `tf.train.SequenceExample` per video, sharded TFRecords.

A cache directory holds

    manifest.json                       what was extracted and how (see `Manifest`)
    percepts-00003-of-00016.tfrecord    shard 3 of 16: the videos whose index % 16 == 3

Each record is one video:

    context:
        video        bytes   the video's id: its path relative to the dataset root
                             ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi")
        class_name   bytes
        label        int64   index into the manifest's classes
        dim          int64   D, features per frame
        dtype        bytes   "float16" or "float32": how `percepts` are stored
    feature_lists:
        percepts     one bytes feature per frame: D values, little-endian, in `dtype`
        frame_index  one int64 feature per frame: the source frame it came from

`encode` and `decode` are plain numpy/protobuf (no graph); `offsets` and
`read_at` read a shard's records by byte offset, so no shard is read whole.
"""

import dataclasses
import json
import os

import numpy as np

from video_lstm.core import atomic, files

DTYPES = ("float16", "float32")
MANIFEST = "manifest.json"


def shard_name(index, num_shards):
    return f"percepts-{index:05d}-of-{num_shards:05d}.tfrecord"


def encode(percepts, video, label, class_name, frame_indices, dtype="float16"):
    """bytes: one serialized SequenceExample of a video's percepts (T, D), equal bytes for equal input."""
    # here: keeps TensorFlow out of `import pipelines.percept_records`
    import tensorflow as tf

    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}; expected one of {list(DTYPES)}")
    percepts = np.asarray(percepts)
    if percepts.ndim != 2 or len(percepts) != len(frame_indices):
        raise ValueError(
            f"percepts {percepts.shape} and {len(frame_indices)} frame indices: expected (T, D) and T indices"
        )
    stored = percepts.astype("<" + np.dtype(dtype).str[1:])
    feature = tf.train.Feature
    context = tf.train.Features(
        feature={
            "video": feature(bytes_list=tf.train.BytesList(value=[video.encode()])),
            "class_name": feature(bytes_list=tf.train.BytesList(value=[class_name.encode()])),
            "label": feature(int64_list=tf.train.Int64List(value=[int(label)])),
            "dim": feature(int64_list=tf.train.Int64List(value=[percepts.shape[1]])),
            "dtype": feature(bytes_list=tf.train.BytesList(value=[dtype.encode()])),
        }
    )
    lists = tf.train.FeatureLists(
        feature_list={
            "percepts": tf.train.FeatureList(
                feature=[feature(bytes_list=tf.train.BytesList(value=[row.tobytes()])) for row in stored]
            ),
            "frame_index": tf.train.FeatureList(
                feature=[feature(int64_list=tf.train.Int64List(value=[int(i)])) for i in frame_indices]
            ),
        }
    )
    # deterministic: map fields (context, feature_lists) in sorted key order. Without it the
    # order follows protobuf's per-process hash seed, and equal records differ in bytes.
    return tf.train.SequenceExample(context=context, feature_lists=lists).SerializeToString(deterministic=True)


def decode(serialized):
    """dict(video, class_name, label, percepts float32 (T, D), frame_index int64 (T,)) of one record."""
    # here: keeps TensorFlow out of `import pipelines.percept_records`
    import tensorflow as tf

    example = tf.train.SequenceExample.FromString(serialized)
    context = example.context.feature
    dtype = context["dtype"].bytes_list.value[0].decode()
    rows = [f.bytes_list.value[0] for f in example.feature_lists.feature_list["percepts"].feature]
    dim = context["dim"].int64_list.value[0]
    percepts = np.frombuffer(b"".join(rows), "<" + np.dtype(dtype).str[1:]).reshape(len(rows), dim)
    return {
        "video": context["video"].bytes_list.value[0].decode(),
        "class_name": context["class_name"].bytes_list.value[0].decode(),
        "label": int(context["label"].int64_list.value[0]),
        "percepts": percepts.astype(np.float32),
        "frame_index": np.array(
            [f.int64_list.value[0] for f in example.feature_lists.feature_list["frame_index"].feature], np.int64
        ),
    }


@dataclasses.dataclass
class Manifest:
    """What a cache holds (manifest.json).

    Attributes:
        network, weights, stream, dtype, dim: how the percepts were made.
        dataset, split, subset, frame_stride: which videos, and which of their frames.
        num_shards: shards of the whole extraction.
        classes: class names; a record's label indexes this list.
        videos: one row per video: {"video", "label", "frames", "shard",
            "status": "ok", "partial" (decoding stopped before the frame count
            the container declares; the row adds "frames_read" and
            "frames_declared", and the record holds the frames read), or why
            it was skipped (no record)}.
    """

    network: str
    weights: str
    stream: str
    dtype: str
    dim: int
    dataset: str
    split: int | None
    subset: str | None
    frame_stride: int
    num_shards: int
    classes: list
    videos: list

    def shard_paths(self, directory):
        return [os.path.join(directory, shard_name(i, self.num_shards)) for i in range(self.num_shards)]

    def write(self, directory):
        return atomic.write_json(os.path.join(directory, MANIFEST), dataclasses.asdict(self))

    @classmethod
    def read(cls, directory):
        """The manifest of the cache in `directory`; FileNotFoundError naming it if there is none."""
        path = os.path.join(directory, MANIFEST)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} not found: is {directory} a percept cache? Make one with "
                "python -m pipelines.extract_percepts"
            )
        try:
            with files.open_regular(path) as f:
                values = json.loads(f.read())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not JSON ({error}): the percept cache's manifest is damaged") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path} holds {type(values).__name__}, not a percept cache's manifest")
        known = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(known - set(values))
        if missing:
            raise ValueError(f"{path} lacks {missing}: not a manifest this version writes")
        return cls(**{k: values[k] for k in known})


# -- random access -------------------------------------------------------------
# A TFRecord is [length uint64][crc uint32][data][crc uint32]; the offsets of a
# shard's records are found by reading only the length fields.


def offsets(path):
    """Byte offsets of the records of a TFRecord file, in order."""
    found = []
    size = os.path.getsize(path)
    with files.open_regular(path) as f:
        position = 0
        while position < size:
            header = f.read(8)
            if len(header) < 8:
                raise ValueError(f"{path}: truncated record header at byte {position}")
            found.append(position)
            length = int.from_bytes(header, "little")
            position += 8 + 4 + length + 4
            f.seek(position)
    return found


def read_at(path, offset):
    """The serialized record at byte `offset` of a TFRecord file (its CRCs not checked)."""
    with files.open_regular(path) as f:
        f.seek(offset)
        length = int.from_bytes(f.read(8), "little")
        f.seek(offset + 12)
        data = f.read(length)
    if len(data) != length:
        raise ValueError(f"{path}: truncated record at byte {offset}")
    return data
