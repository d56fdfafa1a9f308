"""The voice library end to end with the real models: enrol, identify, link, extract, refuse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from media import silence, speech_samples, tone, write_media
from saywho.audio import decode
from saywho.cli import main
from saywho.identify.store import VoiceLibrary

# Three eSpeak NG voices that CAM++ tells apart.
CROAK, CARIB, SCOT = "en+croak", "en-029+f2", "en-gb-scotland+m7"
ENROL_TEXT = (
    "Good morning everyone, thank you for joining the weekly planning meeting today. "
    "I have three items on the agenda that I want to go through with all of you."
)
LINES = (
    "The release went out on Tuesday, two days late, because the tests kept failing overnight.",
    "Before we start, could somebody summarise what happened with the release last week?",
    "Thanks for having me. I want to talk about the budget and the hiring plan for next year.",
    "That sounds good to me, but we should also discuss the office move before the summer.",
)


def dialogue(tmp: Path, voices: tuple[str, ...]) -> npt.NDArray[np.float32]:
    pieces = [silence(0.5)]
    for index, voice in enumerate(voices):
        pieces += [speech_samples(LINES[index % len(LINES)], tmp, voice=voice), silence(0.7)]
    return np.concatenate(pieces)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("voices")
    files = {
        "croak": write_media(tmp / "croak.wav", speech_samples(ENROL_TEXT, tmp, voice=CROAK)),
        "carib": write_media(tmp / "carib.wav", speech_samples(ENROL_TEXT, tmp, voice=CARIB)),
        # Croak and a stranger (Scottish), then Carib and the same stranger.
        "talk1": write_media(tmp / "talk1.wav", dialogue(tmp, (CROAK, SCOT, CROAK, SCOT))),
        "talk2": write_media(tmp / "talk2.wav", dialogue(tmp, (SCOT, CARIB, SCOT, CARIB))),
    }
    return files


def run(*argv: str | Path) -> int:
    return main([str(a) for a in argv])


def speakers(result: Path) -> dict[str, str | None]:
    data = json.loads(result.read_text(encoding="utf-8"))
    return {s["label"]: s["name"] for s in data["speakers"]}


def test_enrolled_voices_get_names_strangers_stay_anonymous(
    media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "voices.sqlite3"
    assert run("voices", "enroll", "Zoë O'Brien", media["croak"], "--voices", library) == 0
    assert run("voices", "enroll", "Zoë O'Brien", media["croak"], "--voices", library) == 0
    assert "added a sample to existing voice" in capsys.readouterr().err
    assert run("voices", "enroll", "王 Carib", media["carib"], "--voices", library) == 0
    out = tmp_path / "out"
    assert run("diarize", media["talk1"], media["talk2"], "--voices", library, "-o", out) == 0
    first, second = speakers(out / "talk1.json"), speakers(out / "talk2.json")
    # Each file: one enrolled voice named, the stranger left as a label.
    assert sorted(first.values(), key=str) == [None, "Zoë O'Brien"]
    assert sorted(second.values(), key=str) == [None, "王 Carib"]
    assert "Zoë O'Brien" in (out / "talk1.rttm").read_text(encoding="utf-8").replace("_", " ")
    # --no-identify leaves every speaker anonymous.
    plain = tmp_path / "plain"
    assert run("diarize", media["talk1"], "--voices", library, "--no-identify", "-o", plain) == 0
    assert set(speakers(plain / "talk1.json").values()) == {None}


def test_linking_a_batch_and_learning_the_recurring_stranger(
    media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "voices.sqlite3"
    assert run("voices", "enroll", "Croak", media["croak"], "--voices", library) == 0
    out = tmp_path / "out"
    argv = ["diarize", media["talk1"], media["talk2"], "--voices", library, "-o", out]
    assert run(*argv, "--link-speakers", "--learn") == 0
    assert "learned unknown-1" in capsys.readouterr().err
    first, second = speakers(out / "talk1.json"), speakers(out / "talk2.json")
    # The Scottish stranger has one label in both files, and is now in the library.
    shared = set(first) & set(second)
    assert len(shared) == 1
    (label,) = shared
    assert first[label] == second[label] == "unknown-1"
    assert set(first.values()) == {"Croak", "unknown-1"}
    assert second[next(k for k in second if k != label)] is None  # Carib: heard once, unnamed
    with VoiceLibrary(library) as voices:
        assert voices.names() == ("Croak", "unknown-1")
        assert len(voices.voice("unknown-1").samples) == 2
    assert run("voices", "rename", "unknown-1", "Scot", "--voices", library) == 0
    again = tmp_path / "again"
    assert run("diarize", media["talk2"], "--voices", library, "-o", again) == 0
    assert "Scot" in speakers(again / "talk2.json").values()


def test_a_batch_names_enrolled_voices_and_redoes_files_when_the_library_changes(
    media: dict[str, Path], tmp_path: Path
) -> None:
    library = tmp_path / "voices.sqlite3"
    assert run("voices", "enroll", "Croak", media["croak"], "--voices", library) == 0
    out = tmp_path / "out"
    batch = ["batch", media["talk1"], "-o", out, "-f", "json", "--model", "tiny.en"]
    batch += ["--workers", "1", "--voices", library]

    def redone() -> bool:
        report = json.loads((out / "saywho-batch-report.json").read_text(encoding="utf-8"))
        (row,) = report["files"]
        assert row["status"] == "done"
        return bool(row["this_run"])

    assert run(*batch) == 0
    assert redone()
    assert sorted(speakers(out / "talk1.json").values(), key=str) == ["Croak", None]
    assert run(*batch) == 0
    assert not redone()
    # A renamed voice changes the results: the file is done again, under the new name.
    assert run("voices", "rename", "Croak", "Kroak", "--voices", library) == 0
    assert run(*batch) == 0
    assert redone()
    assert sorted(speakers(out / "talk1.json").values(), key=str) == ["Kroak", None]
    # --no-identify is another option set: the file is redone, every speaker anonymous.
    assert run(*batch, "--no-identify") == 0
    assert redone()
    assert set(speakers(out / "talk1.json").values()) == {None}


def test_a_batch_links_the_recurring_stranger_and_relinking_changes_nothing(
    media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    batch = ["batch", media["talk1"], media["talk2"], "-o", out, "-f", "json,txt"]
    batch += ["--model", "tiny.en", "--workers", "1", "--no-identify"]
    assert run(*batch, "--link-speakers") == 0
    assert "3 people, 1 of them in more than one file" in capsys.readouterr().err
    first, second = speakers(out / "talk1.json"), speakers(out / "talk2.json")
    (shared,) = set(first) & set(second)  # the Scottish stranger, in both
    assert len(set(first) | set(second)) == 3
    for name in ("talk1", "talk2"):  # every format carries the linked labels
        assert shared in (out / f"{name}.txt").read_text(encoding="utf-8")
    before = {path.name: path.read_bytes() for path in out.glob("talk*")}
    assert run(*batch, "--link-speakers") == 0
    assert "0 files relabelled" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.glob("talk*")} == before


def test_a_batch_refuses_to_link_without_json_results(
    media: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run("batch", media["talk1"], "-o", out, "-f", "txt", "--link-speakers") == 2
    assert not out.exists()


def test_enrol_from_a_result_then_extract_that_person(
    media: dict[str, Path], tmp_path: Path
) -> None:
    library = tmp_path / "voices.sqlite3"
    out = tmp_path / "out"
    assert run("diarize", media["talk1"], "--voices", library, "-o", out) == 0
    result = out / "talk1.json"
    label = sorted(speakers(result))[0]  # the first speaker heard: Croak
    assert run("voices", "enroll-from", result, "--speaker", label, "--name", "Diane",
               "--voices", library) == 0  # fmt: skip
    with VoiceLibrary(library) as voices:
        assert voices.voice("Diane").samples[0].source == f"{media['talk1']}#{label}"

    alone = tmp_path / "diane.wav"
    assert run("extract", media["talk1"], "--speaker", "Diane", "-o", alone,
               "--voices", library) == 0  # fmt: skip
    rest = tmp_path / "rest.flac"
    assert run("extract", media["talk1"], "--speaker", "Diane", "--exclude", "--keep-timing",
               "--result", result, "-o", rest, "--voices", library) == 0  # fmt: skip
    full = decode(media["talk1"])
    extracted, excluded = decode(alone), decode(rest)
    assert excluded.duration_s == pytest.approx(full.duration_s, abs=0.05)
    turns = json.loads(result.read_text(encoding="utf-8"))["turns"]
    own_s = sum(t["end"] - t["start"] for t in turns if t["speaker"] == label)
    assert extracted.duration_s == pytest.approx(own_s, abs=0.3)
    # What was extracted sounds like Diane: enrolling it matches her print closely.
    with VoiceLibrary(library) as voices:
        (diane,) = voices.prints(voices.voice("Diane").samples[0].model_sha256)
    from saywho.identify.enroll import Enroller

    heard = Enroller().enroll(extracted).embedding
    assert float(heard @ diane.embedding) > 0.8
    # Diane's time is silent in the excluded file.
    own = [t for t in turns if t["speaker"] == label]
    middle = (own[0]["start"] + own[0]["end"]) / 2
    index = round(middle * 16_000)
    assert np.abs(excluded.samples[index - 800 : index + 800]).max() < 1e-3


@pytest.mark.parametrize(
    ("what", "samples"),
    [
        ("silence", silence(5.0)),
        ("a tone", tone(5.0)),
    ],
)
def test_enrolling_no_speech_is_refused_with_the_amount_needed(
    what: str, samples: npt.NDArray[np.float32], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del what
    path = write_media(tmp_path / "clip.wav", samples)
    library = tmp_path / "voices.sqlite3"
    assert run("voices", "enroll", "Nobody", path, "--voices", library) == 2
    assert "enrolling needs at least 3 s" in capsys.readouterr().err
    with VoiceLibrary(library) as voices:
        assert voices.names() == ()


def test_enrolling_half_a_second_is_refused(
    media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short.wav"
    write_media(short, decode(media["croak"]).samples[8000:16000].copy())
    assert run("voices", "enroll", "X", short, "--voices", tmp_path / "v.db") == 2
    assert "s of speech found; enrolling needs at least 3 s" in capsys.readouterr().err


def test_a_corrupt_library_stops_transcription_with_a_clear_error(
    media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "voices.sqlite3"
    library.write_bytes(b"garbage" * 1000)
    assert run("diarize", media["talk1"], "--voices", library, "-o", tmp_path) == 2
    assert "not a usable voice library" in capsys.readouterr().err
    assert library.read_bytes() == b"garbage" * 1000


def test_a_library_that_cannot_be_written_loses_no_result(
    media: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the library's folder should be", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["diarize", media["talk1"], media["talk2"], "-o", out, "--link-speakers", "--learn"]
    assert run(*argv, "--voices", blocker / "voices.sqlite3") == 1
    assert "cannot link the speakers across the files" in capsys.readouterr().err
    for name in ("talk1", "talk2"):  # each written once, with its own labels
        assert len(speakers(out / f"{name}.json")) == 2
