"""Decode any audio or video file to 16 kHz mono float32 with PyAV (bundled FFmpeg).

The only module that imports ``av``. Frames are resampled and mixed down as they are
decoded, straight into one preallocated float32 buffer sized from the container's declared
duration, so peak memory is the samples we keep plus one frame, however long the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import av.error
import numpy as np
import numpy.typing as npt

from saywho.errors import AudioDecodeError
from saywho.types import Audio

__all__ = ["SAMPLE_RATE", "decode"]

SAMPLE_RATE = 16_000
_GROWTH = 1.5
_SLACK_S = 1.0
_PROGRESS_EVERY = 500  # frames between progress calls


def decode(
    path: Path | str,
    *,
    sample_rate: int = SAMPLE_RATE,
    on_progress: Callable[[float, float], None] | None = None,
) -> Audio:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate`` Hz.

    Channels are mixed down with FFmpeg's standard matrix (as ``ffmpeg -ac 1`` and
    faster-whisper do) and clipped to [-1, 1]. Raises :class:`AudioDecodeError` with a
    one-line reason for a missing file, a directory, an empty file, something that is not
    media, a corrupt or truncated file, or a file with no audio stream.
    ``on_progress(done_s, expected_s)`` is called now and then while decoding.
    """
    path = Path(path)
    _check_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"{path}: has no audio stream (a video without sound?)")
            stream = container.streams.audio[0]
            samples = _decode_stream(container, stream, sample_rate, on_progress)
    except AudioDecodeError:
        raise
    except av.error.FFmpegError as error:
        raise AudioDecodeError(f"{path}: {_describe(error)}") from error
    except (OSError, ValueError) as error:
        raise AudioDecodeError(f"{path}: cannot be decoded ({error})") from error
    if samples.shape[0] == 0:
        raise AudioDecodeError(f"{path}: its audio stream holds no samples")
    return Audio(samples, sample_rate)


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise AudioDecodeError(f"{path}: is a directory; pass the media files inside it")
    if not path.exists():
        raise AudioDecodeError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: is empty (0 bytes)")


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    sample_rate: int,
    on_progress: Callable[[float, float], None] | None,
) -> npt.NDArray[np.float32]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    declared_s = _declared_duration_s(container, stream)
    buffer = _SampleBuffer(int((declared_s + _SLACK_S) * sample_rate))
    for index, frame in enumerate(container.decode(stream)):
        for out in resampler.resample(frame):
            buffer.append(out.to_ndarray()[0])  # (1, n) packed mono -> (n,)
        if on_progress is not None and index % _PROGRESS_EVERY == 0:
            on_progress(buffer.size / sample_rate, declared_s)
    for out in resampler.resample(None):
        buffer.append(out.to_ndarray()[0])
    return buffer.finish()


def _declared_duration_s(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float:
    """The duration the file claims (0 if it claims none); only a hint for sizing."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return 0.0


class _SampleBuffer:
    """A growable float32 buffer that is filled in place and shrunk in place at the end."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(max(capacity, 1), dtype=np.float32)
        self._size = 0

    @property
    def size(self) -> int:
        """Samples written so far."""
        return self._size

    def append(self, chunk: npt.NDArray[np.float32]) -> None:
        end = self._size + chunk.shape[0]
        if end > self._data.shape[0]:
            # Declared durations can be wrong (VBR mp3, live recordings): grow geometrically.
            self._data.resize(max(end, int(self._data.shape[0] * _GROWTH)), refcheck=False)
        self._data[self._size : end] = chunk
        self._size = end

    def finish(self) -> npt.NDArray[np.float32]:
        self._data.resize(self._size, refcheck=False)  # realloc shrinks without a copy
        # The downmix matrix can sum channels past full scale; clip as a 16-bit decode would.
        np.clip(self._data, -1.0, 1.0, out=self._data)
        return self._data


def _describe(error: av.error.FFmpegError) -> str:
    if isinstance(error, av.error.InvalidDataError):
        return "is not a media file we can read, or it is corrupt or truncated"
    if isinstance(error, av.error.EOFError):
        return "ends before its audio does (truncated file?)"
    if isinstance(error, av.error.PermissionError):
        return "permission denied"
    reason = getattr(error, "strerror", None) or str(error)
    return f"cannot be decoded: {reason}"
