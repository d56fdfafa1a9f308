"""Subtitle cues: broadcast rules as properties over many generated transcripts, and cases.

The properties (BBC / Netflix timed-text practice, our defaults in ``WriteConfig``): no
line over the width (the speaker label included), no more lines than allowed, cues at most
``max_cue_s`` long and at least ``min_cue_s`` where the next cue leaves room, readable at
``max_chars_per_s`` where the time allows, in order with ``cue_gap_s`` between them, one
speaker per line, labels where the speaker changes, and every word exactly once.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import pysubs2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saywho import cli, options
from saywho.config import PipelineConfig, WriteConfig, config_from_options
from saywho.errors import ConfigError
from saywho.formats import as_written, write
from saywho.formats.cues import Cue, highlighted, subtitle_cues, wrap_lines
from saywho.timestamps import milliseconds
from saywho.types import Span, Speaker, Transcript, Utterance, Word
from saywho.utterances import speaker_runs

MS = 0.0015  # times are written in whole milliseconds


# -- generated transcripts ----------------------------------------------------------------------

_TOKENS = st.one_of(
    st.sampled_from(
        [
            *("I", "you", "the", "a", "and", "but", "so", "we", "it", "was", "is", "okay"),
            *("yes", "no", "well", "think", "know", "really", "because", "people", "about"),
            *("something", "would", "could", "Chicago", "Jersey", "difference"),
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzéß", min_size=1, max_size=14),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=40, max_size=60),  # a URL-like word
)
_PUNCTUATION = st.sampled_from(["", "", "", "", ",", ".", "?", "!", "—"])


@st.composite
def transcripts(draw: st.DrawFn) -> Transcript:
    """Whisper-like pieces: words with times (some overlapping, some very fast, some
    untimed), speakers changing inside pieces, pauses long and short."""
    diarized = draw(st.booleans())
    speakers = ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02", None] if diarized else [None]
    clock = draw(st.floats(0.0, 5.0))
    utterances = []
    for _ in range(draw(st.integers(0, 8))):
        words = []
        for _ in range(draw(st.integers(1, 30))):
            text = draw(_TOKENS) + draw(_PUNCTUATION)
            clock += draw(st.sampled_from([0.0, 0.0, 0.05, 0.2, 0.6, 2.5, -0.05]))
            clock = max(clock, 0.0)
            length = draw(st.sampled_from([0.02, 0.1, 0.25, 0.4, 0.8, 9.0]))
            timed = draw(st.integers(0, 19)) > 0
            speaker = draw(st.sampled_from(speakers))
            words.append(Word(text, Span(clock, clock + length) if timed else None, 0.9, speaker))
            clock += length
        spans = [w.span for w in words if w.span is not None]
        # Words may overlap a little (clock steps back 0.05 s): the run covers them all.
        span = (
            Span(min(s.start for s in spans), max(s.end for s in spans))
            if spans
            else Span(clock, clock)
        )
        utterances.append(
            Utterance(span, " ".join(w.text for w in words), tuple(words), words[0].speaker)
        )
    named = (Speaker("SPEAKER_01", "Diane Whitfield-Okonkwo"),) if diarized else ()
    duration = clock + draw(st.sampled_from([0.0, 0.5, 10.0]))
    config = PipelineConfig(write=draw(write_configs()))
    return Transcript("x.wav", duration, "en", None, tuple(utterances), config, speakers=named)


@st.composite
def write_configs(draw: st.DrawFn) -> WriteConfig:
    return WriteConfig(
        max_line_width=draw(st.sampled_from([42, 42, 32, 60])),
        max_line_count=draw(st.sampled_from([2, 2, 1, 3])),
        speaker_labels=draw(st.sampled_from(["change", "change", "always", "never"])),
        utterance_gap_s=draw(st.sampled_from([2.0, 0.5])),
    )


def all_words(transcript: Transcript) -> list[str]:
    return [w.text.strip() for u in transcript.utterances for w in u.words if w.text.strip()]


def check_broadcast_rules(transcript: Transcript, cues: Sequence[Cue]) -> None:
    """Every property of the module docstring, for ``cues`` made from ``transcript``."""
    opts = transcript.config.write
    assert [w.text for cue in cues for w in cue.words] == all_words(transcript)
    untimed = {i for i, w in enumerate(transcript.words) if w.span is None}
    position = 0
    previous_speaker: object = object()  # nobody
    for index, cue in enumerate(cues):
        words = range(position, position + len(cue.words))
        position += len(cue.words)
        forced = any(i in untimed for i in words)  # an untimed word must stay with its neighbour
        assert cue.span.start >= 0
        assert cue.span.duration <= opts.max_cue_s + MS
        assert len(cue.lines) <= opts.max_line_count or forced
        for line in cue.lines:
            assert len(line.display) <= opts.max_line_width or len(line.words) == 1 or forced
            assert line.display == line.display.strip()
        if len({line.speaker for line in cue.lines}) > 1:  # two speakers share: dashes
            assert len(cue.lines) == 2 and all(line.dash for line in cue.lines)
            assert cue.lines[0].speaker != cue.lines[1].speaker
        for line in cue.lines:
            if opts.speaker_labels == "never" or line.speaker is None:
                assert line.label is None
            elif opts.speaker_labels == "change":
                assert (line.label is not None) == (line.speaker != previous_speaker)
            previous_speaker = line.speaker
        if index + 1 < len(cues):
            following = cues[index + 1]
            assert following.span.start - cue.span.end >= opts.cue_gap_s - MS
            blocked = math.isclose(cue.span.end, following.span.start - opts.cue_gap_s, abs_tol=MS)
        else:
            blocked = False
        longest = cue.span.duration >= opts.max_cue_s - MS
        assert cue.span.duration >= opts.min_cue_s - MS or blocked
        chars = sum(len(line.display) for line in cue.lines)
        assert chars / max(cue.span.duration, 1e-3) <= opts.max_chars_per_s + 0.1 or (
            blocked or longest
        )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts())
def test_cues_follow_the_broadcast_rules_on_generated_transcripts(transcript: Transcript) -> None:
    check_broadcast_rules(transcript, subtitle_cues(transcript))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts(), st.sampled_from(["srt", "vtt"]))
def test_pysubs2_reads_back_every_cue(transcript: Transcript, fmt: str) -> None:
    stream = io.StringIO()
    write(transcript, fmt, stream)
    events = pysubs2.SSAFile.from_string(stream.getvalue(), format_=fmt).events
    cues = subtitle_cues(transcript)
    assert [(e.start, e.end) for e in events] == [
        (milliseconds(c.span.start), milliseconds(c.span.end)) for c in cues
    ]
    if fmt == "srt":
        assert [e.text for e in events] == [c.text.replace("\n", "\\N") for c in cues]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts())
def test_highlighting_covers_each_cue_without_gaps(transcript: Transcript) -> None:
    for cue in subtitle_cues(transcript):
        shown = highlighted(cue)
        assert shown[0][0].start == cue.span.start
        assert shown[-1][0].end == cue.span.end
        assert all(a[0].end == b[0].start for a, b in itertools.pairwise(shown))
        assert all(span.duration > 0 for span, _ in shown) or cue.span.duration == 0
        lit = [index for _, index in shown if index is not None]
        assert lit == sorted(set(lit))


@settings(max_examples=200, deadline=None)
@given(transcripts())
def test_speaker_runs_keep_every_word_and_regroup_idempotently(transcript: Transcript) -> None:
    gap = transcript.config.write.utterance_gap_s
    runs = speaker_runs(transcript.utterances, gap_s=gap)
    assert tuple(w for u in runs for w in u.words) == transcript.words
    assert speaker_runs(runs, gap_s=gap) == runs
    for first, second in itertools.pairwise(runs):  # a run ends at a change or a pause
        if first.speaker == second.speaker:
            assert first.words[-1].text.rstrip()[-1] in ".?!"
            assert second.words[0].span is not None


# -- cases ----------------------------------------------------------------------------------------


def words_of(text: str, start: float, step_s: float, speaker: str | None = None) -> list[Word]:
    return [
        Word(token, Span(start + i * step_s, start + (i + 1) * step_s - 0.05), 0.9, speaker)
        for i, token in enumerate(text.split())
    ]


def transcript_of(*pieces: Sequence[Word], write: WriteConfig | None = None) -> Transcript:
    utterances = []
    for words in pieces:
        spans = [w.span for w in words if w.span is not None]
        text = " ".join(w.text for w in words)
        utterances.append(
            Utterance(Span(spans[0].start, spans[-1].end), text, tuple(words), words[0].speaker)
        )
    config = PipelineConfig(write=write or WriteConfig())
    return Transcript("x.wav", 100.0, "en", None, tuple(utterances), config)


def test_the_sample_opening_reads_as_one_turn_cut_at_sentences() -> None:
    """The opening of pyannote's sample as Whisper cut it: one speaker over three pieces."""
    a = words_of("Okay. I thought you know", 10.9, 0.2, "SPEAKER_00")
    b = words_of("I heard of deep. This is Diane in New Jersey.", 11.9, 0.35, "SPEAKER_00")
    c = words_of("Oh", 15.8, 0.18, "SPEAKER_00")
    d = words_of("I'm originally from Chicago also.", 16.0, 0.5, "SPEAKER_00")
    transcript = transcript_of(a, b, c, d)
    (turn,) = as_written(transcript).utterances
    assert turn.text.startswith("Okay. I thought you know I heard of deep. This is Diane")
    cues = subtitle_cues(transcript)
    check_broadcast_rules(transcript, cues)
    assert cues[0].lines[0].display.startswith("SPEAKER_00: Okay.")
    assert all(line.label is None for cue in cues[1:] for line in cue.lines)
    assert not any(cue.text == "Oh" for cue in cues)  # no 0.18 s cue of one word
    assert all(cue.span.duration >= 0.83 for cue in cues)


