"""The bad-input table: bad input to every command fails in one line and changes nothing (issue 20).

The table and its checks; the cases run in tests/test_bad_inputs_<command>.py, one file per
group of commands, so that pytest-xdist's `--dist loadfile` spreads them over the workers.

One table of cases (`CASES`) across the commands: video_lstm.train, .evaluate,
.visualize, .finetune, .predict, .embed, pipelines.extract_percepts and export.encoder,
.classifier, .verify, .client. Bad flags, bad and damaged files, mismatched caches and log_dirs,
changed settings on resume, corrupt checkpoints, read-only and full directories.
Every case expects:

- exit status 1;
- on stderr, apart from absl log records (`I0101 ...`, `ERROR:absl:...`, TensorFlow's
  "All log messages before absl::InitializeLog()" notice; a record's continuation lines
  with it) and Python `warnings` lines,
  exactly one non-empty line, starting `<module>: error:`, `<module>: usage error:` or
  `FATAL Flags parsing error:`, that holds the case's expected substrings (the flag or
  file it names, and what was expected) and none of its forbidden ones; no "Traceback"
  and no ANSI escape codes anywhere on stderr;
- every file and folder of the case's folder unchanged (sha256 before and after): the
  run directory, the caches, the input files; a log_dir, --out or --export_dir that did
  not exist before does not exist after (a failed start-up leaves no config.json, no lock,
  no empty folder behind).

The inputs are built once per test process, each on first use (`Prepared`): a tiny trained run (64x64 frames of two
rendered digits, so that the canonical .npy test set fits it), a tiny fine-tuning run, an
export of the run, two hand-written percept caches of other dims, a folder of generated
videos (2 classes x 3 videos), a small mnist.npz and .npy files. Each case copies what it
uses into its own tmp_path (`Env`) and damages the copies, so cases never interfere.

Commands run in this process (`cli.call`, stderr read with capfd), except "full disk"
cases: a subprocess (`python -m <module>`) whose RLIMIT_FSIZE is 0, so that every write
fails with EFBIG ("File too large"), as on a full disk. Read-only folders: chmod 0o555;
as root (who ignores permissions) `chattr +i` instead, or the case is skipped where that
is not possible. A read-only case expects the line to name the folder and say it is not
writable ("writ").
"""

import contextlib
import dataclasses
import hashlib
import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Callable

import numpy as np
import pytest
from helpers import ROOT, moving_shapes, rendered_digits_drawn_once, write_small_mnist, write_video

from pipelines import video_decode  # noqa: F401  (quiets FFmpeg, as a command does, before a video is written here)

# -- the prepared inputs --------------------------------------------------------------------

# The trained run: 64x64 frames of two rendered digits (the canonical .npy test set's geometry).
RUN_FLAGS = ["--dataset=moving_mnist", "--digits=rendered", "--frame_size=64", "--num_digits=2", "--units=8",
             "--input_length=3", "--future_length=3", "--steps=2", "--checkpoint_every=1", "--batch_size=2",
             "--eval_sequences=2", "--jit_compile=false"]
# The fine-tuning run: a scratch classifier of one-digit 28x28 Moving MNIST, all labels.
FT_FLAGS = ["--dataset=moving_mnist", "--digits=rendered", "--frame_size=28", "--num_digits=1", "--units=4",
            "--input_length=3", "--steps=2", "--checkpoint_every=1", "--batch_size=2", "--jit_compile=false",
            "--pool_size=100", "--test_size=4", "--inits=scratch"]
# Percept extraction of the video folder: cheap settings (InceptionV3 with random weights).
EP_FLAGS = ["--dataset=folder", "--percept_network=inception_v3", "--percept_weights=random", "--frame_stride=64",
            "--progress=false"]
CACHE_DIM, OTHER_DIM = 12, 16
EXPORT_NAME = "encoder"


def write_percept_cache(directory, dim, lengths=(8, 9, 10, 7), seed=0):
    """A percept cache in the extractor's layout (`pipelines.percept_records`), written by hand:
    one shard, one video per length, classes c0 and c1 alternating."""
    import tensorflow as tf

    from pipelines import percept_records

    rng = np.random.default_rng(seed)
    os.makedirs(directory)
    rows = []
    with tf.io.TFRecordWriter(os.path.join(directory, percept_records.shard_name(0, 1))) as writer:
        for index, length in enumerate(lengths):
            percepts = np.sin(rng.uniform(0, 6, dim) + 0.3 * np.arange(length)[:, None]).astype(np.float32)
            writer.write(percept_records.encode(percepts, f"v{index}", index % 2, f"c{index % 2}",
                                                list(range(length)), dtype="float16"))
            rows.append({"video": f"v{index}", "label": index % 2, "frames": length, "shard": 0, "status": "ok"})
    percept_records.Manifest(network="vgg16", weights="random", stream="rgb", dtype="float16", dim=dim,
                             dataset="folder", split=None, subset=None, frame_stride=1, num_shards=1,
                             classes=["c0", "c1"], videos=rows).write(directory)
    return directory


def write_video_folder(root, classes=("A", "B"), per_class=3, frames=12):
    """`root/<class>/<class><i>.avi`: small generated videos (32x32, MJPG)."""
    for c, name in enumerate(classes):
        os.makedirs(root / name)
        for i in range(per_class):
            write_video(root / name / f"{name}{i}.avi", moving_shapes(frames, 32, 32, seed=10 * c + i))
    return str(root)


def canonical_npy(path, sequences):
    """A valid mnist_test_seq.npy of `sequences` clips: uint8 (20, N, 64, 64)."""
    rng = np.random.default_rng(sequences)
    np.save(path, rng.integers(0, 256, (20, sequences, 64, 64), dtype=np.uint8))
    return str(path)


def _trained_run(base):
    from video_lstm import train
    from video_lstm.core import cli

    with rendered_digits_drawn_once():
        assert cli.call(train, [*RUN_FLAGS, f"--log_dir={base / 'run'}"]) == 0
    return str(base / "run")


def _fine_tuned_run(base):
    from video_lstm import finetune
    from video_lstm.core import cli

    with rendered_digits_drawn_once():
        assert cli.call(finetune, [*FT_FLAGS, f"--log_dir={base / 'ft'}"]) == 0
    return str(base / "ft")


def _exported(base, prepared):
    from export import encoder
    from video_lstm.core import cli

    assert cli.call(encoder, [f"--log_dir={prepared['run']}", f"--export_dir={base / 'exported'}",
                              f"--model_name={EXPORT_NAME}"]) == 0
    return str(base / "exported")


class Prepared:
    """{name: path} of the inputs every case copies from (see the module docstring), each made
    on first use and then kept for the process: a test file of one command's cases makes only
    what they read (the session fixture `bad_inputs_prepared` in conftest.py holds one)."""

    BUILDERS = {
        "run": lambda base, made: _trained_run(base),
        "ft": lambda base, made: _fine_tuned_run(base),
        "exported": lambda base, made: _exported(base, made),
        "cache": lambda base, made: write_percept_cache(str(base / "cache"), CACHE_DIM),
        "cache16": lambda base, made: write_percept_cache(str(base / "cache16"), OTHER_DIM, seed=1),
        "videos": lambda base, made: write_video_folder(base / "videos"),
        "mnist": lambda base, made: write_small_mnist(base / "mnist.npz", train=100, test=20),
        "npy": lambda base, made: canonical_npy(base / "mnist_test_seq.npy", 4),
        "short_npy": lambda base, made: canonical_npy(base / "short.npy", 1),
    }

    def __init__(self, base):
        self._base, self._made = base, {}

    def __contains__(self, name):
        return name in self.BUILDERS

    def __getitem__(self, name):
        if name not in self._made:
            self._made[name] = self.BUILDERS[name](self._base, self)
            if name in ("run", "ft"):  # the runs as a user finds them: no lock (a finished job's is gone)
                assert not os.path.exists(os.path.join(self._made[name], "lock"))
        return self._made[name]


