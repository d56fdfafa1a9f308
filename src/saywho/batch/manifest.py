"""The resumable record of a batch: a SQLite file in the output folder, one row per input.

A row is committed only after the input's results are renamed into place, so after any
interruption (Ctrl-C, ``kill -9``, power loss) a row that says ``done`` has its results on
disk. A file counts as done when its row says so for the same content (sha256), the same
options, and its results are all still there; everything else is done again.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType

from saywho.batch.inputs import MediaFile
from saywho.batch.jobs import Outcome
from saywho.errors import OutputError
from saywho.models import sha256_of

__all__ = ["LOCK_NAME", "MANIFEST_NAME", "Manifest", "Record"]

MANIFEST_NAME = "saywho-batch.sqlite"
LOCK_NAME = "saywho-batch.lock"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    output TEXT PRIMARY KEY,       -- where the results are, relative, without a format suffix
    source TEXT NOT NULL,          -- the input, absolute
    size_bytes INTEGER,
    mtime_ns INTEGER,
    content_sha256 TEXT,
    options_sha256 TEXT NOT NULL,
    options TEXT NOT NULL,         -- canonical JSON of the options hashed above
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    error TEXT,
    duration_s REAL NOT NULL,
    seconds REAL NOT NULL,
    speakers INTEGER,
    worker TEXT NOT NULL,
    finished_at TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Record:
    """One row of the manifest: the last outcome of one input."""

    outcome: Outcome
    options_sha256: str
    finished_at: str


class Manifest:
    """The manifest of the batch writing into ``out_dir``; use it as a context manager.

    It holds an exclusive lock on ``out_dir`` while open (released by the OS if the process
    dies): a second batch into the same folder is refused with an :class:`OutputError`.
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / MANIFEST_NAME
        self._lock = _lock(out_dir / LOCK_NAME)
        try:
            # Autocommit off, rollback journal (works on network file systems, unlike WAL),
            # and a full fsync per commit so a committed row survives a power loss.
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level="DEFERRED")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as error:
            os.close(self._lock)
            raise OutputError(f"{self.path}: cannot open the batch manifest ({error})") from error

    def __enter__(self) -> Manifest:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._db.close()
        os.close(self._lock)

    def get(self, output: PurePosixPath) -> Record | None:
        """The row of the input whose results are ``output``, if any."""
        row = self._db.execute(
            "SELECT source, content_sha256, duration_s, seconds, speakers, error, worker, "
            "options_sha256, size_bytes, mtime_ns, finished_at FROM files WHERE output = ?",
            (output.as_posix(),),
        ).fetchone()
        if row is None:
            return None
        outcome = Outcome(
            Path(row[0]), output, row[1], row[2], row[3], row[4], row[5], row[6], row[8], row[9]
        )
        return Record(outcome, row[7], row[10])

    def finished(
        self, media: MediaFile, options_sha256: str, out_dir: Path, formats: tuple[str, ...]
    ) -> Record | None:
        """The ``done`` row of ``media`` if it needs no work: same content, options, results."""
        record = self.get(media.output)
        if (
            record is None
            or not record.outcome.ok
            or record.outcome.source != media.path
            or record.options_sha256 != options_sha256
        ):
            return None
        folder = out_dir / media.output.parent
        if not all((folder / f"{media.output.name}.{fmt}").is_file() for fmt in formats):
            return None
        return record if self._same_content(media.path, record) else None

    def record(self, outcome: Outcome, options_sha256: str, options: str) -> None:
        """Store ``outcome`` (replacing the input's earlier row) and commit it to disk."""
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    outcome.output.as_posix(),
                    str(outcome.source),
                    outcome.size_bytes,
                    outcome.mtime_ns,
                    outcome.content_sha256,
                    options_sha256,
                    options,
                    "done" if outcome.ok else "failed",
                    outcome.error,
                    outcome.duration_s,
                    outcome.seconds,
                    outcome.speakers,
                    outcome.worker,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
            self._db.commit()
        except sqlite3.Error as error:
            raise OutputError(f"{self.path}: cannot record {outcome.source} ({error})") from error

    def _same_content(self, path: Path, record: Record) -> bool:
        """Whether ``path`` still holds what was processed: stat first, the hash if in doubt."""
        try:
            stat = path.stat()
            recorded = (record.outcome.size_bytes, record.outcome.mtime_ns)
            if (stat.st_size, stat.st_mtime_ns) == recorded:
                return True
            return sha256_of(path) == record.outcome.content_sha256
        except OSError:
            return False


def _lock(path: Path) -> int:
    """Take the output folder's lock; the descriptor holds it until closed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        message = f"{path.parent}: cannot write into the output folder ({error})"
        raise OutputError(message) from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(descriptor)
        raise OutputError(
            f"{path.parent}: another saywho batch is writing into this folder; wait for it to "
            "finish (or stop it) first"
        ) from error
    return descriptor
