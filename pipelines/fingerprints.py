"""A video file's fingerprint: what tells a changed video from the one a cache or an embedding was made of.

    fingerprint(path) -> {"size": bytes, "mtime_ns": int, "ends_sha256": hex} or None (no such file)

`ends_sha256` is the sha256 of the file's first MiB and its last MiB (the whole file when it
is 2 MiB or less), so a fingerprint costs at most 2 MiB of reading whatever the video's
length. Two fingerprints are the same video only when all three agree (`same`): a file
rewritten in place, replaced under the same name, or copied without keeping its mtime
(`cp` without `-p`) counts as changed. That errs on the safe side: a result is redone,
never reused for other content. The one definition used by `video_lstm.embed` (per-video
files and manifest.json) and `pipelines.extract_percepts` (shard manifests).
"""

import hashlib
import os
import stat

MIB = 1 << 20


def fingerprint(path):
    """{"size", "mtime_ns", "ends_sha256"} of the file at `path`, or None when it is not there or
    is not a regular file (opened for reading only when it is a regular file)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            if info.st_size <= 2 * MIB:
                digest.update(file.read())
            else:
                digest.update(file.read(MIB))
                file.seek(info.st_size - MIB)
                digest.update(file.read(MIB))
    except OSError:
        return None
    return {"size": int(info.st_size), "mtime_ns": int(info.st_mtime_ns), "ends_sha256": digest.hexdigest()}


def same(recorded, now):
    """True when fingerprint `recorded` (from a manifest; None or absent: unknown) is `now`'s."""
    return recorded is not None and now is not None and dict(recorded) == dict(now)


def changed(recorded, now):
    """Why `now` is not the video `recorded` names, in words ("" when it is)."""
    if same(recorded, now):
        return ""
    if recorded is None:
        return "no fingerprint of it recorded (it was not there then, or made before fingerprints)" if now else ""
    if now is None:
        return "not there any more"
    return ", ".join(f"{key} {recorded.get(key)} -> {now.get(key)}" for key in ("size", "mtime_ns", "ends_sha256")
                     if recorded.get(key) != now.get(key)) or "changed"
