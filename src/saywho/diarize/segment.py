"""pyannote segmentation-3.0 (ONNX) over sliding 10 s windows: local speakers per window.

The network sees 10 s (160 000 samples) and answers every 270 samples (16.875 ms) with a
powerset class over three local speakers; its receptive field is 991 samples, so frame
``j`` of a window starting at sample ``s`` is centred on sample ``s + 270 j + 495.5``.
Windows start on multiples of the frame step, so every window's frames fall on one grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from saywho.device import Resolved
from saywho.diarize.powerset import expected_count, to_multilabel
from saywho.diarize.reconstruct import FrameGrid
from saywho.onnxrt import in_order, load_session, side_by_side
from saywho.types import SAMPLE_RATE, Audio

__all__ = ["FRAME_STEP_SAMPLES", "LocalActivity", "Segmenter", "frames_clip", "window_starts"]

WINDOW_SAMPLES = 160_000
FRAME_STEP_SAMPLES = 270
RECEPTIVE_FIELD_SAMPLES = 991
FRAMES_PER_WINDOW = 589
_IN_FLIGHT = 4  # windows being run at once: as fast as 16, and a quarter of the memory

GRID = FrameGrid(
    step_s=FRAME_STEP_SAMPLES / SAMPLE_RATE, offset_s=RECEPTIVE_FIELD_SAMPLES / 2 / SAMPLE_RATE
)


@dataclass(frozen=True, slots=True, eq=False)
class LocalActivity:
    """Each window's local speakers: ``activity`` (windows, 589, 3) of 0/1, the expected
    number of people talking in each frame, ``count`` (windows, 589), and the recording
    frame where each window starts, ``window_start`` (windows,)."""

    activity: npt.NDArray[np.float32]
    count: npt.NDArray[np.float32]
    window_start: npt.NDArray[np.int64]
    n_frames: int


def window_starts(n_samples: int, step_frames: int) -> npt.NDArray[np.int64]:
    """Start frames of windows every ``step_frames`` frames, the last one reaching the end."""
    step = step_frames * FRAME_STEP_SAMPLES
    last = max(0, n_samples - WINDOW_SAMPLES)
    count = -(-last // step) + 1
    return np.arange(count, dtype=np.int64) * step_frames  # (count,)


class Segmenter:
    """segmentation-3.0 with onnxruntime.

    On the CPU, ``threads`` calls (each a few windows) run at once, each on one core: the
    network shares a call poorly between cores (on 2 cores, 15.2-15.6 ms a window two calls
    at a time, 19.0 ms one call of four at a time on both). The answers are the same.
    """

    def __init__(
        self, path: Path, threads: int, device: Resolved = "cpu", *, spinning: bool = True
    ) -> None:
        self._workers, session_threads = side_by_side(threads, device)
        self._session = load_session(path, session_threads, device=device, spinning=spinning)
        self._input = self._session.get_inputs()[0].name

    def local_activity(
        self,
        audio: Audio,
        step_s: float,
        on_progress: Callable[[float], None] | None = None,
    ) -> LocalActivity:
        """Run the network on every window of ``audio`` (16 kHz), ``step_s`` apart."""
        step_frames = max(1, round(step_s * SAMPLE_RATE / FRAME_STEP_SAMPLES))
        starts = window_starts(audio.samples.shape[0], step_frames)
        activity = np.zeros((starts.shape[0], FRAMES_PER_WINDOW, 3), dtype=np.float32)
        count = np.zeros((starts.shape[0], FRAMES_PER_WINDOW), dtype=np.float32)
        workers = min(self._workers, starts.shape[0])
        size = max(1, _IN_FLIGHT // workers)  # windows per call
        firsts = range(0, starts.shape[0], size)

        def run(first: int) -> npt.NDArray[np.float32]:
            batch = starts[first : first + size]
            chunks = np.stack([_window(audio.samples, int(s) * FRAME_STEP_SAMPLES) for s in batch])
            (log_probabilities,) = self._session.run(None, {self._input: chunks[:, None, :]})
            return np.asarray(log_probabilities, dtype=np.float32)  # (batch, frames, classes)

        answers = in_order(run, firsts, workers, "saywho-segment")
        for first, log_probabilities in zip(firsts, answers, strict=True):
            last = first + log_probabilities.shape[0]
            activity[first:last] = to_multilabel(log_probabilities)
            count[first:last] = expected_count(log_probabilities)
            if on_progress is not None:
                end = int(starts[last - 1]) * FRAME_STEP_SAMPLES + WINDOW_SAMPLES
                on_progress(min(audio.duration_s, end / SAMPLE_RATE))
        # Frames centred past the last sample only saw the last window's zero padding.
        centre = RECEPTIVE_FIELD_SAMPLES // 2
        heard = max(0, (audio.samples.shape[0] - centre) // FRAME_STEP_SAMPLES + 1)
        n_frames = min(int(starts[-1]) + FRAMES_PER_WINDOW, heard)
        return LocalActivity(activity, count, starts, n_frames)


def _window(samples: npt.NDArray[np.float32], start: int) -> npt.NDArray[np.float32]:
    chunk = samples[start : start + WINDOW_SAMPLES]
    if chunk.shape[0] == WINDOW_SAMPLES:
        return chunk
    padded = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    padded[: chunk.shape[0]] = chunk
    return padded


def frames_clip(samples: npt.NDArray[np.float32], first: int, last: int) -> npt.NDArray[np.float32]:
    """The samples under frames ``first`` to ``last`` (exclusive) of the frame grid that
    starts at ``samples[0]``."""
    half = FRAME_STEP_SAMPLES // 2
    start = max(0, first * FRAME_STEP_SAMPLES + RECEPTIVE_FIELD_SAMPLES // 2 - half)
    stop = (last - 1) * FRAME_STEP_SAMPLES + RECEPTIVE_FIELD_SAMPLES // 2 + half
    clip: npt.NDArray[np.float32] = samples[start:stop]
    return clip
