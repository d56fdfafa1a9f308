"""Plain text: one paragraph per speaker turn, with its time and speaker once speakers are known."""

from __future__ import annotations

import textwrap
from typing import TextIO

from saywho.formats.speakers import has_speakers, shown_speaker
from saywho.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["TXT_WIDTH", "write_txt"]

TXT_WIDTH = 80
"""Paragraphs are wrapped at this many characters, so the file prints as it reads."""


def write_txt(transcript: Transcript, stream: TextIO) -> None:
    """Write one paragraph per utterance with text to ``stream``, a blank line between them.

    Without speakers a paragraph is the bare text. When the transcript has speakers, every
    paragraph starts with its time and speaker, ``[00:01:02.500] Alice: ...`` (``UNKNOWN``
    where no speaker was found). Lines are wrapped at :data:`TXT_WIDTH` characters (a word
    longer than that keeps its own line). Untimed words keep their place in the text.
    """
    with_speakers = has_speakers(transcript)
    paragraphs = []
    for utterance in transcript.utterances:
        text = " ".join(utterance.text.split())
        if not text:
            continue
        if with_speakers:
            time = format_timestamp(utterance.span.start, always_include_hours=True)
            name = shown_speaker(transcript, utterance.speaker)
            text = f"[{time}] {name}: {text}"
        paragraphs.append(
            textwrap.fill(text, TXT_WIDTH, break_long_words=False, break_on_hyphens=False)
        )
    if paragraphs:
        stream.write("\n\n".join(paragraphs) + "\n")
