"""Plain text: one utterance per line, with time and speaker when the transcript has speakers."""

from __future__ import annotations

from typing import TextIO

from saywho.formats.speakers import has_speakers, shown_speaker
from saywho.formats.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["write_txt"]


def write_txt(transcript: Transcript, stream: TextIO) -> None:
    """Write one line per utterance with text to ``stream``.

    Without speakers a line is the bare text. When the transcript has speakers, every line
    starts with its time and speaker, ``[00:01:02.500] Alice: ...`` (``UNKNOWN`` where no
    speaker was found). Untimed words keep their place in the text.
    """
    with_speakers = has_speakers(transcript)
    for utterance in transcript.utterances:
        text = " ".join(utterance.text.split())
        if not text:
            continue
        if with_speakers:
            time = format_timestamp(utterance.span.start, always_include_hours=True)
            name = shown_speaker(transcript, utterance.speaker)
            text = f"[{time}] {name}: {text}"
        stream.write(f"{text}\n")
