"""Action-recognition datasets as labelled video lists: UCF-101, HMDB-51, folders.

This module is the split and label side only: which videos belong to a split's
train or test subset, and their class. It opens no video (decoding is
`pipelines.video_decode`'s job) and imports no TensorFlow.

Four loaders, each returning an `ActionDataset` of `VideoItem`s:

* `ucf101(root, split, subset)`: the official UCF-101 recognition splits
  (`ucfTrainTestlist/`: `classInd.txt`, `trainlist0N.txt`, `testlist0N.txt`).
* `hmdb51(root, split, subset)`: the official HMDB-51 splits
  (`<class>_test_splitN.txt`, lines `video.avi 1|2|0`: 1 train, 2 test,
  0 unused), classes ordered as in `class_list.txt` when present.
* `folder(root, subset, test_fraction)`: any folder of class subfolders of
  videos; it has no split files, so `subset="train"` / `"test"` is a held-out
  split made here (`held_out`): per class, the videos are ranked by the sha1 of
  their relative path and the first round(test_fraction * n) are the test
  videos (at least one when the class has two or more and the fraction is > 0;
  a class of one video is train only). The rank of a video does not depend on
  the others, so adding videos moves none of the old ones between subsets
  except as the per-class count grows.
* `list_file(path)`: the videos a text file names, one path per line; no classes.

What a listing sees and does not take is never dropped without a word: it is in
`ActionDataset.refused` ((path, reason) pairs, once per listing), which every command
reports (`describe_refused`: one line; embed and extract_percepts also in their
manifests). Containment: a split names videos inside the dataset root; a line
that climbs out of it (`../../etc/passwd 1`, an absolute path) is an error for the whole
listing (file:line). An entry that resolves (realpath) outside the root, e.g. a symlink
in a folder or a class folder linked elsewhere, is refused (never opened), with that
reason; symlinks that stay inside the root are followed. A list file may name any path
(absolute, `..`): it is the user's own list.

`listing(...)` is what a command's flags name: one of the four, a split's train and
test lists together for `subset="all"`.

A video's identity (`VideoItem.video_id`) is its path relative to the dataset
root, extension included ("IceDancing/v_same.avi"), for every loader: records,
manifests and labels are keyed by it. A list naming one video twice is refused
(ValueError naming the video).

Split files are looked for in `split_dir` when given, else beside the videos
(`root/ucfTrainTestlist`, `root/splits`), else under `$VIDEO_LSTM_DATA_DIR`
(`ucf101/ucfTrainTestlist`, `hmdb51/splits`). Videos a split names but that are
not on disk: `missing="error"` (the default) raises, `missing="skip"` drops them
with one warning, `missing="keep"` does not look (to read the splits before the
videos are downloaded). `labelled_subset` draws the class-balanced few-labels
subsets.

    train = ucf101("/data/UCF-101", split=1, subset="train", missing="skip")
    train.num_classes, len(train), train.items[0].path, train.items[0].label
"""

import dataclasses
import errno
import hashlib
import os
import stat

import numpy as np
from absl import logging

from pipelines.digits import DATA_DIR_ENV

SPLITS = (1, 2, 3)
SUBSETS = ("train", "test")
LISTING_SUBSETS = (*SUBSETS, "all")  # `listing`: "all" is a split's train list, then its test list
DEFAULT_TEST_FRACTION = 0.2  # of a folder's videos per class, held out for testing
MISSING_MODES = ("error", "skip", "keep")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v")

UCF101_URL = "https://www.crcv.ucf.edu/data/UCF101.php"
HMDB51_URL = "https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/"
UCF101_SPLIT_FOLDER = "ucfTrainTestlist"
HMDB51_SPLIT_FOLDER = "splits"
HMDB51_CLASS_LIST = "class_list.txt"
# HMDB-51 split files mark each video: 1 train, 2 test, 0 in neither.
_HMDB51_MARKS = {"1": "train", "2": "test", "0": None}
# How many missing videos a message lists.
_MISSING_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class VideoItem:
    """One labelled video of a dataset.

    Attributes:
        relative_path: the path the split names, relative to the dataset root
            ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi"), "/"-separated.
        path: absolute path of the video file (it may not exist; see
            `check_present`).
        label: class index, 0-based, into `ActionDataset.classes`.
        class_name: the class's name ("ApplyEyeMakeup").
        video_id: the video's identity: its relative path, extension
            included ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi"), for
            every loader; unique within a dataset (a clash is refused).
    """

    relative_path: str
    path: str
    label: int
    class_name: str
    video_id: str


