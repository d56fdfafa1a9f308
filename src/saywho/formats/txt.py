"""Plain text: one utterance per line, with time and speaker when the transcript has speakers."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["write_txt"]


def write_txt(transcript: Transcript, stream: TextIO) -> None:
    """Write one line per utterance with text to ``stream``.

    Without speakers a line is the bare text. When any utterance has a speaker, every line
    starts with its time, ``[00:01:02.500] Alice: ...`` (no name where none is known).
    """
    with_speakers = any(utterance.speaker is not None for utterance in transcript.utterances)
    for utterance in transcript.utterances:
        text = " ".join(utterance.text.split())
        if not text:
            continue
        if with_speakers:
            time = format_timestamp(utterance.span.start, always_include_hours=True)
            name = transcript.speaker_display(utterance.speaker)
            text = f"[{time}] {name}: {text}" if name is not None else f"[{time}] {text}"
        stream.write(f"{text}\n")
