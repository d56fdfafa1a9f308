"""WebVTT (``.vtt``) subtitles, speakers as ``<v Name>`` voice tags."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.cues import subtitle_cues
from saywho.formats.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["write_vtt"]


def write_vtt(transcript: Transcript, stream: TextIO) -> None:
    """Write the subtitle cues of ``transcript`` as WebVTT."""
    stream.write("WEBVTT\n\n")
    for cue in subtitle_cues(transcript):
        start = format_timestamp(cue.span.start, always_include_hours=True)
        end = format_timestamp(cue.span.end, always_include_hours=True)
        text = _escape(cue.text)
        if cue.speaker is not None:
            text = f"<v {_escape(cue.speaker)}>{text}"
        stream.write(f"{start} --> {end}\n{text}\n\n")


def _escape(text: str) -> str:
    # Escaping ">" also keeps a literal "-->" out of the cue text, where it is not allowed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
