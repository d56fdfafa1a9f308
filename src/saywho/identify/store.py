"""The voice library: enrolled voices in a SQLite file (adapter).

One row per voice (name, notes, created/updated times) and one row per sample (an embedding,
the seconds of speech behind it, the sha256 of the embedding model, where it came from).
The file uses write-ahead logging, so readers never block a writer or each other; every
change is one transaction (``BEGIN IMMEDIATE``), so a crash or a second writer never leaves
half a change. A file that is not a saywho voice library, or a library locked past the
timeout, is a :class:`VoiceLibraryError` and the file is left as it was.

The location: ``--voices PATH``, else ``$SAYWHO_VOICES``, else ``voices.sqlite3`` in the
user data directory (platformdirs).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import platformdirs

from saywho.atomic import atomic_text_file
from saywho.errors import VoiceLibraryError
from saywho.identify.match import voice_print
from saywho.identify.naming import VoicePrint

__all__ = [
    "EXPORT_FORMAT",
    "VOICES_ENV",
    "Sample",
    "Voice",
    "VoiceLibrary",
    "default_library_path",
    "library_path",
]

VOICES_ENV = "SAYWHO_VOICES"
EXPORT_FORMAT = "saywho-voices"
_APPLICATION_ID = 0x53415957  # "SAYW": marks the file as ours
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS voices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    notes TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    voice_id INTEGER NOT NULL REFERENCES voices(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL,
    seconds REAL NOT NULL,
    model_sha256 TEXT NOT NULL,
    source TEXT,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_voice ON samples(voice_id);
"""

AddOutcome = Literal["created", "added", "replaced"]


@dataclass(frozen=True, slots=True, eq=False)
class Sample:
    """One enrolment: an embedding (dim,), float32, and the speech behind it."""

    embedding: npt.NDArray[np.float32]
    seconds: float
    model_sha256: str
    source: str | None
    created: str


@dataclass(frozen=True, slots=True, eq=False)
class Voice:
    """An enrolled voice and its samples (oldest first)."""

    name: str
    notes: str | None
    created: str
    updated: str
    samples: tuple[Sample, ...]

    @property
    def seconds(self) -> float:
        """Seconds of speech behind the voice, over all samples."""
        return sum(s.seconds for s in self.samples)

    @property
    def model_sha256(self) -> tuple[str, ...]:
        """The embedding models of the samples (normally one)."""
        return tuple(sorted({s.model_sha256 for s in self.samples}))

    def print(self) -> VoicePrint:
        """The samples averaged (weighted by seconds) into one print."""
        embeddings = np.stack([s.embedding for s in self.samples])
        seconds = np.array([s.seconds for s in self.samples])
        return VoicePrint(self.name, voice_print(embeddings, seconds))


def default_library_path() -> Path:
    """``$SAYWHO_VOICES``, else ``voices.sqlite3`` in the user data directory."""
    override = os.environ.get(VOICES_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("saywho")) / "voices.sqlite3"


def library_path(option: Path | None) -> Path:
    """The library a command uses: ``option`` if given, else :func:`default_library_path`."""
    return option if option is not None else default_library_path()


def check_name(name: str) -> str:
    """``name`` without surrounding whitespace; any letters, spaces and quotes are fine."""
    cleaned = name.strip()
    if not cleaned:
        raise VoiceLibraryError("a voice name must not be empty")
    if any(ord(char) < 32 for char in cleaned):
        raise VoiceLibraryError(f"voice name {name!r} contains control characters")
    return cleaned


