"""The skeleton of a corpus job: one pass over a listing of videos, resumable, on one process or Beam.

Percept extraction (`pipelines.percept_extraction`) and embedding (`video_lstm.embedding`) are
the two corpus jobs. Both go

    listing (`list_videos`: `core.settings.CorpusListing` -> `action_datasets.ActionDataset`)
    -> checked start-up (`check_listing`, `beam_jobs.check`; --out compared with what the job would
       write: `differences` of the settings, `listing_changes` of the videos, `changed` contents
       by `pipelines.fingerprints`)
    -> per-video work, a pure function of (index, video), on --runner (`CorpusJob.run_items`:
       `beam_jobs.resolve` and `beam_jobs.run`)
    -> ordered writing (rows in listing order, a manifest with the entries the listing refused:
       `refused_rows`) and a summary (`counts`).

`CorpusJob` holds what both share while they run: --out, the listing, the one folder lock
(`core.lock.FolderLock`, its refusal in one line naming --out), the lines naming refused
entries and changed videos. Imports no TensorFlow and no Beam.
"""

import os
import shutil

from pipelines import action_datasets, beam_jobs, fingerprints
from video_lstm.core import atomic, lock, settings

NAMES_SHOWN = 5  # videos a message names


def names(videos):
    """Up to NAMES_SHOWN of `videos`, and how many there are when more: one line's worth."""
    if not videos:
        return "none"
    more = f", ... ({len(videos)} in all)" if len(videos) > NAMES_SHOWN else ""
    return ", ".join(videos[:NAMES_SHOWN]) + more


# -- the listing -----------------------------------------------------------------------------


def check_listing(listing):
    """Raises ValueError naming the first bad flag of a `settings.CorpusListing` (paths are read by
    `list_videos`)."""
    if listing.dataset not in settings.LISTING_CHOICES["dataset"]:
        raise ValueError(f"--dataset={listing.dataset!r}; expected one of {list(settings.LISTING_CHOICES['dataset'])}")
    if listing.dataset == "list":
        if not listing.list_file:
            raise ValueError("--dataset=list needs --list_file (a text file of video paths, one a line)")
        if listing.video_dir:
            raise ValueError("--video_dir is not read with --dataset=list: the list file names the videos")
        if listing.subset != "all":
            raise ValueError(f"--subset={listing.subset}: a list file has no subsets; expected --subset=all")
    else:
        if not listing.video_dir:
            raise ValueError(f"--dataset={listing.dataset} needs --video_dir (the folder of class subfolders)")
        if listing.list_file:
            raise ValueError(f"--list_file is for --dataset=list; --dataset={listing.dataset} reads --video_dir")
    if listing.split not in (1, 2, 3):
        raise ValueError(f"--split={listing.split}; expected 1, 2 or 3")
    if listing.subset not in settings.LISTING_SUBSETS:
        raise ValueError(f"--subset={listing.subset!r}; expected train, test or all")
    action_datasets.check_test_fraction(listing.test_fraction, "--test_fraction")
    if listing.dataset == "folder" and listing.subset != "all" and listing.test_fraction == 0:
        raise ValueError(f"--subset={listing.subset} of a folder with --test_fraction=0: nothing is held out; "
                         "expected a --test_fraction in (0, 1), or --subset=all")
    if listing.frame_stride is not None and listing.frame_stride < 1:
        raise ValueError(f"--frame_stride={listing.frame_stride}; expected >= 1")


def list_videos(listing, verb, missing="keep"):
    """The `ActionDataset` of a `settings.CorpusListing`, in listing order (`action_datasets.listing`).
    `verb` says what the job does to them ("embed"); `missing`: "keep" keeps videos a split names
    but that are absent (each then reported as missing; refused when none is there), "skip" drops
    them with one warning.

    Raises:
        FileNotFoundError: no folder, split files or list file; or none of the listed videos is there.
        ValueError: a folder without videos, a video listed twice.
    """
    if listing.dataset != "list" and not os.path.isdir(listing.video_dir):
        raise FileNotFoundError(f"--video_dir={listing.video_dir} is not a folder")
    path = listing.list_file if listing.dataset == "list" else listing.video_dir
    try:
        dataset = action_datasets.listing(listing.dataset, path, listing.split, listing.subset,
                                          listing.split_dir or None, listing.test_fraction, missing=missing)
    except action_datasets.FlatFolderError as error:
        raise ValueError(f"--video_dir: {error}, {action_datasets.LIST_FILE_HINT}") from None
    if not dataset.items:
        raise ValueError(f"{dataset.describe()}: no videos to {verb}")
    if missing == "keep":
        present, _ = action_datasets.check_present(dataset)
        if not present:
            what = f"--list_file={path}" if listing.dataset == "list" else dataset.describe()
            raise FileNotFoundError(f"{what} names {len(dataset)} video(s) and none of them is there (first: "
                                    f"{dataset.items[0].path}); expected them under {dataset.root}")
    return dataset


