"""Scoring: RTTM/UEM/STM parsing with file:line errors, DER/JER/WER/cpWER on hand-made cases."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from saywho.config import PipelineConfig
from saywho.errors import ConfigError
from saywho.evaluation.files import (
    SpokenText,
    StmLine,
    parse_pairs,
    parse_rttm,
    parse_stm,
    parse_uem,
    read_hypothesis,
    read_rttm,
    read_stm,
    read_uem,
    stm_text,
    stm_turns,
    transcript_text,
    transcript_turns,
)
from saywho.evaluation.score import (
    DiarizationPair,
    DiarizationScore,
    TextPair,
    normalize_text,
    score_diarization,
    score_text,
)
from saywho.formats.json import write_json
from saywho.types import Span, Transcript, Turn, Utterance, Word


def rttm(*turns: tuple[str, float, float, str]) -> str:
    """RTTM text of ``(uri, start, duration, speaker)`` turns."""
    return "".join(
        f"SPEAKER {uri} 1 {start} {duration} <NA> <NA> {speaker} <NA> <NA>\n"
        for uri, start, duration, speaker in turns
    )


def turns(*spans: tuple[float, float, str]) -> tuple[Turn, ...]:
    return tuple(Turn(Span(start, end), label) for start, end, label in spans)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def one(
    reference: tuple[Turn, ...],
    hypothesis: tuple[Turn, ...],
    *,
    collar_s: float = 0.0,
    uem: tuple[Span, ...] | None = None,
) -> DiarizationScore:
    return score_diarization(
        [DiarizationPair("x", reference, hypothesis, uem)], collar_s=collar_s
    ).files[0]


# -- RTTM -----------------------------------------------------------------------------------


def test_rttm_reads_speaker_lines_by_uri_and_skips_the_rest(tmp_path: Path) -> None:
    text = (
        "# a comment\n"
        ";; another\n"
        "\n"
        "SPKR-INFO a 1 <NA> <NA> <NA> unknown alice <NA> <NA>\n"
        "SPEAKER a 1 5.0 1.5 <NA> <NA> bob <NA> <NA>\n"
        "SPEAKER a 1 0.25 2 <NA> <NA> alice <NA> <NA> 0.9 extra\n"
        "SPEAKER b 1 1 1 <NA> <NA> carol\n"
    )
    parsed = read_rttm(write(tmp_path / "ref.rttm", text))
    assert parsed == {
        "a": turns((0.25, 2.25, "alice"), (5.0, 6.5, "bob")),
        "b": turns((1.0, 2.0, "carol")),
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "SPEAKER a 1 0 1 <NA> <NA>",
            "ref.rttm:2: expected 10 fields (SPEAKER uri channel start duration NA NA speaker "
            "NA NA), got 7",
        ),
        ("SPEAKER a 1 abc 1 <NA> <NA> s <NA> <NA>", "ref.rttm:2: start 'abc' is not a number"),
        ("SPEAKER a 1 0 -1.0 <NA> <NA> s <NA> <NA>", "ref.rttm:2: duration '-1.0' is negative"),
        ("SPEAKER a 1 -3 1 <NA> <NA> s <NA> <NA>", "ref.rttm:2: start '-3' is negative"),
        (
            "SPEAKER a 1 nan 1 <NA> <NA> s <NA> <NA>",
            "ref.rttm:2: start 'nan' is not a finite number",
        ),
        (
            "a 1 alice 0.0 1.0 hello",
            "ref.rttm:2: unknown record type 'a' (is this an RTTM file?)",
        ),
    ],
)
def test_rttm_errors_name_file_line_and_problem(line: str, message: str) -> None:
    text = rttm(("a", 0, 1, "s")) + line + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_rttm(text, "ref.rttm")
    assert str(caught.value) == message


def test_reading_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.rttm: no such file"):
        read_rttm(tmp_path / "missing.rttm")


# -- UEM and STM ----------------------------------------------------------------------------


def test_uem_reads_regions_by_uri(tmp_path: Path) -> None:
    text = ";; scored\na 1 10 20\na 1 0.0 5.5\nb 1 0 30\n"
    assert read_uem(write(tmp_path / "all.uem", text)) == {
        "a": (Span(0.0, 5.5), Span(10.0, 20.0)),
        "b": (Span(0.0, 30.0),),
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a 1 0", "all.uem:3: expected 4 fields (uri channel start end), got 3"),
        ("a 1 5 3", "all.uem:3: end '3' is before start '5'"),
        ("a 1 0 x", "all.uem:3: end 'x' is not a number"),
    ],
)
def test_uem_errors_name_file_line_and_problem(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_uem(f"a 1 0 1\n\n{line}\n", "all.uem")
    assert str(caught.value) == message


def test_stm_reads_lines_with_and_without_labels(tmp_path: Path) -> None:
    text = (
        ';; LABEL "O" "Overall" "all"\n'
        "rec 1 bob 2.0 3.0 <O,M,> Fine, thanks.\n"
        "rec 1 alice 0.0 1.5 Hello, how are you?\n"
        "rec 1 alice 4 4.5\n"
        "rec 1 inter_segment_gap 4.5 5\n"
        "other A carol 0 1 <O> # not a comment\n"
    )
    parsed = read_stm(write(tmp_path / "ref.stm", text))
    assert parsed == {
        "rec": (
            StmLine("rec", "alice", Span(0.0, 1.5), "Hello, how are you?"),
            StmLine("rec", "bob", Span(2.0, 3.0), "Fine, thanks."),
            StmLine("rec", "alice", Span(4.0, 4.5), ""),
            StmLine("rec", "inter_segment_gap", Span(4.5, 5.0), ""),
        ),
        "other": (StmLine("other", "carol", Span(0.0, 1.0), "# not a comment"),),
    }
    assert stm_text(parsed["rec"]) == SpokenText(
        "Hello, how are you? Fine, thanks.",
        (("alice", "Hello, how are you?"), ("bob", "Fine, thanks.")),
    )
    assert stm_turns(parsed["rec"]) == turns((0, 1.5, "alice"), (2, 3, "bob"), (4, 4.5, "alice"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "rec 1 alice 0.0",
            "ref.stm:2: expected at least 5 fields (uri channel speaker start end text…), got 4",
        ),
        ("rec 1 alice 2 1 hi", "ref.stm:2: end '1' is before start '2'"),
        ("rec 1 alice 0 1 <O,M hi", "ref.stm:2: label '<O,M' does not end with '>'"),
    ],
)
def test_stm_errors_name_file_line_and_problem(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stm(f"rec 1 bob 0 1 ok\n{line}\n", "ref.stm")
    assert str(caught.value) == message


def test_pair_list_errors_name_file_and_line() -> None:
    assert parse_pairs("# ref hyp\na.rttm b.json\n", "pairs.txt") == (("a.rttm", "b.json"),)
    with pytest.raises(ConfigError) as caught:
        parse_pairs("a.rttm b.json\nc.rttm\n", "pairs.txt")
    assert str(caught.value) == "pairs.txt:2: expected 2 fields (reference hypothesis), got 1"


# -- saywho JSON hypotheses -----------------------------------------------------------------


def transcript(*words: tuple[str, float, str | None]) -> Transcript:
    """One utterance of ``(text, start, speaker)`` words, 0.4 s each."""
    made = tuple(Word(t, Span(s, s + 0.4), 0.9, speaker) for t, s, speaker in words)
    return Transcript(
        source="/audio/meeting.wav",
        duration_s=10.0,
        language="en",
        language_probability=0.99,
        utterances=(Utterance(Span(words[0][1], 10.0), "", made),),
        config=PipelineConfig(),
        turns=turns((0, 2, "SPEAKER_00"), (2, 4, "SPEAKER_01")),
    )


def test_json_hypothesis_gives_turns_and_words_by_speaker(tmp_path: Path) -> None:
    stream = io.StringIO()
    write_json(transcript(("Hi,", 0, "SPEAKER_00"), ("there.", 2, "SPEAKER_01")), stream)
    hypotheses = read_hypothesis(write(tmp_path / "meeting.json", stream.getvalue()))
    assert list(hypotheses) == ["meeting"]
    assert hypotheses["meeting"].turns == turns((0, 2, "SPEAKER_00"), (2, 4, "SPEAKER_01"))
    assert hypotheses["meeting"].text == SpokenText(
        "Hi, there.", (("SPEAKER_00", "Hi,"), ("SPEAKER_01", "there."))
    )


def test_words_without_speaker_give_no_speaker_texts() -> None:
    result = transcript(("Hi,", 0, "SPEAKER_00"), ("there.", 2, None))
    assert transcript_text(result) == SpokenText("Hi, there.", None)


def test_without_diarization_turns_come_from_utterances() -> None:
    words = (Word("Hi.", Span(1, 2), 0.9, "SPEAKER_00"),)
    utterance = Utterance(Span(1, 2), "Hi.", words, "SPEAKER_00")
    result = Transcript("a.wav", 3.0, None, None, (utterance,), PipelineConfig())
    assert transcript_turns(result) == turns((1, 2, "SPEAKER_00"))


def test_unknown_hypothesis_suffix_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hyp\.txt: a hypothesis must be"):
        read_hypothesis(write(tmp_path / "hyp.txt", "hello"))


# -- DER and JER ----------------------------------------------------------------------------


def test_identical_reference_and_hypothesis_score_zero() -> None:
    reference = turns((0, 4, "A"), (3, 7, "B"), (8, 10, "A"))
    score = one(reference, reference)
    assert (score.der, score.jer, score.miss_s, score.false_alarm_s, score.confusion_s) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert score.reference_speech_s == pytest.approx(10.0)


def test_missed_speech_is_a_fraction_of_reference_speech() -> None:
    score = one(turns((0, 10, "A")), turns((0, 8, "S1")))
    assert score.miss_s == pytest.approx(2.0)
    assert (score.der, score.miss, score.false_alarm, score.confusion) == pytest.approx(
        (0.2, 0.2, 0.0, 0.0)
    )
    # One speaker, intersection 8 s over union 10 s.
    assert score.jer == pytest.approx(0.2)


def test_false_alarm_and_label_names_do_not_matter() -> None:
    score = one(turns((0, 10, "A")), turns((0, 12, "whoever")))
    assert (score.der, score.false_alarm_s, score.confusion_s) == pytest.approx((0.2, 2.0, 0.0))


def test_a_swapped_speaker_is_confusion() -> None:
    reference = turns((0, 5, "A"), (5, 10, "B"))
    hypothesis = turns((0, 5, "S1"), (5, 8, "S2"), (8, 10, "S1"))
    score = one(reference, hypothesis)
    assert (score.der, score.confusion_s, score.miss_s, score.false_alarm_s) == pytest.approx(
        (0.2, 2.0, 0.0, 0.0)
    )
    # A: 5 s right of 7 s in union (JER 2/7); B: 3 s right of 5 s (JER 2/5); mean of both.
    assert score.jer == pytest.approx((2 / 7 + 2 / 5) / 2)


def test_the_collar_forgives_each_side_of_reference_boundaries() -> None:
    # The hypothesis ends 0.2 s early and the next starts 0.2 s late, both within 0.25 s.
    reference = turns((0, 5, "A"), (5, 10, "B"))
    hypothesis = turns((0, 4.8, "S1"), (5.2, 10, "S2"))
    assert one(reference, hypothesis).miss_s == pytest.approx(0.4)
    forgiven = one(reference, hypothesis, collar_s=0.25)
    assert (forgiven.der, forgiven.collar_s) == (0, 0.25)
    # Boundaries at 0, 5 and 10: 0.25 + 0.5 + 0.25 s not scored.
    assert forgiven.reference_speech_s == pytest.approx(9.0)
    assert one(reference, hypothesis, collar_s=0.1).miss_s == pytest.approx(0.2)


def test_overlapped_speech_is_scored() -> None:
    reference = turns((0, 6, "A"), (4, 10, "B"))
    score = one(reference, turns((0, 5, "S1"), (5, 10, "S2")))
    # 12 s of reference speech; the overlap 4-6 has one hypothesis speaker for two.
    assert score.reference_speech_s == pytest.approx(12.0)
    assert score.miss_s == pytest.approx(2.0)


def test_uem_limits_what_is_scored() -> None:
    score = one(turns((0, 10, "A")), turns((0, 8, "S1")), uem=(Span(0, 8),))
    assert (score.der, score.reference_speech_s) == pytest.approx((0.0, 8.0))


def test_overlapping_turns_of_one_speaker_count_once() -> None:
    score = one(turns((0, 5, "A"), (3, 8, "A")), turns((0, 8, "S1")))
    assert (score.der, score.reference_speech_s) == pytest.approx((0.0, 8.0))


def test_total_is_weighted_by_reference_speech() -> None:
    pairs = [
        DiarizationPair("long", turns((0, 30, "A")), turns((0, 30, "S"))),
        DiarizationPair("short", turns((0, 10, "A")), turns((0, 5, "S"))),
    ]
    scores = score_diarization(pairs, collar_s=0.0)
    assert [s.der for s in scores.files] == pytest.approx([0.0, 0.5])
    assert scores.total.uri is None
    assert (scores.total.der, scores.total.miss_s) == pytest.approx((5 / 40, 5.0))
    assert scores.total.reference_speech_s == pytest.approx(40.0)


def test_a_negative_collar_is_an_error() -> None:
    with pytest.raises(ConfigError, match="negative"):
        score_diarization([], collar_s=-0.1)


# -- WER and cpWER --------------------------------------------------------------------------


def spoken(*pieces: tuple[str, str]) -> SpokenText:
    by_speaker: dict[str, list[str]] = {}
    for speaker, text in pieces:
        by_speaker.setdefault(speaker, []).append(text)
    return SpokenText(
        " ".join(text for _, text in pieces),
        tuple(sorted((s, " ".join(t)) for s, t in by_speaker.items())),
    )


def test_normalisation_is_whisper_style() -> None:
    full_width = "\uff26\uff55\uff4c\uff4c"  # "Full" in full-width letters, NFKC folds it
    assert normalize_text(f"  Hello,   WORLD! {full_width}-width… “quoted” ") == (
        "hello world full width quoted"
    )


def test_wer_after_normalisation() -> None:
    reference = spoken(("A", "Hello, world."), ("B", "How are you?"))
    hypothesis = spoken(("x", "hello world how is you"))
    score = score_text([TextPair("x", reference, hypothesis)]).files[0]
    assert (score.wer, score.errors, score.reference_words) == (1 / 5, 1, 5)


def test_cpwer_is_zero_when_only_the_labels_differ() -> None:
    reference = spoken(("alice", "good morning"), ("bob", "hi there"), ("alice", "how are you"))
    hypothesis = spoken(("S1", "hi there"), ("S0", "good morning"), ("S0", "how are you"))
    score = score_text([TextPair("x", reference, hypothesis)]).files[0]
    assert score.cpwer == 0.0
    # In time order the hypothesis swaps two words with two others: WER counts those.
    assert score.wer == pytest.approx(4 / 7)


def test_cpwer_counts_words_given_to_the_wrong_speaker() -> None:
    reference = spoken(("alice", "one two three"), ("bob", "four five six"))
    hypothesis = spoken(("S0", "one two three four"), ("S1", "five six"))
    score = score_text([TextPair("x", reference, hypothesis)]).files[0]
    assert score.wer == 0.0
    # "four" is an insertion for S0=alice and a deletion for S1=bob.
    assert (score.cpwer, score.cp_errors) == (2 / 6, 2)


def test_cpwer_is_none_without_speakers_and_so_is_its_total() -> None:
    pairs = [
        TextPair("a", spoken(("A", "yes no")), SpokenText("yes no", None)),
        TextPair("b", spoken(("A", "one two three")), spoken(("S", "one two"))),
    ]
    scores = score_text(pairs)
    assert [s.cpwer for s in scores.files] == [None, pytest.approx(1 / 3)]
    assert scores.total.cpwer is None
    # Total WER: 1 error over 5 reference words.
    assert scores.total.wer == pytest.approx(1 / 5)


def test_wer_is_none_without_reference_words() -> None:
    score = score_text([TextPair("x", spoken(), spoken(("S", "hello")))]).files[0]
    assert (score.wer, score.errors) == (None, 1)


@pytest.mark.parametrize("module", ["pyannote.metrics.diarization", "pyannote.core"])
def test_without_the_eval_extra_diarization_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    pair = DiarizationPair("x", turns((0, 1, "A")), turns((0, 1, "S")))
    with pytest.raises(ConfigError, match=r"pip install 'saywho\[eval\]'"):
        score_diarization([pair], collar_s=0.0)


@pytest.mark.parametrize("module", ["jiwer", "meeteval.wer"])
def test_without_the_eval_extra_text_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError, match=r"pip install 'saywho\[eval\]'"):
        score_text([TextPair("x", spoken(("A", "hi")), spoken(("S", "hi")))])
