"""Word (``.docx``): a readable interview transcript, through python-docx.

A title, a line of facts (length, language, speakers), then one paragraph per utterance:
the speaker's name in bold and its colour, the time in grey, the text.
"""

from __future__ import annotations

import datetime
from pathlib import PurePath
from typing import IO

from docx import Document
from docx.shared import Pt, RGBColor

from saywho.formats.palette import speaker_colour
from saywho.formats.speakers import UNKNOWN, has_speakers, shown_speaker, speaker_labels
from saywho.timestamps import format_timestamp
from saywho.types import Transcript

__all__ = ["write_docx"]

_GREY = RGBColor(0x6B, 0x72, 0x80)
# A fixed date keeps the file the same for the same transcript (python-docx's template has one).
_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def write_docx(transcript: Transcript, stream: IO[bytes]) -> None:
    """Write ``transcript`` as a .docx document to the binary ``stream``."""
    document = Document()
    title = PurePath(transcript.source).name or "Transcript"
    document.core_properties.title = f"Transcript of {title}"
    document.core_properties.created = _EPOCH
    document.core_properties.modified = _EPOCH
    document.core_properties.last_modified_by = "saywho"
    document.add_heading(f"Transcript of {title}", level=1)
    facts = document.add_paragraph()
    facts_run = facts.add_run(_facts(transcript))
    facts_run.font.color.rgb = _GREY
    facts_run.font.size = Pt(9)
    labels = speaker_labels(transcript)
    with_speakers = has_speakers(transcript)
    for utterance in transcript.utterances:
        text = " ".join(utterance.text.split())
        if not text:
            continue
        paragraph = document.add_paragraph()
        name = shown_speaker(transcript, utterance.speaker)
        if with_speakers and name is not None:
            name_run = paragraph.add_run(name)
            name_run.bold = True
            index = labels.index(utterance.speaker) if utterance.speaker in labels else -1
            name_run.font.color.rgb = RGBColor.from_string(speaker_colour(index).lstrip("#"))
            paragraph.add_run("  ")
        time_run = paragraph.add_run(f"[{format_timestamp(utterance.span.start)}]")
        time_run.font.color.rgb = _GREY
        time_run.font.size = Pt(9)
        paragraph.add_run("\n" + text if with_speakers else " " + text)
    document.save(stream)


def _facts(transcript: Transcript) -> str:
    parts = [f"Length {format_timestamp(transcript.duration_s)}"]
    if transcript.language is not None:
        parts.append(f"language {transcript.language}")
    names = [shown_speaker(transcript, label) or label for label in speaker_labels(transcript)]
    if any(u.speaker is None for u in transcript.utterances) and has_speakers(transcript):
        names.append(UNKNOWN)
    if names:
        parts.append("speakers: " + ", ".join(names))
    if not transcript.utterances:
        parts.append("no speech was recognised")
    return " · ".join(parts)