def check_runner(runner):
    """ValueError for a bad --runner or Beam options (`settings.Runner`), before any work."""
    beam_jobs.check(runner.runner, runner.beam_args)


def refused_rows(dataset):
    """The entries the listing saw and did not take, as a manifest's "refused" holds them."""
    return [{"entry": entry, "reason": reason} for entry, reason in dataset.refused]


# -- resuming: what --out holds against what the job would write ------------------------------


def differences(there, now, prefix=""):
    """[(dotted key, value there, value now)] where two settings records differ."""
    found = []
    for key in sorted(set(there) | set(now)):
        a, b = there.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append((prefix + key, a, b))
    return found


def describe_differences(differing, shown=3):
    return "; ".join(f"{key}: {there!r} there, {now!r} now" for key, there, now in differing[:shown])


def listing_changes(recorded, listed):
    """(added, removed): the ids of `listed` that `recorded` lacks, and those of `recorded` not listed."""
    recorded_set, listed_set = set(recorded), set(listed)
    return ([video for video in listed if video not in recorded_set],
            [video for video in dict.fromkeys(recorded) if video not in listed_set])


def changed(recorded, path):
    """How the video at `path` differs from its `recorded` fingerprint ("" if it does not)."""
    return fingerprints.changed(recorded, fingerprints.fingerprint(path))


def counts(rows, statuses=("ok", "partial", "skipped")):
    """{status: videos}: the rows by their decode status (any other status is the last one's)."""
    found = dict.fromkeys(statuses, 0)
    for row in rows:
        found[row["status"] if row["status"] in statuses else statuses[-1]] += 1
    return found


# -- the job ------------------------------------------------------------------------------------


class CorpusJob:
    """What a corpus job does alike while it runs: the folder lock of --out, the lines naming
    refused entries, the per-video work on --runner. A base of the jobs' dataclasses, which
    give it `out` (--out) and `dataset` (the `action_datasets.ActionDataset`).

    Subclasses set `kind` (what a second job on --out is called: "extraction"), `lock_name`
    (the lock file in --out) and `beam_kind` (`beam_jobs.AUTO_BEAM_FROM`'s key)."""

    kind = "job"
    lock_name = lock.NAME
    beam_kind = "embed"  # beam_jobs' name of the job (its --runner=auto threshold)

    def __len__(self):
        return len(self.dataset.items)

    def take(self):
        """Takes --out (one job at a time); a failed start leaves no empty --out behind.

        Raises:
            ValueError: another live job holds --out.
        """
        created = not os.path.exists(self.out)
        try:
            self._lock = lock.FolderLock(self.out, "--out", self.lock_name).acquire()
        except lock.FolderLockedError:
            raise ValueError(f"--out={self.out} is being written by another {self.kind} (it holds "
                             f"{os.path.join(self.out, self.lock_name)}); wait for it to end, or use another --out"
                             ) from None
        except OSError:
            if created:  # a full disk
                shutil.rmtree(self.out, ignore_errors=True)
            raise
        atomic.remove_stale(self.out)

    def release(self):
        held, self._lock = getattr(self, "_lock", None), None
        if held is not None:
            held.release()

    def report_refused(self, where):
        """One line naming the entries the listing refused (`where`: the manifest that lists them)."""
        if self.dataset.refused:
            print(f"not listed: {action_datasets.describe_refused(self.dataset)} (all of them, with their "
                  f"reasons, in {where}'s \"refused\")", flush=True)

    def run_items(self, runner, items, work, write, finished, group_of=None, progress=True, desc=None):
        """Runs `work` over `items` ((index, video) pairs) and `write` over each group's results
        (`group_of`: index -> group) on `runner` (a `settings.Runner`; auto resolved on
        len(items)); returns (the runner it ran on, seconds)."""
        name = beam_jobs.resolve(runner.runner, len(items), self.beam_kind, runner.beam_args)
        if not items:
            return name, 0.0
        job = beam_jobs.Job(items=items, work=work, write=write, group_of=group_of, unit="video",
                            kind=self.beam_kind, finished=finished, desc=desc)
        return name, beam_jobs.run(job, name, runner.beam_args, progress=progress)
