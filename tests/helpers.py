"""Shared test helpers: paths, tiny configs, generated videos and split files, tiny runs.

Test files import from here (`from helpers import tiny`), never from one another; the
fixtures that use these helpers live in tests/conftest.py. `tests/` is on sys.path through
pyproject's `[tool.pytest.ini_options] pythonpath`."""

import contextlib
import dataclasses
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout

# -- rendered digits, drawn once per test process -----------------------------------------

_RENDERED_BANKS = {}


@contextlib.contextmanager
def rendered_digits_drawn_once():
    """While the block runs, pipelines.digits' rendered banks are drawn once per process (a bank
    is a pure function of (split, count, seed)) and copies handed out; conftest applies it to
    every test but test_digits.py's, a module fixture's set-up may apply it too."""
    from pipelines import digits

    original = digits._rendered_bank

    def rendered_bank(split, count, seed):
        key = (split, count, int(seed))
        if key not in _RENDERED_BANKS:
            _RENDERED_BANKS[key] = original(split, count, seed)
        bank = _RENDERED_BANKS[key]
        return dataclasses.replace(bank, images=bank.images.copy(), labels=bank.labels.copy())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(digits, "_rendered_bank", rendered_bank)
        yield


def hide_tensorflow(directory):
    """A PYTHONPATH entry made in `directory` on which `import tensorflow` (and
    tensorflow_datasets) fails, as on the GPU machine: str."""
    for package in ("tensorflow", "tensorflow_datasets"):
        os.makedirs(os.path.join(directory, package), exist_ok=True)
        with open(os.path.join(directory, package, "__init__.py"), "w") as f:
            f.write(f"raise ImportError('{package} is hidden in this test')\n")
    return str(directory)


def jax_environment(shim=None):
    """The environment of a subprocess on the JAX backend (CPU), `shim` (a `hide_tensorflow`
    entry, if any) then this checkout first on its PYTHONPATH."""
    path = [p for p in (shim and str(shim), ROOT, os.environ.get("PYTHONPATH")) if p]
    return dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=os.pathsep.join(path))


def write_small_mnist(path, train=500, test=100, seed=7):
    """An `mnist.npz` in the Keras layout of `train` + `test` rendered digits; returns str(path).

    For the tests' subprocess training runs (`--digits=mnist --mnist_path=...`): a process
    that renders its own 10,000 + 2,000 digits spends about 3 s of CPU on them."""
    import numpy as np

    from pipelines import digits

    images, labels = digits.render_digits(train + test, seed)
    np.savez(path, x_train=images[:train], y_train=labels[:train], x_test=images[train:], y_test=labels[train:])
    return str(path)


def ucf_folder(root, clips_dir, classes, test):
    """A UCF-101-shaped folder under `root` (a pathlib.Path) of links to staged clips.

    Args:
        clips_dir: the staged clips ($VIDEO_LSTM_DATA_DIR/ucf101/clips).
        classes: {class: [(staged clip name, video name)]}, in classInd order;
            each clip `<clips_dir>/<clip>.mp4` is linked as `<class>/<video>.avi`.
        test: the video names of split 1's test list; the others are its train list.
    Returns:
        str(root), with `ucfTrainTestlist/` (classInd, trainlist01, testlist01; CRLF
        line endings, as the official files).
    """
    lines = []
    for label, (name, videos) in enumerate(classes.items(), start=1):
        (root / name).mkdir()
        for clip, video in videos:
            os.symlink(os.path.join(clips_dir, clip + ".mp4"), root / name / f"{video}.avi")
            lines.append((name, video, label))
    splits = root / "ucfTrainTestlist"
    splits.mkdir()
    (splits / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)))
    (splits / "trainlist01.txt").write_text("".join(f"{c}/{v}.avi {label}\r\n" for c, v, label in lines
                                                    if v not in test))
    (splits / "testlist01.txt").write_text("".join(f"{c}/{v}.avi\r\n" for c, v, _ in lines if v in test))
    return str(root)


# -- generated videos: real files a fresh machine can make -------------------------------

FOURCC = {".avi": "MJPG", ".mp4": "mp4v"}


