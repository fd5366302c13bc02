"""Shared test helpers: paths, tiny configs, generated videos and split files, tiny runs.

Test files import from here (`from helpers import tiny`), never from one another; the
fixtures that use these helpers live in tests/conftest.py. `tests/` is on sys.path through
pyproject's `[tool.pytest.ini_options] pythonpath`."""

import contextlib
import dataclasses
import os
import shutil

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
    """A UCF-101-shaped folder under `root` (a pathlib.Path) of copies of staged clips (copies: a
    listing skips links that lead outside its root, `pipelines.action_datasets`).

    Args:
        clips_dir: the staged clips ($VIDEO_LSTM_DATA_DIR/ucf101/clips).
        classes: {class: [(staged clip name, video name)]}, in classInd order;
            each clip `<clips_dir>/<clip>.mp4` is copied as `<class>/<video>.avi`.
        test: the video names of split 1's test list; the others are its train list.
    Returns:
        str(root), with `ucfTrainTestlist/` (classInd, trainlist01, testlist01; CRLF
        line endings, as the official files).
    """
    lines = []
    for label, (name, videos) in enumerate(classes.items(), start=1):
        (root / name).mkdir()
        for clip, video in videos:
            shutil.copyfile(os.path.join(clips_dir, clip + ".mp4"), root / name / f"{video}.avi")
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


def write_folder(root, classes=("A", "B"), per_class=3, frames=12, brightness=None):
    """`root/<class>/<class><i>.avi` of moving shapes (32x32); `brightness` {class: scale}
    darkens a class's videos, so that any encoder tells the classes apart."""
    for c, name in enumerate(classes):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            video = moving_shapes(frames, 32, 32, seed=10 * c + i)
            if brightness:
                video = (video * brightness[name]).astype(np.uint8)
            write_video(os.path.join(root, name, f"{name}{i}.avi"), video)
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
    No `samples` images during training (tracing the free-running decoders for them costs
    about 0.5 s a run): a test that reads them asks (`image_every=5`). A test file that wants
    other defaults wraps it (`tiny(**{**MINE, **overrides})`)."""
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
        image_every=1000,
        eval_sequences=8,
        jit_compile=False,
    )
    values.update(overrides)
    from video_lstm import config as config_lib

    return config_lib.make(**values)


def random_clip(input_length, future_length, size, batch=2, seed=0):
    """A model's inputs, seeded: {"frames": float32 (batch, input_length, size, size, 1),
    "future_frames": (batch, future_length, size, size, 1)}, uniform in [0, 1)."""
    rng = np.random.default_rng(seed)
    return {
        "frames": rng.uniform(size=(batch, input_length, size, size, 1)).astype("float32"),
        "future_frames": rng.uniform(size=(batch, future_length, size, size, 1)).astype("float32"),
    }


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


# -- TensorBoard events and the HParams dashboard ----------------------------------------


def events(folder):
    """An EventAccumulator of `folder`, everything kept."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    accumulator = ea.EventAccumulator(folder, size_guidance={ea.SCALARS: 0, ea.TENSORS: 0, ea.IMAGES: 0})
    accumulator.Reload()
    return accumulator


def scalar_steps(accumulator, tag):
    """{step: value} of a scalar tag, written by tf.summary (tensors) or the package's writer (scalars)."""
    tags = accumulator.Tags()
    if tag in tags["scalars"]:
        return {e.step: e.value for e in accumulator.Scalars(tag)}
    from tensorboard.util import tensor_util

    return {e.step: float(tensor_util.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)}


def _hparam_value(value):
    kind = value.WhichOneof("kind")
    return kind and getattr(value, kind)


def session_hparams(folder):
    """{name: value} of the HParams session start in `folder`'s events."""
    from tensorboard.plugins.hparams import metadata

    content = events(folder).PluginTagToContent(metadata.PLUGIN_NAME)
    info = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    return {name: _hparam_value(value) for name, value in info.hparams.items()}


