"""The job store: one SQLite database file in the data directory.

A job is one uploaded media file and the options to transcribe it with. Its life::

    queued ──► running ──► done
       ▲          │  └────► failed
       └──────────┘  (the server stopped while it ran: retried once, then failed)

Every call opens its own connection (WAL mode), so worker threads and request handlers
share the store safely; ``claim`` hands each queued job to exactly one worker.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from saywho.server.options import JobOptions

__all__ = ["JOB_ID", "MAX_ATTEMPTS", "Job", "JobStore", "Status", "new_job_id"]

Status = Literal["queued", "running", "done", "failed"]
JOB_ID = re.compile(r"^[0-9a-f]{24}$")
MAX_ATTEMPTS = 2
"""A job is started at most this often: once, and once more after a server crash."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    created     REAL NOT NULL,
    updated     REAL NOT NULL,
    status      TEXT NOT NULL,
    stage       TEXT,
    percent     REAL NOT NULL DEFAULT 0,
    error       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    options     TEXT NOT NULL,
    filename    TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    duration_s  REAL,
    run         TEXT,
    speakers    INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
"""
# Columns added since the first release, for job stores that an older version created.
_ADDED_COLUMNS = {"speakers": "INTEGER"}


def new_job_id() -> str:
    """A fresh random job id (24 hex digits): never derived from anything a client sent."""
    return secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class Job:
    """One row of the store."""

    id: str
    created: float
    updated: float
    status: Status
    stage: str | None
    percent: float
    error: str | None
    attempts: int
    options: JobOptions
    filename: str
    media_type: str
    size_bytes: int
    duration_s: float | None
    """The media's length: as its container declares it, then as decoded once done."""
    run: str | None
    """A fresh token for each start, so that a stale worker cannot report on a re-run."""
    speakers: int | None = None
    """How many speakers the result has (None until done)."""

    def public(self) -> dict[str, Any]:
        """The job as the API shows it."""
        return {
            "id": self.id,
            "status": self.status,
            "stage": self.stage,
            "percent": round(self.percent, 1),
            "error": self.error,
            "attempts": self.attempts,
            "filename": self.filename,
            "media_type": self.media_type,
            "size_bytes": self.size_bytes,
            "duration_s": self.duration_s,
            "speakers": self.speakers,
            "options": self.options.public(),
            "created": self.created,
            "updated": self.updated,
        }


@dataclass(frozen=True, slots=True)
class NewJob:
    """What a request adds: the media is already in place under the job's directory."""

    id: str
    options: JobOptions
    filename: str
    media_type: str
    size_bytes: int
    duration_s: float | None = None
    """As the media's container declares it, if it does."""


