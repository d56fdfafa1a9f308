"""Decode any audio or video file to 16 kHz mono float32 with PyAV (bundled FFmpeg).

The only module that imports ``av``. Frames are resampled as they are decoded and mixed
down to mono straight into one float32 buffer, so peak memory is the samples we keep plus
one frame, however long the file. The buffer starts from the duration the header declares,
but never larger than the file's size can plausibly hold, and grows with what is decoded:
a header that lies (a sample rate of 1 Hz, a duration of days) cannot make us allocate.

Channels are mixed so that speech on any one of them survives: every channel counts the
same (the LFE channel too), and where that plain average loses most of the sound (a channel
in opposite phase cancels another, or one loud channel among silent ones is diluted) the
file is decoded once more with each channel's polarity and weight taken from the channel
statistics gathered during the first pass.
"""

from __future__ import annotations

import errno
import logging
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np
import numpy.typing as npt

from saywho.errors import AudioDecodeError
from saywho.types import SAMPLE_RATE, Audio

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SAMPLE_RATE",
    "check_sample_rate",
    "decode",
    "duration_text",
]

MIN_SAMPLE_RATE = 1_000
"""Below this a header is damaged or hostile (telephone speech is 8 kHz)."""
MAX_SAMPLE_RATE = 768_000
"""Above the highest rate any recorder or codec produces."""
_GROWTH = 1.5
_SLACK_S = 1.0
_PROGRESS_EVERY = 500  # frames between progress calls
_MIN_BITRATE_BPS = 4_000  # no usable speech codec packs a second into fewer bits
_ACTIVE_CHANNEL = 1e-3  # a channel with less than this share of the loudest one's energy is silent
_MIX_LOSS = 0.25  # redo the mix when the plain average keeps less than this share of the energy
_SHORT_SHARE = 0.9  # warn when less than this share of the declared duration decodes
_SHORT_MIN_S = 1.0
_MAX_CHANNELS = 64
_WAV_HEAD_BYTES = 4096
_TEXT_FORMATS = frozenset({"bin", "tty", "xbin", "adf", "idf"})  # text read as "video"

_log = logging.getLogger(__name__)


def decode(
    path: Path | str,
    *,
    sample_rate: int = SAMPLE_RATE,
    on_progress: Callable[[float, float], None] | None = None,
    max_duration_s: float | None = None,
) -> Audio:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate`` Hz.

    Channels are mixed down so that speech on any channel survives (see the module notes)
    and samples are clipped to [-1, 1]; samples that are not numbers (NaN, infinite) become
    silence, with a warning. Raises :class:`AudioDecodeError` with a one-line reason for a
    missing file, a directory, a FIFO or device, an empty file, something that is not
    media, a corrupt or truncated file, a file with no audio stream, an implausible sample
    rate, or audio longer than ``max_duration_s`` seconds (``None``: no limit). Logs a
    warning when the file decodes to clearly less than its header declares.
    ``on_progress(done_s, expected_s)`` is called now and then while decoding.
    """
    path = Path(path)
    size_bytes = _check_file(path)
    limit = _Limit(path, max_duration_s)
    first = _decode_pass(path, sample_rate, size_bytes, limit, on_progress, weights=None)
    samples, declared_s = first.samples, first.declared_s
    weights = _better_weights(first.covariance)
    if weights is not None:
        _log.debug("%s: channels mixed again with weights %s", path, weights)
        samples = _decode_pass(path, sample_rate, size_bytes, limit, on_progress, weights).samples
    if samples.shape[0] == 0:
        raise AudioDecodeError(f"{path}: its audio stream holds no samples")
    _warn_if_not_numbers(path, first.nonfinite, sample_rate)
    _warn_if_short(path, samples.shape[0] / sample_rate, max(declared_s, _wav_declared_s(path)))
    return Audio(samples, sample_rate)


def check_header(path: Path | str) -> None:
    """Milliseconds: raise the :class:`AudioDecodeError` that :func:`decode` would raise for a
    file that is not there, not a regular file, empty, not media, without audio, or whose
    header declares an implausible sample rate or channel count; decodes nothing."""
    path = Path(path)
    _check_file(path)
    with _decode_errors(path), av.open(str(path), metadata_errors="ignore") as container:
        _audio_stream(path, container)


def check_sample_rate(rate: int) -> str | None:
    """Why ``rate`` (Hz, from a header) cannot be a real recording's, or ``None`` if it can."""
    if MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        return None
    return (
        f"declares a sample rate of {rate} Hz, outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz "
        "(a damaged or forged header)"
    )


@contextmanager
def _decode_errors(path: Path) -> Iterator[None]:
    """FFmpeg's and the OS's errors while reading ``path`` as one-line AudioDecodeErrors."""
    try:
        yield
    except AudioDecodeError:
        raise
    except av.error.FFmpegError as error:
        raise AudioDecodeError(f"{path}: {describe_error(error)}") from error
    except (OSError, ValueError) as error:
        raise AudioDecodeError(f"{path}: cannot be decoded ({error})") from error