def hparams_dashboard(log_dir, sort_by):
    """What TensorBoard's HParams dashboard shows for `tensorboard --logdir=log_dir`, computed by the
    plugin's own backend (`get_experiment` and `list_session_groups`, as its HTTP routes do).

    Returns (columns, sessions): columns {"hparams": set of names, "metrics": set of tags}: the
    experiment's (declared by an experiment summary or, without one, found in the sessions and the
    scalars under their folders); sessions [{"run", "hparams", "metrics"}], one per session, ordered
    by the metric tag `sort_by`, highest first, as the dashboard sorts its table by that column."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, get_experiment, list_session_groups

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(log_dir)
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, log_dir)
    backend = backend_context.Context(
        base_plugin.TBContext(logdir=log_dir, multiplexer=multiplexer, data_provider=provider)
    )
    request = context.RequestContext()
    experiment = get_experiment.Handler(request, backend, "", api_pb2.GetExperimentRequest()).run()
    columns = {
        "hparams": {info.name for info in experiment.hparam_infos},
        "metrics": {info.name.tag for info in experiment.metric_infos},
    }
    statuses = [api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE, api_pb2.STATUS_RUNNING]
    sort = api_pb2.ColParams(metric=api_pb2.MetricName(tag=sort_by), order=api_pb2.ORDER_DESC)
    listing = api_pb2.ListSessionGroupsRequest(col_params=[sort], allowed_statuses=statuses, slice_size=10_000)
    groups = list_session_groups.Handler(request, backend, "", listing).run().session_groups
    sessions = [
        {
            "run": session.name,
            "hparams": {name: _hparam_value(value) for name, value in group.hparams.items()},
            "metrics": {metric.name.tag: metric.value for metric in session.metric_values},
        }
        for group in groups
        for session in group.sessions
    ]
    return columns, sessions


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


# -- the layer and model test (keras-hub's `run_layer_test` / `run_model_saving_test` manner) ---


def run_layer_test(cls, init_kwargs, input_data, call=None, build_shape=None, expected_shape=None,
                   tmp_path=None, trains=True):
    """Checks one Keras layer or model class of video_lstm/models on tiny inputs:

    - config round trip: `cls.from_config(layer.get_config())` has the same config;
    - build from shapes: `layer.build(build_shape)` makes its weights (those a call makes);
    - call: `call(layer, input_data)` (default `layer(input_data)`) gives `expected_shape`
      (the first output's, for a dict or list), finite;
    - one fit step: in a model that returns the call's first output, `train_on_batch` towards
      other values changes every trainable weight (models: their own `train_step`);
    - mixed precision: made with `dtype="mixed_float16"`, its weights are float32 and its output
      is float16 (a model's float32 frames: its logits pass through float16);
    - save and load: in a `.keras` file (under `tmp_path`), loaded it computes the same output.

    Args:
        cls: the class; `init_kwargs` its arguments.
        input_data: an array, or a dict of arrays (a model's inputs).
        call: (layer, input_data) -> output; what a layer's owner passes it.
        build_shape: what `build` takes (default: the input's shape).
        trains: False for a layer without weights (no fit step's change to check).
    """
    import keras

    call = call or (lambda layer, x: layer(x))
    first = lambda out: first(out[0] if isinstance(out, (list, tuple)) else next(iter(out.values()))) \
        if isinstance(out, (list, tuple, dict)) else out  # noqa: E731
    as_numpy = keras.ops.convert_to_numpy
    is_model = isinstance(cls, type) and issubclass(cls, keras.Model)

    # config round trip
    layer = cls(**init_kwargs)
    config = layer.get_config()
    assert cls.from_config(config).get_config() == config
    # build from shapes, then call
    if build_shape is None:
        build_shape = {k: v.shape for k, v in input_data.items()} if isinstance(input_data, dict) else input_data.shape
    layer.build(build_shape)
    built = sorted(v.path for v in layer.weights)
    assert layer.built and (built or not trains), f"{cls.__name__}.build made no weights"
    output = as_numpy(first(call(layer, input_data)))
    assert sorted(v.path for v in layer.weights) == built, "the call made weights that build did not"
    if expected_shape is not None:
        assert output.shape == tuple(expected_shape), (output.shape, expected_shape)
    assert np.isfinite(output).all()
    # one fit step
    if is_model:
        trainer = layer
        trainer.compile(optimizer=keras.optimizers.SGD(0.5))
        target = None
    else:
        trainer = _LayerModel(layer, call, first)
        trainer.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        target = np.full(output.shape, 0.25, "float32") - output
    before = [as_numpy(v) for v in layer.trainable_weights]
    loss = trainer.train_on_batch(input_data, target, return_dict=True)["loss"]
    assert np.isfinite(loss)
    if trains:
        after = [as_numpy(v) for v in layer.trainable_weights]
        unchanged = [v.path for v, a, b in zip(layer.trainable_weights, before, after) if np.array_equal(a, b)]
        assert before and not unchanged, f"one fit step left {unchanged} unchanged"
    # mixed precision
    mixed = cls(**{**init_kwargs, "dtype": "mixed_float16"})
    mixed.build(build_shape)
    mixed_output = first(call(mixed, input_data))
    assert {v.dtype for v in mixed.weights} <= {"float32"}, {v.path: v.dtype for v in mixed.weights}
    if not is_model:
        assert keras.backend.standardize_dtype(mixed_output.dtype) == "float16"
    assert np.isfinite(as_numpy(mixed_output)).all()
    # save and load
    if tmp_path is not None:
        path = str(tmp_path / f"{cls.__name__}.keras")
        saved = trainer  # built by its fit step
        expected = as_numpy(first(call(layer, input_data)))
        saved.save(path)
        loaded = keras.saving.load_model(path, compile=False)
        restored = loaded.layer if not is_model else loaded
        assert type(restored) is cls and restored.get_config() == layer.get_config()
        np.testing.assert_allclose(as_numpy(first(call(restored, input_data))), expected, rtol=1e-6, atol=1e-6)


def _layer_model_class():
    import keras

    @keras.saving.register_keras_serializable(package="video_lstm_tests")
    class LayerModel(keras.Model):
        """A model around one layer, for `run_layer_test`'s fit step and .keras file: its output
        is the first output of `call(layer, x)`. Saved with its layer (the call is not saved:
        it is given back on load through `CALLS`)."""

        CALLS = {}

        def __init__(self, layer, call=None, first=None, **kwargs):
            super().__init__(**kwargs)
            self.layer = layer
            if call is not None:
                LayerModel.CALLS[type(layer).__name__] = (call, first)
            self._call, self._first = LayerModel.CALLS[type(layer).__name__]

        def call(self, x):
            return self._first(self._call(self.layer, x))

        def get_config(self):
            return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

        @classmethod
        def from_config(cls, config):
            layer = keras.saving.deserialize_keras_object(config.pop("layer"))
            return cls(layer, **config)

    return LayerModel


def _layer_model():
    global _LAYER_MODEL
    if _LAYER_MODEL is None:
        _LAYER_MODEL = _layer_model_class()
    return _LAYER_MODEL


_LAYER_MODEL = None


def _LayerModel(*args, **kwargs):  # noqa: N802 (a class, made when Keras is first needed)
    return _layer_model()(*args, **kwargs)
