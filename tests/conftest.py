"""Helpers shared by the test modules."""

import os


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
