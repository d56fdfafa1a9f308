"""Comma-separated values (RFC 4180): one row per utterance, for spreadsheets."""

from __future__ import annotations

import csv
from typing import TextIO

from saywho.formats.speakers import shown_speaker
from saywho.formats.timestamps import milliseconds
from saywho.types import Transcript

__all__ = ["write_csv"]


def write_csv(transcript: Transcript, stream: TextIO) -> None:
    """Write ``start,end,speaker,label,text`` rows; times in seconds with 3 decimals.

    ``speaker`` is the display name (``UNKNOWN`` where nobody was found, empty without
    diarization), ``label`` the anonymous label. Fields are quoted where needed, so commas,
    quotes and line breaks in the text survive; rows end with CRLF as RFC 4180 says.
    """
    rows = csv.writer(stream, lineterminator="\r\n")
    rows.writerow(("start", "end", "speaker", "label", "text"))
    for utterance in transcript.utterances:
        rows.writerow(
            (
                _seconds(utterance.span.start),
                _seconds(utterance.span.end),
                shown_speaker(transcript, utterance.speaker) or "",
                utterance.speaker or "",
                " ".join(utterance.text.split()),
            )
        )


def _seconds(seconds: float) -> str:
    whole, millis = divmod(milliseconds(seconds), 1000)
    return f"{whole}.{millis:03d}"
