"""Hostile options, config files, output folders and voice libraries: each ends in a clear
one-line error with the documented exit code before any work, or in a correct result."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from kinds import ERRORS, WORDS, saywho

from media import write_channels, write_media

pytestmark = pytest.mark.integration

EXIT_FAILED, EXIT_USAGE = 1, 2


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory, speech: npt.NDArray[np.float32]) -> Path:
    return write_media(tmp_path_factory.mktemp("speech") / "talk.wav", speech)


def only_error(run: subprocess.CompletedProcess[str]) -> str:
    """The single ``error:`` line of a run that must print nothing else of note."""
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, run.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--num-speakers", "1000000"], "num-speakers must be at most 32, got 1000000"),
        (["--max-speakers", "33"], "max-speakers must be at most 32"),
        (["--num-speakers", "0"], "num-speakers must be at least 1"),
        (["--max-duration", "0"], "must be a positive duration"),
        (["--max-duration", "soon"], "not a duration: 'soon'"),
        (["-f", "txt,pdf"], "unknown output format 'pdf'"),
        (["--threads", "-3"], "recognize.threads must be 0"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    speech_wav: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    run = saywho("transcribe", speech_wav, "-o", tmp_path / "o", "--model", "tiny.en", *args)
    assert run.returncode == EXIT_USAGE, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe[recognize]\n", "not a TOML config file (not UTF-8 text)"),
        (b"[recognize\nmodel=", "not valid TOML"),
        (b"[speakers]\nnum = 2\n", "unknown config section [speakers]; known: vad, recognize"),
        (b"[recognize]\nmodle = 'base'\n", "unknown key recognize.modle"),
        (b"[decode]\nmax_duration_s = -1\n", "decode.max_duration_s must be positive"),
        (b"[diarize]\nnum_speakers = 'two'\n", "diarize.num_speakers has the wrong type"),
        (b"vad = 3\n", "config section [vad] must be a table"),
    ],
    ids=["not-utf8", "not-toml", "unknown-table", "unknown-key", "negative", "type", "not-table"],
)
def test_bad_config_files_are_named_and_exit_2(
    speech_wav: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    config = tmp_path / "saywho.toml"
    config.write_bytes(content)
    run = saywho("transcribe", speech_wav, "--config", config, "-o", tmp_path / "o")
    assert run.returncode == EXIT_USAGE, run.stderr
    assert message in only_error(run)


def test_config_max_duration_refuses_a_long_file_and_the_others_finish(
    speech_wav: Path, tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    long = write_media(tmp_path / "long.flac", np.tile(speech, 4), codec="flac")
    config = tmp_path / "saywho.toml"
    config.write_text("[decode]\nmax_duration_s = 10\n", encoding="utf-8")
    out = tmp_path / "out"
    run = saywho("diarize", long, speech_wav, "--config", config, "-o", out)
    assert run.returncode == EXIT_FAILED, run.stderr
    assert "decodes to more than 10 s, longer than the limit of 10 s" in only_error(run)
    assert sorted(p.name for p in out.iterdir()) == ["talk.json", "talk.rttm"]


def test_quiet_still_prints_errors(tmp_path: Path) -> None:
    run = saywho("transcribe", "-q", tmp_path / "nope.wav", "-o", tmp_path)
    assert run.returncode == EXIT_FAILED
    assert only_error(run) == f"error: {tmp_path / 'nope.wav'}: no such file"


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt,json", "docx"])
def test_diarize_refuses_word_formats_before_any_work(
    speech_wav: Path, tmp_path: Path, fmt: str
) -> None:
    run = saywho("diarize", speech_wav, "-f", fmt, "-o", tmp_path / "o")
    assert run.returncode == EXIT_USAGE
    assert "saywho diarize writes rttm and json" in only_error(run)
    assert not (tmp_path / "o").exists()


def test_diarize_all_formats_means_the_turn_formats(speech_wav: Path, tmp_path: Path) -> None:
    run = saywho("diarize", speech_wav, "-f", "all", "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "talk.rttm").read_text().startswith("SPEAKER talk 1 ")
    assert json.loads((tmp_path / "talk.json").read_text())["turns"]


def test_more_speakers_asked_than_found_is_a_warning(speech_wav: Path, tmp_path: Path) -> None:
    run = saywho("diarize", speech_wav, "--num-speakers", "32", "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    assert "speakers found, not the 32 of --num-speakers" in run.stderr


@pytest.mark.parametrize("place", ["file", "file-parent", "proc"])
def test_an_unusable_output_folder_fails_before_the_work(
    speech_wav: Path, tmp_path: Path, place: str
) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("I am a file")
    out = {"file": blocker, "file-parent": blocker / "sub", "proc": Path("/proc/1/saywho")}[place]
    run = saywho("transcribe", speech_wav, "-o", out, "--model", "tiny.en")
    assert run.returncode == EXIT_USAGE, run.stderr
    line = only_error(run)
    assert line.startswith(f"error: cannot write results to {out}: ")
    assert "loading models" not in run.stderr and "1 files done" not in run.stderr


def _limit_file_size(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))


def test_a_file_whose_outputs_do_not_fit_leaves_none_of_them(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    """A disk that fills up midway (here: a file-size limit the big review page passes):
    none of that file's formats stay behind, no temporary file either, and the next file
    (small enough) is done."""
    big = write_channels(tmp_path / "big.wav", np.stack([speech] * 8), rate=16_000)
    small = write_media(tmp_path / "small.wav", speech[: 16_000 * 2])
    out = tmp_path / "out"
    out.mkdir()
    limit = big.stat().st_size  # the page embeds the media as base64: a third larger
    run = subprocess.run(
        [sys.executable, "-m", "saywho.cli", "transcribe", str(big), str(small), "-o", str(out),
         "-f", "all", "--embed-media", "--model", "tiny.en"],
        capture_output=True, text=True, check=False, timeout=1800,
        preexec_fn=lambda: _limit_file_size(limit),
    )  # fmt: skip
    assert run.returncode == EXIT_FAILED, run.stderr
    assert "Exception ignored" not in run.stderr and "Traceback" not in run.stderr
    assert f"error: cannot write results to {out}: File too large" in only_error(run)
    names = sorted(p.name for p in out.iterdir())
    assert not [name for name in names if name.startswith(("big", ".big"))], names
    assert "small.json" in names and "small.html" in names


# -- voices and extract ------------------------------------------------------------------------


def test_a_zero_byte_library_is_an_error_and_left_alone(speech_wav: Path, tmp_path: Path) -> None:
    library = tmp_path / "voices.sqlite3"
    library.touch()
    for args in (["voices", "list"], ["transcribe", speech_wav, "-o", tmp_path, "--identify"]):
        run = saywho(*args, "--voices", library)
        assert run.returncode == EXIT_USAGE, run.stderr
        assert "is empty (0 bytes), not a voice library" in only_error(run)
        assert library.stat().st_size == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["voices", "list"], "no voice library there"),
        (["voices", "show", "Diane"], "no voice library there"),
        (["voices", "remove", "Diane"], "no voice library there"),
        (["voices", "rename", "Diane", "Di"], "no voice library there"),
        (["voices", "export", "out.json"], "no voice library there"),
        (["transcribe", "{speech}", "--identify", "--model", "tiny.en"], "no voice library there"),
        (["extract", "{speech}", "--speaker", "Diane", "-o", "d.wav"], "no speaker 'Diane'"),
    ],
    ids=["list", "show", "remove", "rename", "export", "identify", "extract"],
)
def test_naming_a_library_that_does_not_exist_is_an_error_and_creates_nothing(
    speech_wav: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    library = tmp_path / "nowhere" / "voices.sqlite3"
    filled = [str(speech_wav) if a == "{speech}" else a for a in args]
    run = saywho(*filled, "--voices", library, cwd=tmp_path)
    assert run.returncode == EXIT_USAGE, run.stderr
    assert message in only_error(run)
    assert not library.parent.exists()


def test_a_library_named_but_not_there_yet_is_a_warning_and_not_created(
    speech_wav: Path, tmp_path: Path
) -> None:
    library = tmp_path / "nowhere" / "voices.sqlite3"
    run = saywho("diarize", speech_wav, "--voices", library, "-o", tmp_path)
    assert run.returncode == 0, run.stderr
    assert f"warning: {library}: no voice library there yet" in run.stderr
    assert not library.parent.exists()


def test_enrolling_creates_the_library_and_hostile_files_are_refused(
    speech_wav: Path, tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    library = tmp_path / "lib" / "voices.sqlite3"
    folder = tmp_path / "bad"
    folder.mkdir()
    for kind in ERRORS:
        path = kind.make(folder, speech)
        run = saywho("voices", "enroll", "Diane", path, "--voices", library)
        assert run.returncode == EXIT_USAGE, (kind.name, run.stderr)
        line = only_error(run)
        assert str(path) in line, (kind.name, line)
    run = saywho("voices", "enroll", "Diane", speech_wav, "--voices", library)
    assert run.returncode == 0, run.stderr
    run = saywho("voices", "list", "--voices", library)
    assert run.returncode == 0 and "Diane" in run.stdout


@pytest.mark.parametrize("kind", ERRORS[:8] + ERRORS[15:17], ids=lambda k: k.name)
def test_extract_refuses_hostile_input_in_one_line(
    tmp_path: Path, speech: npt.NDArray[np.float32], kind
) -> None:
    path = kind.make(tmp_path, speech)
    run = saywho("extract", path, "--speaker", "SPEAKER_00", "-o", tmp_path / "x.wav")
    assert run.returncode in (EXIT_FAILED, EXIT_USAGE), run.stderr
    assert str(path) in only_error(run)
    assert not (tmp_path / "x.wav").exists()


# -- the audio bomb -----------------------------------------------------------------------------

_PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=False, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_the_audio_bomb_is_refused_in_bounded_memory(
    speech_wav: Path, tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    """A WAV whose header says 1 Hz would decode to 18 hours (4 GiB of samples): it is
    refused at the header, and the whole command (models loaded) stays under 500 MB."""
    bomb = next(k for k in ERRORS if k.name == "sample-rate-1").make(tmp_path, speech)
    command = [sys.executable, "-m", "saywho.cli", "diarize", str(bomb), "-o", str(tmp_path)]
    measured = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *command],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    peak_mb = int(measured.stdout.strip()) / 1024
    assert peak_mb < 500, peak_mb
    run = saywho("diarize", bomb, speech_wav, "-o", tmp_path / "out")
    assert "declares a sample rate of 1 Hz" in only_error(run)
    assert (tmp_path / "out" / "talk.rttm").exists()


def test_speech_on_any_channel_is_transcribed(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    eight = np.zeros((8, speech.shape[0]), dtype=np.float32)
    eight[3] = speech
    files = [
        write_channels(tmp_path / "eight.wav", eight),
        write_channels(tmp_path / "inverted.flac", np.stack([speech, -speech]), codec="flac"),
    ]
    run = saywho("transcribe", *files, "-o", tmp_path, "-f", "txt", "--model", "tiny.en")
    assert run.returncode == 0, run.stderr
    for path in files:
        text = (tmp_path / f"{path.stem}.txt").read_text().lower()
        assert sum(word in text for word in WORDS) >= 3, text
    assert os.environ.get("SAYWHO_VOICES")  # the conftest keeps the user's library out of it