@dataclasses.dataclass
class ActionDataset:
    """A labelled list of videos: one subset of one split of a dataset.

    Attributes:
        name: "ucf101", "hmdb51" or "folder".
        split: 1, 2 or 3; None for a folder.
        subset: "train" or "test" (of a split, or a folder's held-out split);
            None for a whole folder.
        classes: class names; a label is an index into this list.
        items: the `VideoItem`s, in the split file's order (folders: sorted).
        root: the folder the videos' relative paths start from.
        test_fraction: a folder's held-out fraction per class when `subset`
            is set; None otherwise.
        refused: the entries the listing saw and did not take, each once:
            ((path, reason), ...), the path relative to `root` as the folder or
            split file names it ("A/pipe.avi": "not a regular file (a FIFO)").
            Every command that reads a listing reports them (`describe_refused`).
    """

    name: str
    split: int | None
    subset: str | None
    classes: list[str]
    items: list[VideoItem]
    root: str
    test_fraction: float | None = None
    refused: tuple = ()

    def __post_init__(self):
        seen = set()
        for item in self.items:
            if item.video_id in seen:
                raise ValueError(f"{self.describe()}: video {item.video_id} is listed twice; expected each "
                                 "video once")
            seen.add(item.video_id)

    def __len__(self):
        return len(self.items)

    @property
    def num_classes(self):
        return len(self.classes)

    @property
    def labels(self):
        """int64 (N,): the items' labels."""
        return np.array([item.label for item in self.items], dtype=np.int64)

    def describe(self):
        """Where the dataset comes from, in words ("ucf101 split 1 train", "folder /x test
        (held-out 20% per class, 6 videos)")."""
        if self.split is None:
            if self.subset is None:
                return f"{self.name} {self.root}"
            if self.test_fraction is None:
                return f"{self.name} {self.root} {self.subset} ({len(self.items)} videos)"
            return (f"{self.name} {self.root} {self.subset} (held-out {self.test_fraction:.0%} per class, "
                    f"{len(self.items)} videos)")
        return f"{self.name} split {self.split} {self.subset}"


# -- UCF-101 ------------------------------------------------------------------


def ucf101(root, split=1, subset="train", split_dir=None, missing="error"):
    """The videos of one subset of an official UCF-101 split.

    Args:
        root: the folder holding the 101 class subfolders of videos
            (`UCF-101/` of the official archive).
        split: 1, 2 or 3.
        subset: "train" (`trainlist0N.txt`) or "test" (`testlist0N.txt`).
        split_dir: the folder of `classInd.txt` and the lists; None looks in
            `root/ucfTrainTestlist`, then `$VIDEO_LSTM_DATA_DIR/ucf101/ucfTrainTestlist`.
        missing: what to do with listed videos absent from `root`: "error",
            "skip" (drop them, one warning) or "keep" (do not look).

    Returns:
        An `ActionDataset` with 101 classes in `classInd.txt` order (its 1-based
        indices become 0-based labels).

    Raises:
        ValueError: bad `split`, `subset` or `missing`; a malformed line, a class
            not in `classInd.txt` or a label that disagrees with the class
            folder (messages give file:line).
        FileNotFoundError: no split files (the message says where it looked and
            where to download them), or listed videos are absent and
            `missing="error"`.
    """
    _check_arguments(split, subset, missing)
    list_name = f"{subset}list{split:02d}.txt"
    split_dir = _find_split_dir(
        "UCF-101",
        _candidates(split_dir, root, UCF101_SPLIT_FOLDER, os.path.join("ucf101", UCF101_SPLIT_FOLDER)),
        ("classInd.txt", list_name),
        UCF101_URL,
    )
    classes = _read_class_index(os.path.join(split_dir, "classInd.txt"))
    items = _read_ucf101_list(os.path.join(split_dir, list_name), root, classes)
    dataset = ActionDataset("ucf101", split, subset, classes, items, os.path.abspath(root))
    return _handle_missing(_refuse_entries(dataset), missing, list_name)


