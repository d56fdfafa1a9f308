"""The batch coordinator with a stand-in backend (the real ones: tests/integration/test_batch*)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath

from saywho.batch.events import Event, Finished, Started
from saywho.batch.inputs import MediaFile
from saywho.batch.jobs import Job, Outcome
from saywho.batch.runner import run_batch
from saywho.config import PipelineConfig

FORMATS = ("txt",)


def _media(tmp_path: Path, *names: str) -> list[MediaFile]:
    files = []
    for name in names:
        path = tmp_path / "in" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode() * 50)
        files.append(MediaFile(path, PurePosixPath(name), 2.0))
    return files


class FakeBackend:
    """Writes a result for every job (fails the ones named ``bad``) and remembers the jobs."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, jobs: Sequence[Job]) -> Iterator[Event]:
        for job in jobs:
            self.ran.append(job.output.as_posix())
            yield Started("w1", job)
            if job.output.name == "bad":
                yield Finished("w1", Outcome(job.source, job.output, None, 0.0, 0.1, None, "bad"))
                continue
            (job.out_dir / f"{job.output}.txt").write_text(f"result of {job.source.name}")
            stat = job.source.stat()
            outcome = Outcome(
                job.source, job.output, "x", 2.0, 0.5, 1, None, "w1",
                stat.st_size, stat.st_mtime_ns,
            )  # fmt: skip
            yield Finished("w1", outcome)


def test_only_unfinished_files_run_again_and_the_report_lists_all(tmp_path: Path) -> None:
    files = _media(tmp_path, "a", "bad", "c")
    out = tmp_path / "out"
    first = FakeBackend()
    result = run_batch(files, out, PipelineConfig(), FORMATS, first)
    assert first.ran == ["a", "bad", "c"]
    assert result.failed == 1
    (out / "c.txt").unlink()  # a lost result is redone
    second = FakeBackend()
    result = run_batch(files, out, PipelineConfig(), FORMATS, second)
    assert second.ran == ["bad", "c"]
    assert [(r.outcome.output.name, r.this_run) for r in result.rows] == [
        ("a", False),
        ("bad", True),
        ("c", True),
    ]
    report = json.loads((out / "saywho-batch-report.json").read_text())
    assert report["totals"] == {
        "files": 3,
        "done": 2,
        "failed": 1,
        "done_this_run": 1,
        "audio_hours": round(4.0 / 3600, 6),
        "real_time_factor": 0.25,
    }
    assert report["files"][1]["error"] == "bad"


def test_temporary_files_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    files = _media(tmp_path, "a")
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / ".a.txt.k2j3h4"  # what atomic_text_file leaves when killed mid-write
    other = out / ".b.txt.k2j3h4"
    leftover.write_text("half")
    other.write_text("someone else's")
    run_batch(files, out, PipelineConfig(), FORMATS, FakeBackend())
    assert not leftover.exists()
    assert other.exists()
    assert (out / "a.txt").read_text() == "result of a.wav"


class StoppingBackend:
    """Finishes the first job, then says the disk is full or is interrupted (Ctrl-C) on the
    second; remembers whether it was closed (which stops real workers)."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.closed = False

    def __call__(self, jobs: Sequence[Job]) -> Iterator[Event]:
        try:
            first, second = jobs[0], jobs[1]
            yield Finished("w1", Outcome(first.source, first.output, "x", 2.0, 0.5, 1, None))
            if self.how == "ctrl-c":
                raise KeyboardInterrupt
            full = Outcome(second.source, second.output, None, 0.0, 0.1, None, "no space", "w1")
            yield Finished("w1", replace(full, storage_full=True))
            yield Finished("w1", Outcome(jobs[2].source, jobs[2].output, "x", 2.0, 0.5, 1, None))
        finally:
            self.closed = True


def test_a_full_disk_stops_the_batch_and_the_report_says_what_was_not_done(
    tmp_path: Path,
) -> None:
    files = _media(tmp_path, "a", "b", "c")
    backend = StoppingBackend("full")
    result = run_batch(files, tmp_path / "out", PipelineConfig(), FORMATS, backend)
    assert backend.closed
    assert result.stopped == "the output disk is full (no space)"
    assert not result.interrupted
    assert [(r.outcome.output.name, r.outcome.error) for r in result.rows] == [
        ("a", None),
        ("b", "no space"),
        ("c", f"{files[2].path}: not done: the output disk is full"),
    ]
    assert result.report is not None and result.report[1].exists()


def test_ctrl_c_still_writes_the_report(tmp_path: Path) -> None:
    files = _media(tmp_path, "a", "b", "c")
    backend = StoppingBackend("ctrl-c")
    result = run_batch(files, tmp_path / "out", PipelineConfig(), FORMATS, backend)
    assert backend.closed
    assert result.interrupted
    report = json.loads((tmp_path / "out" / "saywho-batch-report.json").read_text())
    assert [row["status"] for row in report["files"]] == ["done", "failed", "failed"]
    assert "not done: interrupted by Ctrl-C" in report["files"][2]["error"]
