"""SubRip (``.srt``) subtitles."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.cues import Cue, highlighted, subtitle_cues
from saywho.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["write_srt"]


def write_srt(transcript: Transcript, stream: TextIO) -> None:
    """Write the subtitle cues of ``transcript`` as SRT, numbered from 1.

    A line where the speaker changes starts with ``Name: ``; the two lines of a cue shared
    by two speakers start with ``- ``. With ``highlight_words`` each cue is written once per
    word, the word being spoken in ``<u>…</u>``.
    """
    options = transcript.config.write
    cues = subtitle_cues(transcript)
    number = 0
    for cue in cues:
        shown = highlighted(cue) if options.highlight_words else ((cue.span, None),)
        for span, current in shown:
            number += 1
            start = format_timestamp(span.start, decimal_marker=",", always_include_hours=True)
            end = format_timestamp(span.end, decimal_marker=",", always_include_hours=True)
            stream.write(f"{number}\n{start} --> {end}\n{_text(cue, current)}\n\n")


def _text(cue: Cue, current: int | None) -> str:
    lines, position = [], 0
    for line in cue.lines:
        words = []
        for word in line.words:
            words.append(f"<u>{word.text}</u>" if position == current else word.text)
            position += 1
        lines.append(line.prefix + line.glue.join(words))
    return "\n".join(lines)
