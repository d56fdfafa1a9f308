"""The coordinator of a batch: plan what is left, run it on a backend, record, report.

    inputs ─► plan (manifest: skip what is done for the same content and options)
           ─► backend (local processes or Ray) runs the jobs ─► events
           ─► each finished file: committed to the manifest ─► report (CSV, JSON)

The coordinator is the only writer of the manifest and the report; workers write only the
results of their own files. A Ctrl-C or a full output disk stops the batch (the workers too)
and still writes the report.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from saywho.batch.events import Event, Finished
from saywho.batch.inputs import MediaFile
from saywho.batch.jobs import Job, Outcome, is_storage_full, options_fingerprint, options_text
from saywho.batch.manifest import Manifest
from saywho.batch.report import ReportRow, write_report
from saywho.config import PipelineConfig
from saywho.errors import OutputError
from saywho.identify.naming import Identification

__all__ = [
    "INTERRUPTED",
    "STORAGE_FULL",
    "Backend",
    "BatchPlan",
    "BatchResult",
    "Observer",
    "plan_batch",
    "run_batch",
]

INTERRUPTED = "interrupted by Ctrl-C"
STORAGE_FULL = "the output disk is full"

Backend = Callable[[Sequence[Job]], Iterator[Event]]
"""Runs jobs somewhere and yields their events; each job ends in one :class:`Finished`."""


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """The files to transcribe now, and those already done by an earlier run."""

    jobs: tuple[Job, ...]
    earlier: tuple[Outcome, ...]
    durations_s: dict[Path, float]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Every input's latest outcome, in input order, and where the report went.

    ``stopped`` says why the batch stopped before its last file (``None``: it did not);
    ``report`` is ``None`` when the report could not be written, and ``report_error`` says why.
    """

    rows: tuple[ReportRow, ...]
    report: tuple[Path, Path] | None
    stopped: str | None = None
    report_error: str | None = None

    @property
    def failed(self) -> int:
        """How many inputs failed."""
        return sum(1 for row in self.rows if not row.outcome.ok)

    @property
    def interrupted(self) -> bool:
        """Whether the batch stopped at a Ctrl-C (SIGINT)."""
        return self.stopped == INTERRUPTED


class Observer(Protocol):
    """Follows a batch as it runs (the progress display)."""

    def planned(self, plan: BatchPlan, total_files: int) -> None:
        """The batch is about to start ``plan``."""

    def event(self, event: Event) -> None:
        """A backend said something."""


def plan_batch(
    files: Sequence[MediaFile],
    out_dir: Path,
    config: PipelineConfig,
    formats: tuple[str, ...],
    manifest: Manifest,
    identification: Identification | None = None,
) -> BatchPlan:
    """Split ``files`` into jobs still to do and outcomes already in ``manifest``."""
    fingerprint = options_fingerprint(config, formats, identification)
    jobs: list[Job] = []
    earlier: list[Outcome] = []
    for media in files:
        record = manifest.finished(media, fingerprint, out_dir, formats)
        if record is None:
            jobs.append(Job(media.path, media.output, out_dir, formats, identification))
        else:
            earlier.append(record.outcome)
    durations = {media.path: media.duration_s for media in files}
    return BatchPlan(tuple(jobs), tuple(earlier), durations)


def run_batch(
    files: Sequence[MediaFile],
    out_dir: Path,
    config: PipelineConfig,
    formats: tuple[str, ...],
    backend: Backend,
    observer: Observer | None = None,
    identification: Identification | None = None,
) -> BatchResult:
    """Transcribe what is left of ``files`` into ``out_dir``, resumably; write the report.

    With ``identification``, speakers who match its voices are named in every result.
    The batch stops early, with a report, at a Ctrl-C or when the output disk is full (every
    later file would fail too); the files it did not reach are reported as not done, and a
    later run does them. A report that cannot be written is a ``report_error``, not an
    exception, so the command line can still list the failures.
    """
    fingerprint = options_fingerprint(config, formats, identification)
    options = options_text(config, formats, identification)
    with Manifest(out_dir) as manifest:
        plan = plan_batch(files, out_dir, config, formats, manifest, identification)
        if observer is not None:
            observer.planned(plan, len(files))
        latest: dict[Path, ReportRow] = {o.source: ReportRow(o, False) for o in plan.earlier}
        for job in plan.jobs:
            _remove_leftovers(job)
        events = backend(plan.jobs)
        stopped: str | None = None
        try:
            for event in events:
                if isinstance(event, Finished):
                    latest[event.outcome.source] = ReportRow(event.outcome, True)
                    stopped = _record(manifest, event.outcome, fingerprint, options)
                if observer is not None:
                    observer.event(event)
                if stopped is not None:
                    break
        except KeyboardInterrupt:  # Ctrl-C: stop the workers, then report what was done
            stopped = INTERRUPTED
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # stops the workers when the loop ends early (Ctrl-C, an error)
    reason = (stopped or "no result").split(" (")[0]  # the details are in ``stopped``
    for job in plan.jobs:
        if job.source not in latest:
            latest[job.source] = ReportRow(Outcome.not_run(job, reason), True)
    rows = tuple(latest[media.path] for media in files if media.path in latest)
    try:
        report: tuple[Path, Path] | None = write_report(rows, out_dir)
    except OutputError as error:  # a full disk: the command line still lists the failures
        return BatchResult(rows, None, stopped, str(error))
    return BatchResult(rows, report, stopped)


def _record(manifest: Manifest, outcome: Outcome, fingerprint: str, options: str) -> str | None:
    """Commit ``outcome`` to ``manifest``; why the batch must stop now, if it must."""
    try:
        manifest.record(outcome, fingerprint, options)
    except OutputError as error:  # a resumable batch cannot go on without its manifest
        full = is_storage_full(error)
        return f"{STORAGE_FULL if full else 'the manifest cannot be written'} ({error})"
    if outcome.storage_full:
        return f"{STORAGE_FULL} ({outcome.error})"
    return None


def _remove_leftovers(job: Job) -> None:
    """Delete the temporary files a killed run left where ``job``'s results go.

    An atomic write goes through ``.<name>.<random>`` beside its target; a ``kill -9`` in the
    middle leaves that behind. The output folder's lock means no one else writes these names.
    """
    folder = job.out_dir / job.output.parent
    for fmt in job.formats:
        for leftover in folder.glob(f".{glob.escape(job.output.name)}.{fmt}.*"):
            leftover.unlink(missing_ok=True)