def _read_class_index(path):
    """classInd.txt ("1 ApplyEyeMakeup" per line) -> class names, label order."""
    by_index = {}
    for lineno, fields in _lines(path):
        if len(fields) != 2 or not fields[0].isdigit():
            _malformed(path, lineno, fields, "'<index> <ClassName>'")
        index, name = int(fields[0]), fields[1]
        if index in by_index or name in by_index.values():
            raise ValueError(f"{path}:{lineno}: index {index} or class {name!r} appears twice")
        by_index[index] = name
    if sorted(by_index) != list(range(1, len(by_index) + 1)):
        raise ValueError(f"{path}: class indices {sorted(by_index)}; expected 1..{len(by_index)}, each once")
    return [by_index[i] for i in range(1, len(by_index) + 1)]


def _read_ucf101_list(path, root, classes):
    """trainlist ("Class/v_Class_gXX_cYY.avi 12") or testlist ("Class/....avi")
    -> VideoItems; the class comes from the folder, a given label must agree."""
    labels = {name: label for label, name in enumerate(classes)}
    items, seen = [], set()
    for lineno, fields in _lines(path):
        well_formed = len(fields) in (1, 2) and fields[0].count("/") == 1
        if not well_formed or (len(fields) == 2 and not fields[1].isdigit()):
            _malformed(path, lineno, fields, "'<Class>/<video>.avi [<index>]'")
        relative_path = fields[0]
        class_name = relative_path.split("/")[0]
        if class_name not in labels:
            raise ValueError(
                f"{path}:{lineno}: class {class_name!r} is not in classInd.txt "
                f"({len(classes)} classes: {_preview(classes)})"
            )
        label = labels[class_name]
        if len(fields) == 2 and int(fields[1]) != label + 1:
            raise ValueError(
                f"{path}:{lineno}: index {fields[1]} but class {class_name!r} "
                f"is index {label + 1} in classInd.txt"
            )
        _once(seen, relative_path, path, lineno)
        _check_contained(relative_path, path, lineno)
        items.append(_item(root, relative_path, label, class_name))
    return items


# -- HMDB-51 ------------------------------------------------------------------


def hmdb51(root, split=1, subset="train", split_dir=None, missing="error"):
    """The videos of one subset of an official HMDB-51 split.

    Args:
        root: the folder holding the 51 class subfolders of videos
            (`root/<class>/<video>.avi`).
        split: 1, 2 or 3.
        subset: "train" (videos marked 1) or "test" (marked 2); those marked 0
            belong to neither.
        split_dir: the folder of `<class>_test_splitN.txt`; None looks in
            `root/splits`, then `$VIDEO_LSTM_DATA_DIR/hmdb51/splits`.
        missing: what to do with listed videos absent from `root`: "error",
            "skip" (drop them, one warning) or "keep" (do not look).

    Returns:
        An `ActionDataset`; classes in `class_list.txt` order when the split
        folder has one, else sorted, and items class by class in file order.

    Raises:
        ValueError: bad `split`, `subset` or `missing`, or a malformed line
            (file:line).
        FileNotFoundError: no split files, a class's split file is absent
            (messages say where it looked and where to download them), or listed
            videos are absent and `missing="error"`.
    """
    _check_arguments(split, subset, missing)
    suffix = f"_test_split{split}.txt"
    split_dir = _find_split_dir(
        "HMDB-51",
        _candidates(split_dir, root, HMDB51_SPLIT_FOLDER, os.path.join("hmdb51", HMDB51_SPLIT_FOLDER)),
        (f"<class>{suffix}",),
        HMDB51_URL,
        has_files=lambda folder: any(name.endswith(suffix) for name in os.listdir(folder)),
    )
    classes = _hmdb51_classes(split_dir, suffix)
    items, seen = [], set()
    for label, class_name in enumerate(classes):
        path = os.path.join(split_dir, class_name + suffix)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"HMDB-51 split file {class_name + suffix} for class {class_name!r} "
                f"is not in {split_dir}; download the splits from {HMDB51_URL}"
            )
        for lineno, fields in _lines(path):
            if len(fields) != 2 or fields[1] not in _HMDB51_MARKS:
                _malformed(path, lineno, fields, "'<video>.avi 0|1|2'")
            if _HMDB51_MARKS[fields[1]] == subset:
                relative_path = f"{class_name}/{fields[0]}"
                _once(seen, relative_path, path, lineno)
                _check_contained(relative_path, path, lineno)
                items.append(_item(root, relative_path, label, class_name))
    dataset = ActionDataset("hmdb51", split, subset, classes, items, os.path.abspath(root))
    return _handle_missing(_refuse_entries(dataset), missing, f"*{suffix}")


