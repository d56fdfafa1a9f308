"""The batch coordinator with a stand-in backend (the real ones: tests/integration/test_batch*)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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
