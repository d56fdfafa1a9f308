"""A pool of local worker processes, each loading the models once and taking files in turn.

Workers are started with ``spawn`` (no fork of a process that holds model threads); each
gets its jobs one at a time on a pipe of its own and reports :mod:`~saywho.batch.events` on
another. No lock is shared between processes, so a worker killed mid-message harms no other.
One that dies (out of memory, a crash in native code) fails only the file it held and is
replaced. A worker stops at its next progress call when its coordinator says so (Ctrl-C,
an error) or has gone (``kill -9``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import connection
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventFlag
from typing import Any

from saywho.batch.events import Event, Finished, Progressed, Started
from saywho.batch.jobs import Job, Outcome, is_storage_full, run_job, thread_environment
from saywho.config import PipelineConfig
from saywho.errors import ModelError, SaywhoError
from saywho.pipeline import Pipeline

__all__ = ["run_local"]

_POLL_S = 0.2
_PROGRESS_EVERY_S = 0.25
_GRACE_S = 10.0  # for workers to stop by themselves before they are terminated


@dataclass(frozen=True, slots=True)
class _Broken:
    """A worker could not load its models."""

    worker: str
    message: str


class _Stop(BaseException):
    """The coordinator is gone or says stop: stop at once (a ``BaseException``, so that nothing
    on the way catches it)."""


def run_local(jobs: Sequence[Job], config: PipelineConfig, workers: int) -> Iterator[Event]:
    """Run ``jobs`` on ``workers`` processes with ``config``; yield their events.

    Every job ends in exactly one :class:`Finished`. Raises :class:`ModelError` when a
    worker cannot load its models. Closing the iterator (or Ctrl-C) stops the workers.
    """
    if not jobs:
        return
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    waiting = deque(jobs)
    pool: dict[str, _Worker] = {}
    serial = 0

    def hire() -> None:
        # Each worker has its own two pipes (no lock shared between processes, so a worker
        # killed mid-message cannot block the others) and is handed one job at a time, so the
        # coordinator always knows which file a worker holds, even if it dies without a word.
        nonlocal serial
        serial += 1
        name = f"w{serial}"
        inbox_out, inbox_in = context.Pipe(duplex=False)
        outbox_out, outbox_in = context.Pipe(duplex=False)
        process = context.Process(
            target=_work,
            args=(name, config, inbox_out, outbox_in, _Leash(os.getpid(), stop)),
            name=f"saywho-{name}",
            daemon=True,
        )
        with _environment(thread_environment(config.recognize.threads or 1)):
            process.start()  # a spawned process starts with the coordinator's environment
        inbox_out.close()
        outbox_in.close()
        pool[name] = _Worker(process, inbox_in, outbox_out, waiting.popleft())
        inbox_in.send(pool[name].job)

    for _ in range(max(1, min(workers, len(jobs)))):
        hire()
    try:
        while pool:
            by_handle: dict[Any, str] = {}
            for name, worker in pool.items():
                by_handle[worker.outbox] = name
                by_handle[worker.process.sentinel] = name
            for handle in connection.wait(list(by_handle), timeout=_POLL_S):
                name = by_handle[handle]
                if name in pool:
                    yield from _hear(pool, name, waiting)
            for name, worker in list(pool.items()):
                if worker.process.exitcode is None:
                    continue
                yield from _hear(pool, name, waiting)  # what it said before it died
                if name not in pool:
                    continue
                del pool[name]
                if worker.job is not None:
                    yield Finished(name, _died(worker.job, name, worker.process.exitcode))
                    if waiting:
                        hire()
    finally:
        stop.set()  # workers leave at their next progress call, cleanly
        for worker in pool.values():
            with contextlib.suppress(OSError):
                worker.inbox.send(None)
        _stop([worker.process for worker in pool.values()])


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set ``variables`` in this process's environment for the block, then restore it."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    inbox: Connection
    outbox: Connection
    job: Job | None


def _hear(pool: dict[str, _Worker], name: str, waiting: deque[Job]) -> Iterator[Event]:
    """Yield every message ``name`` has sent; hand it its next job after each file."""
    worker = pool[name]
    while name in pool and worker.outbox.poll():
        try:
            message = worker.outbox.recv()
        except (EOFError, OSError):
            return  # it died mid-message: its exit code says so
        if isinstance(message, _Broken):
            raise ModelError(message.message)
        if isinstance(message, Finished):
            worker.job = waiting.popleft() if waiting else None
            worker.inbox.send(worker.job)
            if worker.job is None:
                worker.process.join()
                del pool[name]
        yield message


def _died(job: Job, worker: str, exitcode: int | None) -> Outcome:
    reason = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"{exitcode}"
    return Outcome.lost(job, worker, f"worker process died (exit {reason}; out of memory?)")


def _stop(processes: Sequence[BaseProcess]) -> None:
    deadline = time.monotonic() + _GRACE_S
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.exitcode is None:  # still loading its models, or stuck
            process.terminate()
            process.join(timeout=5.0)
        if process.exitcode is None:
            process.kill()
            process.join()


@dataclass(frozen=True, slots=True)
class _Leash:
    """What a worker checks to know it should stop: its coordinator's pid, and a stop flag."""

    coordinator: int
    stop: EventFlag

    def check(self) -> None:
        if self.stop.is_set() or os.getppid() != self.coordinator:
            raise _Stop


def _work(
    name: str,
    config: PipelineConfig,
    inbox: Connection,
    outbox: Connection,
    leash: _Leash,
) -> None:
    """A worker process: load the models once, then transcribe jobs until a ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    try:
        pipeline = Pipeline(config)
    except SaywhoError as error:
        outbox.send(_Broken(name, str(error)))
        return
    try:
        while (job := inbox.recv()) is not None:
            leash.check()
            outbox.send(Started(name, job))
            outbox.send(Finished(name, _run(pipeline, job, name, outbox, leash)))
    except (_Stop, EOFError, OSError):  # told to stop, or the coordinator's pipes are gone
        return


def _run(
    pipeline: Pipeline,
    job: Job,
    name: str,
    outbox: Connection,
    leash: _Leash,
) -> Outcome:
    last = 0.0

    def hook(stage: str, done_s: float, total_s: float) -> None:
        nonlocal last
        leash.check()
        now = time.monotonic()
        if now - last >= _PROGRESS_EVERY_S or stage == "done":
            last = now
            outbox.send(Progressed(name, stage, done_s, total_s))

    try:
        outcome = run_job(pipeline, job, hook)
    except Exception as error:  # a bug must cost one file, not the batch
        outcome = Outcome(
            job.source,
            job.output,
            None,
            0.0,
            0.0,
            None,
            f"{job.source}: internal error: {error!r}",
            storage_full=is_storage_full(error),
        )
    return dataclasses.replace(outcome, worker=name)
