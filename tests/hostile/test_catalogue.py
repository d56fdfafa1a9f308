"""Every kind of hostile input through ``saywho transcribe``, ``diarize`` and ``batch``, all
in one run each (the real command in a subprocess): each file ends in a one-line error or a
correct result, never a traceback; the good files after the bad ones always finish."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from kinds import CATALOGUE, ERRORS, RESULTS, WORDS, Kind, make_all, saywho

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def inputs(
    tmp_path_factory: pytest.TempPathFactory, speech: npt.NDArray[np.float32]
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile") / "in"
    return {kind.name: path for kind, path in zip(CATALOGUE, make_all(folder, speech), strict=True)}


def test_the_catalogue_has_fifty_kinds() -> None:
    assert len(CATALOGUE) >= 50
    assert len({kind.name for kind in CATALOGUE}) == len(CATALOGUE)


def lines_about(stderr: str, path: Path, label: str) -> list[str]:
    prefix = f"{label}: {path}:"
    return [line for line in stderr.splitlines() if line.startswith(prefix)]


def check_error(kind: Kind, path: Path, stderr: str, out: Path) -> None:
    assert kind.error is not None
    errors = lines_about(stderr, path, "error")
    assert len(errors) == 1, (kind.name, stderr)
    assert re.search(kind.error, errors[0]), (kind.name, errors[0])
    assert not list(out.glob(f"{glob_safe(path.stem)}.*")), kind.name


def glob_safe(text: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def words_of(result: dict[str, object]) -> set[str]:
    utterances = result["utterances"]
    assert isinstance(utterances, list)
    text = " ".join(str(u["text"]) for u in utterances).lower()
    return set(re.findall(r"[a-z]+", text))


def check_result(kind: Kind, path: Path, stderr: str, out: Path) -> dict[str, object]:
    assert not lines_about(stderr, path, "error"), (kind.name, stderr)
    result = json.loads((out / f"{path.stem}.json").read_text(encoding="utf-8"))
    if kind.warning is not None:
        warnings = lines_about(stderr, path, "warning")
        assert any(re.search(kind.warning, line) for line in warnings), (kind.name, stderr)
    assert isinstance(result, dict)
    return result


def test_transcribe_gives_every_kind_an_error_line_or_a_result(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = saywho("transcribe", *inputs.values(), "-o", out, "-f", "json,txt", "--model", "tiny.en")
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr
    assert run.returncode == 1, run.stderr
    assert f"{len(RESULTS)} of {len(CATALOGUE)} files done" in run.stderr, run.stderr
    for kind in ERRORS:
        check_error(kind, inputs[kind.name], run.stderr, out)
    for kind in RESULTS:
        result = check_result(kind, inputs[kind.name], run.stderr, out)
        if kind.words:
            heard = words_of(result)
            assert len(heard & set(WORDS)) >= 3, (kind.name, heard)


def test_diarize_gives_every_kind_an_error_line_or_turns(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = saywho("diarize", *inputs.values(), "-o", out)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1, run.stderr
    assert f"{len(RESULTS)} of {len(CATALOGUE)} files done" in run.stderr, run.stderr
    for kind in ERRORS:
        check_error(kind, inputs[kind.name], run.stderr, out)
    for kind in RESULTS:
        result = check_result(kind, inputs[kind.name], run.stderr, out)
        assert (out / f"{inputs[kind.name].stem}.rttm").exists()
        if kind.words:  # speech on any channel, however mixed, is heard as a speaker
            assert result["turns"], kind.name


def test_batch_reports_every_kind_and_finishes_the_good_ones(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    listed = tmp_path / "inputs.txt"
    listed.write_text("".join(f"{path}\n" for path in inputs.values()), encoding="utf-8")
    out = tmp_path / "out"
    run = saywho("batch", f"@{listed}", "-o", out, "-f", "json", "--model", "tiny.en",
                 "--workers", "1", "-q")  # fmt: skip
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 1, run.stderr
    with (out / "saywho-batch-report.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    done = [row for row in rows if row["status"] == "done"]
    assert len(done) >= sum(1 for kind in RESULTS if kind.words), rows
    for kind in RESULTS:
        if kind.words:
            results = list(out.rglob(f"{glob_safe(inputs[kind.name].stem)}.json"))
            assert results, (kind.name, rows)
            heard = words_of(json.loads(results[0].read_text(encoding="utf-8")))
            assert len(heard & set(WORDS)) >= 3, (kind.name, heard)