class Env:
    """A case's folder: `e.<name>` is a copy of prepared input `name` (made on first use),
    `e.new(name)` a path that does not exist, `e.dir(...)` and `e.file(...)` make one."""

    def __init__(self, root, prepared):
        self._root, self._prepared = root, prepared

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._prepared:
            raise AttributeError(name)
        source, target = self._prepared[name], self._root / os.path.basename(self._prepared[name])
        if not target.exists():
            if os.path.isdir(source):
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)
        return str(target)

    def new(self, *parts):
        path = self._root.joinpath(*parts)
        assert not path.exists()
        return str(path)

    def dir(self, name, *subfolders):
        for sub in subfolders or ("",):
            os.makedirs(self._root / name / sub, exist_ok=True)
        return str(self._root / name)

    def file(self, name, data):
        (self._root / name).write_bytes(data)
        return str(self._root / name)


# -- damage ------------------------------------------------------------------------------------


def random_bytes(count=4096, seed=0):
    return np.random.default_rng(seed).integers(0, 256, count, dtype=np.uint8).tobytes()


def truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def overwrite(path, data):
    with open(path, "wb") as f:
        f.write(data)


def checkpoints(log_dir):
    folder = os.path.join(log_dir, "checkpoints")
    found = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.startswith("ckpt-"))
    assert found, f"no checkpoint in {folder}"
    return found


def damage_checkpoints(log_dir, how):
    """Every checkpoint of log_dir truncated to half, replaced by random bytes, by text, or emptied."""
    for path in checkpoints(log_dir):
        if how == "truncate":
            truncate(path)
        else:
            overwrite(path, {"random": random_bytes(seed=len(path)), "text": TEXT, "empty": b""}[how])
    return log_dir


def remove_checkpoints(log_dir):
    for path in checkpoints(log_dir):
        os.remove(path)
    return log_dir


def copied_videos(e, name="videos_copy"):
    """A copy of the case's video folder under another name."""
    target = os.path.join(str(e._root), name)
    shutil.copytree(e.videos, target)
    return target


def hmdb51_splits(e, line):
    """An HMDB-51 split folder for the video folder (classes A, B) whose class A file ends with `line`."""
    folder = e.dir("splits")
    with open(os.path.join(folder, "A_test_split1.txt"), "w") as f:
        f.write(f"A0.avi 1\nA1.avi 2\n{line}\n")
    with open(os.path.join(folder, "B_test_split1.txt"), "w") as f:
        f.write("B0.avi 1\nB1.avi 2\n")
    return folder


def flat_folder(e):
    """A folder holding videos directly, in no class subfolder."""
    folder = e.dir("flat")
    for name in ("x.avi", "y.avi"):
        shutil.copy(os.path.join(e.videos, "A", "A0.avi"), os.path.join(folder, name))
    return folder


ESCAPING = "../../../../../../etc/passwd 1"


def add_video(folder, name):
    write_video(os.path.join(folder, name), moving_shapes(12, 32, 32, seed=99))


def extracted_cache(e):
    """(video folder, cache) of a finished extraction of the folder with EP_FLAGS' settings,
    written by hand in the extractor's format (its own settings record, random percepts)."""
    from pipelines import percept_extraction as ep
    from pipelines import percept_networks, percept_records

    videos, out = e.videos, e.dir("extracted")
    options = ep.ExtractOptions(dataset="folder", video_dir=videos, out=out, percept_network="inception_v3",
                                percept_weights="random",
                         frame_stride=64, progress=False)
    dataset = ep.list_videos(options)
    manifest, extraction = ep._settings(options, dataset, percept_networks.NETWORKS["inception_v3"].dim)
    done = ep.Extraction(options, dataset, None, manifest, extraction)
    import tensorflow as tf

    rows = []
    with tf.io.TFRecordWriter(done.shard_paths(0)[0]) as writer:
        for item in dataset.items:
            percepts = np.zeros((1, manifest.dim), np.float32)
            writer.write(percept_records.encode(percepts, item.video_id, item.label, item.class_name, [0]))
            rows.append({"video": item.video_id, "label": item.label, "frames": 1, "shard": 0, "status": "ok"})
    done._write_manifest(done.shard_paths(0)[1], rows)
    done.merge()
    return videos, out


# -- the table ------------------------------------------------------------------------------------

COMMANDS = {
    "train": "video_lstm.train",
    "evaluate": "video_lstm.evaluate",
    "visualize": "video_lstm.visualize",
    "finetune": "video_lstm.finetune",
    "extract_percepts": "pipelines.extract_percepts",
    "embed": "video_lstm.embed",
    "export.encoder": "export.encoder",
    "export.classifier": "export.classifier",
    "export.verify": "export.verify",
    "export.client": "export.client",
    "predict": "video_lstm.predict",
    "probe": "video_lstm.probe",
    "few_labels": "video_lstm.experiments.few_labels",
    "pretrain_ablation": "video_lstm.experiments.pretrain_ablation",
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        id: the test id.
        command: a key of COMMANDS.
        argv: Env -> the arguments.
        expected: substrings of the error line (or Env -> them).
        absent: substrings that must not appear on stderr.
        setup: Env -> None, run after `argv`: damages the copies.
        read_only: Env -> a folder made read-only while the command runs.
        full_disk: run in a subprocess in which every write fails (RLIMIT_FSIZE 0).
    """

    id: str
    command: str
    argv: Callable
    expected: object
    absent: tuple = ()
    setup: Callable | None = None
    read_only: Callable | None = None
    full_disk: bool = False


def run_args(e, *extra, log_dir=None):
    """The trained run's flags, a --log_dir (default: a new one) and `extra`."""
    return [*RUN_FLAGS, f"--log_dir={log_dir or e.new('new_run')}", *extra]


def resume(*extra):
    """Resuming the trained run (a longer --steps) with `extra` flags."""
    return lambda e: run_args(e, "--steps=4", *extra, log_dir=e.run)


def ft_args(e, *extra, log_dir=None):
    return [*FT_FLAGS, f"--log_dir={log_dir or e.new('new_ft')}", *extra]


def ep_args(e, *extra, out=None, videos=None):
    return [*EP_FLAGS, f"--video_dir={videos or e.videos}", f"--out={out or e.new('new_cache')}", *extra]


def embed_args(e, *extra, out=None, videos=None, pretrained=None):
    return [f"--pretrained={pretrained or e.run}", f"--video_dir={videos or e.videos}",
            f"--out={out or e.new('new_embeddings')}", "--noprogress", *extra]


def embedded(e, name):
    """(video folder, --out) of a finished embedding of the folder by the trained run."""
    from video_lstm import embed
    from video_lstm.core import cli

    out = os.path.join(str(e._root), name)
    assert cli.call(embed, embed_args(e, out=out)) == 0
    return e.videos, out


def export_args(e, log_dir, *extra):
    return [f"--log_dir={log_dir}", f"--export_dir={e.new('new_exports')}", *extra]


def predict_args(e, *extra, log_dir=None, video=None):
    """Predicting a video of the folder (12 frames of 32x32) with the trained run into a new --out."""
    return [f"--pretrained={log_dir or e.run}", f"--video={video or os.path.join(e.videos, 'A', 'A0.avi')}",
            f"--out={e.new('new_prediction')}", *extra]


def config_only_run(e, name, **values):
    """A log_dir holding the config.json of `values` and no checkpoint: what predict refuses from
    the config alone, before it looks for a checkpoint."""
    from video_lstm import config as config_lib

    folder = e.dir(name, "checkpoints")
    config = config_lib.make(units=8, input_length=3, future_length=3, **values)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config.to_json())
    return folder


