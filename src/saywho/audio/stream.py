"""Decode audio as it arrives (stdin, a URL, a file still being written) to 16 kHz mono
float32 chunks, with PyAV (bundled FFmpeg).

A source is whatever FFmpeg opens: a path, a URL (http, Icecast, RTSP, RTMP…), or a binary
stream such as stdin in any container, or raw PCM when its format, rate and channel count are
given. ``follow`` keeps reading a file that is still being written (FFmpeg's ``follow``
option; a WAV header's length, written before the data, is ignored) until no new data has
come for ``idle_s`` seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import numpy as np
import numpy.typing as npt

from saywho.audio.decode import describe_error
from saywho.errors import AudioDecodeError
from saywho.types import SAMPLE_RATE

__all__ = ["RawFormat", "stream_audio"]

RAW_FORMATS = ("s16le", "s32le", "f32le", "u8", "mulaw", "alaw")


@dataclass(frozen=True, slots=True)
class RawFormat:
    """Headerless PCM: FFmpeg's sample format name (``s16le``, ``f32le``…), rate, channels."""

    sample_format: str
    sample_rate: int
    channels: int


def stream_audio(
    source: str | Path | BinaryIO,
    *,
    raw: RawFormat | None = None,
    follow: bool = False,
    idle_s: float = 5.0,
) -> Iterator[npt.NDArray[np.float32]]:
    """Open ``source`` now; the chunks (16 kHz mono float32) come as FFmpeg decodes them.

    Raises :class:`AudioDecodeError` when the source cannot be opened or has no audio (at
    once), or breaks off (while iterating); a followed file ends quietly once it has stopped
    growing for ``idle_s``.
    """
    name = source if isinstance(source, str | Path) else "standard input"
    container = _open(source, raw, follow, idle_s, str(name))
    if not container.streams.audio:
        container.close()
        raise AudioDecodeError(f"{name}: has no audio stream")
    return _chunks(container, follow, str(name))


def _chunks(
    container: av.container.InputContainer, follow: bool, name: str
) -> Iterator[npt.NDArray[np.float32]]:
    try:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        except av.error.FFmpegError as error:
            if not follow and not isinstance(error, av.error.EOFError):
                raise AudioDecodeError(f"{name}: {describe_error(error)}") from error
        except OSError:
            if not follow:  # a followed file that stopped growing ends with an I/O timeout
                raise
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    finally:
        container.close()


def _open(
    source: str | Path | BinaryIO, raw: RawFormat | None, follow: bool, idle_s: float, name: str
) -> av.container.InputContainer:
    options: dict[str, str] = {}
    target: str | BinaryIO = str(source) if isinstance(source, Path) else source
    if raw is not None:
        if raw.sample_format not in RAW_FORMATS:
            raise AudioDecodeError(
                f"unknown raw sample format {raw.sample_format!r}: use one of "
                + ", ".join(RAW_FORMATS)
            )
        options |= {"sample_rate": str(raw.sample_rate), "ch_layout": f"{raw.channels}c"}
    if follow:
        if not isinstance(target, str):
            raise AudioDecodeError("only a file can be followed")
        target = f"file:{Path(target).resolve()}"
        options |= {"follow": "1", "ignore_length": "1", "rw_timeout": str(round(idle_s * 1e6))}
    try:
        return av.open(
            target, "r", format=raw.sample_format if raw is not None else None, options=options
        )
    except av.error.FFmpegError as error:
        raise AudioDecodeError(f"{name}: {describe_error(error)}") from error
    except OSError as error:
        raise AudioDecodeError(f"{name}: cannot be opened ({error.strerror or error})") from error