def _hmdb51_classes(split_dir, suffix):
    """class_list.txt's classes (its order), else those of the split files, sorted."""
    path = os.path.join(split_dir, HMDB51_CLASS_LIST)
    if not os.path.isfile(path):
        return sorted(name[: -len(suffix)] for name in os.listdir(split_dir) if name.endswith(suffix))
    classes = []
    for lineno, fields in _lines(path):
        if len(fields) != 1:
            _malformed(path, lineno, fields, "one class name")
        if fields[0] in classes:
            raise ValueError(f"{path}:{lineno}: class {fields[0]!r} appears twice")
        classes.append(fields[0])
    return classes


# -- folders of class subfolders ------------------------------------------------


def folder(root, extensions=VIDEO_EXTENSIONS, subset=None, test_fraction=DEFAULT_TEST_FRACTION):
    """The videos in a folder of class subfolders (`root/<class>/<video>`): all, or a held-out split.

    Classes are the subfolders holding at least one video, sorted by name; items are
    sorted by class, then file name, so equal folders give equal datasets. Entries whose
    name starts with "." are ignored (hidden files, `.git`, locks). Every other entry the
    folder holds and the listing does not take is in `refused` with its reason: a subfolder
    holding no video (not a class), a file beside the class subfolders, a subfolder of a
    class folder (not searched), a file that is not a video (by its extension), or one
    named as a video that is a folder, a FIFO or device, a broken symlink, a symlink loop,
    or a symlink resolving outside `root` (symlinks that stay inside `root` are followed).

    Args:
        root: the folder of class subfolders.
        extensions: the file name endings that count as videos (any case).
        subset: None (every video), "train" or "test": the videos `held_out`
            keeps for training, or holds out for testing.
        test_fraction: the fraction of each class's videos held out, in [0, 1)
            (used only with a subset).

    Returns:
        An `ActionDataset`; `split` None, `subset` as given (classes are the
        folder's, also when a subset holds none of a class's videos).

    Raises:
        FileNotFoundError: `root` is not a folder.
        ValueError: no class subfolder holds a video (a folder holding its videos
            directly is told how to list them); a bad subset or test_fraction.
    """
    if subset not in (None, *SUBSETS):
        raise ValueError(f"subset={subset!r}; expected None or one of {SUBSETS}")
    if subset is not None:
        check_test_fraction(test_fraction)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"video folder {root} does not exist; expected a folder of class subfolders")
    extensions = tuple(e.lower() for e in extensions)
    real_root = os.path.realpath(root)
    videos, refused, flat = {}, [], []
    for class_name in sorted(os.listdir(root)):
        if class_name.startswith("."):
            continue
        class_dir = os.path.join(root, class_name)
        problem = entry_problem(class_dir, real_root, kind="folder")
        if problem is not None:
            if problem == _NOT_A_FOLDER:
                is_video = class_name.lower().endswith(extensions)
                if is_video:
                    flat.append(class_name)
                problem = ("a video beside the class subfolders, in none of them" if is_video
                           else "a file beside the class subfolders, not a class folder")
            refused.append((class_name, problem))
            continue
        names, class_refused = [], []
        for name in sorted(os.listdir(class_dir)):
            if name.startswith("."):
                continue
            relative = f"{class_name}/{name}"
            problem = entry_problem(os.path.join(class_dir, name), real_root)
            if problem == _A_FOLDER and not name.lower().endswith(extensions):
                problem = "a subfolder of a class folder: videos are read from class folders only, not below"
            elif problem is None and not name.lower().endswith(extensions):
                problem = f"not a video: its extension is not one of {', '.join(extensions)}"
            if problem is None:
                names.append(name)
            else:
                class_refused.append((relative, problem))
        if names:
            videos[class_name] = names
        else:
            class_refused.insert(0, (class_name, "a subfolder holding no video: not a class"))
        refused += class_refused
    if not videos:
        message = f"no videos ({', '.join(extensions)}) in class subfolders of {root}"
        if flat:
            raise FlatFolderError(f"{message}; it holds {len(flat)} video(s) directly ({_preview(flat)}): put each "
                                  f"class's videos in {root}/<class>/")
        raise ValueError(message)
    classes = sorted(videos)
    items = [
        _item(root, f"{class_name}/{name}", label, class_name)
        for label, class_name in enumerate(classes)
        for name in videos[class_name]
    ]
    refused = tuple(refused)
    if subset is None:
        return ActionDataset("folder", None, None, classes, items, os.path.abspath(root), refused=refused)
    test = held_out(items, test_fraction)
    items = [item for item in items if (item.video_id in test) == (subset == "test")]
    return ActionDataset("folder", None, subset, classes, items, os.path.abspath(root), test_fraction, refused)


