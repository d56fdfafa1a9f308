"""Finding the media of a batch and naming its outputs (real files, real PyAV probing)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from media import silence, tone, write_media
from saywho.batch.inputs import find_inputs, output_names, read_list_file
from saywho.errors import ConfigError


def test_same_names_in_different_folders_mirror_the_folders() -> None:
    names = output_names([Path("/d/a/x.wav"), Path("/d/b/x.wav"), Path("/d/b/c/y.mp3")])
    assert names == (PurePosixPath("a/x"), PurePosixPath("b/x"), PurePosixPath("b/c/y"))


def test_one_file_is_named_by_its_stem() -> None:
    assert output_names([Path("/d/a/talk.m4a")]) == (PurePosixPath("talk"),)


def test_same_stem_in_one_folder_keeps_the_extension() -> None:
    names = output_names([Path("/d/x.wav"), Path("/d/x.mp3"), Path("/d/y.wav")])
    assert names == (PurePosixPath("x.wav"), PurePosixPath("x.mp3"), PurePosixPath("y"))


def test_a_reserved_name_keeps_its_extension() -> None:
    names = output_names([Path("/d/report.wav"), Path("/d/sub/report.wav")], reserved=["report"])
    assert names == (PurePosixPath("report.wav"), PurePosixPath("sub/report"))


def test_folders_are_walked_and_non_media_skipped(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "deep" / "er").mkdir(parents=True)
    (root / ".hidden").mkdir()
    write_media(root / "one.wav", tone(0.5))
    write_media(root / "deep" / "er" / "two.flac", tone(0.5), codec="flac")
    write_media(root / "deep" / "x.flac", tone(0.5), codec="flac").rename(
        root / "deep" / "no_extension"
    )
    write_media(root / "deep" / "x.wav", tone(2.0)).rename(root / "deep" / "misnamed.dat")
    write_media(root / ".hidden" / "three.wav", tone(0.5))
    (root / "notes.txt").write_text("not media")
    (root / "data.bin.unknown").write_bytes(b"\x00\x01 not media at all" * 10)
    (root / "corrupt.wav").write_bytes(b"RIFF broken")
    inputs = find_inputs([root], exclude=[tmp_path / "out"])
    assert [f.output.as_posix() for f in inputs.files] == [
        "corrupt",
        "one",
        "deep/misnamed",
        "deep/no_extension",
        "deep/er/two",
    ]
    assert all(f.path.is_absolute() for f in inputs.files)
    assert sorted(p.name for p in inputs.skipped) == ["data.bin.unknown", "notes.txt"]
    durations = {f.output.name: f.duration_s for f in inputs.files}
    assert durations["misnamed"] == pytest.approx(2.0, abs=0.05)
    assert durations["corrupt"] == 0.0


def test_the_output_folder_is_not_walked(tmp_path: Path) -> None:
    write_media(tmp_path / "a.wav", silence(0.5))
    (tmp_path / "out").mkdir()
    write_media(tmp_path / "out" / "b.wav", silence(0.5))
    inputs = find_inputs([tmp_path], exclude=[tmp_path / "out"])
    assert [f.path.name for f in inputs.files] == ["a.wav"]


def test_list_files_name_files_relative_to_themselves(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    write_media(tmp_path / "a.wav", silence(0.5))
    listing = tmp_path / "lists" / "batch.txt"
    listing.write_text("# my files\n../a.wav\n\n  ../missing.wav  \n")
    assert read_list_file(listing) == (
        tmp_path / "lists" / "../a.wav",
        tmp_path / "lists" / "../missing.wav",
    )
    inputs = find_inputs([f"@{listing}"])
    # A named file is always part of the batch: a missing one is reported as its failure.
    assert [f.path.name for f in inputs.files] == ["a.wav", "missing.wav"]
    assert inputs.files[0].duration_s == pytest.approx(0.5, abs=0.01)


def test_an_unreadable_list_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read list file"):
        find_inputs([f"@{tmp_path / 'nope.txt'}"])


def test_the_same_file_twice_is_one_input(tmp_path: Path) -> None:
    write_media(tmp_path / "a.wav", silence(0.5))
    inputs = find_inputs([tmp_path / "a.wav", tmp_path, tmp_path / "a.wav"])
    assert [f.path.name for f in inputs.files] == ["a.wav"]
