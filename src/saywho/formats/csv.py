"""Comma-separated values (RFC 4180): one row per utterance, for spreadsheets."""

from __future__ import annotations

import csv
from typing import TextIO

from saywho.formats.speakers import shown_speaker
from saywho.timestamps import milliseconds
from saywho.types import Transcript

__all__ = ["write_csv"]

# A cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(transcript: Transcript, stream: TextIO) -> None:
    """Write ``start,end,speaker,label,text`` rows; times in seconds with 3 decimals.

    ``speaker`` is the display name (``UNKNOWN`` where nobody was found, empty without
    diarization), ``label`` the anonymous label. Fields are quoted where needed, so commas,
    quotes and line breaks in the text survive; rows end with CRLF as RFC 4180 says.
    A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return: a speaker renamed ``=HYPERLINK(...)``) gets a
    leading ``'``, so it is shown as text.
    """
    rows = csv.writer(stream, lineterminator="\r\n")
    rows.writerow(("start", "end", "speaker", "label", "text"))
    for utterance in transcript.utterances:
        rows.writerow(
            (
                _seconds(utterance.span.start),
                _seconds(utterance.span.end),
                _text_cell(shown_speaker(transcript, utterance.speaker) or ""),
                _text_cell(utterance.speaker or ""),
                _text_cell(" ".join(utterance.text.split())),
            )
        )


def _seconds(seconds: float) -> str:
    whole, millis = divmod(milliseconds(seconds), 1000)
    return f"{whole}.{millis:03d}"


def _text_cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
