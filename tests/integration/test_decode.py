"""Decoding every container people have, and a one-line error for every bad input."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from media import resample, silence, tone, write_media
from saywho.audio import decode
from saywho.errors import AudioDecodeError

# name, codec, sample rate, channels, video codec
CONTAINERS = [
    ("speech.wav", "pcm_s16le", 16_000, 1, None),
    ("speech.flac", "flac", 44_100, 2, None),
    ("speech.mp3", "libmp3lame", 44_100, 2, None),
    ("speech.m4a", "aac", 44_100, 2, None),
    ("speech.aac", "aac", 22_050, 1, None),
    ("speech.ogg", "libopus", 48_000, 2, None),
    ("speech.opus", "libopus", 48_000, 1, None),
    ("speech.webm", "libopus", 48_000, 2, "libvpx"),
    ("speech.mp4", "aac", 44_100, 2, "libx264"),
    ("speech.mkv", "libopus", 48_000, 2, "mpeg4"),
    ("speech.mov", "aac", 48_000, 2, "mpeg4"),
    ("telephone.wav", "pcm_s16le", 8_000, 1, None),
    ("surround.wav", "pcm_s16le", 48_000, 6, None),
]


@pytest.mark.parametrize(("name", "codec", "rate", "channels", "video"), CONTAINERS)
def test_every_container_decodes_to_16k_mono(
    tmp_path: Path, name: str, codec: str, rate: int, channels: int, video: str | None
) -> None:
    signal = np.concatenate([silence(0.25), tone(1.5, hz=330.0), silence(0.25)])
    path = write_media(
        tmp_path / name,
        resample(signal, 16_000, rate),
        rate=rate,
        codec=codec,
        channels=channels,
        video=video,
        video_seconds=2.0,
    )
    audio = decode(path)
    assert audio.sample_rate == 16_000
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)  # encoder padding is allowed
    assert float(np.abs(audio.samples).max()) <= 1.0
    # The tone is where it was: the loudest stretch starts near 0.25 s.
    loud = np.flatnonzero(np.abs(audio.samples) > 0.1)
    assert loud[0] / 16_000 == pytest.approx(0.25, abs=0.08)


def test_decoded_audio_is_read_only(tmp_path: Path) -> None:
    audio = decode(write_media(tmp_path / "a.wav", tone(0.5)))
    with pytest.raises(ValueError, match="read-only"):
        audio.samples[0] = 1.0


def test_peak_memory_is_the_kept_samples(tmp_path: Path) -> None:
    """Ten minutes of 48 kHz stereo FLAC: peak allocation stays near the 16 kHz float32 result."""
    minutes = 10
    path = write_media(
        tmp_path / "long.flac",
        tone(minutes * 60.0, rate=48_000),
        rate=48_000,
        codec="flac",
        channels=2,
    )
    kept_bytes = minutes * 60 * 16_000 * 4
    tracemalloc.start()
    try:
        audio = decode(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert audio.duration_s == pytest.approx(minutes * 60.0, abs=0.1)
    assert peak < kept_bytes * 1.15


def _text_renamed_mp3(tmp: Path) -> Path:
    path = tmp / "notes.mp3"
    path.write_text("This is a shopping list, not a song.\n" * 20)
    return path


def _truncated_mp4(tmp: Path) -> Path:
    whole = write_media(
        tmp / "whole.mp4",
        tone(2.0, rate=44_100),
        rate=44_100,
        codec="aac",
        video="libx264",
        video_seconds=2.0,
    )
    path = tmp / "truncated.mp4"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    return path


def _corrupt_flac(tmp: Path) -> Path:
    whole = write_media(tmp / "whole.flac", tone(2.0), codec="flac")
    data = bytearray(whole.read_bytes())
    data[:64] = b"\x00" * 64  # the header and stream info are gone
    path = tmp / "corrupt.flac"
    path.write_bytes(bytes(data))
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.wav"
    path.touch()
    return path


def _video_only(tmp: Path) -> Path:
    return write_media(tmp / "silent-film.mp4", None, video="libx264", video_seconds=1.0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.wav", "no such file"),
        (lambda tmp: tmp, "is a directory"),
        (_empty, r"is empty \(0 bytes\)"),
        (_text_renamed_mp3, "not a media file we can read"),
        (_truncated_mp4, "corrupt or truncated"),
        (_corrupt_flac, "corrupt or truncated"),
        (_video_only, "has no audio stream"),
    ],
    ids=[
        "missing",
        "directory",
        "empty",
        "text-as-mp3",
        "truncated-mp4",
        "corrupt-flac",
        "video-only",
    ],
)
def test_bad_input_gets_a_one_line_error(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(AudioDecodeError, match=message) as caught:
        decode(path)
    text = str(caught.value)
    assert "\n" not in text
    assert str(path) in text


def test_a_50_ms_file_decodes(tmp_path: Path) -> None:
    audio = decode(write_media(tmp_path / "blip.wav", tone(0.05)))
    assert audio.duration_s == pytest.approx(0.05, abs=0.002)