class VoiceLibrary:
    """An open voice library; use as a context manager (``with VoiceLibrary(path) as lib``).

    Only ``create=True`` (enrolling, importing) makes a new library where there is none;
    otherwise a missing file is a :class:`VoiceLibraryError`, and an existing file that is not
    a library (an empty file too) is never initialised over.
    """

    def __init__(self, path: Path, *, timeout_s: float = 5.0, create: bool = False) -> None:
        self.path = path
        self._create = create
        _check_library_file(path, create=create)
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            mode = "rwc" if create else "rw"
            self._db = sqlite3.connect(
                f"{path.absolute().as_uri()}?mode={mode}",
                timeout=timeout_s,
                isolation_level=None,
                uri=True,
            )
        except (OSError, sqlite3.Error) as error:
            raise VoiceLibraryError(f"{path}: cannot open the voice library ({error})") from error
        try:
            with self._errors("open"):
                self._setup()
        except VoiceLibraryError:
            self._db.close()
            raise

    def __enter__(self) -> VoiceLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    # -- reading ---------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """Every voice name, sorted."""
        with self._errors("read"):
            rows = self._db.execute("SELECT name FROM voices ORDER BY name").fetchall()
        return tuple(str(row[0]) for row in rows)

    def voices(self) -> tuple[Voice, ...]:
        """Every voice with its samples, sorted by name (one consistent snapshot)."""
        with self._errors("read"), self._transaction("BEGIN"):
            rows = self._db.execute(
                "SELECT id, name, notes, created, updated FROM voices ORDER BY name"
            ).fetchall()
            return tuple(self._voice(row) for row in rows)

    def voice(self, name: str) -> Voice:
        """The voice called ``name``; :class:`VoiceLibraryError` if there is none."""
        with self._errors("read"):
            row = self._db.execute(
                "SELECT id, name, notes, created, updated FROM voices WHERE name = ?",
                (check_name(name),),
            ).fetchone()
            if row is None:
                raise VoiceLibraryError(self._unknown(name))
            return self._voice(row)

    def prints(self, model_sha256: str) -> tuple[VoicePrint, ...]:
        """Every voice's print, checked to come from the embedding model ``model_sha256``."""
        voices = self.voices()
        foreign = [v.name for v in voices if set(v.model_sha256) - {model_sha256}]
        if foreign:
            raise VoiceLibraryError(
                f"{self.path}: voice(s) {', '.join(map(repr, foreign))} were enrolled with another "
                f"embedding model than this saywho's ({model_sha256[:12]}…); their prints cannot "
                "be compared: remove and re-enrol them"
            )
        return tuple(v.print() for v in voices)

    # -- writing ---------------------------------------------------------------------------

    def add(
        self,
        name: str,
        embedding: npt.NDArray[np.floating],
        seconds: float,
        model_sha256: str,
        *,
        source: str | None = None,
        replace: bool = False,
        notes: str | None = None,
    ) -> AddOutcome:
        """Enrol a sample of ``name``: a new voice, another sample, or (``replace``) the only one.

        A library holds one embedding model: a sample from another model is refused.
        """
        name = check_name(name)
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(vector)) or not np.any(vector):
            raise VoiceLibraryError(f"the embedding for {name!r} is empty or not finite")
        with self._errors("write"), self._transaction("BEGIN IMMEDIATE"):
            self._check_model(model_sha256)
            now = _now()
            row = self._db.execute("SELECT id FROM voices WHERE name = ?", (name,)).fetchone()
            outcome: AddOutcome
            if row is None:
                voice_id = self._db.execute(
                    "INSERT INTO voices (name, notes, created, updated) VALUES (?, ?, ?, ?)",
                    (name, notes, now, now),
                ).lastrowid
                outcome = "created"
            else:
                voice_id = int(row[0])
                if replace:
                    self._db.execute("DELETE FROM samples WHERE voice_id = ?", (voice_id,))
                self._db.execute(
                    "UPDATE voices SET updated = ?, notes = coalesce(?, notes) WHERE id = ?",
                    (now, notes, voice_id),
                )
                outcome = "replaced" if replace else "added"
            self._insert_sample(voice_id, Sample(vector, float(seconds), model_sha256, source, now))
        return outcome

    def rename(self, old: str, new: str) -> None:
        """Rename voice ``old`` to ``new`` (which must be free)."""
        old, new = check_name(old), check_name(new)
        with self._errors("write"), self._transaction("BEGIN IMMEDIATE"):
            if self._db.execute("SELECT 1 FROM voices WHERE name = ?", (new,)).fetchone():
                raise VoiceLibraryError(f"a voice called {new!r} already exists")
            changed = self._db.execute(
                "UPDATE voices SET name = ?, updated = ? WHERE name = ?", (new, _now(), old)
            ).rowcount
            if changed == 0:
                raise VoiceLibraryError(self._unknown(old))

    def remove(self, name: str) -> None:
        """Delete voice ``name`` and its samples."""
        with self._errors("write"), self._transaction("BEGIN IMMEDIATE"):
            voice = self._db.execute(
                "SELECT id FROM voices WHERE name = ?", (check_name(name),)
            ).fetchone()
            if voice is None:
                raise VoiceLibraryError(self._unknown(name))
            self._db.execute("DELETE FROM samples WHERE voice_id = ?", (voice[0],))
            self._db.execute("DELETE FROM voices WHERE id = ?", (voice[0],))

    # -- exchange --------------------------------------------------------------------------

    def export(self, path: Path) -> int:
        """Write every voice to ``path`` as portable JSON (atomically); returns the count."""
        voices = self.voices()
        document = {
            "format": EXPORT_FORMAT,
            "version": _SCHEMA_VERSION,
            "voices": [_voice_object(v) for v in voices],
        }
        try:
            with atomic_text_file(path) as stream:
                json.dump(document, stream, ensure_ascii=False, indent=1)
                stream.write("\n")
        except OSError as error:
            raise VoiceLibraryError(f"{path}: cannot write ({error.strerror or error})") from error
        return len(voices)

    def import_file(self, path: Path) -> tuple[int, int]:
        """Merge the voices of an exported file; returns (voices touched, samples added).

        Samples already in the library are skipped, so importing twice changes nothing.
        All of it goes in as one transaction or not at all.
        """
        voices = _read_export(path)
        touched, added = 0, 0
        with self._errors("write"), self._transaction("BEGIN IMMEDIATE"):
            for voice in voices:
                new = self._merge(voice)
                touched += 1 if new else 0
                added += new
        return touched, added

    # -- internals -------------------------------------------------------------------------

    def _setup(self) -> None:
        application_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if application_id != _APPLICATION_ID and (tables or not self._create):
            raise VoiceLibraryError(
                f"{self.path}: this SQLite file is not a saywho voice library; it was left as it "
                "is (choose another file with --voices)"
            )
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise VoiceLibraryError(
                f"{self.path}: written by a newer saywho (library version {version}); upgrade"
            )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        if application_id != _APPLICATION_ID:
            with self._transaction("BEGIN IMMEDIATE"):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA application_id={_APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self._db.execute(begin)
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise VoiceLibraryError(
                    f"{self.path}: the voice library is locked by another process; nothing was "
                    "changed, try again when it is done"
                ) from error
            raise VoiceLibraryError(f"{self.path}: cannot {action} ({error})") from error
        except sqlite3.DatabaseError as error:
            raise VoiceLibraryError(
                f"{self.path}: not a usable voice library ({error}); the file was left as it is"
            ) from error

    def _check_model(self, model_sha256: str) -> None:
        rows = self._db.execute("SELECT DISTINCT model_sha256 FROM samples").fetchall()
        others = sorted({str(r[0]) for r in rows} - {model_sha256})
        if others:
            raise VoiceLibraryError(
                f"{self.path}: this library holds voices from embedding model {others[0][:12]}…, "
                f"not {model_sha256[:12]}…; use another library (--voices) for this model"
            )

    def _voice(self, row: Sequence[Any]) -> Voice:
        samples = self._db.execute(
            "SELECT embedding, seconds, model_sha256, source, created FROM samples "
            "WHERE voice_id = ? ORDER BY id",
            (row[0],),
        ).fetchall()
        return Voice(
            name=str(row[1]),
            notes=row[2],
            created=str(row[3]),
            updated=str(row[4]),
            samples=tuple(
                Sample(np.frombuffer(s[0], dtype="<f4").copy(), float(s[1]), str(s[2]), s[3], s[4])
                for s in samples
            ),
        )

    def _insert_sample(self, voice_id: int | None, sample: Sample) -> None:
        self._db.execute(
            "INSERT INTO samples (voice_id, embedding, seconds, model_sha256, source, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                voice_id,
                sample.embedding.astype("<f4").tobytes(),
                sample.seconds,
                sample.model_sha256,
                sample.source,
                sample.created,
            ),
        )

    def _merge(self, voice: Voice) -> int:
        row = self._db.execute("SELECT id FROM voices WHERE name = ?", (voice.name,)).fetchone()
        if row is None:
            voice_id = self._db.execute(
                "INSERT INTO voices (name, notes, created, updated) VALUES (?, ?, ?, ?)",
                (voice.name, voice.notes, voice.created, voice.updated),
            ).lastrowid
            have: set[bytes] = set()
        else:
            voice_id = int(row[0])
            have = {
                bytes(r[0])
                for r in self._db.execute(
                    "SELECT embedding FROM samples WHERE voice_id = ?", (voice_id,)
                )
            }
        added = 0
        for sample in voice.samples:
            self._check_model(sample.model_sha256)
            if sample.embedding.astype("<f4").tobytes() in have:
                continue
            self._insert_sample(voice_id, sample)
            added += 1
        if added and row is not None:
            self._db.execute("UPDATE voices SET updated = ? WHERE id = ?", (_now(), voice_id))
        return added

    def _unknown(self, name: str) -> str:
        known = ", ".join(repr(n) for n in self.names()) or "none yet"
        return f"no voice called {name!r} in {self.path}; enrolled: {known}"


