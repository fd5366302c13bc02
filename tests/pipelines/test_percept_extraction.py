"""pipelines/flow.py and the percept cache extractor (python -m pipelines.extract_percepts).

Uses three videos written here (127, 165 and 125 frames of moving shapes, MJPG)
in a folder dataset with a corrupt and an empty file; InceptionV3 with random
weights (the faster network here), every 64th frame, so each clip gives 2-3
percepts. One network is built for the module, from the seed the command line
uses, so a subprocess run gives the same bytes. Extractions run in one process
(--runner=in_process) unless a test says otherwise; the Beam runners' tests
compare their files with those, byte for byte.
"""

import hashlib
import importlib.util
import json
import math
import os
import socket
import subprocess
import sys

import cv2
import helpers
import numpy as np
import pytest
from helpers import moving_shapes, tiny_network, write_video

from pipelines import fingerprints, flow, percept_records, video_decode
from pipelines import percept_extraction as ep
from video_lstm.core.settings import Runner

REPO = helpers.ROOT
STRIDE = 64
VIDEOS = {"A/a.avi": 127, "B/b.avi": 165, "B/c.avi": 125}  # frames
BAD = {"A/corrupt.avi": "undecodable", "B/empty.avi": "empty"}


# -- flow ---------------------------------------------------------------------------


def _texture(seed=0, shape=(140, 180)):
    noise = np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2.0)


@pytest.mark.parametrize("dx, dy", [(3, 2), (-3, 2), (2, -3)])
def test_flow_of_a_known_shift_points_its_way(dx, dy):
    base = _texture()
    first = np.ascontiguousarray(base[20:120, 20:160])
    second = np.ascontiguousarray(base[20 - dy : 120 - dy, 20 - dx : 160 - dx])  # content moved by (dx, dy)
    image = flow.flow_image(first, second)
    assert image.shape == (100, 140, 3) and image.dtype == np.uint8
    x, y, magnitude = np.median(image[20:-20, 20:-20].reshape(-1, 3).astype(float), axis=0)
    scale = 128 / flow.DEFAULT_BOUND
    assert np.sign(x - 128) == np.sign(dx) and abs((x - 128) / scale - dx) < 0.5
    assert np.sign(y - 128) == np.sign(dy) and abs((y - 128) / scale - dy) < 0.5
    assert abs((magnitude - 128) / scale - math.hypot(dx, dy)) < 0.5


def test_flow_frames_streams_pairs_and_renders_clipped_around_128():
    frames = [np.roll(_texture(), shift, axis=1)[:100, :140].copy() for shift in range(4)]
    images = list(flow.flow_frames(iter(frames)))
    assert len(images) == 3 and all(i.shape == (100, 140, 3) for i in images)
    assert list(flow.flow_frames(iter(frames[:1]))) == []
    rendered = flow.render(np.array([[[0.0, 0.0], [100.0, -100.0]]]), bound=20)
    assert rendered.tolist() == [[[128, 128, 128], [255, 0, 255]]]


def test_tvl1_is_detected_and_explained():
    if flow.tvl1_available():
        assert next(flow.flow_frames(iter([_texture()] * 2), method="tvl1")).shape == (140, 180, 3)
    else:
        with pytest.raises(ValueError, match="opencv-contrib-python-headless"):
            flow.check_method("tvl1")
    with pytest.raises(ValueError, match="expected one of"):
        flow.check_method("lucas_kanade")


# -- the extractor ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    for seed, (name, frames) in enumerate(VIDEOS.items()):
        (root / os.path.dirname(name)).mkdir(exist_ok=True)
        write_video(root / name, moving_shapes(frames, seed=seed))
    (root / "A" / "corrupt.avi").write_bytes(np.random.default_rng(0).integers(0, 256, 4000, np.uint8).tobytes())
    (root / "B" / "empty.avi").write_bytes(b"")
    return str(root)


@pytest.fixture(scope="module")
def network():
    import keras

    from pipelines import percept_networks

    keras.utils.set_random_seed(0)  # as the command line does for --percept_weights=random --seed=0
    return percept_networks.make_network("inception_v3", "random")


