"""Output writers: timestamps, cues, golden files for every format, JSON round trip."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from saywho import formats
from saywho.config import PipelineConfig, RecognizeConfig, VadConfig
from saywho.errors import ConfigError, OutputError
from saywho.formats import FORMATS, WRITERS, parse_formats, write, write_binary
from saywho.formats.cues import subtitle_cues
from saywho.formats.json import SCHEMA_VERSION, read_json, write_json
from saywho.timestamps import format_timestamp, milliseconds
from saywho.types import ModelInfo, Span, Speaker, Transcript, Turn, Utterance, Word

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"

# -- hand-made transcripts -------------------------------------------------------------------

LONG_SENTENCE = (
    "Die Straße war naïve enough — we met at the café on Rue de l'Église, "
    "and R&D <team> said the déjà vu was over, truly over."
)


def timed_words(
    text: str, start: float, step_s: float = 0.5, speaker: str | None = None
) -> tuple[Word, ...]:
    """Whisper-style words (each with its leading space), ``step_s`` apart, 0.1 s gaps."""
    return tuple(
        Word(
            f" {token}",
            Span(round(start + i * step_s, 3), round(start + (i + 1) * step_s - 0.1, 3)),
            0.9,
            speaker,
            0.75 if speaker else None,
        )
        for i, token in enumerate(text.split())
    )


def utterance_of(words: tuple[Word, ...], speaker: str | None = None) -> Utterance:
    spans = [w.span for w in words if w.span is not None]
    text = "".join(w.text for w in words).strip()
    return Utterance(Span(spans[0].start, spans[-1].end), text, words, speaker)


def with_untimed(words: tuple[Word, ...], index: int) -> tuple[Word, ...]:
    """``words`` with the word at ``index`` stripped of its time."""
    untimed = Word(words[index].text, None, 0.5, words[index].speaker, None)
    return (*words[:index], untimed, *words[index + 1 :])


def speakers_transcript() -> Transcript:
    """Two speakers (one named), an untimed word, non-ASCII, a time past one hour."""
    long_words = with_untimed(timed_words(LONG_SENTENCE, 2.0, 0.45, "SPEAKER_01"), 4)
    first, *rest = long_words
    long_words = (dataclasses.replace(first, overlapping=("SPEAKER_00",)), *rest)
    utterances = (
        utterance_of(timed_words("Hello, world.", 0.0, 0.75, "SPEAKER_00"), "SPEAKER_00"),
        utterance_of(long_words, "SPEAKER_01"),
        utterance_of(timed_words("Ça va? Très bien.", 3725.25, 0.5, "SPEAKER_00"), "SPEAKER_00"),
        utterance_of(timed_words("Mm-hmm.", 3730.0, 0.4)),
    )
    return Transcript(
        source="meeting.mp4",
        duration_s=3731.5,
        language="en",
        language_probability=0.9731,
        utterances=utterances,
        config=PipelineConfig(VadConfig(threshold=0.4), RecognizeConfig(model="tiny.en")),
        models=(ModelInfo("whisper-tiny.en", "recognize", "ab" * 32), ModelInfo("x", "vad", None)),
        speakers=(
            Speaker("SPEAKER_00", "Zoë", 0.8125, centroid=(0.6, -0.8)),
            Speaker("SPEAKER_01"),
        ),
        turns=(
            Turn(Span(0.0, 1.6), "SPEAKER_00"),
            Turn(Span(1.5, 12.0), "SPEAKER_01"),
            Turn(Span(3725.0, 3728.0), "SPEAKER_00"),
        ),
    )


def plain_transcript() -> Transcript:
    """No speakers at all; one text holds a tab and a line break."""
    first = utterance_of(timed_words("Just some words.", 0.5))
    second = Utterance(Span(4.0, 5.25), "a\ttab and a\nbreak", (), None)
    return Transcript(
        source="note.wav",
        duration_s=6.0,
        language=None,
        language_probability=None,
        utterances=(first, second),
        config=PipelineConfig(),
    )


def empty_transcript() -> Transcript:
    return Transcript("silence.wav", 0.0, None, None, (), PipelineConfig())


def unknown_transcript() -> Transcript:
    """Diarization ran, but some words have no speaker; one of them has no time either."""
    known = timed_words("So, what happened?", 0.0, 0.5, "SPEAKER_00")
    nobody = with_untimed(timed_words("well it was 'quoted' \"here\"", 2.0, 0.4), 1)
    return Transcript(
        source="clips/call 1.wav",
        duration_s=5.0,
        language="en",
        language_probability=None,
        utterances=(utterance_of(known, "SPEAKER_00"), utterance_of(nobody)),
        config=PipelineConfig(),
        turns=(Turn(Span(0.0, 1.5), "SPEAKER_00"),),
    )


def turns_only_transcript() -> Transcript:
    """Diarization found speech, the recognizer found no words."""
    return Transcript(
        source="hum.wav",
        duration_s=4.0,
        language=None,
        language_probability=None,
        utterances=(),
        config=PipelineConfig(),
        turns=(Turn(Span(0.5, 2.0), "SPEAKER_00"), Turn(Span(1.5, 3.5), "SPEAKER_01")),
    )


TRANSCRIPTS: dict[str, Callable[[], Transcript]] = {
    "speakers": speakers_transcript,
    "plain": plain_transcript,
    "empty": empty_transcript,
    "unknown": unknown_transcript,
    "turns_only": turns_only_transcript,
}
TEXT_FORMATS = tuple(name for name in FORMATS if not WRITERS[name].is_binary)


def render(transcript: Transcript, fmt: str) -> str:
    stream = io.StringIO()
    write(transcript, fmt, stream)
    return stream.getvalue()


def render_bytes(transcript: Transcript, fmt: str) -> bytes:
    stream = io.BytesIO()
    write_binary(transcript, fmt, stream)
    return stream.getvalue()


def assert_matches_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``tests/golden/<name>``; SAYWHO_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN_DIR / name
    if os.environ.get("SAYWHO_UPDATE_GOLDEN") == "1":
        path.write_bytes(text.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"{path} is missing; run with SAYWHO_UPDATE_GOLDEN=1 to create it")
    assert text == path.read_bytes().decode("utf-8")


# -- format_timestamp --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "marker", "hours", "expected"),
    [
        (0.0, ".", False, "00:00.000"),
        (0.0, ".", True, "00:00:00.000"),
        (1.5, ".", False, "00:01.500"),
        (1.0005, ".", False, "00:01.001"),
        (59.9994, ".", False, "00:59.999"),
        (59.9996, ".", False, "01:00.000"),
        (3599.9996, ".", False, "01:00:00.000"),
        (3723.004, ",", False, "01:02:03,004"),
        (3723.004, ",", True, "01:02:03,004"),
        (360000.25, ".", False, "100:00:00.250"),
    ],
)
def test_format_timestamp(seconds: float, marker: str, hours: bool, expected: str) -> None:
    assert format_timestamp(seconds, decimal_marker=marker, always_include_hours=hours) == expected


@pytest.mark.parametrize("seconds", [-0.001, float("nan"), float("inf")])
def test_format_timestamp_rejects_impossible_times(seconds: float) -> None:
    with pytest.raises(ValueError):
        format_timestamp(seconds)


def test_milliseconds_rounds_half_up_on_the_decimal_value() -> None:
    assert [milliseconds(s) for s in (0.0, 0.0004, 0.0005, 2.675, 1e-9)] == [0, 0, 1, 2675, 0]


# -- writers: golden files -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("case", sorted(TRANSCRIPTS))
def test_writer_matches_golden_file(case: str, fmt: str) -> None:
    text = render(TRANSCRIPTS[case](), fmt)
    assert_matches_golden(f"{case}{WRITERS[fmt].suffix}", text)
    assert render_bytes(TRANSCRIPTS[case](), fmt) == text.encode("utf-8")


def test_vtt_escapes_markup_and_uses_voice_tags() -> None:
    text = render(speakers_transcript(), "vtt")
    assert text.startswith("WEBVTT\n\n")
    assert "R&amp;D &lt;team&gt;" in text
    assert "<v Zoë>Hello, world." in text
    assert "<v SPEAKER_01>" in text
    assert "\n<v UNKNOWN>Mm-hmm.\n" in text


def test_tsv_keeps_every_row_to_four_fields() -> None:
    rows = render(plain_transcript(), "tsv").splitlines()
    assert rows[0] == "start\tend\tspeaker\ttext"
    assert rows[2] == "4.000\t5.250\t\ta tab and a break"
    assert all(row.count("\t") == 3 for row in rows)


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://x.example","hi")', "+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]
)
def test_csv_quotes_a_speaker_name_a_spreadsheet_would_run(name: str) -> None:
    transcript = speakers_transcript()
    named = dataclasses.replace(
        transcript, speakers=(Speaker("SPEAKER_00", name), *transcript.speakers[1:])
    )
    rows = list(csv.reader(io.StringIO(render(named, "csv"), newline="")))
    assert rows[1][2] == f"'{name}"
    assert rows[2][2] == "SPEAKER_01"  # a plain name stays as it is


def test_csv_quotes_a_text_that_starts_like_a_formula() -> None:
    words = timed_words("-5 degrees and =1+1", 0.0)
    transcript = dataclasses.replace(plain_transcript(), utterances=(utterance_of(words),))
    rows = list(csv.reader(io.StringIO(render(transcript, "csv"), newline="")))
    assert rows[1][4] == "'-5 degrees and =1+1"


def test_txt_without_speakers_is_plain_text() -> None:
    assert render(plain_transcript(), "txt") == "Just some words.\n\na tab and a break\n"


# -- json ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(TRANSCRIPTS))
def test_json_round_trip(case: str) -> None:
    transcript = TRANSCRIPTS[case]()
    text = render(transcript, "json")
    assert text.endswith("}\n")
    assert read_json(io.StringIO(text), name=f"{case}.json") == transcript


def test_json_rounds_times_and_probabilities() -> None:
    word = Word(" hi", Span(1.23456, 2.0004), 0.123456, "SPEAKER_00", 0.99999)
    utterance = Utterance(Span(1.23456, 2.0004), "hi", (word,), "SPEAKER_00")
    transcript = Transcript("x", 2.5, "en", 0.987654, (utterance,), PipelineConfig())
    back = read_json(io.StringIO(render(transcript, "json")))
    assert back.utterances[0].span == Span(1.235, 2.0)
    assert back.words[0] == Word(" hi", Span(1.235, 2.0), 0.1235, "SPEAKER_00", 1.0)
    assert back.language_probability == 0.9877


def test_json_writes_non_ascii_as_is() -> None:
    text = render(speakers_transcript(), "json")
    assert '"name": "Zoë"' in text
    assert '"start": null' in text


def json_with(**changes: object) -> io.StringIO:
    data = json.loads(render(speakers_transcript(), "json"))
    data.update(changes)
    return io.StringIO(json.dumps(data))


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (
            json_with(schema_version=7),
            f"result.json: schema_version 7 is newer than this saywho supports ({SCHEMA_VERSION})",
        ),
        (json_with(schema_version="1"), "result.json: schema_version '1' is not a saywho"),
        (json_with(source=None), "result.json: source must be a string"),
        (json_with(utterances=[{"start": 0}]), "result.json: utterances[0].end is missing"),
        (json_with(speakers=[3]), "result.json: speakers[0] must be an object"),
        (json_with(config={"vad": {"nope": 1}}), "result.json: config: unknown key vad.nope"),
        (io.StringIO("{not json"), "result.json: not valid JSON"),
        (io.StringIO("[]"), "result.json: the top level must be an object"),
    ],
)
def test_read_json_rejects_bad_files_with_one_line_message(
    stream: io.StringIO, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read_json(stream, name="result.json")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


# -- registry -------------------------------------------------------------------------------


def test_registry_lists_every_format_read_only() -> None:
    assert (
        *("txt", "srt", "vtt", "json", "tsv", "rttm"),
        *("csv", "audacity", "textgrid", "docx", "html"),
    ) == FORMATS
    assert WRITERS["json"].text is write_json
    assert [name for name in FORMATS if WRITERS[name].is_binary] == ["docx"]
    with pytest.raises(TypeError):
        WRITERS["pdf"] = WRITERS["json"]  # type: ignore[index]


def test_file_suffixes_never_collide() -> None:
    suffixes = [WRITERS[name].suffix.lower() for name in FORMATS]
    assert len(set(suffixes)) == len(suffixes)
    assert WRITERS["audacity"].suffix == ".audacity.txt"
    assert WRITERS["textgrid"].suffix == ".TextGrid"


def test_write_rejects_an_unknown_format_naming_the_known_ones() -> None:
    with pytest.raises(OutputError, match="unknown output format 'pdf'; known: txt, srt"):
        write(empty_transcript(), "pdf", io.StringIO())


def test_write_refuses_a_binary_format_on_a_text_stream() -> None:
    with pytest.raises(OutputError, match="docx is a binary format"):
        write(empty_transcript(), "docx", io.StringIO())


def test_write_binary_leaves_the_callers_stream_open() -> None:
    stream = io.BytesIO()
    write_binary(speakers_transcript(), "txt", stream)
    assert not stream.closed
    assert stream.getvalue().decode("utf-8") == render(speakers_transcript(), "txt")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("txt,srt", ("txt", "srt")),
        (" SRT , txt,srt, ", ("srt", "txt")),
        ("all", FORMATS),
        ("json,all", ("json", *(f for f in FORMATS if f != "json"))),
        ("TextGrid,DOCX", ("textgrid", "docx")),
    ],
)
def test_parse_formats(text: str, expected: tuple[str, ...]) -> None:
    assert parse_formats(text) == expected


@pytest.mark.parametrize(("text", "message"), [("txt,pdf", "'pdf'"), (" , ", "no output")])
def test_parse_formats_rejects_unknown_or_empty(text: str, message: str) -> None:
    with pytest.raises(OutputError, match=message):
        parse_formats(text)


def test_public_names() -> None:
    assert sorted(formats.__all__) == sorted(
        [
            *("FORMATS", "UNKNOWN", "WRITERS", "BinaryWriter", "MediaLink", "OutputFormat"),
            *("TextWriter", "Writer", "output_format", "parse_formats", "read_json", "write"),
            *("write_binary", "as_written"),
        ]
    )
    for name in formats.__all__:
        assert hasattr(formats, name)


# -- a real subtitle parser: FFmpeg's, through PyAV ----------------------------------------------


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_ffmpeg_reads_the_cues_we_write(fmt: str, tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    transcript = speakers_transcript()
    cues = subtitle_cues(transcript)
    path = tmp_path / f"out.{fmt}"
    path.write_text(render(transcript, fmt), encoding="utf-8")

    times: list[tuple[Fraction, Fraction]] = []
    payloads: list[str] = []
    dialogues: list[str] = []
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's final flush packet
                continue
            end = packet.pts + packet.duration
            times.append((packet.pts * stream.time_base, end * stream.time_base))
            payloads.append(bytes(packet).decode("utf-8"))
            dialogues.extend(sub.dialogue.decode("utf-8") for sub in packet.decode())

    ms = [(milliseconds(c.span.start), milliseconds(c.span.end)) for c in cues]
    assert times == [(Fraction(start, 1000), Fraction(end, 1000)) for start, end in ms]
    if fmt == "srt":  # FFmpeg's SRT decoder drops anything that looks like a tag: raw text
        assert payloads == [cue.text for cue in cues]
    else:  # the WebVTT decoder unescapes and drops the voice tag: we get our words back
        shown = ["\n".join(("- " if ln.dash else "") + ln.text for ln in c.lines) for c in cues]
        assert dialogues == shown
        assert payloads[0].startswith("<v Zoë>")


def test_rttm_falls_back_to_utterance_speakers_and_uses_names() -> None:
    transcript = dataclasses.replace(speakers_transcript(), turns=())
    lines = render(transcript, "rttm").splitlines()
    assert lines[0] == "SPEAKER meeting 1 0.000 1.400 <NA> <NA> Zoë <NA> <NA>"
    assert all(len(line.split()) == 10 for line in lines)
    assert len(lines) == 3  # the utterance without a speaker is not a turn
