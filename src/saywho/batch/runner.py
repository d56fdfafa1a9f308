"""The coordinator of a batch: plan what is left, run it on a backend, record, report.

    inputs ─► plan (manifest: skip what is done for the same content and options)
           ─► backend (local processes or Ray) runs the jobs ─► events
           ─► each finished file: committed to the manifest ─► report (CSV, JSON)

The coordinator is the only writer of the manifest and the report; workers write only the
results of their own files.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from saywho.batch.events import Event, Finished
from saywho.batch.inputs import MediaFile
from saywho.batch.jobs import Job, Outcome, options_fingerprint, options_text
from saywho.batch.manifest import Manifest
from saywho.batch.report import ReportRow, write_report
from saywho.config import PipelineConfig
from saywho.identify.naming import Identification

__all__ = ["Backend", "BatchPlan", "BatchResult", "Observer", "plan_batch", "run_batch"]

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
    """Every input's latest outcome, in input order, and where the report went."""

    rows: tuple[ReportRow, ...]
    report: tuple[Path, Path]

    @property
    def failed(self) -> int:
        """How many inputs failed."""
        return sum(1 for row in self.rows if not row.outcome.ok)


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
        try:
            for event in events:
                if isinstance(event, Finished):
                    manifest.record(event.outcome, fingerprint, options)
                    latest[event.outcome.source] = ReportRow(event.outcome, True)
                if observer is not None:
                    observer.event(event)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # stops the workers when the loop ends early (Ctrl-C, an error)
    rows = tuple(latest[media.path] for media in files if media.path in latest)
    return BatchResult(rows, write_report(rows, out_dir))


def _remove_leftovers(job: Job) -> None:
    """Delete the temporary files a killed run left where ``job``'s results go.

    An atomic write goes through ``.<name>.<random>`` beside its target; a ``kill -9`` in the
    middle leaves that behind. The output folder's lock means no one else writes these names.
    """
    folder = job.out_dir / job.output.parent
    for fmt in job.formats:
        for leftover in folder.glob(f".{glob.escape(job.output.name)}.{fmt}.*"):
            leftover.unlink(missing_ok=True)
