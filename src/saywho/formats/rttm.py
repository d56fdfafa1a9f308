"""RTTM: the diarization exchange format, one ``SPEAKER`` line per turn.

    SPEAKER <uri> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>

The uri is the source file's stem; the speaker is the display name (spaces become ``_``,
since RTTM fields are whitespace-separated). Turns come from diarization when it ran, else
from the utterances that carry a speaker.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import TextIO

from saywho.types import Transcript, Turn

__all__ = ["write_rttm"]


def write_rttm(transcript: Transcript, stream: TextIO) -> None:
    """Write the speaker turns of ``transcript`` as RTTM lines."""
    uri = _field(PurePath(transcript.source).stem or "audio")
    for turn in _turns(transcript):
        speaker = _field(transcript.speaker_display(turn.label) or turn.label)
        stream.write(
            f"SPEAKER {uri} 1 {turn.span.start:.3f} {turn.span.duration:.3f} "
            f"<NA> <NA> {speaker} <NA> <NA>\n"
        )


def _turns(transcript: Transcript) -> tuple[Turn, ...]:
    if transcript.turns:
        return transcript.turns
    return tuple(Turn(u.span, u.speaker) for u in transcript.utterances if u.speaker is not None)


def _field(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip())
