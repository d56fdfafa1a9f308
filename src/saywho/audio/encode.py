"""Write mono float32 samples to an audio file with PyAV, atomically (adapter)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from saywho.atomic import atomic_binary_file
from saywho.errors import OutputError

__all__ = ["AUDIO_FORMATS", "write_audio"]

# suffix -> (container format, codec, sample format); 16-bit PCM in both
AUDIO_FORMATS = {
    ".wav": ("wav", "pcm_s16le", "s16"),
    ".flac": ("flac", "flac", "s16"),
}
_BLOCK = 4096


def write_audio(path: Path, samples: npt.NDArray[np.float32], sample_rate: int) -> Path:
    """Encode ``samples`` (n,) float32 in [-1, 1] into ``path``; the suffix picks the format.

    The file appears only when complete (temporary file + rename).
    """
    suffix = path.suffix.lower()
    if suffix not in AUDIO_FORMATS:
        raise OutputError(
            f"{path}: unknown audio format {suffix or '(none)'}; use one of "
            f"{', '.join(AUDIO_FORMATS)}"
        )
    container_format, codec, sample_format = AUDIO_FORMATS[suffix]
    try:
        with (
            atomic_binary_file(path) as stream,
            av.open(stream, "w", format=container_format) as container,
        ):
            _encode(container, codec, sample_format, samples, sample_rate)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from error
    return path


def _encode(
    container: av.container.OutputContainer,
    codec: str,
    sample_format: str,
    samples: npt.NDArray[np.float32],
    sample_rate: int,
) -> None:
    stream = container.add_stream(codec, rate=sample_rate, layout="mono")
    if not isinstance(stream, av.audio.stream.AudioStream):
        raise OutputError(f"codec {codec} did not give an audio stream")
    clipped = np.clip(samples, -1.0, 1.0)
    for first in range(0, samples.shape[0], _BLOCK):
        block = clipped[first : first + _BLOCK]
        array = (block * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(array[None, :]), format=sample_format, layout="mono"
        )
        frame.sample_rate = sample_rate
        frame.pts = first
        frame.time_base = Fraction(1, sample_rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
