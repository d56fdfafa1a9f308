"""Make test media: synthesised speech (espeak-ng) and any container/codec through PyAV."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from saywho.audio import decode
from saywho.types import Span

ESPEAK = "espeak-ng"
SENTENCE = (
    "The quick brown fox jumps over the lazy dog. Please call Stella and ask her to bring the milk."
)


def speak(text: str, path: Path, *, voice: str = "en", words_per_minute: int = 150) -> Path:
    """Synthesise ``text`` with eSpeak NG into the wav file ``path`` (22.05 kHz mono)."""
    if shutil.which(ESPEAK) is None:
        pytest.fail(
            "espeak-ng is not installed: run `make test` (it installs it) or apt install espeak-ng"
        )
    subprocess.run(
        [ESPEAK, "-v", voice, "-s", str(words_per_minute), "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    return path


def speech_samples(text: str, tmp: Path, *, voice: str = "en") -> npt.NDArray[np.float32]:
    """Synthesised speech as 16 kHz mono float32 samples."""
    wav = speak(text, tmp / f"speech-{abs(hash((text, voice)))}.wav", voice=voice)
    return decode(wav).samples.copy()


def silence(seconds: float, rate: int = 16_000) -> npt.NDArray[np.float32]:
    """Digital silence."""
    return np.zeros(round(seconds * rate), dtype=np.float32)


def tone(seconds: float, rate: int = 16_000, hz: float = 440.0) -> npt.NDArray[np.float32]:
    """A sine tone at half scale."""
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def resample(
    samples: npt.NDArray[np.float32], rate_in: int, rate_out: int
) -> npt.NDArray[np.float32]:
    """Resample mono ``samples`` with FFmpeg's resampler (band-limited, like real recordings)."""
    if rate_in == rate_out:
        return samples
    frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
    frame.sample_rate = rate_in
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate_out)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray()[0] for f in frames]).astype(np.float32)


def write_media(
    path: Path,
    samples: npt.NDArray[np.float32] | None,
    *,
    rate: int = 16_000,
    codec: str = "pcm_s16le",
    channels: int = 1,
    video: str | None = None,
    video_seconds: float = 1.0,
    video_size: tuple[int, int] = (64, 64),
    bit_rate: int | None = None,
) -> Path:
    """Encode ``samples`` (shape (n,), copied to every channel) into ``path`` with PyAV.

    The container comes from the file extension. ``video`` names a video codec to add a
    black video stream of ``video_size`` (width, height) pixels; ``samples=None`` writes a
    video with no audio stream.
    ``bit_rate`` (bits per second) is the audio encoder's target, for lossy codecs.
    """
    with av.open(str(path), "w") as container:
        audio_stream = None
        if samples is not None:
            audio_stream = container.add_stream(codec, rate=rate, layout=_layout(channels))
            if bit_rate is not None:
                audio_stream.bit_rate = bit_rate
        video_stream = _add_video(container, video, video_size) if video else None
        if audio_stream is not None and samples is not None:
            _encode_audio(container, audio_stream, samples, rate, channels)
        if video_stream is not None:
            _encode_video(container, video_stream, video_seconds)
    return path


def write_channels(
    path: Path, planar: npt.NDArray[np.float32], *, rate: int = 16_000, codec: str = "pcm_s16le"
) -> Path:
    """Encode ``planar`` (shape (channels, n): a different signal on each channel) into ``path``."""
    channels = planar.shape[0]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=_layout(channels))
        _encode_planar(container, stream, planar, rate, channels)
    return path


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}[channels]


def _encode_audio(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    samples: npt.NDArray[np.float32],
    rate: int,
    channels: int,
) -> None:
    planar = np.repeat(samples[None, :], channels, axis=0)  # (channels, n)
    _encode_planar(container, stream, planar, rate, channels)


def _encode_planar(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    planar: npt.NDArray[np.float32],
    rate: int,
    channels: int,
) -> None:
    names = [f.name for f in stream.codec_context.codec.audio_formats]
    fmt_name = next((n for n in names if n.startswith("flt")), names[0])
    block = 4096
    for first in range(0, planar.shape[1], block):
        part = planar[:, first : first + block]
        array = _to_format(part, fmt_name)
        frame = av.AudioFrame.from_ndarray(array, format=fmt_name, layout=_layout(channels))
        frame.sample_rate = rate
        frame.pts = first
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def _to_format(planar: npt.NDArray[np.float32], fmt: str) -> npt.NDArray[np.generic]:
    clipped = np.clip(planar, -1, 1)
    array: npt.NDArray[np.generic]
    if fmt.startswith("s16"):
        array = (clipped * 32767).astype(np.int16)
    elif fmt.startswith("u8"):
        array = np.round(clipped * 127 + 128).astype(np.uint8)
    elif fmt.startswith("s32"):
        array = (clipped * 2147483647).astype(np.int32)
    else:
        array = clipped.astype(np.float32)
    if fmt.endswith("p"):
        return array
    return array.T.reshape(1, -1)  # packed: (1, n * channels), channels interleaved


def _add_video(
    container: av.container.OutputContainer, codec: str, size: tuple[int, int]
) -> av.video.stream.VideoStream:
    stream = container.add_stream(codec, rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    return stream


def _encode_video(
    container: av.container.OutputContainer, stream: av.video.stream.VideoStream, seconds: float
) -> None:
    black = np.zeros((stream.height, stream.width, 3), dtype=np.uint8)
    for index in range(round(seconds * 25)):
        frame = av.VideoFrame.from_ndarray(black, format="rgb24")
        frame.pts = index
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


# Three eSpeak NG voices that CAM++ tells apart (pairwise cosine similarity ≤ 0.4).
VOICES = ("en+croak", "en-029+f2", "en-gb-scotland+m7")
LINES = (
    "Good morning everyone, thank you for joining the weekly planning meeting today.",
    "Thanks for having me. I have three items on the agenda that I want to go through.",
    "Before we start, could somebody summarise what happened with the release last week?",
    "The release went out on Tuesday, two days late, because the tests kept failing overnight.",
)


def conversation(
    tmp: Path, order: tuple[int, ...], pause_s: float = 0.7
) -> tuple[npt.NDArray[np.float32], list[tuple[Span, int]]]:
    """Lines spoken by ``VOICES[order[i]]`` in turn, with the true turns."""
    pieces, truth, now = [silence(0.5)], [], 0.5
    for index, voice in enumerate(order):
        line = speech_samples(LINES[index % len(LINES)], tmp, voice=VOICES[voice])
        truth.append((Span(now, now + line.shape[0] / 16_000), voice))
        pieces += [line, silence(pause_s)]
        now += line.shape[0] / 16_000 + pause_s
    return np.concatenate(pieces), truth
