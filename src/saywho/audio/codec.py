"""Lossy codec round trips in memory with PyAV: encode mono samples, decode them back (adapter).

What a voice note, a phone call or a podcast does to a recording, made deterministically:
:data:`CODECS` names the settings measured by ``benchmarks/robustness.py``, and
:func:`roundtrip` runs one of them. Nothing touches the disk. The result keeps the codec's
delay (an encoder's look-ahead, a decoder's priming): line it up with
:func:`saywho.evaluation.degrade.estimate_lag` where that matters.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from saywho.errors import AudioDecodeError, ConfigError

__all__ = ["CODECS", "CodecSpec", "roundtrip"]

_BLOCK = 4096


@dataclass(frozen=True, slots=True)
class CodecSpec:
    """One lossy encoding: container, encoder, bit rate and the sample rate it runs at.

    ``bit_rate`` is in bits per second (``None`` for a fixed-rate codec such as G.711);
    ``sample_rate`` is the rate the samples are resampled to before encoding (``None``: the
    input's own); ``sample_format`` is one the encoder accepts.
    """

    container: str
    encoder: str
    sample_format: str
    bit_rate: int | None = None
    sample_rate: int | None = None


CODECS: dict[str, CodecSpec] = {
    "mp3-24": CodecSpec("mp3", "libmp3lame", "s16p", bit_rate=24_000),
    "mp3-32": CodecSpec("mp3", "libmp3lame", "s16p", bit_rate=32_000),
    "mp3-64": CodecSpec("mp3", "libmp3lame", "s16p", bit_rate=64_000),
    "opus-16": CodecSpec("ogg", "libopus", "s16", bit_rate=16_000),
    "aac-32": CodecSpec("adts", "aac", "fltp", bit_rate=32_000),
    # G.711 μ-law, the telephone: 8 kHz (band-limited by the resampler), 64 kbit/s
    "ulaw-8k": CodecSpec("wav", "pcm_mulaw", "s16", sample_rate=8_000),
}
"""The codecs of the robustness benchmark, by the name its variants use."""


def roundtrip(
    samples: npt.NDArray[np.float32], sample_rate: int, codec: CodecSpec | str
) -> npt.NDArray[np.float32]:
    """Encode mono ``samples`` (shape (n,), float32 in [-1, 1]) with ``codec`` and decode back.

    ``codec`` is a :class:`CodecSpec` or a name of :data:`CODECS` (``"opus-16"``: Opus at
    16 kbit/s). Returns float32 at ``sample_rate`` Hz, shape (m,) with m close to n: the
    codec's delay and padding are left in. Raises :class:`ConfigError` for an unknown name and
    :class:`AudioDecodeError` if the encoded stream cannot be decoded.
    """
    spec = _spec(codec)
    encoded = _encode(samples, sample_rate, spec)
    return _decode(encoded, sample_rate)


def _spec(codec: CodecSpec | str) -> CodecSpec:
    if isinstance(codec, CodecSpec):
        return codec
    if codec not in CODECS:
        raise ConfigError(f"unknown codec {codec!r}; use one of {', '.join(CODECS)}")
    return CODECS[codec]


def _encode(samples: npt.NDArray[np.float32], sample_rate: int, spec: CodecSpec) -> bytes:
    rate = spec.sample_rate or sample_rate
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=spec.container) as container:
        stream = container.add_stream(spec.encoder, rate=rate, layout="mono")
        if not isinstance(stream, av.audio.stream.AudioStream):
            raise ConfigError(f"encoder {spec.encoder} did not give an audio stream")
        if spec.bit_rate is not None:
            stream.bit_rate = spec.bit_rate
        resampler = av.AudioResampler(format=spec.sample_format, layout="mono", rate=rate)
        clipped = np.clip(samples, -1.0, 1.0).astype(np.float32)
        for first in range(0, clipped.shape[0], _BLOCK):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(clipped[None, first : first + _BLOCK]),
                format="flt",
                layout="mono",
            )
            frame.sample_rate = sample_rate
            frame.pts = first
            frame.time_base = Fraction(1, sample_rate)
            for out in resampler.resample(frame):
                for packet in stream.encode(out):
                    container.mux(packet)
        for out in resampler.resample(None):
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _decode(encoded: bytes, sample_rate: int) -> npt.NDArray[np.float32]:
    chunks: list[npt.NDArray[np.float32]] = []
    try:
        with av.open(io.BytesIO(encoded), "r") as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                chunks.extend(out.to_ndarray()[0] for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray()[0] for out in resampler.resample(None))
    except av.error.FFmpegError as error:
        raise AudioDecodeError(f"the encoded stream cannot be decoded: {error}") from error
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.clip(np.concatenate(chunks), -1.0, 1.0).astype(np.float32)