def moving_shapes(num_frames, height=48, width=64, seed=0):
    """uint8 RGB (T, H, W, 3): a disc and a square moving across a colour gradient, a few
    pixels per frame (consecutive frames alike, not equal); `seed` picks colours and paths."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    base = rng.integers(40, 200, 3)
    background = np.stack([base[c] + 40 * (rows / height if c % 2 else cols / width) for c in range(3)], -1)
    start, speed = rng.uniform([8, 8], [width - 8, height - 8], (2, 2)), rng.uniform(-3, 3, (2, 2))
    colours = rng.integers(0, 256, (2, 3))
    frames = []
    for t in range(num_frames):
        frame = background.astype(np.uint8).copy()
        (x0, y0), (x1, y1) = ((start + t * speed) % [width, height]).astype(int)
        cv2.circle(frame, (int(x0), int(y0)), 7, colours[0].tolist(), -1)
        cv2.rectangle(frame, (int(x1) - 5, int(y1) - 5), (int(x1) + 5, int(y1) + 5), colours[1].tolist(), -1)
        frames.append(frame)
    return np.stack(frames)


def write_video(path, frames_rgb, fps=25):
    """Writes uint8 RGB frames (T, H, W, 3) with OpenCV: MJPG for .avi, mp4v for .mp4. Returns str(path)."""
    import os

    import cv2

    height, width = frames_rgb.shape[1:3]
    codec = FOURCC[os.path.splitext(str(path))[1]]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {codec} to {path}"
    for frame in frames_rgb:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return str(path)


# -- UCF-101 / HMDB-51 split files of the official layout, for generated class lists ---------


def write_ucf101_splits(split_dir, classes, groups=6, clips=2):
    """Writes `classInd.txt`, `trainlist0{1,2,3}.txt` and `testlist0{1,2,3}.txt` into
    `split_dir` (a pathlib.Path) as the official files are: CRLF line endings, videos
    `<class>/v_<class>_g<GG>_c<CC>.avi`, train lines with the 1-based class index, test lines
    without. As in UCF-101, a split's test videos are whole groups: split k tests groups
    2k - 1 and 2k (of `groups` per class), and trains on the others.

    Returns:
        {split: (train relative paths, test relative paths)}, in file order.
    """
    split_dir.mkdir(parents=True, exist_ok=True)
    (split_dir / "classInd.txt").write_bytes("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)).encode())
    lists = {}
    for split in (1, 2, 3):
        train, test = [], []
        for label, name in enumerate(classes, start=1):
            for group in range(1, groups + 1):
                for clip in range(1, clips + 1):
                    video = f"{name}/v_{name}_g{group:02d}_c{clip:02d}.avi"
                    (test if group in (2 * split - 1, 2 * split) else train).append((video, label))
        (split_dir / f"trainlist0{split}.txt").write_bytes("".join(f"{v} {label}\r\n" for v, label in train).encode())
        (split_dir / f"testlist0{split}.txt").write_bytes("".join(f"{v}\r\n" for v, _ in test).encode())
        lists[split] = ([v for v, _ in train], [v for v, _ in test])
    return lists


def write_hmdb51_splits(split_dir, classes, videos=6):
    """Writes `<class>_test_split{1,2,3}.txt` and `class_list.txt` into `split_dir` (a
    pathlib.Path) as the official files are: lines `<video>.avi <mark> ` (1 train, 2 test,
    0 unused; a trailing space), class names in `class_list.txt` padded with spaces.
    In split k, video i of a class is marked (i + k) % 3.

    Returns:
        {split: (train relative paths, test relative paths)}, `<class>/<video>.avi` in
        class-list order, then file order.
    """
    split_dir.mkdir(parents=True, exist_ok=True)
    (split_dir / "class_list.txt").write_text("".join(f"{name}  \n" for name in classes))
    lists = {}
    for split in (1, 2, 3):
        train, test = [], []
        for name in classes:
            lines = []
            for index in range(videos):
                video, mark = f"{name}_clip_{index}.avi", (index + split) % 3
                lines.append(f"{video} {mark} \n")
                {1: train, 2: test}.get(mark, []).append(f"{name}/{video}")
            (split_dir / f"{name}_test_split{split}.txt").write_text("".join(lines))
        lists[split] = (train, test)
    return lists


def generated_ucf(root, classes, test, num_frames=40):
    """A UCF-101-shaped folder of generated videos under `root` (a pathlib.Path).

    Args:
        classes: {class: [video name]}, in classInd order; a name ending in `.mp4` is written
            as mp4v, any other as `<name>.avi` (MJPG), as the UCF-101 archive names them.
        test: the video names of split 1's test list; the others are its train list.
    Returns:
        str(root), with `ucfTrainTestlist/` (classInd, trainlist01, testlist01; CRLF line
        endings, as the official files).
    """
    lines = []
    for label, (name, videos) in enumerate(classes.items(), start=1):
        (root / name).mkdir(parents=True)
        for index, video in enumerate(videos):
            file_name = video if video.endswith(".mp4") else f"{video}.avi"
            write_video(root / name / file_name, moving_shapes(num_frames, seed=100 * label + index))
            lines.append((name, file_name, video, label))
    splits = root / "ucfTrainTestlist"
    splits.mkdir()
    (splits / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(classes)))
    (splits / "trainlist01.txt").write_text("".join(f"{c}/{f} {label}\r\n" for c, f, v, label in lines
                                                    if v not in test))
    (splits / "testlist01.txt").write_text("".join(f"{c}/{f}\r\n" for c, f, v, _ in lines if v in test))
    return str(root)


def tree_hashes(directory):
    """{relative path: sha256} of every file under `directory`: what a command that must change
    nothing (a refusal, a probe beside its own output) is checked against."""
    import hashlib

    hashes = {}
    for folder, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                hashes[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return hashes


# -- tiny runs --------------------------------------------------------------------------


def tiny(**overrides):
    """A composite model on 32x32 frames of one rendered digit, 10 steps: seconds per run.
    A test file that wants other defaults wraps it (`tiny(**{**MINE, **overrides})`)."""
    values = dict(
        units=16,
        frame_size=32,
        num_digits=1,
        digits="rendered",
        input_length=3,
        future_length=3,
        batch_size=4,
        steps=10,
        checkpoint_every=5,
        log_every=5,
        image_every=5,
        eval_sequences=8,
        jit_compile=False,
    )
    values.update(overrides)
    from video_lstm import config as config_lib

    return config_lib.make(**values)


def write_flagfile(path, config):
    """A flagfile that gives `config` (with a comment line, as ours have)."""
    lines = [
        f"--{name}={str(value).lower() if isinstance(value, bool) else value}"
        for name, value in config.to_dict().items()
        if value != ""
    ]
    path.write_text("# written by a test\n" + "\n".join(lines) + "\n")
    return path


def weights(model):
    """The model's weights as NumPy arrays, in order."""
    return [np.asarray(v) for v in model.weights]


