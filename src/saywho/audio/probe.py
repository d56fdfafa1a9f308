"""Tell media from other files before transcribing them; like :mod:`saywho.audio.decode`, an
adapter over ``av``.

* :func:`probe_duration_s` opens the container header and decodes nothing: milliseconds a
  file, for walking folders of thousands (batches).
* :func:`probe_media` also decodes the first audio frame and names a MIME type for a browser's
  player: for uploads, whose names are never trusted (the server).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from saywho.audio.decode import check_sample_rate, describe_error, duration_text
from saywho.errors import AudioDecodeError

__all__ = ["MediaProbe", "probe_duration_s", "probe_media"]

_MAX_PACKETS = 200
_AUDIO_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "matroska,webm": "audio/webm",
    "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4",
}
_VIDEO_TYPES = {"matroska,webm": "video/webm", "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4"}


def probe_duration_s(path: Path) -> float | None:
    """The declared duration in seconds of the first audio stream of ``path``.

    ``None`` when ``path`` is not media PyAV can open or has no audio stream; ``0.0`` when it
    is audio that declares no duration (a raw stream). Never raises for a bad file, and never
    opens what is not a regular file (a FIFO would block until someone writes to it).
    """
    if not _is_regular(path):
        return None
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return float(container.duration / av.time_base)
            return 0.0
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True, slots=True)
class MediaProbe:
    """What the probe found: a MIME type for the player, and the declared duration."""

    media_type: str
    duration_s: float | None


def probe_media(path: Path, *, max_duration_s: float | None = None) -> MediaProbe:
    """Check that ``path`` holds an audio stream that decodes, at a plausible sample rate,
    and declares no more than ``max_duration_s`` seconds (``None``: any length).

    Raises :class:`AudioDecodeError` (with a reason a user can act on) when it does not.
    The decoder enforces the same bounds on what actually decodes (a header can lie).
    """
    if not _is_regular(path):
        raise AudioDecodeError("is not a regular file")
    if path.stat().st_size == 0:
        raise AudioDecodeError("is empty (0 bytes)")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioDecodeError("has no audio stream")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            problem = check_sample_rate(rate) if rate else None  # 0: the header does not say
            if problem is not None:
                raise AudioDecodeError(problem)
            _check_declared(container, stream, max_duration_s)
            if not _decodes(container, stream):
                raise AudioDecodeError("its audio stream holds no decodable sound")
            has_video = bool(container.streams.video)
            name = container.format.name
            duration_s = container.duration / 1_000_000 if container.duration else None
    except AudioDecodeError:
        raise
    except av.error.FFmpegError as error:  # its text names our path: say what it means
        raise AudioDecodeError(describe_error(error)) from None
    except (OSError, ValueError) as error:
        raise AudioDecodeError(
            f"is not audio or video we can decode ({type(error).__name__})"
        ) from None
    types = _VIDEO_TYPES if has_video else _AUDIO_TYPES
    return MediaProbe(types.get(name, "application/octet-stream"), duration_s)


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _check_declared(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    max_duration_s: float | None,
) -> None:
    if max_duration_s is None:
        return
    declared_s = 0.0
    if stream.duration is not None and stream.time_base is not None:
        declared_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        declared_s = container.duration / av.time_base
    if declared_s > max_duration_s:
        raise AudioDecodeError(
            f"is {duration_text(declared_s)} long; the limit is {duration_text(max_duration_s)}"
        )


def _decodes(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> bool:
    for count, packet in enumerate(container.demux(stream)):
        if count >= _MAX_PACKETS:
            return False
        if any(True for _ in packet.decode()):
            return True
    return False
