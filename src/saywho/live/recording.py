"""The stream as it arrives: the audio the engine still reads at hand, the whole of it in a
WAV file.

The engine reads the last few tens of seconds (Whisper's buffer, the diarization window) and
releases what it is done with; the final pass reads the whole recording. With a file, memory
stays flat however long the stream runs (16-bit PCM, written as it arrives); without one,
every sample is also kept in memory.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from saywho.types import SAMPLE_RATE, Audio

__all__ = ["Recording"]


class Recording:
    """A growing recording; :meth:`append` may run on another thread than the readers."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._chunks: list[npt.NDArray[np.float32]] = []
        self._first_sample = 0  # stream sample of self._chunks' first sample
        self._kept = 0  # samples in self._chunks
        self._total = 0
        self._whole: list[npt.NDArray[np.float32]] = []  # every chunk, when there is no file
        self._wav: wave.Wave_write | None = None
        if path is not None:
            self._wav = wave.open(str(path), "wb")  # noqa: SIM115 (closed in close())
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(SAMPLE_RATE)

    @property
    def duration_s(self) -> float:
        """Seconds received so far."""
        with self._lock:
            return self._total / SAMPLE_RATE

    def append(self, samples: npt.NDArray[np.float32]) -> None:
        """Add 16 kHz mono samples (NaN becomes silence; every other sample, infinities too,
        is clipped to [-1, 1])."""
        chunk = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1), nan=0.0)
        chunk = np.clip(chunk, -1.0, 1.0)
        if chunk.shape[0] == 0:
            return
        with self._lock:
            if self._wav is not None:
                self._wav.writeframes((chunk * 32767).astype("<i2").tobytes())
            else:
                self._whole.append(chunk)
            self._chunks.append(chunk)
            self._kept += chunk.shape[0]
            self._total += chunk.shape[0]

    def samples(self, start_s: float, end_s: float) -> npt.NDArray[np.float32]:
        """The samples from ``start_s`` to ``end_s`` (a copy; fewer where the stream has not
        reached ``end_s``); :class:`ValueError` if ``start_s`` was released."""
        with self._lock:
            first = round(start_s * SAMPLE_RATE) - self._first_sample
            if first < 0:
                raise ValueError(f"the audio at {start_s:.2f} s was released")
            recent = self._joined()
            last = max(first, round(end_s * SAMPLE_RATE) - self._first_sample)
            return recent[first:last].copy()

    def close(self) -> Audio | Path:
        """Stop recording: the file's path, or the whole audio when there is no file."""
        with self._lock:
            if self._wav is not None:
                self._wav.close()
                self._wav = None
            if self.path is not None:
                return self.path
            whole = np.concatenate(self._whole) if self._whole else np.zeros(0, np.float32)
            return Audio(whole, SAMPLE_RATE)

    def release(self, before_s: float) -> None:
        """The engine no longer reads the audio before ``before_s``: let it go (the file, or
        the whole audio kept without one, still has it)."""
        with self._lock:
            drop = min(self._kept, round(before_s * SAMPLE_RATE) - self._first_sample)
            if drop <= 0:
                return
            self._chunks = [self._joined()[drop:].copy()]
            self._kept -= drop
            self._first_sample += drop

    def _joined(self) -> npt.NDArray[np.float32]:
        """The samples at hand as one array (kept joined for the next read)."""
        if len(self._chunks) != 1:
            joined = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
            self._chunks = [joined]
        return self._chunks[0]
