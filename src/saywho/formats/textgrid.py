"""Praat TextGrid (long text format): one interval tier per speaker, utterances as intervals.

Each tier covers the whole recording: the gaps between a speaker's utterances are empty
intervals, as Praat requires. A transcript without speakers has one tier, ``transcript``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from saywho.formats.speakers import UNKNOWN, has_speakers, shown_speaker, speaker_labels
from saywho.timestamps import milliseconds
from saywho.types import Transcript

__all__ = ["write_textgrid"]


@dataclass(frozen=True, slots=True)
class _Interval:
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True, slots=True)
class _Tier:
    name: str
    intervals: tuple[_Interval, ...]


def write_textgrid(transcript: Transcript, stream: TextIO) -> None:
    """Write ``transcript`` as a TextGrid that Praat opens (UTF-8, times in seconds)."""
    tiers = _tiers(transcript)
    end_ms = max(
        [milliseconds(transcript.duration_s)] + [i.end_ms for tier in tiers for i in tier.intervals]
    )
    end_ms = max(end_ms, 1)  # Praat needs xmax > xmin, even for an empty recording
    filled = [_Tier(t.name, _fill_gaps(t.intervals, end_ms)) for t in tiers]
    stream.write('File type = "ooTextFile"\nObject class = "TextGrid"\n\n')
    stream.write(f"xmin = 0\nxmax = {_s(end_ms)}\ntiers? <exists>\nsize = {len(filled)}\n")
    stream.write("item []:\n")
    for number, tier in enumerate(filled, start=1):
        stream.write(
            f"    item [{number}]:\n"
            '        class = "IntervalTier"\n'
            f"        name = {_quote(tier.name)}\n"
            f"        xmin = 0\n        xmax = {_s(end_ms)}\n"
            f"        intervals: size = {len(tier.intervals)}\n"
        )
        for index, interval in enumerate(tier.intervals, start=1):
            stream.write(
                f"        intervals [{index}]:\n"
                f"            xmin = {_s(interval.start_ms)}\n"
                f"            xmax = {_s(interval.end_ms)}\n"
                f"            text = {_quote(interval.text)}\n"
            )


def _tiers(transcript: Transcript) -> list[_Tier]:
    if not has_speakers(transcript):
        return [_Tier("transcript", _intervals(transcript, None, any_speaker=True))]
    labels: list[str | None] = list(speaker_labels(transcript))
    if any(u.speaker is None for u in transcript.utterances):
        labels.append(None)
    return [
        _Tier(shown_speaker(transcript, label) or UNKNOWN, _intervals(transcript, label))
        for label in labels
    ]


def _intervals(
    transcript: Transcript, label: str | None, *, any_speaker: bool = False
) -> tuple[_Interval, ...]:
    """The utterances of one speaker, in order, never overlapping one another.

    Whisper's times may overlap a little: a start is moved to the previous end, and an
    utterance left with no time of its own joins the text of the one before.
    """
    intervals: list[_Interval] = []
    for utterance in sorted(transcript.utterances, key=lambda u: u.span.start):
        text = " ".join(utterance.text.split())
        if not text or not (any_speaker or utterance.speaker == label):
            continue
        start = milliseconds(utterance.span.start)
        end = milliseconds(utterance.span.end)
        if intervals:
            start = max(start, intervals[-1].end_ms)
        if end <= start:
            if intervals:
                last = intervals[-1]
                intervals[-1] = _Interval(last.start_ms, last.end_ms, f"{last.text} {text}")
                continue
            end = start + 1
        intervals.append(_Interval(start, end, text))
    return tuple(intervals)


def _fill_gaps(intervals: Sequence[_Interval], end_ms: int) -> tuple[_Interval, ...]:
    filled: list[_Interval] = []
    cursor = 0
    for interval in intervals:
        if interval.start_ms > cursor:
            filled.append(_Interval(cursor, interval.start_ms, ""))
        filled.append(interval)
        cursor = interval.end_ms
    if cursor < end_ms:
        filled.append(_Interval(cursor, end_ms, ""))
    return tuple(filled)


def _s(ms: int) -> str:
    whole, millis = divmod(ms, 1000)
    return f"{whole}.{millis:03d}".rstrip("0").rstrip(".")


def _quote(text: str) -> str:
    # In a Praat string a double quote is written twice; a line break is allowed but would
    # only make the file harder to read, so it becomes a space.
    return '"' + " ".join(text.split()).replace('"', '""') + '"'
