"""``saywho evaluate`` on hand-written references and hypotheses: numbers, pairing, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from saywho.cli import main
from saywho.config import PipelineConfig
from saywho.formats.json import write_json
from saywho.types import Span, Transcript, Turn, Utterance, Word

# Alice speaks 0-10 s, Bob 10-20 s.
REFERENCE_RTTM = (
    "SPEAKER meeting 1 0.00 10.00 <NA> <NA> alice <NA> <NA>\n"
    "SPEAKER meeting 1 10.00 10.00 <NA> <NA> bob <NA> <NA>\n"
)
REFERENCE_STM = (
    "meeting 1 alice 0.0 10.0 Good morning, everyone.\n"
    "meeting 1 bob 10.0 20.0 <O,M,> Morning! Shall we start?\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def saywho_json(path: Path, words: list[tuple[str, float, str]], turns: list[Turn]) -> Path:
    """A saywho result with one utterance of ``(text, start, speaker)`` words."""
    made = tuple(Word(text, Span(start, start + 0.5), 0.9, who) for text, start, who in words)
    transcript = Transcript(
        source="/recordings/meeting.wav",
        duration_s=20.0,
        language="en",
        language_probability=0.99,
        utterances=(Utterance(Span(0.0, 20.0), " ".join(w[0] for w in words), made),),
        config=PipelineConfig(),
        turns=tuple(turns),
    )
    stream = io.StringIO()
    write_json(transcript, stream)
    return write(path, stream.getvalue())


def table_rows(output: str) -> dict[str, list[str]]:
    """The cells of each row of the printed table, by its first cell."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    return write(tmp_path / "meeting.rttm", REFERENCE_RTTM)


@pytest.fixture
def reference_text(tmp_path: Path) -> Path:
    return write(tmp_path / "meeting.stm", REFERENCE_STM)


