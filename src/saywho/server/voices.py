"""The voice library as the server sees it: a small interface, an adapter, and "not available".

The library itself (enrolled voices, matching) lives in ``saywho.identify``; the server only
calls :class:`VoiceLibrary`. :func:`open_voice_library` returns the ``saywho.identify``
adapter when that package is installed, else :class:`NoVoiceLibrary`, whose every call is a
:class:`VoiceLibraryUnavailableError` (HTTP 501). Voices are known by their name.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from saywho.errors import SaywhoError
from saywho.types import Transcript

__all__ = [
    "IdentifyVoices",
    "NoVoiceLibrary",
    "Voice",
    "VoiceLibrary",
    "VoiceLibraryUnavailableError",
    "open_voice_library",
]


class VoiceLibraryUnavailableError(SaywhoError):
    """This server has no voice library."""


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


class NoVoiceLibrary:
    """The library of a server built without ``saywho.identify``: every call says so."""

    message = (
        "this server has no voice library (saywho.identify is not installed in this build); "
        "speaker names can still be set per job with POST /v1/jobs/{id}/rename"
    )

    def list_voices(self) -> Sequence[Voice]:
        raise VoiceLibraryUnavailableError(self.message)

    def enroll(self, transcript: Transcript, label: str, name: str) -> Voice:
        raise VoiceLibraryUnavailableError(self.message)

    def rename(self, name: str, new_name: str) -> Voice:
        raise VoiceLibraryUnavailableError(self.message)

    def remove(self, name: str) -> None:
        raise VoiceLibraryUnavailableError(self.message)


class IdentifyVoices:
    """The ``saywho.identify`` voice library at ``path`` (opened for each call)."""

    def __init__(self, identify: Any, path: Path) -> None:
        self._identify = identify
        self.path = path

    def list_voices(self) -> Sequence[Voice]:
        with self._open() as library:
            return [_voice(v) for v in library.voices()]

    def enroll(self, transcript: Transcript, label: str, name: str) -> Voice:
        with self._open() as library:
            self._identify.enroll_from_transcript(library, transcript, label, name)
            return _voice(library.voice(name.strip()))

    def rename(self, name: str, new_name: str) -> Voice:
        with self._open() as library:
            self._require(library, name)
            library.rename(name, new_name)
            return _voice(library.voice(new_name.strip()))

    def remove(self, name: str) -> None:
        with self._open() as library:
            self._require(library, name)
            library.remove(name)

    def _open(self) -> Any:
        return self._identify.VoiceLibrary(self.path)

    @staticmethod
    def _require(library: Any, name: str) -> None:
        if name.strip() not in library.names():
            raise LookupError(name)


def open_voice_library(path: Path | None) -> VoiceLibrary | None:
    """The ``saywho.identify`` library at ``path`` (None: its default), or None if not installed."""
    try:
        identify = importlib.import_module("saywho.identify")
    except ImportError:
        return None
    return IdentifyVoices(identify, path if path is not None else identify.default_library_path())


def _voice(voice: Any) -> Voice:
    return Voice(str(voice.name), len(voice.samples), round(float(voice.seconds), 3))