def closed_port():
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def http_server(status, body):
    """A local HTTP server answering every POST with `status` and `body`; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # not on stderr
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


GARBAGE = random_bytes(2048, seed=1)
TEXT = b"this is a text file, not what its name says\n"
NOT_FOUND = ("File not found",)  # a damaged checkpoint is there: "not found" misleads


def npy_damaged(how):
    def setup(e):
        truncate(e.npy) if how == "truncated" else overwrite(e.npy, GARBAGE if how == "random" else TEXT)
    return setup


CASES = [
    # -- video_lstm.train: flags ----------------------------------------------------------------
    Case("train-units-zero", "train", lambda e: run_args(e, "--units=0"), ("--units=0", ">= 1")),
    Case("train-units-not-a-number", "train", lambda e: run_args(e, "--units=abc"), ("units", "abc")),
    Case("train-dataset-bogus", "train", lambda e: run_args(e, "--dataset=bogus"), ("dataset", "bogus")),
    Case("train-learning-rate-negative", "train", lambda e: run_args(e, "--learning_rate=-1"),
         ("--learning_rate=-1", "> 0")),
    Case("train-conv-readout-of-percepts", "train",
         lambda e: run_args(e, "--dataset=percepts", f"--percepts_dir={e.cache}", "--loss=squared_error",
                            "--readout=conv"), ("--readout=conv", "percepts")),
    Case("train-cross-entropy-of-percepts", "train",
         lambda e: run_args(e, "--dataset=percepts", f"--percepts_dir={e.cache}", "--loss=cross_entropy"),
         ("--loss", "squared_error")),
    Case("train-positional-argument", "train", lambda e: run_args(e, "stray"), ("stray",)),
    Case("train-flagfile-missing", "train", lambda e: run_args(e, f"--flagfile={e.new('no.flags')}"),
         ("no.flags",)),
    Case("train-no-log-dir", "train", lambda e: RUN_FLAGS, ("--log_dir",)),
    # -- video_lstm.train: bad and damaged input files -----------------------------------------------
    Case("train-npy-test-set-without-path", "train", lambda e: run_args(e, "--test_set=npy"),
         ("--test_npy_path",)),
    Case("train-npy-missing", "train",
         lambda e: run_args(e, "--test_set=npy", f"--test_npy_path={e.new('nowhere.npy')}"), ("nowhere.npy",)),
    Case("train-npy-truncated", "train", lambda e: run_args(e, "--test_set=npy", f"--test_npy_path={e.npy}"),
         lambda e: (e.npy,), setup=npy_damaged("truncated")),
    Case("train-npy-random-bytes", "train", lambda e: run_args(e, "--test_set=npy", f"--test_npy_path={e.npy}"),
         lambda e: (e.npy,), absent=("allow_pickle",), setup=npy_damaged("random")),
    Case("train-npy-text-file", "train", lambda e: run_args(e, "--test_set=npy", f"--test_npy_path={e.npy}"),
         lambda e: (e.npy,), absent=("allow_pickle",), setup=npy_damaged("text")),
    Case("train-mnist-random-bytes", "train",
         lambda e: run_args(e, "--digits=mnist", f"--mnist_path={e.mnist}"), lambda e: (e.mnist,),
         absent=("allow_pickle",), setup=lambda e: overwrite(e.mnist, GARBAGE)),
    Case("train-mnist-missing", "train",
         lambda e: run_args(e, "--digits=mnist", f"--mnist_path={e.new('no_mnist.npz')}"), ("no_mnist.npz",)),
    Case("train-video-dir-missing", "train",
         lambda e: run_args(e, "--dataset=folder", f"--video_dir={e.new('no_videos')}", "--frame_size=32"),
         ("--video_dir", "no_videos")),
    Case("train-video-dir-without-videos", "train",
         lambda e: run_args(e, "--dataset=folder", f"--video_dir={e.dir('empty_classes', 'A', 'B')}",
                            "--frame_size=32"), ("empty_classes",)),
    Case("train-videos-all-damaged", "train",
         lambda e: run_args(e, "--dataset=folder", f"--video_dir={e.videos}", "--frame_size=32"),
         lambda e: (e.videos,),
         setup=lambda e: [overwrite(os.path.join(d, f), TEXT) for d, _, fs in os.walk(e.videos) for f in fs]),
    Case("train-percepts-dir-not-a-cache", "train",
         lambda e: run_args(e, "--dataset=percepts", f"--percepts_dir={e.videos}", "--loss=squared_error"),
         lambda e: (e.videos, "cache")),
    Case("train-percepts-dir-missing", "train",
         lambda e: run_args(e, "--dataset=percepts", f"--percepts_dir={e.new('no_cache')}", "--loss=squared_error"),
         ("no_cache",)),
    Case("train-percepts-test-dir-of-another-dim", "train",
         lambda e: run_args(e, "--dataset=percepts", f"--percepts_dir={e.cache}",
                            f"--percepts_test_dir={e.cache16}", "--loss=squared_error"),
         ("--percepts_test_dir", str(OTHER_DIM))),
    Case("train-percepts-manifest-garbage", "train",
         lambda e: run_args(e, "--dataset=percepts", f"--percepts_dir={e.cache}", "--loss=squared_error"),
         ("manifest.json",), setup=lambda e: overwrite(os.path.join(e.cache, "manifest.json"), GARBAGE)),
    # -- video_lstm.train: the log_dir --------------------------------------------------------------
    Case("train-log-dir-is-a-file", "train", lambda e: run_args(e, log_dir=e.file("a_file", TEXT)), ("a_file",)),
    Case("train-log-dir-read-only", "train", resume(), lambda e: (e.run, "writ"), read_only=lambda e: e.run),
    Case("train-log-dir-full", "train", resume(), lambda e: (e.run, "File too large"), full_disk=True),
    Case("train-config-json-garbage", "train", resume(), ("config.json",),
         setup=lambda e: overwrite(os.path.join(e.run, "config.json"), GARBAGE)),
    Case("train-config-json-deleted-other-units", "train", resume("--units=9"), ("config.json",),
         setup=lambda e: os.remove(os.path.join(e.run, "config.json"))),
    Case("train-checkpoints-all-truncated", "train", resume(), ("checkpoint",),
         absent=NOT_FOUND, setup=lambda e: damage_checkpoints(e.run, "truncate")),
    # -- video_lstm.train: changed settings on resume ------------------------------------------------
    Case("train-resume-other-units", "train", resume("--units=9"), ("--units",)),
    Case("train-resume-other-num-layers", "train", resume("--num_layers=2"), ("--num_layers",)),
    Case("train-resume-other-optimizer", "train", resume("--optimizer=sgd"), ("--optimizer",)),
    # (--learning_rate, --lr_decay_* and --clip_norm may change on resume: tests/training/test_loop.py)
    Case("train-resume-other-weight-decay", "train", resume("--weight_decay=0.001"), ("--weight_decay",)),
    Case("train-resume-other-init-scale", "train", resume("--init_scale=0.05"), ("--init_scale",)),
    Case("train-resume-other-batch-size", "train", resume("--batch_size=4"), ("--batch_size",)),
    Case("train-resume-other-dataset", "train",
         lambda e: run_args(e, "--steps=4", "--dataset=percepts", f"--percepts_dir={e.cache}", "--loss=squared_error",
                            log_dir=e.run), ("--dataset",)),
    Case("train-resume-other-frame-size", "train", resume("--frame_size=32"), ("--frame_size",)),
    Case("train-resume-other-digits", "train",
         lambda e: run_args(e, "--steps=4", "--digits=mnist", f"--mnist_path={e.mnist}", log_dir=e.run),
         ("--digits",)),
    # -- video_lstm.evaluate ------------------------------------------------------------------------
    Case("evaluate-log-dir-missing", "evaluate", lambda e: [f"--log_dir={e.new('no_run')}"], ("no_run",)),
    Case("evaluate-not-a-run", "evaluate", lambda e: [f"--log_dir={e.videos}"], lambda e: (e.videos,)),
    Case("evaluate-no-checkpoints", "evaluate", lambda e: [f"--log_dir={e.run}"], ("checkpoint",),
         setup=lambda e: remove_checkpoints(e.run)),
    Case("evaluate-checkpoints-random-bytes", "evaluate", lambda e: [f"--log_dir={e.run}"], ("checkpoint", "ckpt-"),
         absent=NOT_FOUND, setup=lambda e: damage_checkpoints(e.run, "random")),
    Case("evaluate-config-json-garbage", "evaluate", lambda e: [f"--log_dir={e.run}"], ("config.json",),
         setup=lambda e: overwrite(os.path.join(e.run, "config.json"), GARBAGE)),
    Case("evaluate-log-dir-read-only", "evaluate", lambda e: [f"--log_dir={e.run}"], lambda e: (e.run, "writ"),
         read_only=lambda e: e.run),
    Case("evaluate-log-dir-full", "evaluate", lambda e: [f"--log_dir={e.run}"], lambda e: (e.run, "File too large"),
         full_disk=True),
    Case("evaluate-npy-of-fewer-sequences", "evaluate",
         lambda e: [f"--log_dir={e.run}", "--test_set=npy", f"--test_npy_path={e.short_npy}", "--eval_sequences=2"],
         ("--eval_sequences", "short.npy")),
    Case("evaluate-npy-truncated", "evaluate",
         lambda e: [f"--log_dir={e.run}", "--test_set=npy", f"--test_npy_path={e.npy}"], lambda e: (e.npy,),
         absent=("allow_pickle",), setup=npy_damaged("truncated")),
    Case("evaluate-eval-sequences-zero", "evaluate", lambda e: [f"--log_dir={e.run}", "--eval_sequences=0"],
         ("--eval_sequences=0", ">= 1")),
    Case("evaluate-a-finetune-log-dir", "evaluate", lambda e: [f"--log_dir={e.ft}"], lambda e: (e.ft,)),
    # -- video_lstm.visualize ------------------------------------------------------------------------
    Case("visualize-log-dir-missing", "visualize", lambda e: [f"--log_dir={e.new('no_run')}"], ("no_run",)),
    Case("visualize-not-a-run", "visualize", lambda e: [f"--log_dir={e.videos}"], lambda e: (e.videos,)),
    Case("visualize-no-checkpoints", "visualize", lambda e: [f"--log_dir={e.run}"], ("checkpoint",),
         setup=lambda e: remove_checkpoints(e.run)),
    Case("visualize-checkpoints-truncated", "visualize", lambda e: [f"--log_dir={e.run}"], ("checkpoint", "ckpt-"),
         absent=NOT_FOUND, setup=lambda e: damage_checkpoints(e.run, "truncate")),
    Case("visualize-log-dir-read-only", "visualize", lambda e: [f"--log_dir={e.run}", "--what=samples"],
         lambda e: (e.run, "writ"), read_only=lambda e: e.run),
    Case("visualize-what-bogus", "visualize", lambda e: [f"--log_dir={e.run}", "--what=bogus"], ("--what", "bogus")),
    # -- video_lstm.finetune --------------------------------------------------------------------------
    Case("finetune-inits-bogus", "finetune", lambda e: ft_args(e, "--inits=bogus"), ("--inits", "bogus")),
    Case("finetune-pretrained-missing", "finetune",
         lambda e: ft_args(e, "--inits=pretrained", f"--pretrained={e.new('no_pretrained')}"),
         ("--pretrained", "no_pretrained")),
    Case("finetune-pretrained-of-another-frame-size", "finetune",
         lambda e: ft_args(e, "--inits=pretrained", f"--pretrained={e.run}"), ("--pretrained", "64", "28")),
    Case("finetune-pretrained-checkpoints-damaged", "finetune",
         lambda e: ft_args(e, "--inits=pretrained", f"--pretrained={e.run}", "--frame_size=64"), ("checkpoint",),
         absent=NOT_FOUND, setup=lambda e: damage_checkpoints(e.run, "random")),
    Case("finetune-labels-per-class-not-a-number", "finetune", lambda e: ft_args(e, "--labels_per_class=abc"),
         ("--labels_per_class", "abc")),
    Case("finetune-labels-per-class-more-than-a-class-has", "finetune",
         lambda e: ft_args(e, "--labels_per_class=50"), ("labels_per_class", "50")),
    Case("finetune-resume-other-units", "finetune", lambda e: ft_args(e, "--steps=3", "--units=5", log_dir=e.ft),
         ("--units",)),
    Case("finetune-resume-other-labels-per-class", "finetune",
         lambda e: ft_args(e, "--steps=3", "--labels_per_class=1", log_dir=e.ft), ("--labels_per_class",)),
    Case("finetune-percepts-without-test-dir", "finetune",
         lambda e: ft_args(e, "--dataset=percepts", f"--percepts_dir={e.cache}"),
         ("--percepts_test_dir",)),
    Case("finetune-log-dir-is-a-file", "finetune", lambda e: ft_args(e, log_dir=e.file("a_file", TEXT)),
         ("a_file",)),
    Case("finetune-log-dir-read-only", "finetune", lambda e: ft_args(e, "--steps=3", log_dir=e.ft),
         lambda e: (e.ft, "writ"), read_only=lambda e: e.ft),
    Case("finetune-positional-argument", "finetune", lambda e: ft_args(e, "stray"), ("stray",)),
    # -- pipelines.extract_percepts ---------------------------------------------------------------------
    Case("extract-video-dir-missing", "extract_percepts", lambda e: ep_args(e, videos=e.new("no_videos")),
         ("--video_dir", "no_videos")),
    Case("extract-out-is-a-file", "extract_percepts", lambda e: ep_args(e, out=e.file("a_file", TEXT)),
         ("--out", "a_file")),
    Case("extract-out-holds-a-cache-of-other-settings", "extract_percepts", lambda e: ep_args(e, out=e.cache),
         lambda e: ("--out", e.cache, "settings")),
    Case("extract-out-made-before-a-video-was-added", "extract_percepts",
         lambda e: ep_args(e, *(), **dict(zip(("videos", "out"), extracted_cache(e)))),
         ("added_video",), setup=lambda e: add_video(os.path.join(e.videos, "B"), "added_video.avi")),
    Case("extract-out-manifest-garbage", "extract_percepts", lambda e: ep_args(e, out=e.dir("garbage_cache")),
         ("manifest.json",),
         setup=lambda e: overwrite(os.path.join(e.dir("garbage_cache"), "manifest.json"), GARBAGE)),
    Case("extract-out-read-only", "extract_percepts", lambda e: ep_args(e, out=e.dir("read_only_out")),
         lambda e: (e.dir("read_only_out"), "writ"), read_only=lambda e: e.dir("read_only_out")),
    Case("extract-weights-missing", "extract_percepts", lambda e: ep_args(e, "--percept_weights=/no/such/file"),
         ("--percept_weights", "/no/such/file")),
    Case("extract-weights-a-text-file", "extract_percepts",
         lambda e: ep_args(e, f"--percept_weights={e.file('weights.h5', TEXT)}"), ("weights.h5",)),
    Case("extract-beam-options-without-a-beam-runner", "extract_percepts",
         lambda e: ep_args(e, "--runner=in_process", "--", "--direct_num_workers=2"),
         ("--direct_num_workers=2", "--runner=in_process")),
    Case("extract-dataset-bogus", "extract_percepts", lambda e: [*ep_args(e), "--dataset=bogus"],
         ("dataset", "bogus")),
    Case("extract-positional-argument", "extract_percepts", lambda e: ep_args(e, "stray"), ("stray",)),
    Case("extract-video-dir-without-videos", "extract_percepts",
         lambda e: ep_args(e, videos=e.dir("empty_classes", "A", "B")), ("empty_classes",)),
    # -- video_lstm.embed ------------------------------------------------------------------------------
    Case("embed-no-pretrained", "embed", lambda e: embed_args(e)[1:], ("--pretrained", "log_dir", "SavedModel")),
    Case("embed-no-out", "embed", lambda e: [a for a in embed_args(e) if not a.startswith("--out")], ("--out",)),
    Case("embed-pretrained-missing", "embed", lambda e: embed_args(e, pretrained=e.new("no_run")), ("no_run",)),
    Case("embed-pretrained-not-a-run-nor-a-saved-model", "embed", lambda e: embed_args(e, pretrained=e.videos),
         lambda e: (e.videos, "log_dir", "SavedModel")),
    Case("embed-pretrained-checkpoints-truncated", "embed", lambda e: embed_args(e), ("checkpoint", "ckpt-"),
         absent=NOT_FOUND, setup=lambda e: damage_checkpoints(e.run, "truncate")),
    Case("embed-saved-model-signatures-garbage", "embed",
         lambda e: embed_args(e, pretrained=os.path.join(e.exported, EXPORT_NAME)), ("signatures.json",),
         setup=lambda e: overwrite(os.path.join(e.exported, EXPORT_NAME, "1", "assets", "signatures.json"), GARBAGE)),
    Case("embed-video-dir-missing", "embed", lambda e: embed_args(e, videos=e.new("no_videos")),
         ("--video_dir", "no_videos")),
    Case("embed-video-dir-without-videos", "embed", lambda e: embed_args(e, videos=e.dir("empty_classes", "A", "B")),
         ("empty_classes",)),
    Case("embed-split-files-missing", "embed",
         lambda e: embed_args(e, "--dataset=ucf101", f"--split_dir={e.new('no_splits')}"),
         ("split files", "no_splits")),
    Case("embed-split-bogus", "embed", lambda e: embed_args(e, "--dataset=hmdb51", "--split=4"),
         ("--split=4", "1, 2 or 3")),
    Case("embed-dataset-bogus", "embed", lambda e: embed_args(e, "--dataset=bogus"), ("dataset", "bogus")),
    Case("embed-list-without-list-file", "embed", lambda e: embed_args(e, "--dataset=list"), ("--list_file",)),
    Case("embed-list-file-missing", "embed",
         lambda e: [f"--pretrained={e.run}", "--dataset=list", f"--list_file={e.new('no_list.txt')}",
                    f"--out={e.new('new_embeddings')}"], ("no_list.txt",)),
    Case("embed-list-file-names-no-video-there", "embed",
         lambda e: [f"--pretrained={e.run}", "--dataset=list", f"--list_file={e.file('list.txt', b'gone.avi')}",
                    f"--out={e.new('new_embeddings')}"], ("none of them is there", "gone.avi")),
    Case("embed-stride-zero", "embed", lambda e: embed_args(e, "--stride=0"), ("--stride=0", ">= 1")),
    Case("embed-input-length-negative", "embed", lambda e: embed_args(e, "--input_length=-2"), ("--input_length=-2",)),
    Case("embed-test-fraction-one", "embed", lambda e: embed_args(e, "--subset=test", "--test_fraction=1"),
         ("--test_fraction=1", "[0, 1)")),
    Case("embed-out-is-a-file", "embed", lambda e: embed_args(e, out=e.file("a_file", TEXT)), ("--out", "a_file")),
    Case("embed-out-read-only", "embed", lambda e: embed_args(e, out=e.dir("read_only_out")),
         lambda e: (e.dir("read_only_out"), "writ"), read_only=lambda e: e.dir("read_only_out")),
    Case("embed-out-holds-a-log-dir", "embed", lambda e: embed_args(e, out=e.run),
         lambda e: (e.run, "manifest.json")),
    Case("embed-out-manifest-garbage", "embed", lambda e: embed_args(e, out=e.dir("garbage_out")),
         ("manifest.json",), setup=lambda e: overwrite(os.path.join(e.dir("garbage_out"), "manifest.json"), GARBAGE)),
    Case("embed-out-of-other-settings", "embed",
         lambda e: embed_args(e, "--stride=1", out=embedded(e, "embedded")[1]), ("other settings", "stride")),
    Case("embed-out-made-from-another-video-dir", "embed",  # (adding videos to an --out is allowed: issue 29)
         lambda e: embed_args(e, out=embedded(e, "embedded")[1], videos=copied_videos(e)),
         lambda e: ("other settings", "listing.root", e.videos)),
    Case("embed-positional-argument", "embed", lambda e: embed_args(e, "stray"), ("stray",)),
    # -- export.encoder ---------------------------------------------------------------------------------
    Case("encoder-log-dir-missing", "export.encoder", lambda e: export_args(e, e.new("no_run")), ("no_run",)),
    Case("encoder-not-a-run", "export.encoder", lambda e: export_args(e, e.videos), lambda e: (e.videos,)),
    Case("encoder-checkpoints-text-files", "export.encoder", lambda e: export_args(e, e.run), ("checkpoint", "ckpt-"),
         absent=NOT_FOUND, setup=lambda e: damage_checkpoints(e.run, "text")),
    Case("encoder-no-checkpoints", "export.encoder", lambda e: export_args(e, e.run), ("checkpoint",),
         setup=lambda e: remove_checkpoints(e.run)),
    Case("encoder-version-exists", "export.encoder",
         lambda e: [f"--log_dir={e.run}", f"--export_dir={e.exported}", f"--model_name={EXPORT_NAME}", "--version=1"],
         ("version 1", "exists")),
    Case("encoder-model-name-bad", "export.encoder", lambda e: export_args(e, e.run, "--model_name=../evil"),
         ("model_name", "../evil")),
    Case("encoder-version-zero", "export.encoder", lambda e: export_args(e, e.run, "--version=0"),
         ("--version=0", ">= 1")),
    Case("encoder-export-dir-missing", "export.encoder", lambda e: [f"--log_dir={e.run}"], ("--export_dir",)),
    Case("encoder-export-dir-is-a-file", "export.encoder",
         lambda e: [f"--log_dir={e.run}", f"--export_dir={e.file('a_file', TEXT)}"], ("a_file",)),
    Case("encoder-export-dir-full", "export.encoder", lambda e: export_args(e, e.run), ("File too large",),
         full_disk=True),
    Case("encoder-with-convnet-of-a-frame-model", "export.encoder",
         lambda e: export_args(e, e.run, "--with_convnet"), ("--with_convnet",)),
    # -- export.classifier --------------------------------------------------------------------------------
    Case("classifier-log-dir-missing", "export.classifier", lambda e: export_args(e, e.new("no_run")), ("no_run",)),
    Case("classifier-a-training-run", "export.classifier", lambda e: export_args(e, e.run),
         lambda e: (e.run, "finetune")),
    Case("classifier-checkpoints-empty", "export.classifier",
         lambda e: export_args(e, os.path.join(e.ft, "scratch")), ("checkpoint", "ckpt-"),
         absent=NOT_FOUND, setup=lambda e: damage_checkpoints(os.path.join(e.ft, "scratch"), "empty")),
    Case("classifier-version-exists", "export.classifier",
         lambda e: [f"--log_dir={os.path.join(e.ft, 'scratch')}", f"--export_dir={e.exported}",
                    f"--model_name={EXPORT_NAME}", "--version=1"], ("version 1", "exists")),
    Case("classifier-model-name-bad", "export.classifier",
         lambda e: export_args(e, os.path.join(e.ft, "scratch"), "--model_name=.hidden"), ("model_name", ".hidden")),
    # -- export.verify ---------------------------------------------------------------------------------------
    Case("verify-export-missing", "export.verify", lambda e: [e.new("no_export")], ("no_export",)),
    Case("verify-not-an-export", "export.verify", lambda e: [e.videos], lambda e: (e.videos, "SavedModel")),
    Case("verify-no-path", "export.verify", lambda e: [], ("version_dir",)),
    Case("verify-signatures-json-garbage", "export.verify", lambda e: [os.path.join(e.exported, EXPORT_NAME, "1")],
         ("signatures.json",),
         setup=lambda e: overwrite(os.path.join(e.exported, EXPORT_NAME, "1", "assets", "signatures.json"), GARBAGE)),
    Case("verify-saved-model-damaged", "export.verify", lambda e: [os.path.join(e.exported, EXPORT_NAME, "1")],
         ("saved_model.pb",),
         setup=lambda e: overwrite(os.path.join(e.exported, EXPORT_NAME, "1", "saved_model.pb"), GARBAGE)),
    # -- export.client ------------------------------------------------------------------------------------------
    Case("client-model-name-missing", "export.client", lambda e: [], ("--model_name",)),
    Case("client-protocol-bogus", "export.client", lambda e: ["--model_name=m", "--protocol=bogus"],
         ("protocol", "bogus")),
    Case("client-batch-size-not-a-number", "export.client", lambda e: ["--model_name=m", "--batch_size=abc"],
         ("batch_size", "abc")),
    Case("client-positional-argument", "export.client", lambda e: ["--model_name=m", "stray"], ("stray",)),
    Case("client-rest-connection-refused", "export.client",
         lambda e: ["--model_name=m", f"--rest_port={e._port}", "--timeout=5"], lambda e: (str(e._port),)),
    Case("client-grpc-connection-refused", "export.client",
         lambda e: ["--model_name=m", "--protocol=grpc", f"--grpc_port={e._port}", "--timeout=5"],
         lambda e: (str(e._port),)),
    Case("client-rest-answer-not-json", "export.client",
         lambda e: ["--model_name=m", f"--rest_port={e._port}", "--timeout=5"], ("not JSON",)),
    Case("client-rest-answer-http-500", "export.client",
         lambda e: ["--model_name=m", f"--rest_port={e._port}", "--timeout=5"], ("500",)),
    # -- video_lstm.predict ---------------------------------------------------------------------------------
    Case("predict-video-flag-missing", "predict", lambda e: [f"--pretrained={e.run}", f"--out={e.new('out')}"],
         ("--video", "required")),
    Case("predict-no-model", "predict", lambda e: predict_args(e)[1:], ("--pretrained", "required")),
    Case("predict-pretrained-and-deprecated-saved-model", "predict",
         lambda e: predict_args(e, f"--saved_model={os.path.join(e.exported, EXPORT_NAME)}"),
         ("--saved_model", "--pretrained", "two values")),
    Case("predict-input-length-zero", "predict", lambda e: predict_args(e, "--input_length=0"),
         ("--input_length=0", ">= 1")),
    Case("predict-future-length-too-long", "predict", lambda e: predict_args(e, "--future_length=5000"),
         ("--future_length=5000", "0..1000")),
    Case("predict-start-negative", "predict", lambda e: predict_args(e, "--start=-2"), ("--start=-2", ">= 0")),
    Case("predict-start-not-a-number", "predict", lambda e: predict_args(e, "--start=abc"), ("start", "abc")),
    Case("predict-positional-argument", "predict", lambda e: predict_args(e, "stray"), ("stray",)),
    Case("predict-model-of-percepts", "predict",
         lambda e: predict_args(e, log_dir=config_only_run(e, "percept_run", dataset="percepts", percepts_dir=e.cache,
                                                           loss="squared_error")),
         ("a model of percepts has no pictures",)),
    Case("predict-future-of-an-autoencoder", "predict",
         lambda e: predict_args(e, "--future_length=2",
                                log_dir=config_only_run(e, "autoencoder_run", model="autoencoder")),
         ("--future_length=2", "autoencoder", "no future decoder")),
    Case("predict-video-shorter-than-the-context", "predict",
         lambda e: predict_args(e, "--input_length=10", "--start=5"),
         ("has 12 frames", "15 needed", "--input_length=10")),
    Case("predict-video-undecodable", "predict",
         lambda e: predict_args(e, video=e.file("broken.avi", GARBAGE)), ("broken.avi", "cannot decode")),
    Case("predict-video-missing", "predict", lambda e: predict_args(e, video=e.new("no_video.mp4")),
         ("no_video.mp4", "no such file")),
    Case("predict-npy-not-frames", "predict",
         lambda e: predict_args(e, video=e.file("vector.npy", b"")), ("vector.npy", "shape (5,)"),
         setup=lambda e: np.save(str(e._root / "vector.npy"), np.zeros(5, np.uint8))),
    Case("predict-out-holds-a-prediction", "predict",
         lambda e: [*predict_args(e)[:2], f"--out={e.dir('done')}"], ("--out", "earlier prediction", "--overwrite"),
         setup=lambda e: overwrite(os.path.join(e.dir("done"), "prediction.json"), b"{}")),
    Case("predict-pretrained-not-a-run-nor-an-export", "predict",
         lambda e: [f"--pretrained={e.videos}", *predict_args(e)[1:]], lambda e: (e.videos, "SavedModel")),
    Case("predict-checkpoint-missing", "predict", lambda e: predict_args(e, f"--checkpoint={e.new('ckpt-9.keras')}"),
         ("--checkpoint", "ckpt-9.keras", "not found")),
    # -- issue 29: listings, fingerprints, containment --
    Case("embed-hmdb51-split-line-reaching-outside-the-root", "embed",
         lambda e: embed_args(e, "--dataset=hmdb51", f"--split_dir={hmdb51_splits(e, ESCAPING)}"),
         ("A_test_split1.txt:3", "etc/passwd", "outside the dataset root")),
    Case("embed-hmdb51-split-line-of-another-folder", "embed",
         lambda e: embed_args(e, "--dataset=hmdb51", f"--split_dir={hmdb51_splits(e, '../../../vids/A/a.avi 1')}"),
         ("A_test_split1.txt:3", "vids/A/a.avi", "outside the dataset root")),
    Case("embed-hmdb51-split-line-absolute", "embed",
         lambda e: embed_args(e, "--dataset=hmdb51", f"--split_dir={hmdb51_splits(e, '/etc/passwd 1')}"),
         ("A_test_split1.txt:3", "outside the dataset root")),
    Case("extract-hmdb51-split-line-reaching-outside-the-root", "extract_percepts",
         lambda e: [*ep_args(e), "--dataset=hmdb51", f"--split_dir={hmdb51_splits(e, ESCAPING)}"],
         ("A_test_split1.txt:3", "etc/passwd", "outside the dataset root")),
    Case("train-hmdb51-split-line-reaching-outside-the-root", "train",
         lambda e: run_args(e, "--dataset=hmdb51", f"--video_dir={e.videos}", "--frame_size=32",
                            f"--split_dir={hmdb51_splits(e, ESCAPING)}"),
         ("A_test_split1.txt:3", "etc/passwd", "outside the dataset root")),
    Case("embed-flat-folder-of-videos", "embed", lambda e: embed_args(e, videos=flat_folder(e)),
         ("--video_dir", "class subfolders", "x.avi", "--dataset=list", "--list_file")),
    Case("extract-flat-folder-of-videos", "extract_percepts", lambda e: ep_args(e, videos=flat_folder(e)),
         ("class subfolders", "x.avi", "--dataset=list")),  # extraction reads list files too (corpus.list_videos)
    Case("train-flat-folder-of-videos", "train",
         lambda e: run_args(e, "--dataset=folder", f"--video_dir={flat_folder(e)}", "--frame_size=32"),
         ("class subfolders", "x.avi"), absent=("--dataset=list",)),
    Case("extract-out-made-before-a-video-was-removed", "extract_percepts",
         lambda e: ep_args(e, *(), **dict(zip(("videos", "out"), extracted_cache(e)))),
         ("removed: A/A0.avi", "resharded", "new --out"),
         setup=lambda e: os.remove(os.path.join(e.videos, "A", "A0.avi"))),
    # -- issue 29: frame preparation and decode status --
    Case("predict-video-truncated-shorter-than-the-context", "predict", lambda e: predict_args(e),
         ("A0.avi", "has 2 frames", "decoded partly: 2 of the 12 frames its container declares", "3 needed"),
         setup=lambda e: truncate(os.path.join(e.videos, "A", "A0.avi"))),
    Case("predict-video-truncated-start-past-its-end", "predict", lambda e: predict_args(e, "--start=4"),
         ("A0.avi", "decoded partly", "of the 12 frames", "--start=4"),
         setup=lambda e: truncate(os.path.join(e.videos, "A", "A0.avi"))),
    # -- issue 29: quiet start-up, help, runner, probe --
    Case("predict-video-empty", "predict", lambda e: predict_args(e, video=e.file("empty.avi", b"")),
         ("--video=", "empty.avi", "file is empty (0 bytes)")),
    Case("predict-log-dir-not-a-run-checked-first", "predict",
         lambda e: predict_args(e, log_dir=e.new("no_run"), video=e.file("empty2.avi", b"")),
         ("--pretrained=", "no_run", "does not exist")),
    Case("predict-pretrained-missing", "predict",
         lambda e: predict_args(e, f"--pretrained={e.new('no_export')}")[1:], ("--pretrained=", "does not exist")),
    Case("embed-runner-empty", "embed", lambda e: embed_args(e, "--runner="), ("--runner", "empty")),
    Case("embed-beam-options-with-in-process", "embed",
         lambda e: [*embed_args(e, "--runner=in_process"), "--", "--direct_num_workers=2"],
         ("Beam pipeline options", "in_process")),
    Case("probe-log-dir-flag-missing", "probe", lambda e: [], ("--log_dir", "required")),
    Case("probe-log-dir-not-a-run", "probe", lambda e: [f"--log_dir={e.new('no_run')}"],
         ("--log_dir=", "not a training run")),
    Case("probe-shots-zero", "probe", lambda e: [f"--log_dir={e.run}", "--shots=0"], ("--shots=0",)),
    Case("probe-shots-not-a-number", "probe", lambda e: [f"--log_dir={e.run}", "--shots=x"], ("--shots='x'",)),
    Case("probe-baseline-unknown", "probe", lambda e: [f"--log_dir={e.run}", "--baselines=nope"],
         ("--baselines='nope'",)),
    Case("probe-seeds-not-a-number", "probe", lambda e: [f"--log_dir={e.run}", "--seeds=abc"], ("seeds", "abc")),
    Case("probe-positional-argument", "probe", lambda e: [f"--log_dir={e.run}", "stray"], ("stray",)),
    Case("few-labels-log-dir-flag-missing", "few_labels", lambda e: [], ("--log_dir", "required")),
    Case("few-labels-pretrain-flagfile-missing", "few_labels",
         lambda e: [f"--log_dir={e.new('study')}", f"--pretrain_flagfile={e.new('none.flags')}"], ("none.flags",)),
    Case("few-labels-seeds-zero", "few_labels", lambda e: [f"--log_dir={e.new('study')}", "--seeds=0"],
         ("--seeds=0",)),
    Case("few-labels-unknown-flag", "few_labels", lambda e: [f"--log_dir={e.new('study')}", "--bogus=1"],
         ("bogus",)),
    Case("few-labels-log-dir-of-other-settings", "few_labels",
         lambda e: [f"--log_dir={e.dir('study')}", "--pool_size=100"], ("study.json", "other settings", "pool_size"),
         setup=lambda e: overwrite(os.path.join(e.dir("study"), "study.json"), b'{"pool_size": 50}')),
    Case("ablation-log-dir-flag-missing", "pretrain_ablation", lambda e: [], ("--log_dir", "required")),
    Case("ablation-variant-unknown", "pretrain_ablation",
         lambda e: [f"--log_dir={e.new('ablation')}", "--variants=base,bogus"], ("--variants=bogus",)),
    Case("ablation-pretrain-flagfile-missing", "pretrain_ablation",
         lambda e: [f"--log_dir={e.new('ablation')}", f"--pretrain_flagfile={e.new('none.flags')}"], ("none.flags",)),
    Case("ablation-variant-of-other-settings", "pretrain_ablation",
         lambda e: [f"--log_dir={e.dir('ablation')}", "--variants=base"], ("ablation.json", "other settings", "steps"),
         setup=lambda e: overwrite(os.path.join(e.dir("ablation"), "ablation.json"),
                                   b'[{"variant": "base", "settings": {"steps": 7}}]')),
    # -- issue 29: records, locks, files --------------------------------------------------------------
    Case("predict-config-units-huge", "predict", lambda e: predict_args(e),
         lambda e: (config_of(e.run), "--units=10000000", "<= 16384"),
         setup=lambda e: edit_record(config_of(e.run), units=10**7)),
    Case("predict-config-units-nan", "predict", lambda e: predict_args(e), ("config.json", "--units=NaN", "integer"),
         setup=lambda e: edit_record(config_of(e.run), units=float("nan"))),
    Case("predict-config-units-fraction", "predict", lambda e: predict_args(e),
         ("config.json", "--units=8.5", "integer"),
         setup=lambda e: edit_record(config_of(e.run), units=8.5)),
    Case("predict-config-units-true", "predict", lambda e: predict_args(e), ("config.json", "--units=true", "integer"),
         setup=lambda e: edit_record(config_of(e.run), units=True)),
    Case("predict-config-units-a-string", "predict", lambda e: predict_args(e),
         ("config.json", '--units="8"', "integer"),
         absent=("TypeError",), setup=lambda e: edit_record(config_of(e.run), units="8")),
    Case("predict-config-learning-rate-infinite", "predict", lambda e: predict_args(e),
         ("config.json", "--learning_rate=Infinity", "finite"),
         setup=lambda e: edit_record(config_of(e.run), learning_rate=float("inf"))),
    Case("predict-config-of-another-model-than-its-checkpoint", "predict", lambda e: predict_args(e),
         lambda e: (config_of(e.run), "ckpt-", "--units=16"), setup=lambda e: edit_record(config_of(e.run), units=16)),
    Case("evaluate-config-units-true", "evaluate", lambda e: [f"--log_dir={e.run}"], ("config.json", "--units=true"),
         setup=lambda e: edit_record(config_of(e.run), units=True)),
    Case("visualize-config-units-a-string", "visualize", lambda e: [f"--log_dir={e.run}"],
         ("config.json", '--units="8"'), setup=lambda e: edit_record(config_of(e.run), units="8")),
    Case("embed-pretrained-config-units-nan", "embed", lambda e: embed_args(e), ("config.json", "--units=NaN"),
         setup=lambda e: edit_record(config_of(e.run), units=float("nan"))),
    Case("embed-pretrained-config-of-another-model", "embed", lambda e: embed_args(e),
         ("config.json", "ckpt-", "--units=16"),
         setup=lambda e: edit_record(config_of(e.run), units=16)),
    Case("finetune-pretrained-config-of-another-model", "finetune",
         lambda e: ft_args(e, f"--pretrained={e.run}", "--inits=pretrained"), ("config.json", "ckpt-", "--units=16"),
         setup=lambda e: edit_record(config_of(e.run), units=16)),
    Case("encoder-config-units-fraction", "export.encoder", lambda e: export_args(e, e.run),
         ("config.json", "--units=8.5"),
         setup=lambda e: edit_record(config_of(e.run), units=8.5)),
    Case("predict-saved-model-config-units-true", "predict",
         lambda e: [f"--pretrained={os.path.join(e.exported, EXPORT_NAME)}", *predict_args(e)[1:]],
         ("assets/config.json", "--units=true"), setup=lambda e: edit_record(export_config_of(e), units=True)),
    Case("embed-saved-model-config-units-true", "embed",
         lambda e: embed_args(e, pretrained=os.path.join(e.exported, EXPORT_NAME)),
         ("assets/config.json", "--units=true"), setup=lambda e: edit_record(export_config_of(e), units=True)),
    Case("embed-lock-a-symlink", "embed", lambda e: embed_args(e, out=e.dir("linked_out")),
         ("--out=", "lock", "symbolic link", "not a regular file"),
         setup=lambda e: os.symlink(e.file("victim.txt", TEXT), os.path.join(e.dir("linked_out"), "lock"))),
    Case("extract-percepts-lock-a-dangling-symlink", "extract_percepts",
         lambda e: ep_args(e, out=e.dir("linked_cache")),
         ("--out=", ".extract.lock", "symbolic link"),
         setup=lambda e: os.symlink(e.new("created.txt"), os.path.join(e.dir("linked_cache"), ".extract.lock"))),
    Case("train-lock-a-fifo", "train", lambda e: run_args(e, log_dir=e.dir("fifo_run")),
         ("--log_dir=", "lock", "a FIFO", "not a regular file"),
         setup=lambda e: os.mkfifo(os.path.join(e.dir("fifo_run"), "lock"))),
    Case("evaluate-checkpoint-a-fifo", "evaluate", lambda e: [f"--log_dir={e.run}"],
         ("ckpt-00000009.keras", "a FIFO"),
         setup=lambda e: (remove_checkpoints(e.run),
                          os.mkfifo(os.path.join(e.run, "checkpoints", "ckpt-00000009.keras")))),
    Case("predict-npy-video-a-fifo", "predict", lambda e: predict_args(e, video=str(e._root / "frames.npy")),
         ("frames.npy",), setup=lambda e: os.mkfifo(e._root / "frames.npy")),
    Case("extract-percepts-full-disk", "extract_percepts", lambda e: ep_args(e), ("File too large",), full_disk=True),
    # -- issue 29: finetune resume --
    Case("finetune-output-dropout-one", "finetune", lambda e: ft_args(e, "--output_dropout=1.0"),
         ("--output_dropout=1.0", "[0, 1)")),
    Case("finetune-input-dropout-nan", "finetune", lambda e: ft_args(e, "--input_dropout=nan"),
         ("--input_dropout=nan", "[0, 1)")),
]


def config_of(log_dir):
    return os.path.join(log_dir, "config.json")


def export_config_of(e):
    return os.path.join(e.exported, EXPORT_NAME, "1", "assets", "config.json")


def edit_record(path, **values):
    """A JSON record with `values` changed (NaN and Infinity written as Python's json writes them)."""
    with open(path) as f:
        record = json.load(f)
    with open(path, "w") as f:
        f.write(json.dumps({**record, **values}))
SERVERS = {"client-rest-answer-not-json": (200, b"<html>not json</html>"),
           "client-rest-answer-http-500": (500, b"<html><body>Internal Server Error</body></html>")}


# -- running a case ----------------------------------------------------------------------------------

# absl log records (absl's format, Python logging's default one) and TensorFlow's start-up notice.
LOG_RECORD = re.compile(r"^([IWE]\d{4} |(DEBUG|INFO|WARNING|ERROR|CRITICAL):absl:"
                        r"|WARNING: All log messages before absl::InitializeLog\(\) is called)")
WARNING_LINE = re.compile(r"^\S.*:\d+: [A-Za-z]*Warning: ")  # warnings.showwarning's; its source line follows


def error_lines(stderr, prefixes=()):
    """The lines of stderr that are neither log records nor warnings (with their continuation
    lines: those up to the next record, warning, Traceback or line starting with one of
    `prefixes`), nor blank."""
    lines, in_record = [], False
    for line in stderr.splitlines():
        if LOG_RECORD.match(line) or WARNING_LINE.match(line):
            in_record = True
        elif in_record and not line.startswith((*prefixes, "Traceback")):
            continue
        else:
            in_record = False
            if line.strip():
                lines.append(line)
    return lines


def snapshot(root):
    """{relative path: sha256 of a file, "<dir>" or "-> target" of a link} under root."""
    found = {}
    for directory, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(directory, name)
            key = os.path.relpath(path, root)
            if os.path.islink(path):
                found[key] = "-> " + os.readlink(path)
            elif os.path.isdir(path):
                found[key] = "<dir>"
            elif not os.path.isfile(path):  # a FIFO: opening it would block
                found[key] = "<not a regular file>"
            else:
                with open(path, "rb") as f:
                    found[key] = hashlib.sha256(f.read()).hexdigest()
    return found


def changes(before, after):
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return [f"{what}: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}"
            for what, names in (("added", added), ("removed", removed), ("changed", changed)) if names]


@contextlib.contextmanager
def read_only(path):
    """`path` (a folder) and the folders under it read-only while the block runs: chmod 0o555,
    or as root `chattr +i` on everything under it (root ignores permissions)."""
    if path is None:
        yield
        return
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root, who ignores permissions, and chattr is not installed")
        made = subprocess.run(["chattr", "-R", "+i", path], capture_output=True, text=True)
        if made.returncode != 0:
            subprocess.run(["chattr", "-R", "-i", path], capture_output=True)
            pytest.skip(f"running as root, who ignores permissions, and chattr +i fails here: {made.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-R", "-i", path], check=True)
        return
    folders = [d for d, _, _ in os.walk(path)]
    for folder in folders:
        os.chmod(folder, 0o555)
    try:
        yield
    finally:
        for folder in folders:
            os.chmod(folder, 0o755)