def test_a_short_reply_shares_a_cue_with_dashes() -> None:
    question = words_of("Are you coming?", 0.0, 0.3, "SPEAKER_00")
    reply = words_of("Yes.", 0.95, 0.25, "SPEAKER_01")
    more = words_of("Then we leave at noon, and not a minute later.", 1.4, 0.3, "SPEAKER_00")
    transcript = transcript_of(question, reply, more)
    cues = subtitle_cues(transcript)
    check_broadcast_rules(transcript, cues)
    assert cues[0].text == "- SPEAKER_00: Are you coming?\n- SPEAKER_01: Yes."
    assert cues[1].lines[0].label == "SPEAKER_00"


def test_lines_break_at_natural_boundaries_and_balance() -> None:
    text = "We met at the café on Rue de l'Église, and the team said it was over."
    transcript = transcript_of(words_of(text, 0.0, 0.3), write=WriteConfig())
    (cue,) = subtitle_cues(transcript)
    assert [line.text for line in cue.lines] == [
        "We met at the café on Rue de l'Église,",
        "and the team said it was over.",
    ]
    assert wrap_lines(["the", "quick", "brown", "fox"], first_width=42, width=42) == (
        ("the", "quick", "brown", "fox"),
    )


def test_labels_follow_the_setting() -> None:
    long = " ".join(["word"] * 30) + "."
    pieces = (words_of(long, 0.0, 0.4, "SPEAKER_00"), words_of("Right.", 13.0, 0.5, "SPEAKER_01"))
    for mode, expected in [("change", 2), ("always", 4), ("never", 0)]:
        transcript = transcript_of(*pieces, write=WriteConfig(speaker_labels=mode))  # type: ignore[arg-type]
        cues = subtitle_cues(transcript)
        check_broadcast_rules(transcript, cues)
        assert sum(line.label is not None for c in cues for line in c.lines) == expected, mode


