"""The voice library as the server sees it: a small interface, and "not available".

The library itself (enrolled voices, matching) lives in ``saywho.identify``; the server only
calls this interface, so that it can be wired in without changing the endpoints. Without a
library every voice endpoint answers 501 with :class:`VoiceLibraryUnavailableError`'s message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from saywho.errors import SaywhoError

__all__ = ["NoVoiceLibrary", "Voice", "VoiceLibrary", "VoiceLibraryUnavailableError"]


class VoiceLibraryUnavailableError(SaywhoError):
    """This server has no voice library."""


@dataclass(frozen=True, slots=True)
class Voice:
    """An enrolled voice: its id in the library, its name, how many samples it holds."""

    id: str
    name: str
    samples: int


class VoiceLibrary(Protocol):
    """What the server needs of a voice library."""

    def list_voices(self) -> Sequence[Voice]:
        """Every enrolled voice."""
        ...

    def enroll(self, name: str, centroid: Sequence[float], source: str) -> Voice:
        """Add the voice print ``centroid`` (from ``source``) under ``name``."""
        ...

    def rename(self, voice_id: str, name: str) -> Voice:
        """Rename a voice; raises ``LookupError`` if there is none with that id."""
        ...

    def remove(self, voice_id: str) -> None:
        """Remove a voice; raises ``LookupError`` if there is none with that id."""
        ...


class NoVoiceLibrary:
    """The library of a server built without ``saywho.identify``: every call says so."""

    message = (
        "this server has no voice library (saywho.identify is not installed in this build); "
        "speaker names can still be set per job with POST /v1/jobs/{id}/rename"
    )

    def list_voices(self) -> Sequence[Voice]:
        raise VoiceLibraryUnavailableError(self.message)

    def enroll(self, name: str, centroid: Sequence[float], source: str) -> Voice:
        raise VoiceLibraryUnavailableError(self.message)

    def rename(self, voice_id: str, name: str) -> Voice:
        raise VoiceLibraryUnavailableError(self.message)

    def remove(self, voice_id: str) -> None:
        raise VoiceLibraryUnavailableError(self.message)