def _check_library_file(path: Path, *, create: bool) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if create:
            return
        raise VoiceLibraryError(
            f"{path}: no voice library there (enroll a voice first: saywho voices enroll NAME "
            "FILE, or choose another with --voices)"
        ) from None
    except OSError as error:
        raise VoiceLibraryError(f"{path}: cannot open the voice library ({error})") from error
    if path.is_dir():
        raise VoiceLibraryError(f"{path}: is a directory, not a voice library")
    if size == 0:
        raise VoiceLibraryError(
            f"{path}: is empty (0 bytes), not a voice library; it was left as it is "
            "(remove it to start a new library there)"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _voice_object(voice: Voice) -> dict[str, Any]:
    return {
        "name": voice.name,
        "notes": voice.notes,
        "created": voice.created,
        "updated": voice.updated,
        "samples": [
            {
                "embedding": [float(x) for x in s.embedding],
                "seconds": s.seconds,
                "model_sha256": s.model_sha256,
                "source": s.source,
                "created": s.created,
            }
            for s in voice.samples
        ],
    }


def _read_export(path: Path) -> list[Voice]:
    try:
        with path.open(encoding="utf-8") as stream:
            document = json.load(stream)
    except OSError as error:
        raise VoiceLibraryError(f"{path}: cannot read ({error.strerror or error})") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise VoiceLibraryError(f"{path}: not a saywho voices export ({error})") from error
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise VoiceLibraryError(f"{path}: not a saywho voices export (no format {EXPORT_FORMAT!r})")
    if document.get("version") != _SCHEMA_VERSION:
        raise VoiceLibraryError(f"{path}: export version {document.get('version')!r} unknown")
    try:
        return [_voice_from(obj) for obj in document["voices"]]
    except (KeyError, TypeError, ValueError) as error:
        raise VoiceLibraryError(f"{path}: malformed voices export ({error!r})") from error


def _voice_from(obj: dict[str, Any]) -> Voice:
    samples = tuple(
        Sample(
            np.array([float(x) for x in s["embedding"]], dtype=np.float32),
            float(s["seconds"]),
            str(s["model_sha256"]),
            None if s.get("source") is None else str(s["source"]),
            str(s["created"]),
        )
        for s in obj["samples"]
    )
    if not samples:
        raise ValueError(f"voice {obj['name']!r} has no samples")
    return Voice(
        check_name(str(obj["name"])),
        None if obj.get("notes") is None else str(obj["notes"]),
        str(obj["created"]),
        str(obj["updated"]),
        samples,
    )
