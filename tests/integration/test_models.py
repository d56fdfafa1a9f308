"""The model store: Whisper base assembled once, atomically, and checked by sha256."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from saywho import models
from saywho.cli import main
from saywho.errors import ModelError


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAYWHO_CACHE_DIR", str(tmp_path))
    return tmp_path


def _assemble(cache: str) -> str:
    import os

    os.environ["SAYWHO_CACHE_DIR"] = cache
    return str(models.model_file("base"))


def test_base_is_assembled_verified_and_listed(fresh_cache: Path) -> None:
    (status,) = [s for s in models.list_models() if s.spec.name == "base"]
    assert not status.installed
    path = models.model_file("base")
    assert path.is_relative_to(fresh_cache)
    assert models.sha256_of(path) == models.spec("base").sha256
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    (status,) = [s for s in models.list_models() if s.spec.name == "base"]
    assert status.installed


def test_two_processes_assembling_at_once_both_get_a_good_model(fresh_cache: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        paths = pool.map(_assemble, [str(fresh_cache)] * 2)
    assert len(set(paths)) == 1
    assert models.sha256_of(Path(paths[0])) == models.spec("base").sha256
    leftovers = [p.name for p in Path(paths[0]).parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_corrupt_model_is_refused_and_verify_says_so(
    fresh_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = models.model_file("base")
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="the file is corrupt"):
        models.model_file("base")
    assert main(["models", "verify"]) == 1
    assert "FAILED  base  sha256" in capsys.readouterr().out


def test_unknown_registry_name() -> None:
    with pytest.raises(ModelError, match="no model called 'huge'"):
        models.model_file("huge")


def test_a_user_model_directory_without_weights_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"has no model\.bin"):
        models.resolve_whisper(str(tmp_path))