def test_options_change_the_layout() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve thirteen"
    transcript = transcript_of(words_of(text, 0.0, 0.4))
    narrow = WriteConfig(max_line_width=20, max_line_count=1)
    cues = subtitle_cues(transcript, narrow)
    check_broadcast_rules(
        dataclasses.replace(transcript, config=PipelineConfig(write=narrow)), cues
    )
    assert all(len(cue.lines) == 1 and len(cue.text) <= 20 for cue in cues)
    assert len(cues) > len(subtitle_cues(transcript))


def test_highlight_words_repeats_each_cue_once_per_word() -> None:
    transcript = transcript_of(
        words_of("Hello there.", 1.0, 0.5, "SPEAKER_00"), write=WriteConfig(highlight_words=True)
    )
    srt, vtt = io.StringIO(), io.StringIO()
    write(transcript, "srt", srt)
    write(transcript, "vtt", vtt)
    assert srt.getvalue() == (
        "1\n00:00:01,000 --> 00:00:01,500\nSPEAKER_00: <u>Hello</u> there.\n\n"
        "2\n00:00:01,500 --> 00:00:02,200\nSPEAKER_00: Hello <u>there.</u>\n\n"
    )
    assert "<v SPEAKER_00>Hello <u>there.</u>" in vtt.getvalue()


