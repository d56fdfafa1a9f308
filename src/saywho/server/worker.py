"""The worker pool: long-lived worker processes, each holding its own loaded pipelines.

Jobs never run in the server's process. Each of the ``count`` workers is a process of its
own (started with ``spawn``, like :mod:`saywho.batch.local`'s, with two pipes of its own and
no lock shared with anyone) that keeps its :class:`~saywho.pipeline.Pipeline` between jobs:
models load once per worker and set of options. A worker that dies (out of memory, a crash
in native code, ``kill -9``) fails only the job it held, with the reason, and is replaced;
the server and the other workers carry on. Each worker's memory is capped (``RLIMIT_DATA``,
``--max-job-memory-mb``): a job that needs more fails with "out of memory".

In the server, one supervising thread per worker claims the oldest queued job from the
store, hands it to its worker, turns the worker's progress messages into store updates, and
with the transcript names the speakers whose voices are in the library and writes the result
atomically. Deleting or re-queuing a running job stops it at its next progress report; a
clean shutdown puts it back in the queue.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing import connection
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from saywho.config import PipelineConfig
from saywho.engines import Voices
from saywho.errors import SaywhoError
from saywho.pipeline import Pipeline
from saywho.progress import FileProgress, expected_stages
from saywho.server.jobs import Job, JobStore
from saywho.server.results import write_result
from saywho.server.security import without_paths
from saywho.server.settings import DataDir
from saywho.server.voices import VoiceLibrary
from saywho.types import Transcript

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)

_REPORT_EVERY_S = 0.3
_POLL_S = 0.5
_STOP_GRACE_S = 3.0  # for a worker to leave its job at a clean shutdown before it is killed
_PIPELINES_PER_WORKER = 2
# (first, last) percent of each stage, with and without diarization.
# -- what the server and a worker say to each other ----------------------------------------


@dataclass(frozen=True, slots=True)
class _Task:
    """Server → worker: transcribe ``media`` with ``config``, names from ``voices``."""

    config: PipelineConfig
    media: Path
    voices: Voices


@dataclass(frozen=True, slots=True)
class _Cancel:
    """Server → worker, during a task: leave it at the next progress report."""


@dataclass(frozen=True, slots=True)
class _Progress:
    stage: str
    done_s: float
    total_s: float


@dataclass(frozen=True, slots=True)
class _Done:
    transcript: Transcript


@dataclass(frozen=True, slots=True)
class _Failed:
    message: str
    exits: bool = False
    """The worker leaves after this (its memory ran out: a fresh one is safer)."""


@dataclass(frozen=True, slots=True)
class _Cancelled:
    pass


_Message = _Progress | _Done | _Failed | _Cancelled


# -- the server's side ---------------------------------------------------------------------


@dataclass(slots=True)
class _Worker:
    """A worker process as its supervising thread sees it."""

    process: BaseProcess
    inbox: Connection
    outbox: Connection

    def alive(self) -> bool:
        return self.process.exitcode is None

    def receive(self) -> _Message | None:
        """The next message the worker sent, or None (none yet, or it died mid-message)."""
        try:
            return self.outbox.recv() if self.outbox.poll() else None
        except (EOFError, OSError):
            return None

    def tell(self, message: _Task | _Cancel | None) -> None:
        with contextlib.suppress(OSError):  # it died: its exit code says so
            self.inbox.send(message)


class WorkerPool:
    """``count`` worker processes for the jobs of ``store``; start with :meth:`start`.

    Results get names from ``voices``. ``max_memory_bytes`` caps each worker's memory
    (None: no cap).
    """

    def __init__(
        self,
        store: JobStore,
        paths: DataDir,
        config: PipelineConfig,
        count: int,
        voices: VoiceLibrary,
        *,
        max_memory_bytes: int | None = None,
    ):
        self.store = store
        self.paths = paths
        self.voices = voices
        threads = max(1, (os.cpu_count() or 1) // count)
        self.config = dataclasses.replace(
            config,
            recognize=dataclasses.replace(
                config.recognize, threads=config.recognize.threads or threads
            ),
        )
        self.count = count
        self.max_memory_bytes = max_memory_bytes
        self._context = multiprocessing.get_context("spawn")
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the workers (their processes load models at their first job)."""
        for index in range(self.count):
            thread = threading.Thread(
                target=self._supervise, args=(index,), name=f"saywho-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def notify(self) -> None:
        """Tell idle workers that a job was queued."""
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the workers; a running job goes back to the queue. Wait up to ``timeout_s``."""
        self._stop.set()
        self.notify()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _supervise(self, index: int) -> None:
        worker = self._hire(index)
        try:
            while not self._stop.is_set():
                if not worker.alive():
                    worker = self._hire(index)  # it died while idle
                job = self.store.claim()
                if job is None:
                    with self._wake:
                        self._wake.wait(1.0)
                    continue
                if not self._run(worker, job):
                    worker.process.join(5.0)
                    if not self._stop.is_set():
                        worker = self._hire(index)
        finally:
            _dismiss(worker)

    def _hire(self, index: int) -> _Worker:
        inbox_out, inbox_in = self._context.Pipe(duplex=False)
        outbox_out, outbox_in = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_serve,
            args=(inbox_out, outbox_in, os.getpid(), self.max_memory_bytes),
            name=f"saywho-worker-{index}",
            daemon=True,
        )
        process.start()
        inbox_out.close()
        outbox_in.close()
        return _Worker(process, inbox_in, outbox_out)

    def _run(self, worker: _Worker, job: Job) -> bool:
        """Run ``job`` on ``worker`` to its end; False if the worker is gone after it."""
        config = job.options.config(self.config)
        worker.tell(_Task(config, self.paths.media(job.id), self.voices.voices()))
        now = FileProgress(expected_stages(config))
        cancelled_at: float | None = None
        while True:
            connection.wait([worker.outbox, worker.process.sentinel], timeout=_POLL_S)
            while (message := worker.receive()) is not None:
                if isinstance(message, _Progress):
                    now = now.advance(message.stage, message.done_s, message.total_s)
                    ours = self.store.progress(job, message.stage, min(100 * now.fraction, 99.0))
                    if not ours and cancelled_at is None:  # deleted or re-queued meanwhile
                        worker.tell(_Cancel())
                        cancelled_at = time.monotonic()
                    continue
                self._conclude(job, message)
                return not (isinstance(message, _Failed) and message.exits)
            if not worker.alive():
                self.store.fail(job, _death(worker.process.exitcode))
                log.warning(
                    "job %s: its worker process died (exit %s)", job.id, worker.process.exitcode
                )
                return False
            if self._stop.is_set() and cancelled_at is None:
                worker.tell(_Cancel())
                cancelled_at = time.monotonic()
            if (
                self._stop.is_set()
                and cancelled_at is not None
                and time.monotonic() - cancelled_at > _STOP_GRACE_S
            ):
                worker.process.kill()
                self.store.release(job)
                return False

    def _conclude(self, job: Job, message: _Done | _Failed | _Cancelled) -> None:
        if isinstance(message, _Cancelled):
            if self._stop.is_set():
                self.store.release(job)
            else:
                log.info("job %s stopped: deleted or re-queued", job.id)
        elif isinstance(message, _Failed):
            labels = {self.paths.media(job.id): job.filename}
            self.store.fail(job, without_paths(message.message, labels, self.paths.root))
        else:
            self._finish(job, message.transcript)

    def _finish(self, job: Job, transcript: Transcript) -> None:
        try:
            transcript = dataclasses.replace(transcript, source=job.filename)
            speakers = write_result(self.paths.result(job.id), transcript)
            self.store.finish(job, transcript.duration_s, speakers)
        except SaywhoError as error:
            self.store.fail(job, str(error))
        except FileNotFoundError:
            self.store.fail(job, "the job's files are gone (deleted while it ran)")
        except Exception as error:
            log.exception("job %s failed", job.id)
            self.store.fail(job, f"internal error: {type(error).__name__}: {error}")


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
    else:
        how = f"exit {exitcode}"
    return (
        f"the worker process running this job died ({how}): out of memory, or a crash; "
        "the server goes on, re-run the job to try again"
    )


def _dismiss(worker: _Worker) -> None:
    worker.tell(None)
    worker.process.join(2.0)
    if worker.process.exitcode is None:
        worker.process.terminate()
        worker.process.join(3.0)
    if worker.process.exitcode is None:
        worker.process.kill()
        worker.process.join()


# -- the worker's side ---------------------------------------------------------------------


class _CancelledError(Exception):
    """The server asked to leave the job (deleted, re-queued, or the server stops)."""


class _OrphanedError(BaseException):
    """The server is gone: leave at once (a ``BaseException``, so nothing on the way
    catches it)."""


def _serve(
    inbox: Connection, outbox: Connection, server: int, max_memory_bytes: int | None
) -> None:
    """A worker process: transcribe tasks until a ``None`` or until the server is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    if max_memory_bytes is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        cap = max_memory_bytes if hard == resource.RLIM_INFINITY else min(max_memory_bytes, hard)
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
        except (ValueError, OSError) as error:  # a system that does not let us
            log.warning("cannot cap a worker's memory: %s", error)
    pipelines: OrderedDict[PipelineConfig, Pipeline] = OrderedDict()
    try:
        while (task := inbox.recv()) is not None:
            if isinstance(task, _Cancel):
                continue  # it crossed the end of its job
            outcome = _attempt(task, pipelines, _Hook(inbox, outbox, server), max_memory_bytes)
            outbox.send(outcome)
            if isinstance(outcome, _Failed) and outcome.exits:
                return
    except (EOFError, OSError, _OrphanedError):  # the server's pipes are gone
        return


def _attempt(
    task: _Task,
    pipelines: OrderedDict[PipelineConfig, Pipeline],
    hook: _Hook,
    max_memory_bytes: int | None,
) -> _Done | _Failed | _Cancelled:
    try:
        pipeline = _pipeline(pipelines, task.config)
        return _Done(pipeline.transcribe(task.media, progress=hook, voices=task.voices))
    except _CancelledError:
        return _Cancelled()
    except MemoryError:
        pipelines.clear()
        limit = f"{max_memory_bytes // 1_000_000} MB" if max_memory_bytes else "what is free"
        return _Failed(
            f"out of memory: the job needed more than a job may use ({limit}; "
            "saywho serve --max-job-memory-mb)",
            exits=True,
        )
    except SaywhoError as error:
        return _Failed(str(error))
    except FileNotFoundError:
        return _Failed("the job's files are gone (deleted while it ran)")
    except Exception as error:  # a bug must cost one job, not the worker
        log.exception("a job failed")
        return _Failed(f"internal error: {type(error).__name__}: {error}")


def _pipeline(pipelines: OrderedDict[PipelineConfig, Pipeline], config: PipelineConfig) -> Pipeline:
    pipeline = pipelines.get(config)
    if pipeline is None:
        pipeline = Pipeline(config)
        pipelines[config] = pipeline
        while len(pipelines) > _PIPELINES_PER_WORKER:
            pipelines.popitem(last=False)
    pipelines.move_to_end(config)
    return pipeline


class _Hook:
    """The progress hook of a task: reports now and then, leaves when told to."""

    def __init__(self, inbox: Connection, outbox: Connection, server: int) -> None:
        self.inbox = inbox
        self.outbox = outbox
        self.server = server
        self._last_s = 0.0
        self._last_stage = ""

    def __call__(self, stage: str, done_s: float, total_s: float) -> None:
        if os.getppid() != self.server:
            raise _OrphanedError
        if self.inbox.poll():
            if self.inbox.recv() is None:
                raise _OrphanedError
            raise _CancelledError
        now = time.monotonic()
        if stage == self._last_stage and now - self._last_s < _REPORT_EVERY_S:
            return
        self._last_s, self._last_stage = now, stage
        self.outbox.send(_Progress(stage, done_s, total_s))