class JobStore:
    """Jobs in the SQLite file ``path`` (created with its schema on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        finally:
            db.close()

    def add(self, jobs: list[NewJob]) -> list[Job]:
        """Queue ``jobs`` in one transaction; return them as stored."""
        now = time.time()
        with self._connect() as db:
            for job in jobs:
                _insert(db, job, now, status="queued")
        return [self._require(job.id) for job in jobs]

    def add_done(self, job: NewJob, duration_s: float, speakers: int | None) -> Job:
        """Add a job that is already done (its media and result are in place): a live
        session that ended. Returns it as stored."""
        now = time.time()
        with self._connect() as db:
            _insert(
                db,
                dataclasses.replace(job, duration_s=duration_s),
                now,
                status="done",
                stage="done",
                percent=100.0,
                attempts=1,
                speakers=speakers,
            )
        return self._require(job.id)

    def get(self, job_id: str) -> Job | None:
        """The job ``job_id``, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY seq").fetchall()
        return [_job(row) for row in rows]

    def count(self, status: Status) -> int:
        """How many jobs have ``status``."""
        with self._connect() as db:
            row = db.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()
        return int(row[0])

    def claim(self) -> Job | None:
        """Mark the oldest queued job running (one more attempt) and return it, or None."""
        with self._connect() as db:
            row = db.execute(
                "UPDATE jobs SET status = 'running', stage = 'starting', percent = 0,"
                " attempts = attempts + 1, updated = ?, run = ?"
                " WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1)"
                " RETURNING *",
                (time.time(), secrets.token_hex(8)),
            ).fetchone()
        return None if row is None else _job(row)

    def progress(self, job: Job, stage: str, percent: float) -> bool:
        """Record a running job's progress; False if it was deleted or re-queued meanwhile."""
        return self._update_run(job, "stage = ?, percent = ?", (stage, percent))

    def finish(self, job: Job, duration_s: float, speakers: int | None = None) -> bool:
        """Mark a running job done, its media ``duration_s`` long with ``speakers`` speakers;
        False if it was deleted or re-queued meanwhile."""
        return self._update_run(
            job,
            "status = 'done', stage = 'done', percent = 100, error = NULL, duration_s = ?,"
            " speakers = ?",
            (duration_s, speakers),
        )

    def fail(self, job: Job, error: str) -> bool:
        """Mark a running job failed with the reason ``error``."""
        return self._update_run(job, "status = 'failed', error = ?", (error,))

    def release(self, job: Job) -> bool:
        """Queue a running job again without counting its attempt (a clean shutdown)."""
        return self._update_run(
            job, "status = 'queued', stage = NULL, percent = 0, attempts = attempts - 1", ()
        )

    def _update_run(self, job: Job, assignments: str, values: tuple[Any, ...]) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                f"UPDATE jobs SET {assignments}, updated = ?"
                " WHERE id = ? AND status = 'running' AND run = ?",
                (*values, time.time(), job.id, job.run),
            )
            return cursor.rowcount > 0

    def requeue(self, job_id: str, options: JobOptions) -> Job | None:
        """Queue a job again with new ``options`` (a re-run); None if there is no such job."""
        self._update(
            job_id,
            "status = 'queued', stage = NULL, percent = 0, error = NULL, attempts = 0,"
            " speakers = NULL, run = NULL, options = ?",
            (options.to_json(),),
        )
        return self.get(job_id)

    def delete(self, job_id: str) -> bool:
        """Remove the row; False if there was none."""
        with self._connect() as db:
            return db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

    def recover(self) -> tuple[list[str], list[str]]:
        """After a restart: jobs left running are queued again, or failed after their retry.

        Returns the ids re-queued and the ids failed.
        """
        with self._connect() as db:
            rows = db.execute("SELECT id, attempts FROM jobs WHERE status = 'running'").fetchall()
            retried = [r["id"] for r in rows if r["attempts"] < MAX_ATTEMPTS]
            failed = [r["id"] for r in rows if r["attempts"] >= MAX_ATTEMPTS]
            now = time.time()
            db.executemany(
                "UPDATE jobs SET status = 'queued', stage = NULL, percent = 0, updated = ?"
                " WHERE id = ?",
                [(now, job_id) for job_id in retried],
            )
            db.executemany(
                "UPDATE jobs SET status = 'failed', updated = ?, error = ? WHERE id = ?",
                [
                    (
                        now,
                        f"the server stopped while this job ran ({MAX_ATTEMPTS} attempts); "
                        "re-run it to try again",
                        job_id,
                    )
                    for job_id in failed
                ],
            )
        return retried, failed

    def _update(self, job_id: str, assignments: str, values: tuple[Any, ...]) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                f"UPDATE jobs SET {assignments}, updated = ? WHERE id = ?",
                (*values, time.time(), job_id),
            )
            return cursor.rowcount > 0

    def _require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:  # pragma: no cover - we just inserted it
            raise LookupError(job_id)
        return job

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()


def _insert(db: sqlite3.Connection, job: NewJob, now: float, **state: Any) -> None:
    """Insert ``job``, created ``now``, with the columns of ``state`` (status, ...)."""
    columns = {
        "id": job.id,
        "created": now,
        "updated": now,
        "options": job.options.to_json(),
        "filename": job.filename,
        "media_type": job.media_type,
        "size_bytes": job.size_bytes,
        "duration_s": job.duration_s,
        **state,
    }
    names = ", ".join(columns)  # our own column names, never a client's
    marks = ", ".join("?" for _ in columns)
    db.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", tuple(columns.values()))


def _job(row: Mapping[str, Any]) -> Job:
    return Job(
        id=row["id"],
        created=row["created"],
        updated=row["updated"],
        status=row["status"],
        stage=row["stage"],
        percent=row["percent"],
        error=row["error"],
        attempts=row["attempts"],
        options=JobOptions.from_json(row["options"]),
        filename=row["filename"],
        media_type=row["media_type"],
        size_bytes=row["size_bytes"],
        duration_s=row["duration_s"],
        run=row["run"],
        speakers=row["speakers"],
    )
