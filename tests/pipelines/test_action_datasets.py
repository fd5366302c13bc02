"""Tests of pipelines.action_datasets: UCF-101 / HMDB-51 splits, folders, subsets.

On split files written in the official layout (helpers.write_ucf101_splits,
write_hmdb51_splits) and tiny synthetic ones, with empty "videos" under tmp_path.
The real split files, where staged ($VIDEO_LSTM_DATA_DIR: ucf101/ucfTrainTestlist,
hmdb51/splits), are an extra check of their published counts.
"""

import logging
import os

import numpy as np
import pytest
from helpers import write_hmdb51_splits, write_ucf101_splits

from pipelines import action_datasets as ad

UCF_CLASSES = ("ApplyEyeMakeup", "Archery", "YoYo")


def _data_dir(*parts):
    """$VIDEO_LSTM_DATA_DIR/<parts>, or skip the test with the reason."""
    base = os.environ.get(ad.DATA_DIR_ENV)
    if not base or not os.path.exists(os.path.join(base, *parts)):
        pytest.skip(f"real split files absent: set ${ad.DATA_DIR_ENV} to a folder with {'/'.join(parts)}")
    return os.path.join(base, *parts)


def _count_lines(path, keep=lambda fields: True):
    with open(path, encoding="utf-8") as file:
        return sum(1 for line in file if line.split() and keep(line.split()))