# tempfile finds its folder by writing a probe file (TensorFlow asks at import): it is found
# first, as on a machine whose /tmp is not the full disk.
FULL_DISK = r"""
import resource, runpy, sys, tempfile
tempfile.gettempdir()
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
"""


def run_with_full_disk(module, argv):
    """(exit status, stderr) of `python -m module argv...` in a process that can write no byte."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", FULL_DISK, module, *argv], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stderr


def run_in_process(module, argv, capfd):
    """(exit status, stderr) of `cli.call(module, argv)`; an exception that escapes is reported on stderr."""
    from video_lstm.core import cli

    capfd.readouterr()
    try:
        code = cli.call(module, argv)
    except Exception as error:  # a bug: cli.call turns every bad input into an exit status
        code = f"raised {type(error).__name__}"
        print("".join(traceback.format_exception(error)), file=sys.stderr)
    return code, capfd.readouterr().err


def check_case(case, prepared, tmp_path, capfd):
    """Runs `case` in `tmp_path` and checks what the module docstring says every case expects."""
    env = Env(tmp_path, prepared)
    server = http_server(*SERVERS[case.id]) if case.id in SERVERS else contextlib.nullcontext(None)
    with server as port:
        env._port = port or closed_port()
        argv = [str(a) for a in case.argv(env)]
        if case.setup:
            case.setup(env)
        expected = case.expected(env) if callable(case.expected) else case.expected
        before = snapshot(tmp_path)
        module_name = COMMANDS[case.command]
        module = importlib.import_module(module_name)
        with read_only(case.read_only(env) if case.read_only else None):
            if case.full_disk:
                code, stderr = run_with_full_disk(module_name, argv)
            else:
                code, stderr = run_in_process(module, argv, capfd)
    after = snapshot(tmp_path)

    problems = []
    if code != 1:
        problems.append(f"exit status {code}, expected 1")
    names = {module_name, getattr(module, "PROGRAM", module_name)}
    prefixes = ("FATAL Flags parsing error:", *(f"{n}: error:" for n in names), *(f"{n}: usage error:" for n in names))
    lines = error_lines(stderr, prefixes)
    if len(lines) != 1:
        problems.append(f"{len(lines)} error lines on stderr, expected 1")
    elif not lines[0].startswith(prefixes):
        problems.append(f"the error line does not start with one of {prefixes}")
    else:
        missing = [s for s in expected if s not in lines[0]]
        if missing:
            problems.append(f"the error line lacks {missing}")
    for bad in ("Traceback", "\x1b[", *case.absent):
        if bad in stderr:
            problems.append(f"stderr holds {bad!r}")
    problems += [f"files {change}" for change in changes(before, after)]
    print(f"error lines: {lines}")  # (pytest -rP shows them for the cases that pass)
    shown = lines[0] if len(lines) == 1 else "\n".join(stderr.strip().splitlines()[-25:])
    assert not problems, f"{case.command} {' '.join(argv)}\n" + "\n".join(problems) + f"\n--- stderr:\n{shown}"



# Opt-in (-m large): subprocesses of several seconds each whose class stays tested by default
# (train-log-dir-full here; tests/training/test_faults.py's full disk during evaluation and checkpointing).
LARGE = ("evaluate-log-dir-full", "encoder-export-dir-full")




# The test file of each group of commands: tests/test_bad_inputs_<key>.py.
FILES = {
    "train": ("train", "evaluate", "visualize"),
    "finetune": ("finetune", "probe", "few_labels", "pretrain_ablation"),
    "embed": ("embed",),
    "predict": ("predict",),
    "export": ("export.encoder", "export.classifier", "export.verify", "export.client", "extract_percepts"),
}


def cases(*commands):
    """The table's cases of `commands` (keys of COMMANDS), as pytest parameters: ids are the
    cases' ids, the LARGE ones marked `large`."""
    return [pytest.param(case, id=case.id, marks=[pytest.mark.large] if case.id in LARGE else [])
            for case in CASES if case.command in commands]