def _options(video_dir, out, **changes):
    values = dict(dataset="folder", video_dir=video_dir, out=str(out), percept_network="inception_v3",
                  percept_weights="random", frame_stride=STRIDE, progress=False)
    return ep.ExtractOptions(**{**values, **changes})


def _dead_pid():
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def _extract(network, video_dir, out, beam_args=(), runner="in_process", **changes):
    return ep.prepare(_options(video_dir, out, **changes), network=network, runner=Runner(runner, beam_args)).run()


def _records(out, num_shards):
    import tensorflow as tf

    records = {}
    for i in range(num_shards):
        for serialized in tf.data.TFRecordDataset(os.path.join(out, percept_records.shard_name(i, num_shards))):
            record = percept_records.decode(serialized.numpy())
            records[record["video"]] = record
    return records


def _shard_bytes(out, num_shards):
    return [open(os.path.join(out, percept_records.shard_name(i, num_shards)), "rb").read()
            for i in range(num_shards)]


def _file_hashes(out):
    """{name: sha256} of every file in cache folder `out` (none in subfolders: .parts is gone)."""
    assert not [d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))], os.listdir(out)
    return {name: hashlib.sha256(open(os.path.join(out, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(out))}


@pytest.fixture(scope="module")
def one_shard(network, video_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("one_shard")
    summary = _extract(network, video_dir, out)
    return str(out), summary


@pytest.fixture(scope="module")
def two_shards(network, video_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("two_shards")
    _extract(network, video_dir, out, num_shards=2)
    return str(out)


def test_records_hold_every_strided_frame_and_equal_percepts_extract(network, video_dir, one_shard):
    from pipelines import percept_networks

    out, summary = one_shard
    assert summary["ok"] == 3 and summary["skipped"] == 2 and summary["videos"] == 5
    records = _records(out, 1)
    assert list(records) == list(VIDEOS)  # list order: classes, then names; bad videos have none
    manifest = percept_records.Manifest.read(out)
    assert (manifest.network, manifest.dim, manifest.dtype, manifest.frame_stride) == (
        "inception_v3", 2048, "float16", STRIDE)
    assert manifest.classes == ["A", "B"]
    for name, record in records.items():
        path = os.path.join(video_dir, name)
        frames = np.stack(list(video_decode.read_frames(path, stride=STRIDE, threads=1)))
        count = math.ceil(video_decode.count_frames(path) / STRIDE)
        assert record["percepts"].shape == (count, 2048) and len(frames) == count
        assert record["frame_index"].tolist() == [STRIDE * k for k in range(count)]
        assert (record["class_name"], record["label"]) == (name[0], "AB".index(name[0]))
        expected = percept_networks.extract(network, frames).astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(record["percepts"], expected)  # the same calls, the same chunks
    rows = {row["video"]: row for row in manifest.videos}
    assert [row["video"] for row in manifest.videos] == sorted([*VIDEOS, *BAD])
    for name, kind in BAD.items():
        assert rows[name]["status"].startswith(kind + ":") and rows[name]["frames"] == 0
    assert all(rows[name]["status"] == "ok" and rows[name]["frames"] == len(records[name]["percepts"])
               for name in VIDEOS)


def test_two_shards_merge_to_the_one_shard_manifest(one_shard, two_shards):
    one, two = percept_records.Manifest.read(one_shard[0]), percept_records.Manifest.read(two_shards)
    assert two.num_shards == 2 and [row["shard"] for row in two.videos] == [0, 1, 0, 1, 0]
    strip = [[{k: v for k, v in row.items() if k != "shard"} for row in m.videos] for m in (one, two)]
    assert strip[0] == strip[1]
    for name in ("manifest-00000-of-00002.json", "manifest-00001-of-00002.json"):
        assert os.path.isfile(os.path.join(two_shards, name))
    first, second = _records(one_shard[0], 1), _records(two_shards, 2)
    assert sorted(first) == sorted(second)
    for name in first:
        np.testing.assert_array_equal(first[name]["percepts"], second[name]["percepts"])


def test_beam_direct_runner_writes_the_bytes_of_one_process(network, video_dir, one_shard, tmp_path):
    """Beam's DirectRunner (one worker, in this process: fast) against --runner=in_process: every
    file of --out equal byte for byte; skipped videos counted alike."""
    pytest.importorskip("apache_beam")
    out = tmp_path / "beam"
    summary = _extract(network, video_dir, out, runner="DirectRunner",
                       beam_args=("--direct_num_workers=1", "--direct_running_mode=in_memory"))
    assert summary["runner"] == "DirectRunner"
    assert (summary["ok"], summary["skipped"], summary["videos"]) == (one_shard[1]["ok"], 2, 5)
    assert _file_hashes(out) == _file_hashes(one_shard[0])
    assert set(_file_hashes(out)) == {"manifest-00000-of-00001.json", "manifest.json",
                                      percept_records.shard_name(0, 1)}


def test_beam_with_two_worker_processes_writes_the_bytes_of_one_process(network, video_dir, two_shards, tmp_path,
                                                                        monkeypatch):
    """The issue's test: DirectRunner, 2 worker processes (each builds its network from --seed),
    2 shards, against one process. About 25 s on 2 busy cores (two TensorFlow start-ups). The
    workers run the driver's thread count: with fewer (the runner's default shares the cores out)
    the features can differ in the last bit on some CPUs (`beam_jobs._local_workers_env`)."""
    pytest.importorskip("apache_beam")
    for key in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.setenv(key, str(os.cpu_count()))
    out = tmp_path / "beam2"
    summary = _extract(network, video_dir, out, num_shards=2, runner="DirectRunner",
                       beam_args=("--direct_num_workers=2", "--direct_running_mode=multi_processing"))
    assert (summary["ok"], summary["skipped"], summary["written"]) == (3, 2, [0, 1])
    assert _file_hashes(out) == _file_hashes(two_shards)


def test_killed_extraction_resumes_without_redoing_shards_and_to_the_same_bytes(
        network, video_dir, two_shards, tmp_path):
    """Killed after shard 0: its files are kept as they are, shard 1 is extracted (on Beam's
    DirectRunner, in a subprocess: the one smoke test of the command line, Beam's options after
    --) to the bytes of an uninterrupted run; the killed run's temporaries are removed."""
    from pipelines import beam_jobs

    out = tmp_path / "resumed"
    extraction = ep.prepare(_options(video_dir, out, num_shards=2), network=network)
    os.makedirs(out / ep.PARTS)
    beam_jobs.run(extraction.job([0]), "in_process")  # then "killed": no shard 1, no manifest.json
    assert not (out / "manifest.json").exists() and extraction.is_done(0) and not extraction.is_done(1)
    stale = out / f".tmp-{_dead_pid()}@{socket.gethostname()}~x~percepts-00001-of-00002.tfrecord"
    stale.write_bytes(b"half a shard, its writer killed")
    (out / ep.PARTS / "00000001.record").write_bytes(b"a part of the killed run")
    shard0 = out / percept_records.shard_name(0, 2)
    before = os.stat(shard0)
    command = [sys.executable, "-m", "pipelines.extract_percepts", "--dataset=folder", f"--video_dir={video_dir}",
               "--percept_network=inception_v3", "--percept_weights=random", f"--frame_stride={STRIDE}", f"--out={out}",
               "--num_shards=2", "--progress=false"]
    if importlib.util.find_spec("apache_beam"):
        command += ["--runner=DirectRunner", "--", "--direct_num_workers=1", "--direct_running_mode=in_memory"]
    else:
        command += ["--runner=in_process"]
    env = {**os.environ, "PYTHONPATH": REPO}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "shard 0 of 2: done already" in result.stdout
    assert "shard 1 of 2: 1 videos ok, 0 partial, 1 skipped" in result.stdout
    assert not stale.exists() and not (out / ep.PARTS).exists()
    after = os.stat(shard0)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # another process (its own protobuf hash seed, weights from the same --seed) wrote shard 1
    assert _shard_bytes(out, 2) == _shard_bytes(two_shards, 2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == json.loads(open(os.path.join(two_shards, "manifest.json")).read())


def test_flow_stream_gives_one_percept_fewer_per_video(network, video_dir, one_shard, tmp_path):
    summary = _extract(network, video_dir, tmp_path, stream="flow", dtype="float32")
    assert summary["ok"] == 3
    rgb, flows = _records(one_shard[0], 1), _records(str(tmp_path), 1)
    for name in VIDEOS:
        count = len(rgb[name]["percepts"])
        assert flows[name]["percepts"].shape == (count - 1, 2048)
        assert flows[name]["frame_index"].tolist() == [STRIDE * k for k in range(count - 1)]
    extraction = json.loads((tmp_path / "manifest.json").read_text())["extraction"]
    assert (extraction["flow_method"], extraction["flow_bound"]) == ("farneback", 20.0)


def test_short_videos_are_skipped_and_other_settings_are_refused(network, video_dir, one_shard, tmp_path):
    summary = _extract(network, video_dir, tmp_path, frame_stride=128, min_frames=2, progress=True)
    rows = {row["video"]: row["status"] for row in percept_records.Manifest.read(tmp_path).videos}
    assert summary["ok"] == 1 and rows["B/b.avi"] == "ok"  # 165 frames: 2 at stride 128; the others 1
    assert rows["A/a.avi"] == "too short: 1 rgb percepts (1 frames at stride 128); --min_frames=2"
    with pytest.raises(ValueError, match="other settings.*frame_stride"):
        ep.prepare(_options(video_dir, one_shard[0], frame_stride=32), network=network)


def test_bad_flags_and_paths_fail_at_start_up_in_one_line(tmp_path, capsys):
    from pipelines import extract_percepts
    from video_lstm.core import cli

    def _fails(*arguments):
        capsys.readouterr()
        assert cli.call(extract_percepts, arguments) == 1
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith("extract_percepts: error:")]
        assert len(lines) == 1, err[-2000:]
        return lines[0]

    assert "--video_dir" in _fails("--dataset=folder", f"--video_dir={tmp_path / 'nowhere'}", f"--out={tmp_path}")
    assert "--direct_num_workers=2" in _fails("--dataset=folder", f"--video_dir={tmp_path}",
                                              f"--out={tmp_path / 'o'}", "--runner=in_process", "--",
                                              "--direct_num_workers=2")
    assert "weights" in _fails("--dataset=folder", f"--video_dir={tmp_path}", f"--out={tmp_path / 'o'}",
                               f"--percept_weights={tmp_path / 'vgg.h5'}")
    if not flow.tvl1_available():
        assert "cv2.optflow" in _fails("--dataset=folder", f"--video_dir={tmp_path}", f"--out={tmp_path / 'o'}",
                                       "--stream=flow", "--flow_method=tvl1")


def test_a_model_trains_and_evaluates_on_the_extracted_cache(one_shard, tmp_path):
    """The extractor's cache is what --dataset=percepts reads."""
    from pipelines import sources
    from video_lstm.config import make
    from video_lstm.training import loop

    out, _ = one_shard
    config = make(dataset="percepts", percepts_dir=out, input_length=1, future_length=1, batch_size=2, units=8,
                  loss="squared_error", steps=2, checkpoint_every=2, eval_sequences=4, jit_compile=False)
    assert config.input_spec.frame_shape == (2048,)
    batch = next(iter(sources.build(config).train_dataset(num_steps=1)))
    assert batch["frames"].shape == (2, 1, 2048)
    metrics = loop.train_and_evaluate(config, str(tmp_path / "run"), verbose=0)
    assert metrics["test_set"] == "train_cache" and metrics["num_sequences"] >= 3
    assert np.isfinite(metrics["mse_per_frame"])


# -- no silent wrong answers: listings, partial decodes, concurrent processes ---------------


def _small_folder(root, names, frames=70):
    for seed, name in enumerate(names):
        (root / os.path.dirname(name)).mkdir(parents=True, exist_ok=True)
        write_video(root / name, moving_shapes(frames, 24, 32, seed=seed))
    return str(root)


def test_two_files_of_one_name_are_two_videos_and_a_changed_folder_is_refused(network, tmp_path):
    video_dir = _small_folder(tmp_path / "v", ["IceDancing/v_same.avi", "IceDancing/v_same.mp4", "Run/r.avi"])
    out = tmp_path / "out"
    summary = _extract(network, video_dir, out, num_shards=2)
    rows = percept_records.Manifest.read(out).videos
    assert [row["video"] for row in rows] == ["IceDancing/v_same.avi", "IceDancing/v_same.mp4", "Run/r.avi"]
    assert summary["ok"] == 3 and summary["skipped"] == 0 and len(_records(out, 2)) == 3
    write_video(tmp_path / "v" / "IceDancing" / "v_new.avi", moving_shapes(70, 24, 32, seed=9))
    with pytest.raises(ValueError, match=r"--out=.* was made from 3 videos \(manifest.json\); --video_dir now "
                                         r"lists 4 \(added: IceDancing/v_new.avi; removed: none\): a percept cache "
                                         r"is not resharded in place .*, so use a new --out, or restore the folder"):
        ep.prepare(_options(video_dir, out, num_shards=2), network=network)
    os.remove(out / "manifest.json")  # the shard manifests say it too
    with pytest.raises(ValueError, match=r"made from 2 videos \(manifest-00000-of-00002.json\); --video_dir now "
                                         r"lists 2 for that shard \(added: IceDancing/v_new.avi"):
        ep.prepare(_options(video_dir, out, num_shards=2), network=network)
    _extract(network, str(tmp_path / "v"), tmp_path / "again", num_shards=2)
    out = tmp_path / "again"  # made from the 4 videos
    os.remove(tmp_path / "v" / "Run" / "r.avi")
    write_video(tmp_path / "v" / "Run" / "s.avi", moving_shapes(70, 24, 32, seed=8))
    with pytest.raises(ValueError, match=r"--out=.* was made from 4 videos \(manifest.json\); --video_dir now lists 4 "
                                         r"\(added: Run/s.avi; removed: Run/r.avi\)"):
        ep.prepare(_options(video_dir, out, num_shards=2), network=network)


def test_a_truncated_video_is_stored_as_partial_and_counted(network, tmp_path, capsys, caplog):
    import logging

    from pipelines.sources import percepts as percepts_source

    video_dir = _small_folder(tmp_path / "v", ["A/whole.avi", "A/cut.avi"], frames=200)
    cut = tmp_path / "v" / "A" / "cut.avi"
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    declared, decoded = video_decode.probe(str(cut)).frame_count, video_decode.count_frames(str(cut))
    assert declared == 200 and 0 < decoded < 200
    caplog.set_level(logging.WARNING, logger="absl")
    summary = _extract(network, video_dir, tmp_path / "out", frame_stride=STRIDE)
    rows = {row["video"]: row for row in percept_records.Manifest.read(tmp_path / "out").videos}
    kept = math.ceil(decoded / STRIDE)
    assert rows["A/cut.avi"] == {"video": "A/cut.avi", "label": 0, "frames": kept, "shard": 0, "status": "partial",
                                 "frames_read": decoded, "frames_declared": 200,
                                 "fingerprint": fingerprints.fingerprint(cut)}
    assert rows["A/whole.avi"]["status"] == "ok" and "frames_read" not in rows["A/whole.avi"]
    assert (summary["ok"], summary["partial"], summary["skipped"]) == (1, 1, 0)
    assert len(_records(tmp_path / "out", 1)["A/cut.avi"]["percepts"]) == kept
    out = capsys.readouterr().out
    assert "1 videos ok, 1 partial, 0 skipped" in out and "manifest.json: 1 videos ok, 1 partial" in out
    warnings = [r.getMessage() for r in caplog.records if "decoded partly" in r.getMessage()]
    assert len(warnings) == 1 and f"{decoded} of the 200 frames its container declares" in warnings[0]
    cache = percepts_source.Cache(str(tmp_path / "out"), clip_length=2)
    assert [row["video"] for row in cache.rows] == ["A/cut.avi", "A/whole.avi"]


def test_an_out_another_extraction_holds_is_refused_and_left_as_it_is(network, tmp_path):
    import fcntl

    from helpers import tree_hashes

    video_dir = _small_folder(tmp_path / "v", ["A/a.avi", "B/c.avi"])
    out = tmp_path / "out"
    _extract(network, video_dir, out, num_shards=2)
    (out / "manifest.json").unlink()  # as if that other extraction had not merged yet
    with open(out / ep.LOCK, "a") as held:  # another process, extracting into --out
        fcntl.flock(held, fcntl.LOCK_EX)
        before = tree_hashes(out)
        with pytest.raises(ValueError, match=r"--out=.* is being written by another extraction \(it holds "
                                             r".*\.extract\.lock\); wait for it to end, or use another --out"):
            _extract(network, video_dir, out, num_shards=2)
    assert tree_hashes(out) == before
    again = _extract(network, video_dir, out, num_shards=2)  # released: nothing to extract, only the merge
    assert again["written"] == [] and again["ok"] == 2 and (out / "manifest.json").exists()


def test_a_folder_subset_is_its_held_out_split(network, tmp_path):
    from pipelines import action_datasets

    names = [f"A/{i}.avi" for i in range(5)] + [f"B/{i}.avi" for i in range(3)]
    video_dir = _small_folder(tmp_path / "v", names, frames=10)
    test = ep.prepare(_options(video_dir, tmp_path / "t", subset="test", test_fraction=0.4), network=network)
    train = ep.prepare(_options(video_dir, tmp_path / "r", subset="train", test_fraction=0.4), network=network)
    held = action_datasets.held_out(action_datasets.folder(video_dir).items, 0.4)
    assert {i.video_id for i in test.dataset.items} == held and len(held) == 2 + 1
    assert not held & {i.video_id for i in train.dataset.items} and len(train.dataset) == 5
    assert test.extraction["test_fraction"] == 0.4 and test.manifest.subset == "test"
    assert "test_fraction" not in ep.prepare(_options(video_dir, tmp_path / "a"), network=network).extraction
    with pytest.raises(ValueError, match=r"--test_fraction=1.5; expected a fraction in \[0, 1\)"):
        ep.prepare(_options(video_dir, tmp_path / "x", subset="test", test_fraction=1.5), network=network)
    with pytest.raises(ValueError, match="--test_fraction=0: nothing is held out"):
        ep.prepare(_options(video_dir, tmp_path / "x", subset="test", test_fraction=0.0), network=network)


def test_export_with_convnet_rebuilds_the_random_network_of_a_cache_from_its_seed(one_shard, video_dir, tmp_path):
    """--with_convnet of a run on a cache of random weights: the network is rebuilt from the
    --seed the cache's manifest records, as prepare drew it: equal features (float16 storage)."""
    from export import saved_model as export_encoder
    from pipelines import percept_networks
    from video_lstm import rundir
    from video_lstm.config import make
    from video_lstm.training import loop

    out, _ = one_shard
    config = make(dataset="percepts", percepts_dir=out, input_length=1, future_length=1, batch_size=2, units=4,
                  loss="squared_error", steps=1, checkpoint_every=1, eval_sequences=2, jit_compile=False)
    run = str(tmp_path / "run")
    loop.train(config, run, verbose=0)
    data = rundir.read_json(run, rundir.DATA)
    assert (data["weights"], data["extraction_seed"]) == ("random", 0)
    rebuilt = export_encoder.percept_network_of(run)
    assert (rebuilt.name, rebuilt.weights) == ("inception_v3", "random")
    name = next(iter(VIDEOS))
    frames = np.stack(list(video_decode.read_frames(os.path.join(video_dir, name), stride=STRIDE, threads=1)))
    stored = _records(out, 1)[name]["percepts"]
    np.testing.assert_allclose(percept_networks.extract(rebuilt, frames), stored, rtol=2e-3, atol=2e-3)
    del data["extraction_seed"]  # a data.json of before: the cache's manifest still says
    rundir.write_json(run, rundir.DATA, data)
    assert export_encoder.percept_network_of(run).weights == "random"
    data["percepts_dir"] = str(tmp_path / "gone")  # the cache moved: refused, naming what to pass
    rundir.write_json(run, rundir.DATA, data)
    with pytest.raises(export_encoder.ExportError, match="seed is not recorded .* pass --percept_weights=PATH"):
        export_encoder.percept_network_of(run)


# -- fingerprints and what a listing does not take (issue 29) -------------------------------------


def test_a_changed_video_has_its_shard_extracted_again_and_refused_entries_are_named(network, tmp_path, capsys):
    video_dir = _small_folder(tmp_path / "v", ["A/a.avi", "A/b.avi", "B/c.avi", "B/d.avi"], frames=40)
    os.mkfifo(tmp_path / "v" / "A" / "pipe.avi")
    (tmp_path / "v" / "B" / "folder.avi").mkdir()
    out = tmp_path / "out"
    _extract(network, video_dir, out, num_shards=2)
    printed = capsys.readouterr().out
    assert "not listed: 2 entries of folder" in printed
    manifest = json.load(open(out / "manifest.json"))
    assert manifest["refused"] == [{"entry": "A/pipe.avi", "reason": "not a regular file (a FIFO)"},
                                   {"entry": "B/folder.avi", "reason": "a folder, not a video file"}]
    rows = {row["video"]: row for row in manifest["videos"]}
    assert rows["B/c.avi"]["fingerprint"] == fingerprints.fingerprint(tmp_path / "v" / "B" / "c.avi")
    before = _file_hashes_of(out)

    # B/c.avi (list index 2: shard 0) replaced under its name: shard 0 again, shard 1 kept
    write_video(tmp_path / "v" / "B" / "c.avi", moving_shapes(30, 24, 32, seed=42))
    summary = _extract(network, video_dir, out, num_shards=2)
    printed = capsys.readouterr().out
    assert "shard 0 of 2: 1 videos changed since it was extracted (B/c.avi (size" in printed
    assert "shard 1 of 2: done already" in printed and summary["written"] == [0]
    after = _file_hashes_of(out)
    assert after["percepts-00001-of-00002.tfrecord"] == before["percepts-00001-of-00002.tfrecord"]
    assert after["percepts-00000-of-00002.tfrecord"] != before["percepts-00000-of-00002.tfrecord"]
    assert len(_records(out, 2)["B/c.avi"]["percepts"]) == math.ceil(30 / STRIDE)
    # the same bytes as a new extraction of the folder as it is now
    _extract(network, video_dir, tmp_path / "fresh", num_shards=2)
    assert _file_hashes_of(tmp_path / "fresh") == after
    # and nothing left to do
    assert _extract(network, video_dir, out, num_shards=2)["written"] == []


def _file_hashes_of(out):
    return {name: hashlib.sha256(open(os.path.join(out, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(out)) if os.path.isfile(os.path.join(out, name)) and name != ep.LOCK}


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tf2onnx") is None,
                    reason="the [onnx] extra is not installed")
def test_an_extraction_by_onnxruntime_records_its_engine_and_a_resume_by_another_is_refused(video_dir, tmp_path):
    """--percept_engine=onnxruntime: the cache holds TensorFlow's percepts to float32 round-off,
    its manifest names the engine, and resuming it with another engine is refused by name."""
    network = tiny_network("inception_v3")
    _extract(network, video_dir, tmp_path / "tf", min_frames=1)
    _extract(network, video_dir, tmp_path / "ort", min_frames=1, percept_engine="onnxruntime")
    def extraction(out):
        return json.loads((out / percept_records.MANIFEST).read_text())["extraction"]

    assert "engine" not in extraction(tmp_path / "tf")  # as caches were written before engines
    assert extraction(tmp_path / "ort")["engine"] == "onnxruntime"
    by_tf, by_ort = _records(tmp_path / "tf", 1), _records(tmp_path / "ort", 1)
    assert sorted(by_tf) == sorted(by_ort) and by_tf
    for name, record in by_tf.items():
        np.testing.assert_allclose(by_ort[name]["percepts"], record["percepts"], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="other settings.*engine"):
        ep.prepare(_options(video_dir, tmp_path / "ort", min_frames=1), network=network)
