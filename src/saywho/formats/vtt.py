"""WebVTT (``.vtt``) subtitles, speakers as ``<v Name>`` voice tags."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.cues import Cue, highlighted, subtitle_cues
from saywho.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["write_vtt"]


def write_vtt(transcript: Transcript, stream: TextIO) -> None:
    """Write the subtitle cues of ``transcript`` as WebVTT.

    A cue says who speaks in a ``<v Name>`` voice tag (players show or style it; none
    with ``speaker_labels = "never"``); the two lines of a cue shared by two speakers
    start with ``- ``. With ``highlight_words`` each cue is written once per word, the
    word being spoken in ``<u>…</u>``.
    """
    options = transcript.config.write
    stream.write("WEBVTT\n\n")
    for cue in subtitle_cues(transcript):
        shown = highlighted(cue) if options.highlight_words else ((cue.span, None),)
        for span, current in shown:
            start = format_timestamp(span.start, always_include_hours=True)
            end = format_timestamp(span.end, always_include_hours=True)
            text = _text(cue, current, voices=options.speaker_labels != "never")
            stream.write(f"{start} --> {end}\n{text}\n\n")


def _text(cue: Cue, current: int | None, *, voices: bool) -> str:
    lines, position = [], 0
    shared = len({line.speaker for line in cue.lines}) > 1
    for number, line in enumerate(cue.lines):
        words = []
        for word in line.words:
            text = _escape(word.text)
            words.append(f"<u>{text}</u>" if position == current else text)
            position += 1
        text = ("- " if line.dash else "") + line.glue.join(words)
        if voices and line.speaker is not None and (shared or number == 0):
            text = f"<v {_escape(line.speaker)}>{text}" + ("</v>" if shared else "")
        lines.append(text)
    return "\n".join(lines)


def _escape(text: str) -> str:
    # Escaping ">" also keeps a literal "-->" out of the cue text, where it is not allowed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