def _write(path, lines, newline="\r\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(line + newline for line in lines).encode())


def _touch(root, relative_paths):
    for relative_path in relative_paths:
        (root / relative_path).parent.mkdir(parents=True, exist_ok=True)
        (root / relative_path).write_bytes(b"")


@pytest.fixture
def tiny_ucf(tmp_path, monkeypatch):
    """A 3-class UCF-101 layout with CRLF split files and empty videos; returns root."""
    monkeypatch.delenv(ad.DATA_DIR_ENV, raising=False)
    root = tmp_path / "UCF-101"
    lists = root / ad.UCF101_SPLIT_FOLDER
    _write(lists / "classInd.txt", [f"{i + 1} {name}" for i, name in enumerate(UCF_CLASSES)])
    train = [f"{c}/v_{c}_g0{g}_c01.avi {i + 1}" for i, c in enumerate(UCF_CLASSES) for g in (1, 2, 3)]
    _write(lists / "trainlist01.txt", train[:4] + [""] + train[4:])  # a blank line is ignored
    _write(lists / "testlist01.txt", [f"{c}/v_{c}_g09_c01.avi" for c in UCF_CLASSES])
    _touch(root, [line.split()[0] for line in train] + [f"{c}/v_{c}_g09_c01.avi" for c in UCF_CLASSES])
    return root


# -- split files of the official layout -----------------------------------------------


UCF_GENERATED = ("ApplyEyeMakeup", "Basketball", "YoYo")
HMDB_GENERATED = ["wave", "brush_hair", "kick_ball"]  # class_list.txt's order, not sorted


@pytest.mark.parametrize("split", [1, 2, 3])
def test_ucf101_splits_partition_the_videos_with_labels_from_class_ind(tmp_path, split):
    split_dir = tmp_path / ad.UCF101_SPLIT_FOLDER
    train_paths, test_paths = write_ucf101_splits(split_dir, UCF_GENERATED)[split]
    train = ad.ucf101("/nonexistent/UCF-101", split, "train", split_dir=split_dir, missing="keep")
    test = ad.ucf101("/nonexistent/UCF-101", split, "test", split_dir=split_dir, missing="keep")
    assert train.num_classes == test.num_classes == 3 and train.classes == list(UCF_GENERATED)
    assert [i.relative_path for i in train.items] == train_paths and len(train) == 3 * 4 * 2
    assert [i.relative_path for i in test.items] == test_paths and len(test) == 3 * 2 * 2
    assert not {i.video_id for i in train.items} & {i.video_id for i in test.items}
    for dataset in (train, test):  # test labels come from the folder names, train labels from the lines
        assert sorted(set(dataset.labels.tolist())) == [0, 1, 2]
        assert all(dataset.classes[item.label] == item.class_name for item in dataset.items)
    first = "v_ApplyEyeMakeup_g03_c01" if split == 1 else "v_ApplyEyeMakeup_g01_c01"
    assert train.items[0] == ad.VideoItem(
        relative_path=f"ApplyEyeMakeup/{first}.avi",
        path=f"/nonexistent/UCF-101/ApplyEyeMakeup/{first}.avi",
        label=0,
        class_name="ApplyEyeMakeup",
        video_id=f"ApplyEyeMakeup/{first}.avi",
    )
    assert (train.items[-1].class_name, train.items[-1].label) == ("YoYo", 2)
    # CRLF leaves no "\r" in names.
    assert not any("\r" in name for name in train.classes)
    assert not any("\r" in item.relative_path for item in train.items + test.items)


def test_split_files_are_found_under_the_data_dir(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    _, ucf_test = write_ucf101_splits(data_dir / "ucf101" / ad.UCF101_SPLIT_FOLDER, UCF_GENERATED)[1]
    hmdb_train, _ = write_hmdb51_splits(data_dir / "hmdb51" / ad.HMDB51_SPLIT_FOLDER, HMDB_GENERATED)[2]
    videos = tmp_path / "videos"
    videos.mkdir()
    monkeypatch.delenv(ad.DATA_DIR_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="classInd.txt"):
        ad.ucf101(videos, 1, "test", missing="keep")  # nothing beside the videos, no data dir
    monkeypatch.setenv(ad.DATA_DIR_ENV, str(data_dir))
    dataset = ad.ucf101(videos, 1, "test", missing="keep")
    assert [i.relative_path for i in dataset.items] == ucf_test
    assert all(i.path.startswith(str(videos) + os.sep) for i in dataset.items)
    dataset = ad.hmdb51(videos, 2, "train", missing="keep")
    assert [i.relative_path for i in dataset.items] == hmdb_train


@pytest.mark.parametrize("split", [1, 2, 3])
def test_hmdb51_splits_follow_their_marks_and_the_class_list_order(tmp_path, split):
    split_dir = tmp_path / ad.HMDB51_SPLIT_FOLDER
    train_paths, test_paths = write_hmdb51_splits(split_dir, HMDB_GENERATED)[split]
    train = ad.hmdb51("/videos", split, "train", split_dir=split_dir, missing="keep")
    test = ad.hmdb51("/videos", split, "test", split_dir=split_dir, missing="keep")
    assert train.classes == test.classes == HMDB_GENERATED  # padded names stripped, their order kept
    assert [i.relative_path for i in train.items] == train_paths and len(train) == 3 * 2
    assert [i.relative_path for i in test.items] == test_paths and len(test) == 3 * 2
    assert not {i.video_id for i in train.items} & {i.video_id for i in test.items}
    assert set(train.labels) == set(range(3)) == set(test.labels)
    first = train.items[0]
    assert first.class_name == "wave" and first.label == 0
    assert first.path == os.path.join("/videos", "wave", first.relative_path.split("/")[1])


# -- the real split files (staged: an extra check) ----------------------------------------


def test_ucf101_real_split_files_hold_the_published_counts():
    split_dir = _data_dir("ucf101", ad.UCF101_SPLIT_FOLDER)
    train = ad.ucf101("/nonexistent/UCF-101", 1, "train", split_dir=split_dir, missing="keep")
    test = ad.ucf101("/nonexistent/UCF-101", 1, "test", split_dir=split_dir, missing="keep")
    assert train.num_classes == test.num_classes == 101
    assert len(train) == _count_lines(os.path.join(split_dir, "trainlist01.txt")) == 9537
    assert len(test) == _count_lines(os.path.join(split_dir, "testlist01.txt")) == 3783
    for dataset in (train, test):
        assert len(np.unique(dataset.labels)) == 101 and dataset.labels.max() == 100
    assert not {item.video_id for item in train.items} & {item.video_id for item in test.items}
    first = train.items[0]  # "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n"
    assert (first.relative_path, first.label) == ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 0)
    assert (train.items[-1].class_name, train.items[-1].label) == ("YoYo", 100)
    assert not any("\r" in item.relative_path for item in train.items + test.items)
    for split in (2, 3):
        train = ad.ucf101("/videos", split, "train", split_dir=split_dir, missing="keep")
        test = ad.ucf101("/videos", split, "test", split_dir=split_dir, missing="keep")
        assert len(train) == _count_lines(os.path.join(split_dir, f"trainlist0{split}.txt"))
        assert len(test) == _count_lines(os.path.join(split_dir, f"testlist0{split}.txt"))
        assert len(train) + len(test) == 13320


def test_hmdb51_real_split_files_hold_the_published_counts():
    split_dir = _data_dir("hmdb51", ad.HMDB51_SPLIT_FOLDER)
    train = ad.hmdb51("/videos", 1, "train", split_dir=split_dir, missing="keep")
    test = ad.hmdb51("/videos", 1, "test", split_dir=split_dir, missing="keep")
    files = [os.path.join(split_dir, f"{c}_test_split1.txt") for c in train.classes]
    assert len(train) == sum(_count_lines(f, lambda fields: fields[1] == "1") for f in files) == 3570
    assert len(test) == sum(_count_lines(f, lambda fields: fields[1] == "2") for f in files) == 1530
    with open(os.path.join(split_dir, ad.HMDB51_CLASS_LIST)) as file:
        listed = [line.strip() for line in file if line.strip()]  # "kick_ball  " has trailing spaces
    assert train.classes == test.classes == listed and len(listed) == 51
    assert set(train.labels) == set(range(51)) == set(test.labels)
    assert (train.items[0].class_name, train.items[0].label) == ("brush_hair", 0)
    assert not {i.video_id for i in train.items} & {i.video_id for i in test.items}


# -- synthetic UCF-101 / HMDB-51 -------------------------------------------------


def test_ucf101_synthetic_crlf_blank_lines_and_test_labels_from_folders(tiny_ucf):
    train = ad.ucf101(tiny_ucf, 1, "train")
    test = ad.ucf101(tiny_ucf, 1, "test")
    assert train.classes == list(UCF_CLASSES) and len(train) == 9
    np.testing.assert_array_equal(train.labels, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(test.labels, [0, 1, 2])
    assert all(os.path.isfile(item.path) for item in train.items + test.items)
    assert test.describe() == "ucf101 split 1 test"


def test_ucf101_missing_videos_skip_error_and_check_present(tiny_ucf, caplog):
    for relative_path in ("Archery/v_Archery_g01_c01.avi", "YoYo/v_YoYo_g03_c01.avi"):
        (tiny_ucf / relative_path).unlink()
    kept = ad.ucf101(tiny_ucf, missing="keep")
    present, missing = ad.check_present(kept)
    assert (len(present), len(missing)) == (7, 2)
    assert [item.video_id for item in missing] == ["Archery/v_Archery_g01_c01.avi", "YoYo/v_YoYo_g03_c01.avi"]

    with caplog.at_level(logging.WARNING):
        skipped = ad.ucf101(tiny_ucf, missing="skip")
    assert skipped.items == present
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 of 9 videos" in warnings[0].getMessage()

    with pytest.raises(FileNotFoundError, match=r"2 of 9 videos .*Archery/v_Archery_g01_c01.avi.*'skip'"):
        ad.ucf101(tiny_ucf, missing="error")
    with pytest.raises(FileNotFoundError, match=r"9 of 9 videos .* not under .*elsewhere"):
        ad.ucf101(tiny_ucf.parent / "elsewhere", split_dir=tiny_ucf / ad.UCF101_SPLIT_FOLDER, missing="skip")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": 4}, r"split=4; expected one of \(1, 2, 3\)"),
        ({"split": "1"}, r"split='1'"),
        ({"subset": "val"}, r"subset='val'; expected one of \('train', 'test'\)"),
        ({"missing": "ignore"}, r"missing='ignore'"),
    ],
)
def test_bad_arguments(tiny_ucf, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ad.ucf101(tiny_ucf, **kwargs)
    with pytest.raises(ValueError, match=match):
        ad.hmdb51(tiny_ucf, **kwargs)


def test_missing_split_files_name_the_file_where_looked_and_where_to_download(tiny_ucf, tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ad.ucf101(tiny_ucf, split=2)
    message = str(info.value)
    assert "trainlist02.txt" in message and str(tiny_ucf / ad.UCF101_SPLIT_FOLDER) in message
    assert "$VIDEO_LSTM_DATA_DIR/ucf101/ucfTrainTestlist" in message and ad.UCF101_URL in message
    with pytest.raises(FileNotFoundError, match=r"_test_split1.txt.*" + str(tmp_path) + ".*serre-lab"):
        ad.hmdb51(tmp_path)


@pytest.mark.parametrize(
    "line, match",
    [
        ("Bowling/v_Bowling_g01_c01.avi 4", r"trainlist01.txt:2: class 'Bowling' is not in classInd.txt"),
        ("Archery/v_Archery_g01_c01.avi 3", r"trainlist01.txt:2: index 3 but class 'Archery' is index 2"),
        ("Archery/v_Archery_g01_c01.avi two", r"trainlist01.txt:2: malformed line .*expected"),
        ("v_Archery_g01_c01.avi 2", r"trainlist01.txt:2: malformed line"),
    ],
)
def test_ucf101_bad_lines_name_file_and_line(tiny_ucf, line, match):
    lines = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1", line]
    _write(tiny_ucf / ad.UCF101_SPLIT_FOLDER / "trainlist01.txt", lines)
    with pytest.raises(ValueError, match=match):
        ad.ucf101(tiny_ucf, missing="keep")


def test_ucf101_bad_class_index(tiny_ucf):
    _write(tiny_ucf / ad.UCF101_SPLIT_FOLDER / "classInd.txt", ["1 ApplyEyeMakeup", "3 Archery"])
    with pytest.raises(ValueError, match=r"classInd.txt: class indices \[1, 3\]; expected 1..2"):
        ad.ucf101(tiny_ucf, missing="keep")


def test_hmdb51_synthetic_marks_class_order_and_bad_lines(tmp_path):
    splits = tmp_path / "splits"
    _write(splits / "kick_ball_test_split2.txt", ["a.avi 1 ", "b.avi 2 ", "c.avi 0 "], newline="\n")
    _write(splits / "kick_test_split2.txt", ["d.avi 2", "", "e.avi 1"], newline="\n")
    _touch(tmp_path, ["kick_ball/a.avi", "kick_ball/b.avi", "kick/d.avi"])  # kick/e.avi missing
    train = ad.hmdb51(tmp_path, split=2, subset="train", missing="keep")
    assert train.classes == ["kick", "kick_ball"]  # no class_list.txt: sorted
    assert [(i.relative_path, i.label) for i in train.items] == [("kick/e.avi", 0), ("kick_ball/a.avi", 1)]
    test = ad.hmdb51(tmp_path, split=2, subset="test", missing="error")
    assert [i.video_id for i in test.items] == ["kick/d.avi", "kick_ball/b.avi"]
    skipped = ad.hmdb51(tmp_path, split=2, missing="skip")
    assert [i.relative_path for i in skipped.items] == ["kick_ball/a.avi"]

    _write(splits / ad.HMDB51_CLASS_LIST, ["kick_ball  ", "kick"])  # its order wins
    assert ad.hmdb51(tmp_path, split=2, missing="keep").classes == ["kick_ball", "kick"]
    _write(splits / ad.HMDB51_CLASS_LIST, ["kick_ball", "kick", "wave"])
    with pytest.raises(FileNotFoundError, match=r"wave_test_split2.txt for class 'wave' is not in"):
        ad.hmdb51(tmp_path, split=2, missing="keep")
    (splits / ad.HMDB51_CLASS_LIST).unlink()
    _write(splits / "kick_test_split2.txt", ["d.avi 2", "e.avi 3"])
    with pytest.raises(ValueError, match=r"kick_test_split2.txt:2: malformed line 'e.avi 3'; expected"):
        ad.hmdb51(tmp_path, split=2, missing="keep")


# -- folders ---------------------------------------------------------------------------


def test_folder_classes_sorted_order_deterministic_extensions(tmp_path, caplog):
    _touch(tmp_path, ["walk/b.mp4", "walk/a.AVI", "walk/notes.txt", "run/x.avi", "run/.hidden.avi"])
    _touch(tmp_path, ["jump/z.mkv"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "readme.avi").write_bytes(b"")  # not in a class folder
    with caplog.at_level(logging.WARNING):
        dataset = ad.folder(tmp_path)
    assert dataset.classes == ["jump", "run", "walk"] and dataset.split is None
    assert [(i.relative_path, i.label) for i in dataset.items] == [
        ("jump/z.mkv", 0),
        ("run/x.avi", 1),
        ("walk/a.AVI", 2),
        ("walk/b.mp4", 2),
    ]
    assert dataset.items[2].video_id == "walk/a.AVI" and dataset.items[2].path == str(tmp_path / "walk" / "a.AVI")
    assert dict(dataset.refused) == {
        "empty": "a subfolder holding no video: not a class",
        "readme.avi": "a video beside the class subfolders, in none of them",
        "walk/notes.txt": "not a video: its extension is not one of .avi, .mp4, .mkv, .mov, .webm, .mpg, .mpeg, .m4v",
    }
    assert ad.folder(tmp_path) == dataset
    assert [i.relative_path for i in ad.folder(tmp_path, extensions=(".mp4",)).items] == ["walk/b.mp4"]
    with pytest.raises(ValueError, match=r"no videos \(.webm\) in class subfolders of"):
        ad.folder(tmp_path, extensions=(".webm",))
    with pytest.raises(FileNotFoundError, match=r"video folder .*nope does not exist"):
        ad.folder(tmp_path / "nope")


# -- labelled subsets ---------------------------------------------------------------


def _items(counts):
    """Synthetic VideoItems: counts[label] items of each label, interleaved."""
    items = [
        ad.VideoItem(f"c{label}/v{k}.avi", f"/v/c{label}/v{k}.avi", label, f"c{label}", f"v{label}_{k}")
        for k in range(max(counts))
        for label, count in enumerate(counts)
        if k < count
    ]
    return items


def test_labelled_subset_balanced_seeded_nested():
    items = _items([10, 7, 12])
    subset = ad.labelled_subset(items, per_class=5, seed=3)
    assert np.bincount([i.label for i in subset]).tolist() == [5, 5, 5]
    assert [items.index(i) for i in subset] == sorted(items.index(i) for i in subset)  # items' order
    assert ad.labelled_subset(items, 5, seed=3) == subset
    assert ad.labelled_subset(items, 5, seed=4) != subset
    assert set(map(id, ad.labelled_subset(items, 2, seed=3))) <= set(map(id, subset))  # nested in N
    assert len(ad.labelled_subset(items, 7, seed=0)) == 21
    with pytest.raises(ValueError, match=r"class 'c1' \(label 1\) has 7 items; per_class=8"):
        ad.labelled_subset(items, 8, seed=0)
    with pytest.raises(ValueError, match=r"per_class=0; expected an int >= 1"):
        ad.labelled_subset(items, 0, seed=0)


def test_a_videos_identity_is_its_relative_path_with_extension_and_a_clash_is_refused(tmp_path):
    _touch(tmp_path, ["IceDancing/v_same.avi", "IceDancing/v_same.mkv"])
    dataset = ad.folder(tmp_path)
    assert [i.video_id for i in dataset.items] == ["IceDancing/v_same.avi", "IceDancing/v_same.mkv"]
    split_dir = tmp_path / ad.UCF101_SPLIT_FOLDER
    _write(split_dir / "classInd.txt", ["1 IceDancing"])
    _write(split_dir / "trainlist01.txt", ["IceDancing/v_same.avi 1", "IceDancing/v_same.mkv 1"])
    _write(split_dir / "testlist01.txt", ["IceDancing/v_same.avi", "IceDancing/v_same.avi"])
    assert len({i.video_id for i in ad.ucf101(tmp_path, 1, "train").items}) == 2
    with pytest.raises(ValueError, match=r"testlist01.txt:2: video IceDancing/v_same.avi is listed twice"):
        ad.ucf101(tmp_path, 1, "test")
    item = dataset.items[0]
    with pytest.raises(ValueError, match=r"video IceDancing/v_same.avi is listed twice"):
        ad.ActionDataset("folder", None, None, ["IceDancing"], [item, item], str(tmp_path))


def test_a_folder_holds_out_a_stable_hashed_fraction_of_each_class(tmp_path):
    _touch(tmp_path, [f"a/{i:02d}.avi" for i in range(10)] + ["b/x.avi", "b/y.avi"] + ["c/only.avi"])
    train = ad.folder(tmp_path, subset="train", test_fraction=0.2)
    test = ad.folder(tmp_path, subset="test", test_fraction=0.2)
    everything = ad.folder(tmp_path)
    ids = lambda d: [i.video_id for i in d.items]  # noqa: E731
    assert sorted(ids(train) + ids(test)) == sorted(ids(everything)) and not set(ids(train)) & set(ids(test))
    assert train.classes == test.classes == ["a", "b", "c"]
    by_class = lambda d: {c: sum(i.class_name == c for i in d.items) for c in d.classes}  # noqa: E731
    assert by_class(test) == {"a": 2, "b": 1, "c": 0}  # round(0.2 * 10); at least 1 of 2; none of 1
    assert test.describe() == f"folder {tmp_path} test (held-out 20% per class, 3 videos)"
    # the smallest sha1 of the relative paths, whatever else the folder holds
    import hashlib

    ranked = sorted((f"a/{i:02d}.avi" for i in range(10)), key=lambda p: hashlib.sha1(p.encode()).hexdigest())
    assert [i.video_id for i in test.items if i.class_name == "a"] == sorted(ranked[:2])
    _touch(tmp_path, [f"a/new{i}.avi" for i in range(2)])  # 12 videos: still 2 held out
    grown = ad.folder(tmp_path, subset="test", test_fraction=0.2)
    old = {i.video_id for i in test.items}
    assert len([i for i in grown.items if i.class_name == "a"]) == 2
    assert all(i.video_id in old or i.video_id.startswith("a/new") for i in grown.items)
    assert ad.folder(tmp_path, subset="test", test_fraction=0.0).items == []
    with pytest.raises(ValueError, match=r"test_fraction=1.0; expected a fraction in \[0, 1\)"):
        ad.folder(tmp_path, subset="test", test_fraction=1.0)
    with pytest.raises(ValueError, match="subset='all'"):
        ad.folder(tmp_path, subset="all")


# -- what a listing does not take, and containment (issue 29) ---------------------------


def test_a_folder_names_every_entry_it_does_not_take_with_its_reason(tmp_path):
    _touch(tmp_path, ["A/a.avi", "A/b.avi", "A/nested/deep.avi", "B/c.avi"])
    (tmp_path / "A" / "folder.avi").mkdir()
    os.mkfifo(tmp_path / "A" / "pipe.avi")
    os.symlink("loop.avi", tmp_path / "A" / "loop.avi")
    os.symlink("gone.avi", tmp_path / "A" / "broken.avi")
    os.symlink("a.avi", tmp_path / "A" / "inside.avi")  # stays inside the root: followed
    outside = tmp_path.parent / f"{tmp_path.name}_outside"
    _touch(outside, ["secret.avi", "C/d.avi"])
    os.symlink(outside / "secret.avi", tmp_path / "B" / "secret.avi")
    os.symlink(outside / "C", tmp_path / "C")  # a class folder linked outside the root
    dataset = ad.folder(tmp_path)
    assert [item.video_id for item in dataset.items] == ["A/a.avi", "A/b.avi", "A/inside.avi", "B/c.avi"]
    refused = dict(dataset.refused)
    assert refused["A/folder.avi"] == "a folder, not a video file"
    assert refused["A/pipe.avi"] == "not a regular file (a FIFO)"
    assert refused["A/loop.avi"] == "a symlink loop"
    assert refused["A/broken.avi"] == "a broken symlink (to gone.avi)"
    assert refused["A/nested"].startswith("a subfolder of a class folder")
    assert refused["B/secret.avi"].startswith("a symlink resolving outside") and "secret.avi" in refused["B/secret.avi"]
    assert refused["C"].startswith("a symlink resolving outside")
    assert len(dataset.refused) == 7
    line = ad.describe_refused(dataset)
    assert line.startswith("7 entries of folder") and "1 a symlink loop" in line and "\n" not in line
    # each subset reports the folder's refused entries; listing's "all" once
    for subset in ("train", "test"):
        assert ad.folder(tmp_path, subset=subset).refused == dataset.refused
    assert ad.listing("folder", tmp_path).refused == dataset.refused
    _touch(tmp_path / "clean", ["X/x.avi"])
    assert ad.describe_refused(ad.folder(tmp_path / "clean")) == ""


def test_a_flat_folder_of_videos_is_told_about_list_files(tmp_path):
    _touch(tmp_path, ["a.avi", "b.mp4"])
    with pytest.raises(ad.FlatFolderError, match=r"holds 2 video\(s\) directly \(a.avi, b.mp4\): put each class"):
        ad.folder(tmp_path)
    assert "--dataset=list --list_file=" in ad.LIST_FILE_HINT


def test_split_lines_reaching_outside_the_root_are_refused_and_links_out_skipped(tmp_path):
    root = tmp_path / "hmdb"
    _touch(root, ["walk/w1.avi", "walk/w2.avi", "run/r1.avi"])
    splits = tmp_path / "splits"
    splits.mkdir()
    _write(splits / "walk_test_split1.txt", ["w1.avi 1", "w2.avi 1"])
    _write(splits / "run_test_split1.txt", ["r1.avi 1"])
    assert len(ad.hmdb51(root, split_dir=splits)) == 3
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0")
    for line in ("../../etc/passwd 1", "/etc/passwd 1"):
        _write(splits / "walk_test_split1.txt", ["w1.avi 1", line])
        with pytest.raises(ValueError, match=r"walk_test_split1.txt:2: video walk/.*passwd reaches outside"):
            ad.hmdb51(root, split_dir=splits)
    # a symlink inside the root that resolves outside it: skipped with the reason, not opened
    _write(splits / "walk_test_split1.txt", ["w1.avi 1", "w2.avi 1"])
    (root / "walk" / "w2.avi").unlink()
    os.symlink(tmp_path / "etc" / "passwd", root / "walk" / "w2.avi")
    dataset = ad.hmdb51(root, split_dir=splits)
    assert [item.video_id for item in dataset.items] == ["run/r1.avi", "walk/w1.avi"]
    assert dataset.refused[0][0] == "walk/w2.avi" and "outside" in dataset.refused[0][1]


def test_ucf101_missing_and_special_entries_are_refused_once_in_listing_all(tiny_ucf):
    (tiny_ucf / "Archery/v_Archery_g01_c01.avi").unlink()
    os.mkfifo(tiny_ucf / "Archery/v_Archery_g01_c01.avi")
    (tiny_ucf / "YoYo/v_YoYo_g03_c01.avi").unlink()
    dataset = ad.listing("ucf101", tiny_ucf, subset="all")
    assert dict(dataset.refused) == {"Archery/v_Archery_g01_c01.avi": "not a regular file (a FIFO)",
                                     "YoYo/v_YoYo_g03_c01.avi": f"missing: not under {tiny_ucf}"}
    assert len(dataset) == 10


def test_a_list_file_may_name_any_path_but_refuses_what_is_no_file(tmp_path):
    outside = tmp_path / "elsewhere"
    _touch(outside, ["x.avi"])
    (tmp_path / "lists").mkdir()
    os.mkfifo(tmp_path / "lists" / "pipe.avi")
    (tmp_path / "lists" / "dir.avi").mkdir()
    _write(tmp_path / "lists" / "videos.txt", [str(outside / "x.avi"), "../elsewhere/x.avi", "pipe.avi", "dir.avi",
                                               "absent.avi"])
    dataset = ad.list_file(tmp_path / "lists" / "videos.txt")
    assert [item.video_id for item in dataset.items] == [str(outside / "x.avi"), "../elsewhere/x.avi", "absent.avi"]
    assert dict(dataset.refused) == {"pipe.avi": "not a regular file (a FIFO)", "dir.avi": "a folder, not a video file"}


def test_a_fingerprint_tells_a_changed_video(tmp_path):
    from pipelines import fingerprints

    path = tmp_path / "v.avi"
    path.write_bytes(b"a" * 100)
    first = fingerprints.fingerprint(path)
    assert set(first) == {"size", "mtime_ns", "ends_sha256"} and first["size"] == 100
    assert fingerprints.same(first, fingerprints.fingerprint(path))
    big = tmp_path / "big.avi"
    big.write_bytes(bytes(3 * fingerprints.MIB))
    before = fingerprints.fingerprint(big)
    with open(big, "r+b") as f:
        f.seek(3 * fingerprints.MIB - 1)
        f.write(b"x")  # the last byte
    os.utime(big, ns=(before["mtime_ns"], before["mtime_ns"]))  # mtime kept
    after = fingerprints.fingerprint(big)
    assert after["ends_sha256"] != before["ends_sha256"] and "ends_sha256" in fingerprints.changed(before, after)
    assert fingerprints.fingerprint(tmp_path / "absent.avi") is None
    os.mkfifo(tmp_path / "pipe.avi")
    assert fingerprints.fingerprint(tmp_path / "pipe.avi") is None  # not opened
    assert fingerprints.changed(first, None) == "not there any more"
