"""The saywho command: outputs, exit codes, and a batch that survives bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from media import silence, write_media
from saywho import models
from saywho.cli import main
from saywho.formats import FORMATS, WRITERS
from saywho.formats.json import SCHEMA_VERSION


@pytest.fixture
def speech_wav(tmp_path: Path, speech: npt.NDArray[np.float32]) -> Path:
    return write_media(tmp_path / "interview.wav", speech)


def test_batch_reports_bad_files_and_finishes_the_rest(tmp_path: Path, speech_wav: Path) -> None:
    """The real entry point in a subprocess: two bad files among good ones."""
    not_media = tmp_path / "notes.mp3"
    not_media.write_text("not audio at all")
    quiet = write_media(tmp_path / "quiet.wav", silence(3.0))
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "saywho.cli",
            "transcribe",
            str(speech_wav),
            str(not_media),
            str(tmp_path / "missing.wav"),
            str(quiet),
            "-o",
            str(out),
            "--model",
            "tiny.en",
            "-f",
            "all",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert f"error: {not_media}: is not a media file we can read" in result.stderr
    assert f"error: {tmp_path / 'missing.wav'}: no such file" in result.stderr
    assert "2 of 4 files done" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}{WRITERS[fmt].suffix}" for stem in ("interview", "quiet") for fmt in FORMATS
    )
    assert (out / "quiet.txt").read_text() == ""
    assert '<source src="../interview.wav" type="audio/' in (out / "interview.html").read_text()


def test_json_records_words_options_and_model_hashes(tmp_path: Path, speech_wav: Path) -> None:
    code = main(
        [
            "transcribe",
            str(speech_wav),
            "-o",
            str(tmp_path),
            "-f",
            "json",
            "-f",
            "srt",
            "--model",
            "tiny.en",
            "--beam-size",
            "2",
            "--best-of",
            "3",
            "--patience",
            "1.5",
            "--temperature",
            "0.2",
            "--no-condition-on-previous-text",
            "--device",
            "auto",
            "--initial-prompt",
            "Stella",
            "--max-line-width",
            "30",
            "-q",
        ]
    )
    assert code == 0
    data = json.loads((tmp_path / "interview.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["language"] == "en"
    assert data["config"]["recognize"] == data["config"]["recognize"] | {
        "model": "tiny.en",
        "beam_size": 2,
        "initial_prompt": "Stella",
        "best_of": 3,
        "patience": 1.5,
        "temperature": 0.2,
        "condition_on_previous_text": False,
        "device": "auto",
    }
    assert {m["name"]: m["sha256"] for m in data["models"]}["tiny.en"].startswith("1a5afae0")
    words = [w for u in data["utterances"] for w in u["words"]]
    assert words and all({"text", "start", "end", "probability"} <= w.keys() for w in words)
    assert data["config"]["write"]["max_line_width"] == 30
    srt = (tmp_path / "interview.srt").read_text(encoding="utf-8")
    assert "-->" in srt
    text_lines = [line for line in srt.splitlines() if line and "-->" not in line]
    assert all(len(line) <= 30 or " " not in line for line in text_lines if not line.isdigit())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temp files left"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "interview.json",
        "interview.srt",
        "interview.wav",
    ]


def test_same_stem_twice_gets_distinct_outputs(tmp_path: Path, speech_wav: Path) -> None:
    other = tmp_path / "b"
    other.mkdir()
    twin = write_media(other / "interview.wav", silence(1.0))
    assert (
        main(
            [
                "transcribe",
                str(speech_wav),
                str(twin),
                "-o",
                str(tmp_path / "o"),
                "-f",
                "txt",
                "--model",
                "tiny.en",
                "-q",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "interview-2.txt",
        "interview.txt",
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-f", "txt,pdf"], 2, "unknown output format 'pdf'"),
        (["--language", "xx", "--model", "base"], 2, "unknown language 'xx'"),
        (["--language", "de", "--model", "tiny.en"], 2, "English-only"),
        (["--model", "no-such-model"], 3, "unknown model 'no-such-model'"),
        (["--beam-size", "0"], 2, "beam_size must be at least 1"),
        (["--temperature", "1.5"], 2, "temperature must be between 0 and 1"),
        (["--best-of", "0"], 2, "best_of must be at least 1"),
        (["-f", "json", "-f", "pdf"], 2, "unknown output format 'pdf'"),
    ],
)
def test_bad_options_fail_before_any_file(
    tmp_path: Path,
    speech_wav: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    assert main(["transcribe", str(speech_wav), "-o", str(tmp_path / "o"), *args]) == code
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "o").exists()


def test_config_file_is_merged_and_unknown_keys_named(
    tmp_path: Path, speech_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[recognize]\nmodel = "tiny.en"\nbeam_size = 1\n[vad]\nthreshold = 0.4\n')
    assert (
        main(
            [
                "transcribe",
                str(speech_wav),
                "-o",
                str(tmp_path),
                "-f",
                "json",
                "--config",
                str(good),
                "--beam-size",
                "3",
                "-q",
            ]
        )
        == 0
    )
    data = json.loads((tmp_path / "interview.json").read_text(encoding="utf-8"))
    assert data["config"]["recognize"]["model"] == "tiny.en"
    assert data["config"]["recognize"]["beam_size"] == 3  # the flag wins over the file
    assert data["config"]["vad"]["threshold"] == 0.4
    bad = tmp_path / "bad.toml"
    bad.write_text("[recognize]\nbeam = 2\n")
    assert main(["transcribe", str(speech_wav), "--config", str(bad)]) == 2
    assert "unknown key recognize.beam" in capsys.readouterr().err


def test_models_list_and_verify(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") == len(models.REGISTRY)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "base",
        "tiny.en",
        "silero-vad-v6",
        "segmentation-3.0",
        "campplus-sv-zh-en-common",
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ):
        assert name in out
