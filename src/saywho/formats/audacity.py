"""Audacity label tracks (``File > Import > Labels``): ``start<TAB>end<TAB>label`` lines."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.speakers import shown_speaker
from saywho.timestamps import milliseconds
from saywho.types import Transcript

__all__ = ["write_audacity"]


def write_audacity(transcript: Transcript, stream: TextIO) -> None:
    """Write one region label per utterance with text, ``Name: text`` when speakers are known.

    Times are seconds with 6 decimals, as Audacity exports them; tabs and line breaks in
    the text become spaces, since each label is one line.
    """
    for utterance in transcript.utterances:
        text = " ".join(utterance.text.split())
        if not text:
            continue
        name = shown_speaker(transcript, utterance.speaker)
        label = f"{' '.join(name.split())}: {text}" if name is not None else text
        start = _seconds(utterance.span.start)
        end = _seconds(utterance.span.end)
        stream.write(f"{start}\t{end}\t{label}\n")


def _seconds(seconds: float) -> str:
    whole, millis = divmod(milliseconds(seconds), 1000)
    return f"{whole}.{millis:03d}000"
