"""Where a live stream comes from: a microphone, a file (at its natural pace or as fast as it
decodes), standard input, a URL, or a file still being written. Each source yields 16 kHz
mono float32 chunks as they arrive.

A microphone is read through PortAudio with the optional ``sounddevice`` package
(``pip install 'saywho[mic]'``; on Linux also the ``libportaudio2`` system package).
"""

from __future__ import annotations

import queue
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from saywho.audio.stream import RawFormat, stream_audio
from saywho.errors import AudioDecodeError, ConfigError
from saywho.types import SAMPLE_RATE

__all__ = ["LiveSource", "list_devices", "open_source"]

MIC_BLOCK_S = 0.1
_URL_SCHEMES = (
    "http://",
    "https://",
    "rtsp://",
    "rtsps://",
    "rtmp://",
    "rtmps://",
    "srt://",
    "udp://",
    "tcp://",
    "icecast://",
)


@dataclass(frozen=True, slots=True)
class LiveSource:
    """What ``saywho live SOURCE`` reads: ``mic``, ``-`` (stdin), a URL, or a file path.

    ``realtime``: play a file at its natural pace (else as fast as it decodes); ``follow``:
    the file is still being written; ``raw``: headerless PCM on stdin or in the file;
    ``device``: the microphone (index or name; ``None``: the default input)."""

    target: str
    realtime: bool = False
    follow: bool = False
    raw: RawFormat | None = None
    device: str | None = None

    @property
    def kind(self) -> str:
        """``mic``, ``stdin``, ``url`` or ``file``."""
        if self.target == "mic":
            return "mic"
        if self.target == "-":
            return "stdin"
        if self.target.lower().startswith(_URL_SCHEMES):
            return "url"
        return "file"

    @property
    def paced(self) -> bool:
        """Whether audio arrives at the pace it was spoken (else: as fast as it decodes)."""
        return self.kind in ("mic", "url", "stdin") or self.follow or self.realtime


def open_source(source: LiveSource) -> Iterator[npt.NDArray[np.float32]]:
    """The chunks of ``source`` as they arrive (raises :class:`AudioDecodeError` or
    :class:`ConfigError` for a source that cannot be opened)."""
    kind = source.kind
    if kind == "mic":
        return _microphone(source.device)
    if source.follow and kind != "file":
        raise ConfigError("--follow reads a file that is still being written, not " + kind)
    if kind == "stdin":
        return stream_audio(sys.stdin.buffer, raw=source.raw)
    if kind == "url":
        return stream_audio(source.target, raw=source.raw)
    path = Path(source.target)
    if not path.exists():
        raise AudioDecodeError(f"{path}: no such file")
    chunks = stream_audio(path, raw=source.raw, follow=source.follow)
    return _at_natural_pace(chunks) if source.realtime and not source.follow else chunks


def _at_natural_pace(
    chunks: Iterator[npt.NDArray[np.float32]],
) -> Iterator[npt.NDArray[np.float32]]:
    """Hand each chunk over when a listener would have heard it."""
    started = time.monotonic()
    played_s = 0.0
    for chunk in chunks:
        wait_s = started + played_s - time.monotonic()
        if wait_s > 0:
            time.sleep(wait_s)
        yield chunk
        played_s += chunk.shape[0] / SAMPLE_RATE


def _sounddevice() -> Any:
    try:
        import sounddevice  # type: ignore[import-not-found, unused-ignore]
    except ImportError as error:
        raise ConfigError(
            "reading a microphone needs the sounddevice package: pip install 'saywho[mic]' "
            "(on Linux also: apt install libportaudio2)"
        ) from error
    except OSError as error:  # the package is there, PortAudio is not
        raise ConfigError(
            f"reading a microphone needs PortAudio ({error}): apt install libportaudio2"
        ) from error
    return sounddevice


def list_devices() -> list[str]:
    """The input devices PortAudio sees, one line each: index, name, channels, rate."""
    sd = _sounddevice()
    lines = []
    for index, device in enumerate(sd.query_devices()):
        if device["max_input_channels"] > 0:
            lines.append(
                f"{index}: {device['name']} ({device['max_input_channels']} channels, "
                f"{device['default_samplerate']:.0f} Hz)"
            )
    return lines


def _microphone(device: str | None) -> Iterator[npt.NDArray[np.float32]]:
    """Mono 16 kHz blocks from an input device (PortAudio resamples when it can)."""
    sd = _sounddevice()
    blocks: queue.Queue[npt.NDArray[np.float32]] = queue.Queue()

    def arrived(data: npt.NDArray[np.float32], frames: int, timing: Any, status: Any) -> None:
        del frames, timing, status
        blocks.put(data.mean(axis=1).astype(np.float32))

    chosen: int | str | None = int(device) if device is not None and device.isdigit() else device
    try:
        stream = sd.InputStream(
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="float32",
            blocksize=round(MIC_BLOCK_S * SAMPLE_RATE),
            device=chosen,
            callback=arrived,
        )
    except Exception as error:  # PortAudio raises its own kinds for a missing or busy device
        raise AudioDecodeError(f"cannot open the microphone: {error}") from error
    return _blocks(stream, blocks)


def _blocks(
    stream: Any, blocks: queue.Queue[npt.NDArray[np.float32]]
) -> Iterator[npt.NDArray[np.float32]]:
    """The microphone's blocks from the moment the stream starts."""
    with stream:
        while True:
            yield blocks.get()
