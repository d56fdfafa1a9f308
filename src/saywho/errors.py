"""The exception tree of saywho.

Every error a user can cause or meet derives from :class:`SaywhoError`; the CLI and the
server catch that one class and turn it into an exit code or an HTTP status. Messages are
one line, say what is wrong and, where possible, what to do.

    SaywhoError
    ├── AudioDecodeError     the input cannot be read as audio
    ├── ConfigError          an option, a config file or a key in it is invalid
    ├── ModelError           a model is unknown, missing, corrupt or fails to load
    ├── OutputError          a result cannot be written
    └── VoiceLibraryError    the voice library is unreadable, locked, from another model, or
                             an enrolment or a name is invalid
"""

from __future__ import annotations

__all__ = [
    "AudioDecodeError",
    "ConfigError",
    "ModelError",
    "OutputError",
    "SaywhoError",
    "VoiceLibraryError",
]


class SaywhoError(Exception):
    """Base class of every error saywho raises on purpose."""


class AudioDecodeError(SaywhoError):
    """The input is missing, not media, corrupt, or has no audio stream."""


class ConfigError(SaywhoError):
    """An option value, a config file, or a key in a config file is invalid."""


class ModelError(SaywhoError):
    """A model is unknown, not installed, fails its checksum, or fails to load."""


class OutputError(SaywhoError):
    """A result could not be written (unknown format, unwritable directory)."""


class VoiceLibraryError(SaywhoError):
    """The voice library cannot be used (corrupt, locked, written by another embedding
    model), or an enrolment or a voice name is not acceptable (too little speech, unknown
    name)."""
