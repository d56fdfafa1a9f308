"""A job's stored transcript: read it, write it in any format, rename its speakers.

The transcript is kept as the JSON writer's output (``result.json``); a rename rewrites that
file atomically, so every format written afterwards carries the new name.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from pathlib import Path

from saywho.atomic import atomic_text_file
from saywho.formats import WRITERS, output_format, read_json, write, write_binary
from saywho.formats.speakers import has_speakers, speaker_labels
from saywho.types import Speaker, Transcript

__all__ = [
    "MEDIA_TYPES",
    "UnknownSpeakerError",
    "file_name",
    "formats",
    "media_type",
    "read_result",
    "rename_speaker",
    "render_result",
    "with_speaker_name",
    "write_result",
]

MEDIA_TYPES = {
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "html": "text/html",
    "csv": "text/csv",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_LOCK = threading.Lock()


class UnknownSpeakerError(LookupError):
    """The transcript has no speaker with that label."""


def read_result(path: Path) -> Transcript:
    """The transcript stored at ``path``."""
    with path.open(encoding="utf-8") as stream:
        return read_json(stream, name=path.name)


def write_result(path: Path, transcript: Transcript) -> int | None:
    """Store ``transcript`` at ``path`` (atomically); returns how many speakers it has
    (None: it was not diarized)."""
    with atomic_text_file(path) as stream:
        write(transcript, "json", stream)
    return len(speaker_labels(transcript)) if has_speakers(transcript) else None


def render_result(transcript: Transcript, fmt: str) -> bytes:
    """The transcript in format ``fmt`` (a key of the writer registry), as bytes."""
    stream = io.BytesIO()
    write_binary(transcript, fmt, stream)
    return stream.getvalue()


def media_type(fmt: str) -> str:
    """The Content-Type to serve format ``fmt`` with."""
    if output_format(fmt).is_binary:
        return MEDIA_TYPES.get(fmt, "application/octet-stream")
    return MEDIA_TYPES.get(fmt, "text/plain") + "; charset=utf-8"


def file_name(stem: str, fmt: str) -> str:
    """The download's file name: ``stem`` and the format's suffix (``.srt``, ``.TextGrid``)."""
    return stem + output_format(fmt).suffix


def rename_speaker(path: Path, label: str, name: str | None) -> Transcript:
    """Set the name of speaker ``label`` (None: back to the label) in the stored transcript.

    Raises :class:`UnknownSpeakerError` if the transcript has no such speaker.
    """
    with _LOCK:
        transcript = read_result(path)
        renamed = with_speaker_name(transcript, label, name)
        with atomic_text_file(path) as stream:
            write(renamed, "json", stream)
    return renamed


def with_speaker_name(transcript: Transcript, label: str, name: str | None) -> Transcript:
    """A copy of ``transcript`` in which speaker ``label`` is called ``name``."""
    labels = {s.label for s in transcript.speakers}
    spoken = {u.speaker for u in transcript.utterances if u.speaker is not None}
    if label not in labels | spoken:
        raise UnknownSpeakerError(label)
    speakers = tuple(
        dataclasses.replace(s, name=name) if s.label == label else s for s in transcript.speakers
    )
    if label not in labels:
        speakers = (*speakers, Speaker(label, name=name))
    return dataclasses.replace(transcript, speakers=speakers)


def formats() -> tuple[str, ...]:
    """Every format a result can be downloaded in."""
    return tuple(WRITERS)
