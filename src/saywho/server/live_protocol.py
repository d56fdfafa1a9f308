"""What a client and the server say to each other on the WebSocket ``/v1/live`` (pure).

Client → server: an optional ``{"type": "start", "options": {...}}`` first, then binary
messages of 16 kHz mono samples as little-endian float32, ``{"type": "rename", "label":
..., "name": ...}`` at any time and ``{"type": "stop"}`` at the end. Server → client:
``ready``, an ``update`` after each step of the engine, ``finishing``, then ``job`` (or
``error``, after which the server closes the connection). ``docs/live.md`` has the details.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from saywho.errors import ConfigError, SaywhoError
from saywho.live import Committed, LiveUpdate
from saywho.server.options import JobOptions
from saywho.types import Word

__all__ = [
    "LIVE_OPTIONS",
    "MAX_AUDIO_BYTES",
    "MAX_TEXT_CHARS",
    "LiveProtocolError",
    "Rename",
    "Start",
    "Stop",
    "job_message",
    "parse_audio",
    "parse_text",
    "update_message",
]

MAX_AUDIO_BYTES = 256 * 1024
"""The largest binary message: 4 s of float32 samples (a page sends 0.1 s at a time)."""
MAX_TEXT_CHARS = 4096
"""The largest text message."""
LIVE_OPTIONS = ("language", "num_speakers", "min_speakers", "max_speakers")
"""The job options a live session takes (the model is the server's default)."""

# Close codes (RFC 6455, 7.4.1): the payload is not what it should be; against the
# protocol; too big; the server failed; busy, try again later.
INVALID_DATA = 1007
POLICY = 1008
TOO_BIG = 1009
INTERNAL = 1011
TRY_LATER = 1013


class LiveProtocolError(SaywhoError):
    """A client broke the protocol; ``code`` is the WebSocket close code to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Start:
    """Start the session with these ``options``."""

    options: JobOptions


@dataclass(frozen=True, slots=True)
class Rename:
    """Show speaker ``label`` as ``name`` (None: as its label again)."""

    label: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Stop:
    """End the stream: the session becomes a job."""


def parse_text(text: str, models: Collection[str]) -> Start | Rename | Stop:
    """The message in the text frame ``text``; ``models``: those the server offers.

    Raises :class:`LiveProtocolError` naming what is wrong.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise LiveProtocolError(TOO_BIG, f"a text message may be {MAX_TEXT_CHARS} characters")
    try:
        message = json.loads(text)
    except ValueError as error:
        raise LiveProtocolError(INVALID_DATA, f"a text message must be JSON: {error}") from None
    if not isinstance(message, dict):
        raise LiveProtocolError(INVALID_DATA, "a text message must be a JSON object")
    kind = message.get("type")
    if kind == "start":
        _only(message, ("type", "options"))
        options = message.get("options")
        return Start(_options({} if options is None else options, models))
    if kind == "rename":
        _only(message, ("type", "label", "name"))
        return Rename(_label(message.get("label")), _name(message.get("name")))
    if kind == "stop":
        _only(message, ("type",))
        return Stop()
    raise LiveProtocolError(
        POLICY, f"unknown message type {kind!r}: send start, rename, stop or audio"
    )


def parse_audio(data: bytes) -> npt.NDArray[np.float32]:
    """The samples of a binary message: 16 kHz mono, little-endian float32; shape (n,)."""
    if len(data) > MAX_AUDIO_BYTES:
        raise LiveProtocolError(
            TOO_BIG, f"an audio message may be {MAX_AUDIO_BYTES} bytes; send shorter pieces"
        )
    if len(data) % 4:
        raise LiveProtocolError(
            INVALID_DATA,
            f"an audio message is float32 samples (4 bytes each), got {len(data)} bytes",
        )
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def update_message(update: LiveUpdate) -> dict[str, Any]:
    """An engine's update as the client reads it."""
    return {
        "type": "update",
        "committed": [_committed(c) for c in update.committed],
        "tentative": [_word(w) for w in update.tentative],
        "speakers": [{"label": s.label, "name": s.name} for s in update.speakers],
        "heard_s": round(update.heard_s, 3),
        "delay_s": round(update.delay_s, 3),
        "load": round(update.load, 3) if math.isfinite(update.load) else None,
        "notice": update.notice,
    }


def job_message(job_id: str) -> dict[str, Any]:
    """The session's job is stored: its id and its review page."""
    return {"type": "job", "id": job_id, "url": f"/jobs/{job_id}"}


def _committed(committed: Committed) -> dict[str, Any]:
    return {**_word(committed.word), "speaker": committed.word.speaker}


def _word(word: Word) -> dict[str, Any]:
    span = word.span
    return {
        "text": word.text,
        "start": round(span.start, 3) if span is not None else None,
        "end": round(span.end, 3) if span is not None else None,
        "speaker": word.speaker,
    }


def _only(message: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    unknown = sorted(set(message) - set(keys))
    if unknown:
        raise LiveProtocolError(
            POLICY, f"unknown key {unknown[0]!r} in a {message['type']} message"
        )


def _options(raw: object, models: Collection[str]) -> JobOptions:
    if not isinstance(raw, dict):
        raise LiveProtocolError(POLICY, "options must be a JSON object")
    others = sorted(set(raw) - set(LIVE_OPTIONS))
    if others:
        raise LiveProtocolError(
            POLICY,
            f"a live session does not take the option {others[0]!r}; "
            f"it takes {', '.join(LIVE_OPTIONS)}",
        )
    try:
        return JobOptions.parse(raw, models)
    except ConfigError as error:
        raise LiveProtocolError(POLICY, str(error)) from None


def _label(raw: object) -> str:
    if not isinstance(raw, str) or not 0 < len(raw) <= 64:
        raise LiveProtocolError(POLICY, "rename needs the speaker's label (SPEAKER_00)")
    return raw


def _name(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 100:
        raise LiveProtocolError(POLICY, "a speaker's name is a text of at most 100 characters")
    return raw.strip() or None