class FlatFolderError(ValueError):
    """A folder holding videos directly, in no class subfolder (a command that reads list files
    adds how to name them in one: `LIST_FILE_HINT`)."""


LIST_FILE_HINT = ("or name them in a text file, one path a line (relative to the file's folder, or absolute), "
                  "and pass --dataset=list --list_file=<that file>")


# -- list files -------------------------------------------------------------------


def list_file(path):
    """The videos a list file names: one path per line, absolute or relative to the list
    file's folder; blank lines and lines starting with `#` are skipped, spaces at either end
    of a line dropped (inside a path they are kept).

    Returns:
        An `ActionDataset` named "list" with no classes: every item's label is -1 and its
        class "". A video's id is its path as the line writes it. A list may name videos
        anywhere (absolute paths, `..`): it is the user's own. A missing file is kept (the
        reader reports it); one that is there but is no regular file (a folder, a FIFO, a
        device, a symlink loop) is in `refused` with its reason.

    Raises:
        FileNotFoundError: `path` is not a file.
        ValueError: a video listed twice (file:line), or a list naming none.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"list file {path} does not exist; expected a text file of video paths, one a line")
    root = os.path.dirname(os.path.abspath(path))
    items, seen = [], set()
    with open(path, encoding="utf-8-sig") as file:
        for lineno, line in enumerate(file, start=1):
            name = line.strip()
            if not name or name.startswith("#"):
                continue
            _once(seen, name, path, lineno)
            items.append(VideoItem(name, os.path.abspath(os.path.join(root, name)), -1, "", name))
    if not items:
        raise ValueError(f"list file {path} names no video; expected one path a line")
    return _refuse_entries(ActionDataset("list", None, None, [], items, root), contained=False)


def listing(dataset, path, split=1, subset="all", split_dir=None, test_fraction=DEFAULT_TEST_FRACTION,
            missing="skip"):
    """The videos a command's flags name, in the order it processes them.

    Args:
        dataset: "ucf101", "hmdb51", "folder" or "list".
        path: the folder of class subfolders (the list file for "list").
        split, split_dir, missing: of `ucf101` / `hmdb51`.
        subset: "train", "test" or "all": a split's list, or its train list then its test
            list; a folder's held-out split (`held_out`, `test_fraction` per class), or every
            video. A list file has no subsets: "all" only.
    """
    if subset not in LISTING_SUBSETS:
        raise ValueError(f"subset={subset!r}; expected one of {LISTING_SUBSETS}")
    if dataset == "list":
        if subset != "all":
            raise ValueError(f"a list file has no {subset} subset; expected subset 'all'")
        return list_file(path)
    if dataset == "folder":
        return folder(path, subset=None if subset == "all" else subset, test_fraction=test_fraction)
    if dataset not in ("ucf101", "hmdb51"):
        raise ValueError(f"dataset={dataset!r}; expected one of ('ucf101', 'hmdb51', 'folder', 'list')")
    load = ucf101 if dataset == "ucf101" else hmdb51
    parts = [load(path, split=split, subset=part, split_dir=split_dir, missing=missing)
             for part in (SUBSETS if subset == "all" else (subset,))]
    refused = tuple(dict.fromkeys(entry for part in parts for entry in part.refused))
    return dataclasses.replace(parts[0], subset=subset, items=[item for part in parts for item in part.items],
                               refused=refused)


def check_test_fraction(test_fraction, name="test_fraction"):
    """ValueError unless `test_fraction` is a number in [0, 1): the one check of every command's
    --test_fraction (`name` is what the message calls it)."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not (
            0 <= test_fraction < 1):
        raise ValueError(f"{name}={test_fraction!r}; expected a fraction in [0, 1)")