def test_words_without_spaces_are_joined_without_spaces() -> None:
    words = [Word(ch, Span(i * 1.0, i * 1.0 + 0.9), 0.9) for i, ch in enumerate("今天天气很好")]
    transcript = transcript_of(words)
    transcript = dataclasses.replace(
        transcript, utterances=(dataclasses.replace(transcript.utterances[0], text="今天天气很好"),)
    )
    assert [c.text for c in subtitle_cues(transcript)] == ["今天天气很好"]


@pytest.mark.parametrize(
    "changes",
    [
        {"max_line_width": 5},
        {"max_line_count": 0},
        {"min_cue_s": 8.0},
        {"max_chars_per_s": 0.0},
        {"cue_gap_s": -1.0},
        {"speaker_labels": "sometimes"},
    ],
)
def test_write_config_rejects_impossible_limits(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="write"):
        WriteConfig(**changes)  # type: ignore[arg-type]


def test_subtitle_flags_toml_and_keywords_reach_the_write_config(tmp_path: Path) -> None:
    toml = tmp_path / "saywho.toml"
    toml.write_text('[write]\nmax_line_width = 37\nspeaker_labels = "always"\n')
    parser = cli._parser()
    plain = options.build_config(parser.parse_args(["transcribe", "a.wav", "--config", str(toml)]))
    assert plain.write == WriteConfig(max_line_width=37, speaker_labels="always")
    flags = ["--max-line-width", "30", "--max-line-count", "1", "--highlight-words"]
    args = parser.parse_args(["transcribe", "a.wav", "--config", str(toml), *flags])
    assert options.build_config(args).write == WriteConfig(
        max_line_width=30, max_line_count=1, highlight_words=True, speaker_labels="always"
    )
    batch = parser.parse_args(["batch", "a.wav", "-o", str(tmp_path), "--max-line-width", "30"])
    assert options.build_config(batch).write.max_line_width == 30
    keywords = config_from_options(PipelineConfig(), {"max_line_count": 3, "utterance_gap_s": 1})
    assert keywords.write == WriteConfig(max_line_count=3, utterance_gap_s=1)
    with pytest.raises(ConfigError, match="max_line_width"):
        options.build_config(parser.parse_args(["transcribe", "a.wav", "--max-line-width", "3"]))


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
@pytest.mark.parametrize("highlight", [False, True])
def test_ffmpeg_reads_dash_cues_and_highlighting(fmt: str, highlight: bool, tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    question = words_of("Are you coming?", 0.0, 0.3, "SPEAKER_00")
    reply = words_of("Yes.", 0.95, 0.25, "SPEAKER_01")
    more = words_of("Then we leave at noon, and not a minute later.", 1.4, 0.3, "SPEAKER_00")
    transcript = transcript_of(question, reply, more, write=WriteConfig(highlight_words=highlight))
    stream = io.StringIO()
    write(transcript, fmt, stream)
    path = tmp_path / f"out.{fmt}"
    path.write_text(stream.getvalue(), encoding="utf-8")
    cues = subtitle_cues(transcript)
    expected = [
        span for cue in cues for span, _ in (highlighted(cue) if highlight else [(cue.span, None)])
    ]
    times = []
    with av.open(str(path)) as container:
        subtitles = container.streams.subtitles[0]
        for packet in container.demux(subtitles):
            if packet.size:
                start = float(packet.pts * subtitles.time_base)
                times.append((start, float((packet.pts + packet.duration) * subtitles.time_base)))
    flat = [t for pair in times for t in pair]
    assert flat == pytest.approx([t for span in expected for t in (span.start, span.end)])
    assert len(times) > len(cues) if highlight else len(times) == len(cues)


def test_untimed_words_stay_with_the_word_before_them_and_never_stop_a_cut() -> None:
    words = words_of(" ".join(f"w{i}," for i in range(40)), 0.0, 0.3, "SPEAKER_00")
    words[0] = dataclasses.replace(words[0], span=None)  # untimed first word
    words[7] = dataclasses.replace(words[7], span=None)
    transcript = transcript_of(words)
    cues = subtitle_cues(transcript)
    check_broadcast_rules(transcript, cues)
    assert len(cues) > 1 and all(len(cue.lines) <= 2 for cue in cues)
    texts = [[w.text for w in cue.words] for cue in cues]
    assert texts[0][0] == "w0,"
    assert not any(cue[0] == "w7," for cue in texts)
