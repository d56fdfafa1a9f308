"""The voice library on a real SQLite file: samples, names, models, export, corruption, locks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from saywho.errors import VoiceLibraryError
from saywho.identify.store import VOICES_ENV, VoiceLibrary, default_library_path

SHA = "a" * 64
OTHER_SHA = "b" * 64


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=192).astype(np.float32)
    return v / np.linalg.norm(v)


def test_enrol_adds_samples_replaces_and_averages(tmp_path: Path) -> None:
    path = tmp_path / "voices.sqlite3"
    with VoiceLibrary(path, create=True) as library:
        assert library.add("Diane", vec(1), 10.0, SHA, source="a.wav") == "created"
        assert library.add("Diane", vec(2), 5.0, SHA, source="b.wav") == "added"
        voice = library.voice("Diane")
        assert len(voice.samples) == 2 and voice.seconds == 15.0
        assert np.allclose(voice.samples[0].embedding, vec(1))
        (print_,) = library.prints(SHA)
        assert print_.embedding @ vec(1) > print_.embedding @ vec(2) > 0.1
        assert library.add("Diane", vec(3), 4.0, SHA, replace=True) == "replaced"
        assert len(library.voice("Diane").samples) == 1
    # Persisted: a new connection sees the same.
    with VoiceLibrary(path) as library:
        assert library.names() == ("Diane",)
        assert library.path == path
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_names_with_spaces_quotes_and_other_scripts(tmp_path: Path) -> None:
    names = ["Zoë O'Brien", 'Ana "Nita" Pérez', "王小明", "Дмитрий", "  padded  "]
    with VoiceLibrary(tmp_path / "v.db", create=True) as library:
        for seed, name in enumerate(names):
            library.add(name, vec(seed), 5.0, SHA)
        assert set(library.names()) == {n.strip() for n in names}
        library.rename("王小明", "Xiaoming Wang")
        library.remove("Дмитрий")
        assert "Xiaoming Wang" in library.names() and "Дмитрий" not in library.names()
        with pytest.raises(VoiceLibraryError, match="already exists"):
            library.rename("Xiaoming Wang", "Zoë O'Brien")
        with pytest.raises(VoiceLibraryError, match="no voice called 'nobody'"):
            library.remove("nobody")
        with pytest.raises(VoiceLibraryError, match="empty"):
            library.add("   ", vec(0), 5.0, SHA)


def test_another_embedding_model_is_refused(tmp_path: Path) -> None:
    with VoiceLibrary(tmp_path / "v.db", create=True) as library:
        library.add("Diane", vec(1), 5.0, SHA)
        with pytest.raises(VoiceLibraryError, match="holds voices from embedding model"):
            library.add("Sheila", vec(2), 5.0, OTHER_SHA)
        with pytest.raises(VoiceLibraryError, match="another embedding model"):
            library.prints(OTHER_SHA)
        assert library.names() == ("Diane",)


def test_export_import_round_trip_and_twice_is_idempotent(tmp_path: Path) -> None:
    with VoiceLibrary(tmp_path / "a.db", create=True) as source:
        source.add("Diane", vec(1), 5.0, SHA, notes="host")
        source.add("Diane", vec(2), 6.0, SHA)
        source.add("Sheila", vec(3), 7.0, SHA)
        assert source.export(tmp_path / "team.json") == 2
    with VoiceLibrary(tmp_path / "b.db", create=True) as target:
        target.add("Sheila", vec(3), 7.0, SHA)  # already there: not duplicated
        assert target.import_file(tmp_path / "team.json") == (1, 2)
        assert target.import_file(tmp_path / "team.json") == (0, 0)
        diane = target.voice("Diane")
        assert diane.notes == "host" and len(diane.samples) == 2
        assert len(target.voice("Sheila").samples) == 1


def test_bad_export_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    with VoiceLibrary(tmp_path / "v.db", create=True) as library:
        with pytest.raises(VoiceLibraryError, match="not a saywho voices export"):
            library.import_file(bad)
        bad.write_text("{not json")
        with pytest.raises(VoiceLibraryError, match="not a saywho voices export"):
            library.import_file(bad)
        assert library.names() == ()


def test_corrupt_file_is_an_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "voices.sqlite3"
    junk = b"this is not a database, but someone's notes" * 100
    path.write_bytes(junk)
    with pytest.raises(VoiceLibraryError, match="not a usable voice library"):
        VoiceLibrary(path)
    assert path.read_bytes() == junk


def test_someone_elses_sqlite_file_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(VoiceLibraryError, match="not a saywho voice library"):
        VoiceLibrary(path)
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("accounts",)]


def test_readers_read_while_a_writer_holds_the_lock_and_a_second_writer_is_told(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v.db"
    with VoiceLibrary(path, create=True) as library:
        library.add("Diane", vec(1), 5.0, SHA)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE voices SET notes = 'in progress'")
    try:
        with VoiceLibrary(path, timeout_s=0.2) as other:
            assert other.names() == ("Diane",)  # WAL: reading is not blocked
            assert other.voice("Diane").notes is None  # and sees no uncommitted change
            with pytest.raises(VoiceLibraryError, match="locked"):
                other.add("Sheila", vec(2), 5.0, SHA)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with VoiceLibrary(path) as library:
        assert library.names() == ("Diane",)  # the refused write left nothing behind


def test_default_path_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VOICES_ENV, str(tmp_path / "team.sqlite3"))
    assert default_library_path() == tmp_path / "team.sqlite3"
    monkeypatch.delenv(VOICES_ENV)
    assert default_library_path().name == "voices.sqlite3"