def held_out(items, test_fraction):
    """The video ids of `items` held out for testing: per class, the round(test_fraction * n)
    videos whose relative paths have the smallest sha1 (at least 1 when the class has 2 or
    more videos and test_fraction > 0, and at most n - 1; a class of one video is train only).

    Returns:
        a set of `VideoItem.video_id`s.
    """
    check_test_fraction(test_fraction)
    by_class = {}
    for item in items:
        by_class.setdefault(item.label, []).append(item)
    test = set()
    for members in by_class.values():
        count = 0
        if test_fraction > 0 and len(members) >= 2:  # at least one, and one left to train on
            count = min(max(round(test_fraction * len(members)), 1), len(members) - 1)
        ranked = sorted(members, key=lambda item: (_rank(item.relative_path), item.relative_path))
        test.update(item.video_id for item in ranked[:count])
    return test


def _rank(relative_path):
    return hashlib.sha1(relative_path.encode("utf-8")).hexdigest()


# -- videos on disk -------------------------------------------------------------


def check_present(dataset):
    """Splits `dataset.items` into (present, missing): lists of VideoItems
    whose file exists, and whose file does not."""
    present, missing = [], []
    for item in dataset.items:
        (present if os.path.isfile(item.path) else missing).append(item)
    return present, missing


def _handle_missing(dataset, missing, list_name):
    """Applies the `missing` policy; returns the dataset to hand out."""
    if missing == "keep":
        return dataset
    present, absent = check_present(dataset)
    if not absent:
        return dataset
    what = (
        f"{len(absent)} of {len(dataset)} videos that {list_name} names ({dataset.describe()}) "
        f"are not under {dataset.root}"
    )
    first = ", ".join(item.relative_path for item in absent[:_MISSING_SHOWN])
    if missing == "error" or not present:
        raise FileNotFoundError(
            f"{what}: {first}{', ...' if len(absent) > _MISSING_SHOWN else ''}; "
            "pass root= the folder of class subfolders"
            + ("" if not present else ", or missing='skip' to train on the rest")
        )
    logging.warning("%s; skipping them (first: %s)", what, first)
    refused = tuple((item.relative_path, f"missing: not under {dataset.root}") for item in absent)
    return dataclasses.replace(dataset, items=present, refused=dataset.refused + refused)


# -- labelled subsets (the few-labels study) -------------------------------------


