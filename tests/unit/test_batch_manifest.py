"""The batch manifest (real SQLite) and the options fingerprint it keys on."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from saywho.batch.inputs import MediaFile
from saywho.batch.jobs import Outcome, options_fingerprint, with_threads
from saywho.batch.manifest import MANIFEST_NAME, Manifest
from saywho.config import PipelineConfig, RecognizeConfig
from saywho.errors import OutputError
from saywho.identify.naming import Identification, VoicePrint
from saywho.models import sha256_of

FORMATS = ("txt", "json")


def _done(tmp_path: Path, name: str = "a.wav") -> tuple[MediaFile, Outcome, Path]:
    source = tmp_path / name
    source.write_bytes(b"pretend audio " * 100)
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True, exist_ok=True)
    for fmt in FORMATS:
        (out / "sub" / f"a.{fmt}").write_text("result")
    stat = source.stat()
    media = MediaFile(source, PurePosixPath("sub/a"), 1.0)
    outcome = Outcome(
        source, media.output, sha256_of(source), 1.0, 0.5, 2, None, "w1",
        stat.st_size, stat.st_mtime_ns,
    )  # fmt: skip
    return media, outcome, out


def test_a_recorded_file_is_finished_until_something_changes(tmp_path: Path) -> None:
    media, outcome, out = _done(tmp_path)
    key = options_fingerprint(PipelineConfig(), FORMATS)
    with Manifest(out) as manifest:
        assert manifest.finished(media, key, out, FORMATS) is None
        manifest.record(outcome, key, "{}")
    with Manifest(out) as manifest:  # a new process sees the committed row
        record = manifest.finished(media, key, out, FORMATS)
        assert record is not None
        assert record.outcome == outcome
        other = options_fingerprint(PipelineConfig(), ("txt",))
        assert manifest.finished(media, other, out, FORMATS) is None
        (out / "sub" / "a.json").unlink()
        assert manifest.finished(media, key, out, FORMATS) is None


def test_the_voices_that_name_speakers_are_part_of_the_fingerprint() -> None:
    def library(*voices: tuple[str, float]) -> Identification:
        prints = tuple(VoicePrint(name, np.full(4, value, np.float32)) for name, value in voices)
        return Identification(prints, 0.5, "model-sha")

    plain = options_fingerprint(PipelineConfig(), FORMATS)
    named = options_fingerprint(PipelineConfig(), FORMATS, library(("Ann", 0.5), ("Bo", 0.1)))
    assert named != plain
    # The order voices come out of the library does not matter; everything else does.
    assert named == options_fingerprint(
        PipelineConfig(), FORMATS, library(("Bo", 0.1), ("Ann", 0.5))
    )
    changed = [
        library(("Ann", 0.5), ("Bob", 0.1)),  # renamed
        library(("Ann", 0.5), ("Bo", 0.2)),  # re-enrolled
        library(("Ann", 0.5)),  # removed
        dataclasses.replace(library(("Ann", 0.5), ("Bo", 0.1)), threshold=0.6),
        dataclasses.replace(library(("Ann", 0.5), ("Bo", 0.1)), model_sha256="other"),
    ]
    assert len({named, *(options_fingerprint(PipelineConfig(), FORMATS, c) for c in changed)}) == 6


def test_changed_content_is_not_finished_but_a_touch_is(tmp_path: Path) -> None:
    media, outcome, out = _done(tmp_path)
    key = options_fingerprint(PipelineConfig(), FORMATS)
    with Manifest(out) as manifest:
        manifest.record(outcome, key, "{}")
        os.utime(media.path, ns=(1, 1))  # same bytes, new time: the hash decides
        assert manifest.finished(media, key, out, FORMATS) is not None
        media.path.write_bytes(b"other audio " * 100)
        assert manifest.finished(media, key, out, FORMATS) is None


def test_a_failed_file_is_never_finished(tmp_path: Path) -> None:
    media, outcome, out = _done(tmp_path)
    key = options_fingerprint(PipelineConfig(), FORMATS)
    with Manifest(out) as manifest:
        manifest.record(dataclasses.replace(outcome, error="corrupt"), key, "{}")
        assert manifest.finished(media, key, out, FORMATS) is None
        record = manifest.get(media.output)
        assert record is not None
        assert record.outcome.error == "corrupt"
    with contextlib.closing(sqlite3.connect(out / MANIFEST_NAME)) as db:
        assert db.execute("SELECT status FROM files").fetchall() == [("failed",)]


def test_threads_do_not_change_the_fingerprint_but_options_do() -> None:
    config = PipelineConfig()
    key = options_fingerprint(config, FORMATS)
    assert options_fingerprint(with_threads(config, 7), FORMATS) == key
    assert options_fingerprint(config, tuple(reversed(FORMATS))) == key
    beam = dataclasses.replace(config, recognize=RecognizeConfig(beam_size=2))
    assert options_fingerprint(beam, FORMATS) != key


def test_a_second_batch_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    with Manifest(tmp_path), pytest.raises(OutputError, match="another saywho batch"):
        Manifest(tmp_path)
    with Manifest(tmp_path):  # released when the first one closed
        pass
