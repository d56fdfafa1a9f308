"""Every code block of README.md that is a program or a config runs here, on the example file.

``python`` blocks run as they are; the ``toml`` block is merged as a config file; the demo at
the top runs its ``saywho`` command and the files it ``cat``s must start as the README shows,
up to what differs from one CPU to another (CTranslate2's int8 kernels differ by instruction
set): times within :data:`TIME_TOLERANCE_S`, punctuation and case.
The other ``sh`` blocks are usage synopses, not commands.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from saywho.cli import main
from saywho.config import PipelineConfig, merge_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TIME_TOLERANCE_S = 0.1
TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[.,](\d{3})")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCKS if lang == language]


@pytest.fixture
def in_example_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder in which ``examples/interview.wav`` exists."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_has_the_blocks_we_run() -> None:
    assert len(blocks("python")) >= 2
    assert len(blocks("toml")) == 1
    assert BLOCKS[0][1].startswith("$ saywho transcribe examples/interview.wav")


def test_the_config_file_example_is_valid() -> None:
    config = merge_config(PipelineConfig(), tomllib.loads(blocks("toml")[0]))
    assert config.recognize.model == "tiny.en"


@pytest.mark.integration
@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_block_runs(index: int, in_example_folder: Path) -> None:
    code = blocks("python")[index]
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "readme"})
    for path in re.findall(r'"(out/[^"]+)"', code):
        assert (in_example_folder / path).stat().st_size > 0


@pytest.mark.integration
def test_the_demo_at_the_top_shows_what_happens(
    in_example_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = re.split(r"^\$ ", BLOCKS[0][1], flags=re.MULTILINE)[1:]
    for command in commands:
        line, *shown = command.rstrip("\n").split("\n")
        program, *args = shlex.split(line)
        if program == "saywho":
            assert main(args) == 0
            summary = shown[-1]
            assert summary.startswith("1 of 1 files done · 26 s of audio · took ")
            assert "1 of 1 files done · 26 s of audio · took " in capsys.readouterr().err
        else:
            assert program == "cat"
            written = (in_example_folder / args[0]).read_text(encoding="utf-8").splitlines()
            expected = shown[: shown.index("…")] if "…" in shown else shown
            assert len(written) >= len(expected)
            for got, want in zip(written, expected, strict=False):
                assert _as_shown(got, want), f"{got!r} is not {want!r}"


def _as_shown(got: str, want: str) -> bool:
    """``got`` is the README's line ``want`` with times within the tolerance, the same words."""
    times = [_seconds(m) for m in TIME.finditer(got)], [_seconds(m) for m in TIME.finditer(want)]
    if len(times[0]) != len(times[1]):
        return False
    close = all(abs(a - b) <= TIME_TOLERANCE_S for a, b in zip(*times, strict=True))
    return close and _words(TIME.sub("", got)) == _words(TIME.sub("", want))


def _seconds(match: re.Match[str]) -> float:
    hours, minutes, seconds, millis = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _words(line: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", line.casefold()).split()


def test_a_readme_line_matches_across_cpus_but_not_other_words() -> None:
    want = "00:00:04,388 --> 00:00:07,788"
    assert _as_shown("00:00:04,400 --> 00:00:07,768", want)
    assert not _as_shown("00:00:04,600 --> 00:00:07,788", want)
    assert _as_shown("SPEAKER_01: Thank you for having me.", "SPEAKER_01: Thank you for having me,")
    assert not _as_shown(
        "SPEAKER_00: Thank you for having me,", "SPEAKER_01: Thank you for having me,"
    )
    assert not _as_shown("[00:00:04.388] SPEAKER_01: Thank you", "SPEAKER_01: Thank you")
