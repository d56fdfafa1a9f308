"""The worker pool: a bounded number of threads, each holding its own loaded pipelines.

A worker claims the oldest queued job from the store, transcribes it with a
:class:`~saywho.pipeline.Pipeline` it keeps between jobs (models load once per worker and
set of options), reports progress to the store, names the speakers whose voices are in the
library, and writes the result atomically.
Deleting or re-queuing a running job stops it at its next progress report.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import OrderedDict

from saywho.atomic import atomic_text_file
from saywho.config import PipelineConfig
from saywho.errors import SaywhoError
from saywho.formats import write
from saywho.pipeline import Pipeline
from saywho.server.jobs import Job, JobStore
from saywho.server.settings import DataDir
from saywho.server.voices import VoiceLibrary

__all__ = ["WorkerPool", "overall_percent"]

log = logging.getLogger(__name__)

_REPORT_EVERY_S = 0.3
_PIPELINES_PER_WORKER = 2
# (first, last) percent of each stage, with and without diarization.
_BANDS = {
    "decode": (0.0, 5.0),
    "detect": (5.0, 10.0),
    "recognize": (10.0, 60.0),
    "segment": (60.0, 80.0),
    "embed": (80.0, 98.0),
    "done": (100.0, 100.0),
}
_BANDS_NO_DIARIZE = {**_BANDS, "recognize": (10.0, 98.0)}


def overall_percent(stage: str, done_s: float, total_s: float, *, diarize: bool) -> float:
    """The job's progress in percent from a stage's own progress (unknown stages: 98)."""
    first, last = (_BANDS if diarize else _BANDS_NO_DIARIZE).get(stage, (98.0, 98.0))
    share = min(max(done_s / total_s, 0.0), 1.0) if total_s > 0 else 0.0
    return first + (last - first) * share


class _StoppedError(Exception):
    """The job was deleted or re-queued while it ran."""


class _InterruptedError(Exception):
    """The server is shutting down: the job goes back to the queue."""


class WorkerPool:
    """``count`` worker threads sharing ``store``; start with :meth:`start`. Results get
    names from ``voices``."""

    def __init__(
        self,
        store: JobStore,
        paths: DataDir,
        config: PipelineConfig,
        count: int,
        voices: VoiceLibrary,
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
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the worker threads."""
        for index in range(self.count):
            thread = threading.Thread(target=self._run, name=f"saywho-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def notify(self) -> None:
        """Tell idle workers that a job was queued."""
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the workers to stop after their current job; wait up to ``timeout_s``."""
        self._stop.set()
        self.notify()
        for thread in self._threads:
            thread.join(timeout_s)

    def _run(self) -> None:
        pipelines: OrderedDict[PipelineConfig, Pipeline] = OrderedDict()
        while not self._stop.is_set():
            job = self.store.claim()
            if job is None:
                with self._wake:
                    self._wake.wait(1.0)
                continue
            self._process(job, pipelines)

    def _process(self, job: Job, pipelines: OrderedDict[PipelineConfig, Pipeline]) -> None:
        try:
            config = job.options.config(self.config)
            pipeline = _pipeline(pipelines, config)
            hook = _Reporter(self.store, job, self._stop, diarize=config.diarize.enabled)
            transcript = pipeline.transcribe(self.paths.media(job.id), progress=hook)
            transcript = dataclasses.replace(transcript, source=job.filename)
            transcript = self.voices.name_speakers(transcript)
            with atomic_text_file(self.paths.result(job.id)) as stream:
                write(transcript, "json", stream)
            self.store.finish(job, transcript.duration_s)
        except _InterruptedError:
            self.store.release(job)
        except _StoppedError:
            log.info("job %s stopped: deleted or re-queued", job.id)
        except SaywhoError as error:
            self.store.fail(job, str(error))
        except FileNotFoundError:
            self.store.fail(job, "the job's files are gone (deleted while it ran)")
        except Exception as error:
            log.exception("job %s failed", job.id)
            self.store.fail(job, f"internal error: {type(error).__name__}: {error}")


def _pipeline(pipelines: OrderedDict[PipelineConfig, Pipeline], config: PipelineConfig) -> Pipeline:
    pipeline = pipelines.get(config)
    if pipeline is None:
        pipeline = Pipeline(config)
        pipelines[config] = pipeline
        while len(pipelines) > _PIPELINES_PER_WORKER:
            pipelines.popitem(last=False)
    pipelines.move_to_end(config)
    return pipeline


class _Reporter:
    """The progress hook of one job: writes to the store now and then, stops a gone job."""

    def __init__(self, store: JobStore, job: Job, stop: threading.Event, *, diarize: bool) -> None:
        self.store = store
        self.job = job
        self.stop = stop
        self.diarize = diarize
        self._last_s = 0.0
        self._last_stage = ""

    def __call__(self, stage: str, done_s: float, total_s: float) -> None:
        if self.stop.is_set():
            raise _InterruptedError
        now = time.monotonic()
        if stage == self._last_stage and now - self._last_s < _REPORT_EVERY_S:
            return
        self._last_s, self._last_stage = now, stage
        percent = overall_percent(stage, done_s, total_s, diarize=self.diarize)
        if not self.store.progress(self.job, stage, min(percent, 99.0)):
            raise _StoppedError
