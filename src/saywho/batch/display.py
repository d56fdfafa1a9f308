"""The live view of a batch: one overall bar (files, hours of audio, ETA), one line a worker."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import TaskID

from saywho.batch.events import Event, Finished, Progressed, Started
from saywho.batch.runner import BatchPlan
from saywho.progress import FileProgress, format_duration, progress_bar

__all__ = ["BatchDisplay"]


class BatchDisplay:
    """A rich view that follows a batch; use it as a context manager around the run."""

    def __init__(self, console: Console) -> None:
        self._progress = progress_bar(console)
        self._overall: TaskID | None = None
        self._workers: dict[str, TaskID] = {}
        self._durations: dict[Path, float] = {}
        self._names: dict[str, str] = {}
        self._files: dict[str, FileProgress] = {}
        self._done = self._failed = self._to_do = 0
        self._audio_done_s = self._audio_total_s = 0.0

    def __enter__(self) -> BatchDisplay:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def planned(self, plan: BatchPlan, total_files: int) -> None:
        """Show what is to do; files done by an earlier run are said once, not counted."""
        self._durations = dict(plan.durations_s)
        self._to_do = len(plan.jobs)
        self._audio_total_s = sum(plan.durations_s[job.source] for job in plan.jobs)
        if plan.earlier:
            self._progress.console.print(
                f"{len(plan.earlier)} of {total_files} files already done (same content and "
                "options): skipped",
                highlight=False,
            )
        self._overall = self._progress.add_task(self._summary(), total=self._audio_total_s or 1)

    def event(self, event: Event) -> None:
        """Update the worker's line and, when a file finishes, the overall bar."""
        task = self._worker_task(event.worker)
        if isinstance(event, Started):
            self._names[event.worker] = event.job.source.name
            self._files[event.worker] = FileProgress()
            self._progress.reset(task, total=1.0, description=self._line(event.worker, "start"))
        elif isinstance(event, Progressed):
            now = self._files.get(event.worker, FileProgress()).advance(
                event.stage, event.done_s, event.total_s
            )
            self._files[event.worker] = now
            self._progress.update(
                task,
                total=1.0,
                completed=now.fraction,
                description=self._line(event.worker, now.label),
            )
        elif isinstance(event, Finished):
            self._finished(event, task)

    def _finished(self, event: Finished, task: TaskID) -> None:
        outcome = event.outcome
        if outcome.ok:
            self._done += 1
        else:
            self._failed += 1
            self._progress.console.print(
                f"[red]error:[/red] {outcome.error}", highlight=False, soft_wrap=True
            )
        self._audio_done_s += self._durations.get(outcome.source, 0.0)
        state = "done" if outcome.ok else "[red]failed[/red]"
        self._progress.update(
            task, total=1.0, completed=1.0, description=self._line(event.worker, state)
        )
        if self._overall is not None:
            finished = self._done + self._failed >= self._to_do
            completed = max(self._audio_total_s, 1.0) if finished else self._audio_done_s
            self._progress.update(self._overall, completed=completed, description=self._summary())

    def _worker_task(self, worker: str) -> TaskID:
        if worker not in self._workers:
            self._workers[worker] = self._progress.add_task(worker, total=None)
        return self._workers[worker]

    def _line(self, worker: str, stage: str) -> str:
        return f"  {worker} · {self._names.get(worker, '')} · {stage}"

    def _summary(self) -> str:
        failed = f" · [red]{self._failed} failed[/red]" if self._failed else ""
        return (
            f"{self._done + self._failed}/{self._to_do} files · "
            f"{format_duration(self._audio_done_s)} of {format_duration(self._audio_total_s)} "
            f"audio{failed}"
        )