def test_json_hypothesis_scores_der_wer_and_cpwer(
    tmp_path: Path, reference: Path, reference_text: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Bob's first 2 s are missed; "stop?" (for "start?") is given to Alice's label.
    words = [
        ("Good", 0.5, "SPEAKER_01"),
        ("morning", 1.0, "SPEAKER_01"),
        ("everyone.", 1.5, "SPEAKER_01"),
        ("Morning,", 12.0, "SPEAKER_00"),
        ("shall", 12.5, "SPEAKER_00"),
        ("we", 13.0, "SPEAKER_00"),
        ("stop?", 13.5, "SPEAKER_01"),
    ]
    turns = [Turn(Span(0, 10), "SPEAKER_01"), Turn(Span(12, 20), "SPEAKER_00")]
    hypothesis = saywho_json(tmp_path / "out" / "meeting.json", words, turns)
    out_json = tmp_path / "scores.json"
    code = main(
        [
            "evaluate",
            "--reference",
            str(reference),
            str(hypothesis),
            "--reference-text",
            str(reference_text),
            "--json",
            str(out_json),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    rows = table_rows(captured.out)
    # speech, DER, miss, FA, confusion, JER (Bob: 8 of 10 s, JER 20 % / 2), WER, cpWER:
    # 7 reference words; WER 1 (stop); cpWER: "stop?" is both missing for Bob and extra for Alice.
    expected = ["20.00", "10.00", "10.00", "0.00", "0.00", "10.00", "14.29", "28.57"]
    assert rows["meeting"] == expected
    assert rows["total"] == expected
    scores = json.loads(out_json.read_text(encoding="utf-8"))
    assert scores["collar_s"] == 0.0
    assert scores["errors"] == []
    (file,) = scores["files"]
    assert (file["uri"], file["der"], file["miss_s"], file["reference_words"]) == (
        "meeting",
        pytest.approx(0.1),
        pytest.approx(2.0),
        7,
    )
    assert scores["total"]["cpwer"] == pytest.approx(2 / 7)


def test_collar_and_uem(
    tmp_path: Path, reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hypothesis = write(
        tmp_path / "hyp.rttm",
        "SPEAKER whatever 1 0.0 9.8 <NA> <NA> S0 <NA> <NA>\n"
        "SPEAKER whatever 1 10.2 9.8 <NA> <NA> S1 <NA> <NA>\n",
    )
    assert main(["evaluate", "-r", str(reference), str(hypothesis)]) == 0
    # 0.4 s missed of 20 s; the hypothesis' uri need not match when each file has one.
    assert table_rows(capsys.readouterr().out)["meeting"][:3] == ["20.00", "2.00", "2.00"]

    assert main(["evaluate", "-r", str(reference), str(hypothesis), "--collar", "0.25"]) == 0
    # Boundaries at 0, 10 and 20 s: 1 s is not scored, and the misses fall inside collars.
    assert table_rows(capsys.readouterr().out)["meeting"][:3] == ["19.00", "0.00", "0.00"]

    uem = write(tmp_path / "all.uem", "meeting 1 0 5\n")
    assert main(["evaluate", "-r", str(reference), str(hypothesis), "--uem", str(uem)]) == 0
    assert table_rows(capsys.readouterr().out)["meeting"][:2] == ["5.00", "0.00"]


def test_folders_pair_by_stem_and_report_missing_hypotheses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs, hyps = tmp_path / "ref", tmp_path / "hyp"
    refs.mkdir()
    hyps.mkdir()
    write(refs / "a.rttm", "SPEAKER a 1 0 10 <NA> <NA> x <NA> <NA>\n")
    write(refs / "b.rttm", "SPEAKER b 1 0 30 <NA> <NA> y <NA> <NA>\n")
    write(refs / "c.rttm", "SPEAKER c 1 0 10 <NA> <NA> z <NA> <NA>\n")
    write(hyps / "a.rttm", "SPEAKER a 1 0 5 <NA> <NA> s <NA> <NA>\n")
    write(hyps / "b.rttm", "SPEAKER b 1 0 30 <NA> <NA> s <NA> <NA>\n")
    code = main(["evaluate", "--reference", str(refs), str(hyps)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"error: {refs / 'c.rttm'}: no hypothesis found for it" in captured.err
    rows = table_rows(captured.out)
    assert "c" not in rows
    assert rows["a"][:2] == ["10.00", "50.00"]
    assert rows["b"][:2] == ["30.00", "0.00"]
    # Time-weighted: 5 s missed of 40 s.
    assert rows["total"][:2] == ["40.00", "12.50"]


def test_a_list_of_pairs(
    tmp_path: Path, reference: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "hyp.rttm", "SPEAKER meeting 1 0 20 <NA> <NA> s <NA> <NA>\n")
    pairs = write(tmp_path / "pairs.txt", "# reference hypothesis\nmeeting.rttm hyp.rttm\n")
    assert main(["evaluate", "--list", str(pairs)]) == 0
    # One speaker for two: Bob's 10 s are confusion.
    assert table_rows(capsys.readouterr().out)["meeting"][:5] == [
        "20.00",
        "50.00",
        "0.00",
        "0.00",
        "50.00",
    ]


def test_rttm_hypothesis_has_no_words_for_wer(
    tmp_path: Path, reference: Path, reference_text: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hypothesis = write(tmp_path / "hyp.rttm", REFERENCE_RTTM)
    code = main(
        ["evaluate", "-r", str(reference), str(hypothesis), "--reference-text", str(reference_text)]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "an RTTM hypothesis has no words" in captured.err
    assert table_rows(captured.out)["meeting"] == [
        *("20.00", "0.00", "0.00", "0.00", "0.00", "0.00"),
        *("—", "—"),
    ]


def test_malformed_rttm_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = write(
        tmp_path / "ref.rttm",
        REFERENCE_RTTM + "SPEAKER meeting 1 20 -1.0 <NA> <NA> bob <NA> <NA>\n",
    )
    hypothesis = write(tmp_path / "hyp.rttm", REFERENCE_RTTM)
    assert main(["evaluate", "-r", str(reference), str(hypothesis)]) == 2
    captured = capsys.readouterr()
    assert f"error: {reference}:3: duration '-1.0' is negative" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["hyp.rttm"], "give --reference REF and HYP, or --list FILE"),
        (["-r", "nowhere.rttm", "hyp.rttm"], "nowhere.rttm: no such file or folder"),
        (["-r", "ref.rttm", "hyp.rttm", "--collar", "-1"], "--collar -1.0 is negative"),
        (["-r", "ref.rttm", "hyp.txt"], "hyp.txt: a hypothesis must be"),
    ],
)
def test_bad_usage_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ref.rttm", REFERENCE_RTTM)
    write(tmp_path / "hyp.rttm", REFERENCE_RTTM)
    write(tmp_path / "hyp.txt", "hello")
    assert main(["evaluate", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_hypothesis_folder_prefers_the_saywho_json(
    tmp_path: Path, reference: Path, reference_text: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    words = [("Good", 0.5, "S0"), ("morning", 1.0, "S0"), ("everyone", 1.5, "S0")]
    saywho_json(out / "meeting.json", words, [Turn(Span(0, 20), "S0")])
    write(out / "meeting.rttm", "SPEAKER meeting 1 0 20 <NA> <NA> S0 <NA> <NA>\n")
    write(out / "other.json", "not even JSON")
    code = main(["evaluate", "-r", str(reference), str(out), "--reference-text", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # Bob's 10 s are confusion; JER: Alice 1 - 10/20, Bob 1 (no speaker of his own).
    # His 4 words are deleted: WER 4/7, and cpWER too.
    assert table_rows(captured.out)["meeting"][1:] == [
        *("50.00", "0.00", "0.00", "50.00", "75.00"),
        *("57.14", "57.14"),
    ]
