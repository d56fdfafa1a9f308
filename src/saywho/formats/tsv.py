"""Tab-separated values: one row per utterance, for spreadsheets and scripts."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.speakers import shown_speaker
from saywho.timestamps import milliseconds
from saywho.types import Transcript

__all__ = ["write_tsv"]


def write_tsv(transcript: Transcript, stream: TextIO) -> None:
    """Write ``start end speaker text`` rows; times in seconds with 3 decimals.

    The speaker column holds the display name (``UNKNOWN`` for speech nobody was found to
    say), empty when the transcript has no speakers. Tabs and line breaks
    in the text become spaces so that every row stays one line of four fields.
    """
    stream.write("start\tend\tspeaker\ttext\n")
    for utterance in transcript.utterances:
        start = _seconds(utterance.span.start)
        end = _seconds(utterance.span.end)
        speaker = _one_field(shown_speaker(transcript, utterance.speaker) or "")
        stream.write(f"{start}\t{end}\t{speaker}\t{_one_field(utterance.text)}\n")


def _seconds(seconds: float) -> str:
    whole, millis = divmod(milliseconds(seconds), 1000)
    return f"{whole}.{millis:03d}"


def _one_field(text: str) -> str:
    return " ".join(text.split())