def labelled_subset(items, per_class, seed):
    """A seeded, class-balanced subset: `per_class` items of every label present.

    Each class's items are shuffled by a generator seeded with (seed, label), so
    a class's pick does not depend on the other classes, and with equal seeds
    the subset of N per class holds the subset of any smaller N.

    Args:
        items: a sequence of VideoItems (e.g. `ActionDataset.items`).
        per_class: how many items of each class, >= 1.
        seed: non-negative int.

    Returns:
        A list of `per_class * classes` VideoItems, in their order in `items`.

    Raises:
        ValueError: `per_class` < 1, or a class has fewer than `per_class` items.
    """
    names = {item.label: item.class_name for item in items}
    chosen = balanced_indices([item.label for item in items], per_class, seed, names)
    return [items[i] for i in chosen]


class TooFewLabelsError(ValueError):
    """A class has fewer items than a balanced subset asks for (or none)."""


def balanced_indices(labels, per_class, seed, class_names=None, num_classes=None):
    """Sorted indices of a seeded, class-balanced subset of `labels` (`labelled_subset`'s rule).

    Args:
        labels: int sequence (N,).
        per_class: how many of each class, >= 1.
        seed: non-negative int.
        class_names: optional {label: name} (or list) for messages.
        num_classes: optional; then every label 0..num_classes-1 must be present.

    Raises:
        ValueError: `per_class` < 1, an empty class, or a class with fewer than
            `per_class` items, naming it.
    """
    if not isinstance(per_class, (int, np.integer)) or isinstance(per_class, bool) or per_class < 1:
        raise ValueError(f"per_class={per_class!r}; expected an int >= 1")
    by_label = {}
    for index, label in enumerate(labels):
        by_label.setdefault(int(label), []).append(index)
    if num_classes is not None:
        by_label = {label: by_label.get(label, []) for label in range(num_classes)} | by_label

    def name(label):
        try:
            return class_names[label]
        except (KeyError, IndexError, TypeError):
            return str(label)

    chosen = []
    for label, indices in sorted(by_label.items()):
        if len(indices) < per_class:
            raise TooFewLabelsError(
                f"class {name(label)!r} (label {label}) has {len(indices)} items; "
                f"per_class={per_class} needs that many"
            )
        order = np.random.default_rng([seed, label]).permutation(len(indices))
        chosen += [indices[i] for i in order[:per_class]]
    return sorted(chosen)


# -- shared helpers -------------------------------------------------------------


def _check_arguments(split, subset, missing):
    if split not in SPLITS:
        raise ValueError(f"split={split!r}; expected one of {SPLITS}")
    if subset not in SUBSETS:
        raise ValueError(f"subset={subset!r}; expected one of {SUBSETS}")
    if missing not in MISSING_MODES:
        raise ValueError(f"missing={missing!r}; expected one of {MISSING_MODES}")


def _candidates(split_dir, root, folder_name, data_dir_path):
    """Where to look for split files: `split_dir` alone when given, else beside
    the videos, then under $VIDEO_LSTM_DATA_DIR."""
    if split_dir is not None:
        return [split_dir]
    candidates = [os.path.join(root, folder_name)]
    if os.environ.get(DATA_DIR_ENV):
        candidates.append(os.path.join(os.environ[DATA_DIR_ENV], data_dir_path))
    else:
        candidates.append(f"${DATA_DIR_ENV}/{data_dir_path} (${DATA_DIR_ENV} is not set)")
    return candidates


def _find_split_dir(dataset, candidates, needed, url, has_files=None):
    """The first candidate folder holding all `needed` files (or passing `has_files`)."""
    for candidate in candidates:
        if not os.path.isdir(candidate):
            continue
        if has_files is not None:
            found = has_files(candidate)
        else:
            found = all(os.path.isfile(os.path.join(candidate, name)) for name in needed)
        if found:
            return candidate
    raise FileNotFoundError(
        f"{dataset} split files {', '.join(needed)} not found; looked in {', '.join(candidates)}; "
        f"download the splits from {url} and pass split_dir= or put them in {candidates[0]}"
    )


def _lines(path):
    """(line number, whitespace-split fields) of each non-blank line; CRLF, a
    BOM and trailing spaces are tolerated."""
    with open(path, encoding="utf-8-sig") as file:  # text mode turns \r\n into \n
        for lineno, line in enumerate(file, start=1):
            fields = line.split()
            if fields:
                yield lineno, fields