def _check_file(path: Path) -> int:
    """The file's size in bytes, once it is known to be a regular, non-empty file."""
    try:
        info = path.stat()
    except OSError as error:
        raise AudioDecodeError(f"{path}: {_stat_problem(path, error)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioDecodeError(f"{path}: is a directory; pass the media files inside it")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a device or socket"
        raise AudioDecodeError(
            f"{path}: is {kind}, not a regular file; save the recording to a file first"
        )
    if info.st_size == 0:
        raise AudioDecodeError(f"{path}: is empty (0 bytes)")
    return info.st_size


def _stat_problem(path: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "is a loop of symbolic links"
    if error.errno == errno.ENOENT and path.is_symlink():
        return f"is a symbolic link to {path.readlink()}, which does not exist"
    if error.errno == errno.ENOENT:
        return "no such file"
    if error.errno == errno.EACCES:
        return "permission denied"
    return f"cannot be read ({error.strerror or error})"


@dataclass(frozen=True, slots=True)
class _Limit:
    """The longest audio a caller accepts (``None``: any)."""

    path: Path
    max_s: float | None

    def check(self, duration_s: float, what: str) -> None:
        if self.max_s is not None and duration_s > self.max_s:
            raise AudioDecodeError(
                f"{self.path}: {what} {duration_text(duration_s)}, longer than the limit of "
                f"{duration_text(self.max_s)} (--max-duration)"
            )


def duration_text(seconds: float) -> str:
    """``"4.0 h"`` or ``"90 s"``: a duration for a message."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.0f} s"


@dataclass(frozen=True, slots=True)
class _Pass:
    samples: npt.NDArray[np.float32]
    declared_s: float
    covariance: npt.NDArray[np.float64]  # (channels, channels) sums of products, or (0, 0)
    nonfinite: int


def _decode_pass(
    path: Path,
    sample_rate: int,
    size_bytes: int,
    limit: _Limit,
    on_progress: Callable[[float, float], None] | None,
    weights: npt.NDArray[np.float32] | None,
) -> _Pass:
    with _decode_errors(path), av.open(str(path), metadata_errors="ignore") as container:
        stream = _audio_stream(path, container)
        declared_s = _declared_duration_s(container, stream)
        mixer = _Mixer(stream.codec_context.channels, weights)
        capacity_s = min(declared_s, size_bytes * 8 / _MIN_BITRATE_BPS, limit.max_s or np.inf)
        buffer = _SampleBuffer(int((capacity_s + _SLACK_S) * sample_rate))
        resampler: av.AudioResampler | None = None
        progress = _Progress(on_progress, sample_rate, declared_s)

        def keep(frames: list[av.AudioFrame]) -> None:
            for out in frames:
                packed = out.to_ndarray().astype(np.float32, copy=False)  # (1, n * channels)
                buffer.append(mixer.mix(packed.reshape(-1, mixer.channels).T))  # (channels, n)
            limit.check(buffer.size / sample_rate, "decodes to more than")

        rate = 0
        for index, frame in enumerate(container.decode(stream)):
            if frame.sample_rate != rate:  # checked again only when it changes
                rate = _checked_rate(path, frame)
            if resampler is None:
                _check_channels(path, frame, mixer.channels)
                # The first frame's channels out: the resampler converts, never mixes.
                resampler = av.AudioResampler(format="flt", layout=frame.layout, rate=sample_rate)
            keep(resampler.resample(frame))
            progress.report(index, buffer.size)
        if resampler is not None:
            keep(resampler.resample(None))
        return _Pass(buffer.finish(), declared_s, mixer.covariance, mixer.nonfinite)


def _audio_stream(
    path: Path, container: av.container.InputContainer
) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        kind = container.format.name
        if kind.endswith("_pipe") or kind == "image2":
            raise AudioDecodeError(f"{path}: is an image, not audio or video")
        if container.streams.video and kind not in _TEXT_FORMATS:
            raise AudioDecodeError(f"{path}: has no audio stream (a video without sound?)")
        raise AudioDecodeError(f"{path}: is not a media file we can read (no audio in it)")
    stream = container.streams.audio[0]
    rate = stream.codec_context.sample_rate
    problem = check_sample_rate(rate) if rate else None  # 0: the header does not say
    if problem is not None:
        raise AudioDecodeError(f"{path}: {problem}")
    if not 1 <= stream.codec_context.channels <= _MAX_CHANNELS:
        raise AudioDecodeError(
            f"{path}: declares {stream.codec_context.channels} channels (a damaged header)"
        )
    return stream


def _checked_rate(path: Path, frame: av.AudioFrame) -> int:
    problem = check_sample_rate(frame.sample_rate)
    if problem is not None:
        raise AudioDecodeError(f"{path}: {problem}")
    return int(frame.sample_rate)


def _check_channels(path: Path, frame: av.AudioFrame, channels: int) -> None:
    found = len(frame.layout.channels)
    if found != channels:
        raise AudioDecodeError(
            f"{path}: declares {channels} channels but holds {found} (a damaged header)"
        )


class _Progress:
    def __init__(
        self, hook: Callable[[float, float], None] | None, sample_rate: int, declared_s: float
    ) -> None:
        self._hook, self._rate, self._declared_s = hook, sample_rate, declared_s

    def report(self, index: int, samples: int) -> None:
        if self._hook is not None and index % _PROGRESS_EVERY == 0:
            self._hook(samples / self._rate, self._declared_s)


class _Mixer:
    """Mixes resampled planar frames to mono with fixed per-channel weights, and gathers
    the channel covariance (sums of products) that tells whether those weights lose sound."""

    def __init__(self, channels: int, weights: npt.NDArray[np.float32] | None) -> None:
        self.channels = channels
        self._weights = (
            weights if weights is not None else np.full(channels, 1 / channels, dtype=np.float32)
        )
        self.covariance = np.zeros((channels, channels) if channels > 1 else (0, 0))
        self.nonfinite = 0  # samples (per channel) that were NaN or infinite

    def mix(self, planar: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """One frame's mono mix, its samples that are not numbers silenced, clipped to [-1, 1]."""
        if not np.isfinite(planar.sum()):  # one pass; rare: then look sample by sample
            planar = self._silence_not_numbers(planar)
        if self.channels == 1:
            mixed: npt.NDArray[np.float32] = planar[0].copy()
        else:
            self.covariance += planar @ planar.T  # (channels, channels)
            mixed = self._weights @ planar  # (n,)
        # A float file can hold samples past full scale; clip as a 16-bit decode would.
        np.clip(mixed, -1.0, 1.0, out=mixed)
        return mixed

    def _silence_not_numbers(self, planar: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        bad = ~np.isfinite(planar)  # (channels, n)
        self.nonfinite += int(np.count_nonzero(bad.any(axis=0)))
        # Past full scale is clipped (not silenced): only the products could overflow.
        finite: npt.NDArray[np.float32] = np.clip(np.where(bad, 0.0, planar), -1.0, 1.0).astype(
            np.float32
        )
        return finite


def _better_weights(covariance: npt.NDArray[np.float64]) -> npt.NDArray[np.float32] | None:
    """Per-channel weights that keep the sound, where the plain average lost most of it.

    Silent channels get weight 0; a channel in opposite phase to the loudest one is flipped.
    ``None`` when the plain average keeps enough (the usual case: nothing is decoded again).
    """
    channels = covariance.shape[0]
    if channels < 2:
        return None
    energy = np.diag(covariance)
    loudest = int(np.argmax(energy))
    if energy[loudest] <= 0:
        return None
    active = energy >= _ACTIVE_CHANNEL * energy[loudest]
    polarity = np.where(covariance[loudest] < 0, -1.0, 1.0)
    weights = np.where(active, polarity, 0.0) / int(active.sum())
    plain = np.full(channels, 1 / channels)
    if plain @ covariance @ plain >= _MIX_LOSS * (weights @ covariance @ weights):
        return None
    return weights.astype(np.float32)


def _declared_duration_s(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float:
    """The duration the file claims (0 if it claims none); only a hint."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return 0.0


def _warn_if_not_numbers(path: Path, nonfinite: int, sample_rate: int) -> None:
    if nonfinite:
        _log.warning(
            "warning: %s: %.3f s of its samples are not numbers (NaN or infinite); "
            "they are decoded as silence",
            path,
            nonfinite / sample_rate,
        )


def _warn_if_short(path: Path, decoded_s: float, declared_s: float) -> None:
    if declared_s - decoded_s > _SHORT_MIN_S and decoded_s < _SHORT_SHARE * declared_s:
        _log.warning(
            "warning: %s: the file ends early: %.1f s decoded of the %.1f s its header "
            "declares (truncated?)",
            path,
            decoded_s,
            declared_s,
        )


def _wav_declared_s(path: Path) -> float:
    """The duration a RIFF/WAVE header's data chunk declares (FFmpeg clamps it to the file
    size, which hides a truncated WAV); 0 for other files or a streamed WAV (no size)."""
    with path.open("rb") as stream:
        head = stream.read(_WAV_HEAD_BYTES)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0.0
    byte_rate, offset = 0, 12
    while offset + 8 <= len(head):
        name, size = (
            head[offset : offset + 4],
            int.from_bytes(head[offset + 4 : offset + 8], "little"),
        )
        if name == b"fmt " and offset + 20 <= len(head):
            byte_rate = int.from_bytes(head[offset + 16 : offset + 20], "little")
        if name == b"data":
            streamed = size in (0, 0xFFFFFFFF)
            return 0.0 if streamed or byte_rate == 0 else size / byte_rate
        offset += 8 + size + (size & 1)  # chunks are padded to an even size
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
        return self._data


def describe_error(error: av.error.FFmpegError) -> str:
    """What an FFmpeg error means for the user, without the path it names."""
    if isinstance(error, av.error.InvalidDataError):
        return "is not a media file we can read, or it is corrupt or truncated"
    if isinstance(error, av.error.EOFError):
        return "ends before its audio does (truncated file?)"
    if isinstance(error, av.error.PermissionError):
        return "permission denied"
    reason = getattr(error, "strerror", None) or str(error)
    return f"cannot be decoded: {reason}"
