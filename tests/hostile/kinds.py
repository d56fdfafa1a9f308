"""The catalogue of hostile inputs: each kind makes one file (in a test's folder) and says
what a user must see for it: a one-line error matching ``error``, or a result (with the
spoken words when ``words``), with a warning line matching ``warning`` where one is due.

Nothing here is a data file: every input is generated from eSpeak NG speech, tones or bytes.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from media import resample, silence, tone, write_channels, write_media

Samples = npt.NDArray[np.float32]
WORDS = (
    *("quick", "brown", "fox", "jumps", "over", "lazy", "dog"),
    *("please", "call", "stella", "ask", "bring", "milk"),
)
"""Words of media.SENTENCE: a result 'with words' must hold at least three of them."""


@dataclass(frozen=True)
class Kind:
    """One kind of hostile input and what the user must see for it."""

    name: str
    make: Callable[[Path, Samples], Path]
    error: str | None = None
    words: bool = False
    warning: str | None = None


def saywho(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess (sockets blocked there too: it must not care)."""
    return subprocess.run(
        [sys.executable, "-m", "saywho.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        cwd=cwd,
        check=False,
        timeout=1800,
    )


def _wav(folder: Path, name: str, speech: Samples, **kwargs: object) -> Path:
    return write_media(folder / name, speech, **kwargs)  # type: ignore[arg-type]


def _patched(folder: Path, name: str, speech: Samples, offset: int, fmt: str, value: int) -> Path:
    """A 16-bit mono WAV of ``speech`` with one header field overwritten."""
    data = bytearray(write_media(folder / f"{name}.src.wav", speech).read_bytes())
    data[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    path = folder / name
    path.write_bytes(bytes(data))
    return path


def _cut(path: Path, share: float) -> Path:
    data = path.read_bytes()
    cut = path.with_name(f"cut-{path.name}")
    cut.write_bytes(data[: int(len(data) * share)])
    path.unlink()
    return cut


def _renamed(path: Path, name: str) -> Path:
    return path.rename(path.with_name(name))


def _float_wav(folder: Path, name: str, samples: Samples) -> Path:
    """A 32-bit float WAV holding ``samples`` exactly (NaN, inf and all)."""
    path = folder / name
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=16_000, layout="mono")
        for first in range(0, samples.shape[0], 4096):
            part = samples[None, first : first + 4096].astype(np.float32)
            frame = av.AudioFrame.from_ndarray(part, format="flt", layout="mono")
            frame.sample_rate = 16_000
            frame.pts = first
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _with(samples: Samples, index: slice, value: float) -> Samples:
    changed = samples.copy()
    changed[index] = value
    return changed


def _text(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _bytes(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _fifo(folder: Path, speech: Samples) -> Path:
    path = folder / "named-pipe.wav"
    os.mkfifo(path)
    return path


def _symlink(folder: Path, name: str, target: str) -> Path:
    path = folder / name
    path.symlink_to(target)
    return path


def _loop(folder: Path, speech: Samples) -> Path:
    first, second = folder / "loop-a.wav", folder / "loop-b.wav"
    first.symlink_to(second.name)
    second.symlink_to(first.name)
    return first


def _zip(folder: Path, speech: Samples) -> Path:
    path = folder / "archive.m4a"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a recording " * 200)
    return path


def _png(folder: Path, speech: Samples) -> Path:
    path = folder / "picture.png"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def _channels(folder: Path, name: str, planar: Samples) -> Path:
    return write_channels(folder / name, planar)


def _on_channel(speech: Samples, channels: int, index: int) -> Samples:
    planar = np.zeros((channels, speech.shape[0]), dtype=np.float32)
    planar[index] = speech
    return planar


def _tiny(speech: Samples) -> Samples:
    return np.full(16_000, 1e-30, dtype=np.float32)


_RANDOM = np.random.default_rng(13)
_SEED_BYTES = _RANDOM.bytes(1_000_000)

ERRORS: tuple[Kind, ...] = (
    Kind("missing", lambda d, s: d / "missing.wav", "no such file"),
    Kind(
        "directory", lambda d, s: (d / "folder.wav").mkdir() or d / "folder.wav", "is a directory"
    ),
    Kind("empty", lambda d, s: _bytes(d, "empty.wav", b""), r"is empty \(0 bytes\)"),
    Kind("fifo", _fifo, r"is a FIFO \(named pipe\), not a regular file"),
    Kind("dev-zero", lambda d, s: _symlink(d, "zero.wav", "/dev/zero"), "is a device"),
    Kind("symlink-loop", _loop, "is a loop of symbolic links"),
    Kind(
        "dangling-symlink",
        lambda d, s: _symlink(d, "gone.wav", "nowhere.wav"),
        "is a symbolic link to nowhere.wav, which does not exist",
    ),
    Kind(
        "text-as-mp3",
        lambda d, s: _text(d, "notes.mp3", "a shopping list\n" * 50),
        "is not a media file we can read",
    ),
    Kind(
        "html-page",
        lambda d, s: _text(d, "page.wav", "<html>" + "hi " * 500),
        "is not a media file we can read",
    ),
    Kind(
        "random-1mb",
        lambda d, s: _bytes(d, "random1m.wav", _SEED_BYTES),
        "is not a media file we can read",
    ),
    Kind(
        "random-4kb",
        lambda d, s: _bytes(d, "random4k.mp3", _SEED_BYTES[:4096]),
        "is not a media file we can read",
    ),
    Kind("zip-as-m4a", _zip, "is not a media file we can read"),
    Kind("png-image", _png, "is an image, not audio or video"),
    Kind(
        "video-no-audio",
        lambda d, s: write_media(d / "silent-film.mp4", None, video="mpeg4"),
        r"has no audio stream \(a video without sound\?\)",
    ),
    Kind(
        "truncated-mp4",
        lambda d, s: _cut(
            _wav(d, "movie.mp4", s, codec="aac", video="mpeg4", video_seconds=3.0), 0.3
        ),
        "corrupt or truncated|holds no samples",
    ),
    Kind(
        "sample-rate-1",
        lambda d, s: _patched(d, "rate1.wav", s, 24, "<I", 1),
        "declares a sample rate of 1 Hz",
    ),
    Kind(
        "sample-rate-999",
        lambda d, s: _patched(d, "rate999.wav", s, 24, "<I", 999),
        "declares a sample rate of 999 Hz",
    ),
    Kind(
        "sample-rate-0",
        lambda d, s: _patched(d, "rate0.wav", s, 24, "<I", 0),
        "is not a media file we can read",
    ),
    Kind(
        "sample-rate-4ghz",
        lambda d, s: _patched(d, "rate4g.wav", s, 24, "<I", 0xFFFFFFFF),
        "is not a media file we can read",
    ),
    Kind(
        "sample-rate-1mhz",
        lambda d, s: _patched(d, "rate1m.wav", s, 24, "<I", 1_000_000),
        "declares a sample rate of 1000000 Hz",
    ),
    Kind("zero-channels", lambda d, s: _patched(d, "ch0.wav", s, 22, "<H", 0), "channels"),
    Kind("65535-channels", lambda d, s: _patched(d, "ch65535.wav", s, 22, "<H", 65535), "channels"),
    Kind(
        "header-only",
        lambda d, s: _bytes(d, "header.wav", write_media(d / "h.src.wav", s).read_bytes()[:44]),
        "corrupt or truncated|holds no samples",
    ),
)

RESULTS: tuple[Kind, ...] = (
    Kind("plain-speech", lambda d, s: _wav(d, "speech.wav", s), words=True),
    Kind("silence", lambda d, s: _wav(d, "silence.wav", silence(3.0))),
    Kind("blip-50ms", lambda d, s: _wav(d, "blip.wav", tone(0.05))),
    Kind("one-sample", lambda d, s: _wav(d, "one.wav", np.zeros(1, np.float32))),
    Kind("tone", lambda d, s: _wav(d, "tone.wav", tone(3.0))),
    Kind("denormal-quiet", lambda d, s: _float_wav(d, "tiny.wav", _tiny(s))),
    Kind(
        "nan-samples",
        lambda d, s: _float_wav(d, "nan.wav", _with(s, slice(8000, 8100), np.nan)),
        words=True,
        warning="not numbers",
    ),
    Kind(
        "inf-samples",
        lambda d, s: _float_wav(d, "inf.wav", _with(s, slice(9000, 9010), np.inf)),
        words=True,
        warning="not numbers",
    ),
    Kind(
        "all-nan",
        lambda d, s: _float_wav(d, "allnan.wav", np.full(16_000, np.nan, np.float32)),
        warning="not numbers",
    ),
    Kind("past-full-scale", lambda d, s: _float_wav(d, "loud.wav", s * 1000.0)),
    Kind(
        "speech-on-channel-4-of-8",
        lambda d, s: _channels(d, "eight.wav", _on_channel(s, 8, 3)),
        words=True,
    ),
    Kind(
        "speech-on-lfe-of-5.1",
        lambda d, s: _channels(d, "lfe.wav", _on_channel(s, 6, 3)),
        words=True,
    ),
    Kind(
        "phase-inverted-stereo",
        lambda d, s: _channels(d, "inverted.wav", np.stack([s, -s])),
        words=True,
    ),
    Kind(
        "left-channel-only", lambda d, s: _channels(d, "left.wav", _on_channel(s, 2, 0)), words=True
    ),
    Kind(
        "wav-cut-to-a-third",
        lambda d, s: _cut(_wav(d, "longwav.wav", np.tile(s, 3)), 0.34),
        words=True,
        warning="ends early",
    ),
    Kind(
        "mp3-cut-to-a-third",
        lambda d, s: _cut(_wav(d, "longmp3.mp3", np.tile(s, 3), codec="libmp3lame"), 0.34),
        words=True,
        warning="ends early",
    ),
    Kind(
        "telephone-8khz",
        lambda d, s: _wav(d, "phone.wav", resample(s, 16_000, 8_000), rate=8_000),
        words=True,
    ),
    Kind(
        "rate-192khz",
        lambda d, s: _wav(
            d, "hires.flac", resample(s, 16_000, 192_000), rate=192_000, codec="flac"
        ),
        words=True,
    ),
    Kind("rate-1000hz", lambda d, s: _wav(d, "r1000.wav", resample(s, 16_000, 1_000), rate=1_000)),
    Kind("mp3", lambda d, s: _wav(d, "speech-mp3.mp3", s, codec="libmp3lame"), words=True),
    Kind(
        "opus",
        lambda d, s: _wav(
            d, "speech-opus.ogg", resample(s, 16_000, 48_000), rate=48_000, codec="libopus"
        ),
        words=True,
    ),
    Kind(
        "video-with-speech",
        lambda d, s: _wav(d, "clip.mp4", s, codec="aac", video="mpeg4", video_seconds=1.0),
        words=True,
    ),
    Kind("u8-pcm", lambda d, s: _wav(d, "u8.wav", s, codec="pcm_u8"), words=True),
    Kind(
        "mulaw",
        lambda d, s: _wav(
            d, "mulaw.wav", resample(s, 16_000, 8_000), rate=8_000, codec="pcm_mulaw"
        ),
        words=True,
    ),
    Kind(
        "wav-named-txt",
        lambda d, s: _renamed(_wav(d, "really.wav", s), "really-audio.txt"),
        words=True,
    ),
    Kind("markup-and-unicode-name", lambda d, s: _wav(d, "[red]Zoë's [b]talk.wav", s), words=True),
    Kind("dash-name", lambda d, s: _wav(d, "-dash.wav", s), words=True),
    Kind(
        "symlink-to-speech",
        lambda d, s: _symlink(d, "link.wav", _wav(d, "target.wav", s).name),
        words=True,
    ),
)

CATALOGUE: tuple[Kind, ...] = ERRORS + RESULTS


def make_all(folder: Path, speech: Samples, kinds: tuple[Kind, ...] = CATALOGUE) -> list[Path]:
    """Make every kind's input in ``folder`` (in catalogue order); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [kind.make(folder, speech) for kind in kinds]
