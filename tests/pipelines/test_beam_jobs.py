"""pipelines/beam_jobs.py: a job's files are the same bytes in one process and on Beam, with
one worker or two; refusals of runners and Beam options. A toy job (no TensorFlow), so two
real worker processes start in a few seconds; the percept extraction on Beam is tested in
tests/pipelines/test_percept_extraction.py."""

import dataclasses
import os

import pytest
from helpers import tree_hashes

from pipelines import beam_jobs

HERE = os.path.dirname(os.path.abspath(__file__))  # this module, and tests/helpers.py above it, for the workers


@dataclasses.dataclass
class _Squares:
    """The work: index, item -> a line; `setup` must run first (once per worker). Each worker
    process also leaves a file named by its pid in `seen` (what the test counts workers by)."""

    seen: str
    offset: int | None = None

    def setup(self):
        self.offset = 1000

    def __call__(self, index, item):
        open(os.path.join(self.seen, str(os.getpid())), "a").close()
        return f"{index} {item} {item * item + self.offset}"


@dataclasses.dataclass(frozen=True)
class _LinesWriter:
    out: str

    def __call__(self, group, results):
        from video_lstm.core import atomic

        atomic.write_text(os.path.join(self.out, f"group-{group}.txt"), "".join(line + "\n" for _, line in results))


@dataclasses.dataclass(frozen=True)
class _Mod:
    n: int

    def __call__(self, index):
        return index % self.n


ITEMS = [(i, 7 * i % 11) for i in range(12)]


def _job(tmp_path, name):
    out, seen = tmp_path / name, tmp_path / f"{name}-workers"
    out.mkdir()
    seen.mkdir()
    return beam_jobs.Job(items=ITEMS, work=_Squares(str(seen)), write=_LinesWriter(str(out)), group_of=_Mod(3)), out


def test_in_process_writes_each_group_in_index_order(tmp_path):
    job, out = _job(tmp_path, "one")
    beam_jobs.run(dataclasses.replace(job, items=list(reversed(ITEMS))), "in_process")  # any listing order
    assert sorted(os.listdir(out)) == ["group-0.txt", "group-1.txt", "group-2.txt"]
    assert (out / "group-1.txt").read_text().splitlines() == [
        f"{i} {7 * i % 11} {(7 * i % 11) ** 2 + 1000}" for i in (1, 4, 7, 10)]


def test_beam_with_one_or_two_workers_writes_the_bytes_of_one_process(tmp_path, monkeypatch):
    pytest.importorskip("apache_beam")
    path = (HERE, os.path.dirname(HERE), os.environ.get("PYTHONPATH"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in path if p))
    one, one_out = _job(tmp_path, "one")
    beam_jobs.run(one, "in_process")
    expected = tree_hashes(one_out)
    for name, beam_args in (
        ("memory", ["--direct_num_workers=1", "--direct_running_mode=in_memory"]),
        ("two", ["--direct_num_workers=2"]),  # multi_processing: beam_jobs.DIRECT_DEFAULTS
    ):
        job, out = _job(tmp_path, name)
        beam_jobs.run(job, "DirectRunner", beam_args)
        assert tree_hashes(out) == expected, name
    assert len(os.listdir(tmp_path / "two-workers")) == 2  # two worker processes did the work
    assert os.listdir(tmp_path / "memory-workers") == [str(os.getpid())]


def test_runners_and_beam_options_are_checked_before_any_work(monkeypatch):
    with pytest.raises(ValueError, match=r"after -- are Beam pipeline options; they need a Beam --runner"):
        beam_jobs.check("in_process", ["--direct_num_workers=2"])
    with pytest.raises(ValueError, match=r"unexpected arguments \['stray'\]"):
        beam_jobs.check("in_process", ["stray"])
    beam_jobs.check("in_process")
    if beam_jobs.beam_available():
        assert beam_jobs.resolve("auto") == "in_process"  # the count not known yet
        assert beam_jobs.resolve("auto", 30, "embed") == "in_process"  # issue 29: 30 videos were 42.6 s on Beam
        assert beam_jobs.resolve("auto", 199, "embed") == "in_process"
        assert beam_jobs.resolve("auto", 200, "embed") == "DirectRunner"
        assert beam_jobs.resolve("auto", 420, "extract_percepts") == "in_process"
        assert beam_jobs.resolve("auto", 1000, "extract_percepts") == "DirectRunner"
        assert beam_jobs.resolve("auto", 5, "embed", ["--direct_num_workers=2"]) == "DirectRunner"
        assert beam_jobs.resolve("FlinkRunner", 1) == "FlinkRunner"
        with pytest.raises(ValueError, match=r"unknown Beam pipeline options after --: \['direct_num_wrokers'\]"):
            beam_jobs.check("DirectRunner", ["--direct_num_wrokers=2"])
        with pytest.raises(ValueError, match="give the runner as --runner before the --"):
            beam_jobs.check("DirectRunner", ["--runner=FlinkRunner"])
        beam_jobs.check("FlinkRunner", ["--flink_master=localhost:8081", "--parallelism=4"])
        beam_jobs.check("DataflowRunner", ["--project=p", "--region=europe-west4", "--temp_location=gs://b/t"])
    monkeypatch.setattr(beam_jobs, "beam_available", lambda: False)
    assert beam_jobs.resolve("auto") == "in_process"
    assert beam_jobs.resolve("auto", 10_000, "embed") == "in_process"
    with pytest.raises(ValueError, match=r"--runner=DirectRunner needs Apache Beam, which is not installed: "
                                         r"pip install -e '.\[beam\]'"):
        beam_jobs.check("DirectRunner")


def test_one_progress_bar_on_every_runner(tmp_path, capfd):
    """issue 29, item 13: the bar shows on Beam too, fed by the driver counting finished work."""
    polled = []
    for runner, args in (("in_process", []), ("DirectRunner", ["--direct_num_workers=1",
                                                                "--direct_running_mode=in_memory"])):
        if runner != "in_process" and not beam_jobs.beam_available():
            continue
        job, out = _job(tmp_path, runner)
        job.unit, job.finished = "video", lambda out=out: polled.append(1) or len(os.listdir(out))
        beam_jobs.run(job, runner, args, progress=True)
        err = capfd.readouterr().err
        assert f"{len(ITEMS)}/{len(ITEMS)}" in err and "video" in err, err
