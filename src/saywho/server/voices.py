"""The voice library as the server sees it: a small interface and its ``saywho.identify`` adapter.

The library itself (enrolled voices, matching) lives in ``saywho.identify``; the server only
calls :class:`VoiceLibrary`. Voices are known by their name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from saywho.engines import Voices
from saywho.identify import DEFAULT_THRESHOLD, default_library_path, enroll_from_transcript
from saywho.identify import Voice as StoredVoice
from saywho.identify import VoiceLibrary as Store
from saywho.identify.service import LibraryVoices
from saywho.types import Transcript

__all__ = ["IdentifyVoices", "Voice", "VoiceLibrary", "open_voice_library"]


@dataclass(frozen=True, slots=True)
class Voice:
    """An enrolled voice: its name, how many samples and seconds of speech it holds."""

    name: str
    samples: int
    seconds: float


class VoiceLibrary(Protocol):
    """What the server needs of a voice library."""

    def list_voices(self) -> Sequence[Voice]:
        """Every enrolled voice, by name."""
        ...

    def enroll(self, transcript: Transcript, label: str, name: str) -> Voice:
        """Remember speaker ``label`` of ``transcript`` (its voice print) as ``name``."""
        ...

    def rename(self, name: str, new_name: str) -> Voice:
        """Rename a voice; ``LookupError`` if there is none called ``name``."""
        ...

    def remove(self, name: str) -> None:
        """Remove a voice; ``LookupError`` if there is none called ``name``."""
        ...

    def voices(self) -> Voices:
        """The library as the pipeline's identify stage reads it (in a worker process: it
        must pickle)."""
        ...


class IdentifyVoices:
    """The ``saywho.identify`` voice library at ``path`` (opened for each call, so several
    worker threads and requests share it safely through SQLite)."""

    def __init__(self, path: Path, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.path = path
        self.threshold = threshold

    def list_voices(self) -> Sequence[Voice]:
        if not self.path.exists():  # reading never creates the library
            return []
        with Store(self.path) as library:
            return [_voice(v) for v in library.voices()]

    def enroll(self, transcript: Transcript, label: str, name: str) -> Voice:
        with Store(self.path, create=True) as library:
            enroll_from_transcript(library, transcript, label, name)
            return _voice(library.voice(name.strip()))

    def rename(self, name: str, new_name: str) -> Voice:
        if not self.path.exists():
            raise LookupError(name)
        with Store(self.path) as library:
            _require(library, name)
            library.rename(name, new_name)
            return _voice(library.voice(new_name.strip()))

    def remove(self, name: str) -> None:
        if not self.path.exists():
            raise LookupError(name)
        with Store(self.path) as library:
            _require(library, name)
            library.remove(name)

    def voices(self) -> LibraryVoices:
        return LibraryVoices(self.path, self.threshold)


def open_voice_library(path: Path | None) -> IdentifyVoices:
    """The library at ``path`` (None: the user's default library)."""
    return IdentifyVoices(path if path is not None else default_library_path())


def _require(library: Store, name: str) -> None:
    if name.strip() not in library.names():
        raise LookupError(name)


def _voice(voice: StoredVoice) -> Voice:
    return Voice(voice.name, len(voice.samples), round(float(voice.seconds), 3))