def _once(seen, relative_path, path, lineno):
    """Adds `relative_path` to `seen`; a split file naming it twice is refused at its line."""
    if relative_path in seen:
        raise ValueError(f"{path}:{lineno}: video {relative_path} is listed twice; expected each video once")
    seen.add(relative_path)


def _malformed(path, lineno, fields, expected):
    raise ValueError(f"{path}:{lineno}: malformed line {' '.join(fields)!r}; expected {expected}")


_A_FOLDER = "a folder, not a video file"
_NOT_A_FOLDER = "not a folder"
_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def entry_problem(path, real_root=None, kind="file"):
    """Why the entry at `path` is not taken as a video file (kind "file") or a class folder
    (kind "folder"), or None: a broken symlink, a symlink loop, a symlink resolving outside
    `real_root` (a realpath; None: anywhere), a folder where a file is expected, not a
    regular file. Never opens the entry."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symlink loop"
        if os.path.islink(path):
            return f"a broken symlink (to {os.readlink(path)})"
        return f"cannot be read ({error.strerror})"
    if real_root is not None:
        real = os.path.realpath(path)
        if not _inside(real, real_root):
            return f"a symlink resolving outside {real_root} (to {real}): not followed"
    if kind == "folder":
        return None if stat.S_ISDIR(mode) else _NOT_A_FOLDER
    if stat.S_ISDIR(mode):
        return _A_FOLDER
    if not stat.S_ISREG(mode):
        what = next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
        return f"not a regular file ({what})"
    return None


def _inside(real_path, real_root):
    return real_path == real_root or real_path.startswith(real_root.rstrip(os.sep) + os.sep)


def _refuse_entries(dataset, contained=True):
    """`dataset` without the items that are there but cannot be taken (`entry_problem`; outside
    its root unless `contained` is False), which are added to its `refused`. Missing files
    stay (the `missing` policy's, or the reader's)."""
    real_root = os.path.realpath(dataset.root) if contained else None
    items, refused = [], []
    for item in dataset.items:
        problem = entry_problem(item.path, real_root) if os.path.lexists(item.path) else None
        if problem is None:
            items.append(item)
        else:
            refused.append((item.relative_path, problem))
    if not refused:
        return dataset
    return dataclasses.replace(dataset, items=items, refused=dataset.refused + tuple(refused))


def _check_contained(relative_path, path, lineno):
    """ValueError (file:line) for a split line naming a video outside the dataset root: an
    absolute path, or `..` climbing out of its class folder."""
    parts = relative_path.split("/")
    if relative_path.startswith("/") or ".." in parts or "" in parts:
        raise ValueError(f"{path}:{lineno}: video {relative_path} reaches outside the dataset root "
                         "(a split names videos inside --video_dir's class folders); expected "
                         "'<Class>/<video>' without '..'")


def describe_refused(dataset, shown=_MISSING_SHOWN):
    """One line on the entries the listing did not take ("" when none): their count by
    reason, and the first few, e.g. "3 entries of folder /x not taken: 1 a symlink loop,
    2 not a regular file (a FIFO) (A/loop.avi: a symlink loop, ...)"."""
    if not dataset.refused:
        return ""
    kinds = {}
    for _, reason in dataset.refused:
        kind = reason.split(" (")[0].split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    by_kind = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
    first = "; ".join(f"{path}: {reason}" for path, reason in dataset.refused[:shown])
    more = "; ..." if len(dataset.refused) > shown else ""
    return f"{len(dataset.refused)} entries of {dataset.describe()} not taken ({by_kind}): {first}{more}"


def _item(root, relative_path, label, class_name):
    """A VideoItem; its identity is its relative path, extension included."""
    path = os.path.abspath(os.path.join(root, *relative_path.split("/")))
    return VideoItem(relative_path, path, label, class_name, relative_path)



def _preview(names, count=5):
    """The first `count` names, then '...' when there are more."""
    return ", ".join(names[:count]) + (", ..." if len(names) > count else "")
