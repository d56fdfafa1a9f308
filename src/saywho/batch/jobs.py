"""One file of a batch, as a job a worker runs: transcribe, write the results, say how it went.

The same :func:`run_job` runs in a local worker process and in a Ray actor, so a batch gives
the same files whichever way it runs. Jobs and outcomes are small picklable values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from stat import S_ISREG

from saywho.config import PipelineConfig
from saywho.errors import OutputError, SaywhoError
from saywho.identify.naming import Identification
from saywho.models import sha256_of
from saywho.outputs import output_path, write_outputs
from saywho.pipeline import Pipeline, ProgressHook
from saywho.types import Transcript

__all__ = [
    "Job",
    "Outcome",
    "is_storage_full",
    "options_fingerprint",
    "run_job",
    "thread_environment",
    "with_threads",
]

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_SQLITE_FULL = 13  # "database or disk is full"
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True, slots=True)
class Job:
    """Transcribe ``source`` into ``out_dir/output.<format>`` for each of ``formats``,
    naming its speakers with ``identification`` when there is one."""

    source: Path
    output: PurePosixPath
    out_dir: Path
    formats: tuple[str, ...]
    identification: Identification | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one job went. ``error`` is ``None`` when it succeeded.

    ``content_sha256`` is the hash of the input as it was read, and ``size_bytes`` and
    ``mtime_ns`` its size and modification time just before (``None`` if it could not be
    read); ``seconds`` is the wall-clock time the worker spent on it. ``storage_full`` says
    that its results could not be written because the output's disk (or quota, or the file
    size limit) is full: the batch stops, since every later file would fail the same way.
    """

    source: Path
    output: PurePosixPath
    content_sha256: str | None
    duration_s: float
    seconds: float
    speakers: int | None
    error: str | None
    worker: str = ""
    size_bytes: int | None = None
    mtime_ns: int | None = None
    storage_full: bool = False

    @property
    def ok(self) -> bool:
        """Whether the job succeeded."""
        return self.error is None

    @classmethod
    def lost(cls, job: Job, worker: str, why: str) -> Outcome:
        """The outcome of ``job`` when ``worker`` died on it (``why``: what is known)."""
        return cls(
            job.source,
            job.output,
            None,
            0.0,
            0.0,
            None,
            f"{job.source}: the {why} while transcribing it",
            worker,
        )

    @classmethod
    def not_run(cls, job: Job, why: str) -> Outcome:
        """The outcome of ``job`` when the batch stopped before it was done (``why``)."""
        return cls(job.source, job.output, None, 0.0, 0.0, None, f"{job.source}: not done: {why}")


def run_job(pipeline: Pipeline, job: Job, progress: ProgressHook | None = None) -> Outcome:
    """Hash, transcribe and write ``job``; a :class:`SaywhoError` becomes a failed outcome.

    The results are written atomically, each format renamed into place when complete.
    """
    started = time.perf_counter()
    digest: str | None = None
    size: int | None = None
    mtime: int | None = None
    with contextlib.suppress(OSError):  # transcribe() below says why it cannot be read
        stat = job.source.stat()
        size, mtime = stat.st_size, stat.st_mtime_ns
        if S_ISREG(stat.st_mode):  # a FIFO would block, a device never end: decode refuses them
            digest = sha256_of(job.source)
    try:
        transcript = pipeline.transcribe(job.source, progress=progress, voices=job.identification)
        if progress is not None:
            progress("write", 0.0, 1.0)
        _write(transcript, job)
    except SaywhoError as error:
        seconds = time.perf_counter() - started
        full = is_storage_full(error)
        return Outcome(
            job.source, job.output, digest, 0.0, seconds, None, str(error), "", size, mtime, full
        )
    speakers = len(transcript.speakers) if pipeline.config.diarize.enabled else None
    seconds = time.perf_counter() - started
    return Outcome(
        job.source,
        job.output,
        digest,
        transcript.duration_s,
        seconds,
        speakers,
        None,
        "",
        size,
        mtime,
    )


def _write(transcript: Transcript, job: Job) -> None:
    """Write ``job``'s results: all of its formats, or none (a full disk leaves no part)."""
    folder = job.out_dir / job.output.parent
    try:
        write_outputs(transcript, folder, job.output.name, job.formats)
    except OutputError:
        for fmt in job.formats:
            with contextlib.suppress(OSError):
                output_path(folder, job.output.name, fmt).unlink(missing_ok=True)
        raise


def options_fingerprint(
    config: PipelineConfig,
    formats: Sequence[str],
    identification: Identification | None = None,
) -> str:
    """A hash of everything that changes a file's results: the config, the formats and, when
    speakers are named, the voices and threshold (enrolling or renaming a voice redoes files).

    Thread counts change only the speed, so they are left out: a batch resumed with another
    number of workers does not redo finished files.
    """
    return hashlib.sha256(options_text(config, formats, identification).encode()).hexdigest()


def options_text(
    config: PipelineConfig,
    formats: Sequence[str],
    identification: Identification | None = None,
) -> str:
    """The options that :func:`options_fingerprint` hashes, as canonical JSON."""
    options: dict[str, object] = {
        "config": dataclasses.asdict(with_threads(config, 0)),
        "formats": sorted(formats),
    }
    if identification is not None:
        options["identify"] = identification.describe()
    return json.dumps(options, sort_keys=True)


def with_threads(config: PipelineConfig, threads: int) -> PipelineConfig:
    """``config`` with ``threads`` CPU threads for recognition and diarization."""
    return dataclasses.replace(
        config, recognize=dataclasses.replace(config.recognize, threads=threads)
    )


def thread_environment(threads: int) -> dict[str, str]:
    """The thread-pool variables a worker of ``threads`` CPU threads starts with.

    Ray sets ``OMP_NUM_THREADS`` to an actor's CPUs; a local worker would otherwise start its
    OpenMP and BLAS pools with one thread per core (numpy, CTranslate2, oneMKL), oversubscribing
    the cores and computing with other pool sizes than the same batch on Ray. Both backends start
    their workers with these, so a file gives the same result on either. A variable the user
    set is kept.
    """
    return {name: os.environ.get(name, str(threads)) for name in _THREAD_VARIABLES}


def is_storage_full(error: BaseException) -> bool:
    """Whether ``error`` (or the error it was raised from) says the disk or quota is full."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in _FULL_ERRNOS:
            return True
        if getattr(cause, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        cause = cause.__cause__
    return False
