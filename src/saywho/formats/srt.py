"""SubRip (``.srt``) subtitles."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.cues import subtitle_cues
from saywho.formats.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["write_srt"]


def write_srt(transcript: Transcript, stream: TextIO) -> None:
    """Write the subtitle cues of ``transcript`` as SRT, numbered from 1, ``Name: `` prefixed."""
    for number, cue in enumerate(subtitle_cues(transcript), start=1):
        start = format_timestamp(cue.span.start, decimal_marker=",", always_include_hours=True)
        end = format_timestamp(cue.span.end, decimal_marker=",", always_include_hours=True)
        text = f"{cue.speaker}: {cue.text}" if cue.speaker is not None else cue.text
        stream.write(f"{number}\n{start} --> {end}\n{text}\n\n")