def read_steps(log_dir):
    """Steps of the `loss/loss` scalars in log_dir's TensorBoard events (log_every=1: every step)."""
    import glob

    import tensorflow as tf

    steps = set()
    for path in glob.glob(os.path.join(log_dir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            if any(v.tag == "loss/loss" for v in event.summary.value):
                steps.add(event.step)
    return sorted(steps)


def wait_for(condition, seconds, what):
    """Polls `condition()` every 0.2 s; fails naming `what` after `seconds`."""
    import time

    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.2)


def untrained_run(log_dir, **values):
    """A run directory as training writes it (config.json, a checkpoint at step 1), of a model
    never trained."""
    from video_lstm import rundir
    from video_lstm.config import make

    config = make(**values)
    rundir.record_config(log_dir, config)
    rundir.save(rundir.new_model(config, jit_compile=False), log_dir, 1)
    return log_dir


def call_embed(*argv):
    """`python -m video_lstm.embed argv...` in this process (`cli.call`): `--runner=in_process`
    unless a --runner is given; Beam's options after a `--` stay last."""
    from video_lstm import embed
    from video_lstm.core import cli

    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    flags_, beam = argv[:cut], argv[cut:]
    if not any(arg.startswith("--runner=") for arg in flags_):
        flags_.append("--runner=in_process")
    return cli.call(embed, [*flags_, "--noprogress", *beam])


def per_video(out, video):
    """{name: array} of one video's stored embedding under `out`."""
    from video_lstm import embedding

    with np.load(os.path.join(out, embedding.video_file(video))) as stored:
        return {name: stored[name] for name in stored.files}



# -- percepts ----------------------------------------------------------------------------


def tiny_network(name="inception_v3"):
    """A stand-in percept network of `name`'s input size and feature size (its
    architecture is not the point here: the wiring around it is)."""
    import keras

    from pipelines import percept_networks

    spec = percept_networks.NETWORKS[name]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((spec.input_size, spec.input_size, 3)),
                              keras.layers.Conv2D(4, 16, strides=16), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(spec.dim)])
    return percept_networks.PerceptNetwork(name=name, weights="random", model=model)



DIM = 12  # the percept dimension of `write_cache`'s caches


def write_cache(directory, lengths, num_shards=2, seed=0, dim=DIM, network="vgg16", statuses=None):
    """A cache of smooth percept sequences (sines), one video per length, in the extractor's layout;
    `statuses`: each video's manifest status ("ok" or "partial", all "ok" by default)."""
    from pipelines import percept_records

    statuses = statuses or ["ok"] * len(lengths)
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    rows, records = [], {i: [] for i in range(num_shards)}
    for index, length in enumerate(lengths):
        shard = index % num_shards
        phase, speed = rng.uniform(0, 6.3, size=dim), rng.uniform(0.2, 0.6, size=dim)
        walk = np.sin(phase + speed * np.arange(length)[:, None]).astype(np.float32)  # smooth, learnable
        records[shard].append(percept_records.encode(walk, f"v{index}", index % 2, f"c{index % 2}",
                                                     list(range(length)), dtype="float16"))
        rows.append({"video": f"v{index}", "label": index % 2, "frames": length, "shard": shard,
                     "status": statuses[index]})
    rows.append({"video": "broken", "label": 0, "frames": 0, "shard": 0, "status": "undecodable"})
    manifest = percept_records.Manifest(
        network=network, weights="random", stream="rgb", dtype="float16", dim=dim, dataset="folder",
        split=None, subset=None, frame_stride=1, num_shards=num_shards, classes=["c0", "c1"], videos=rows)
    import tensorflow as tf

    for shard, serialized in records.items():
        with tf.io.TFRecordWriter(os.path.join(directory, percept_records.shard_name(shard, num_shards))) as writer:
            for record in serialized:
                writer.write(record)
    manifest.write(directory)
    return directory
