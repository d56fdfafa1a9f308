"""The live diarizer's adapter: segmentation-3.0 and CAM++ on one 10 s window at a time.

A window is the last 10 s of the stream, starting on the segmentation frame grid
(:data:`saywho.diarize.segment.GRID`), so every window's frames fall on the stream's frames.
A local speaker that holds two voices is split first, as offline (:mod:`saywho.diarize.split`;
the prints of its runs are kept by their stream frames, so a turn that ten windows see is
embedded about once: :class:`RunPrints`). Each local speaker gets a voice print from the
frames where it talks alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saywho import models
from saywho.config import EMBEDDING_MODEL, SEGMENTATION_MODEL
from saywho.device import Resolved
from saywho.diarize.diarizer import (
    SPLIT_RUN_MAX_S,
    SPLIT_TOLERANCE_S,
    Diarizer,
    diarization_models,
)
from saywho.diarize.embed import EMBEDDING_DIM, MIN_SAMPLES, Embedder
from saywho.diarize.requests import alone, frames_to_samples
from saywho.diarize.segment import (
    FRAME_STEP_SAMPLES,
    FRAMES_PER_WINDOW,
    GRID,
    RECEPTIVE_FIELD_SAMPLES,
    WINDOW_SAMPLES,
    Segmenter,
    frames_clip,
)
from saywho.diarize.split import Stretches, apply_splits, run_candidates, second_voices
from saywho.types import SAMPLE_RATE, Audio, ModelInfo

__all__ = ["LocalSpeakers", "RunPrints", "WindowDiarizer", "window_start"]

MIN_PRINT_S = 0.5
"""A local speaker with less clean speech than this in a window gets no voice print."""
TAIL_S = 1.5
"""A local speaker with twice this much clean speech also gets a print of its newest stretch
of this length (its *tail*: where the words waiting for a speaker are), or of its newest run
if a pause comes sooner (a voice after a pause may be another; at least ``MIN_PRINT_S``)."""
_TAIL_FRAMES = round(TAIL_S * SAMPLE_RATE / FRAME_STEP_SAMPLES)
_MIN_TAIL_FRAMES = round(MIN_PRINT_S * SAMPLE_RATE / FRAME_STEP_SAMPLES)


@dataclass(frozen=True, slots=True, eq=False)
class LocalSpeakers:
    """One window's local speakers: ``activity`` (589, 3) of 0/1 starting at stream frame
    ``first_frame``; ``prints`` (3, 192) voice prints and ``clean_s`` (3,) the clean seconds
    behind each (0 and a zero print where a local speaker has too little); and the prints of
    their newest stretches (segmentation may hold a new voice in the local speaker of the one
    before for its first windows: the tail tells)."""

    first_frame: int
    activity: npt.NDArray[np.float32]
    prints: npt.NDArray[np.float32]
    clean_s: npt.NDArray[np.float64]
    tail_prints: npt.NDArray[np.float32] | None = None
    """(3, 192): a print of each local speaker's last ``TAIL_S`` of clean speech, not reaching
    back past a pause (zero where it has less than twice that in all, or its newest run less
    than ``MIN_PRINT_S``)."""
    tail_first: npt.NDArray[np.int64] | None = None
    """(3,): the window frame where each tail starts (-1: no tail)."""
    window: npt.NDArray[np.float32] | None = None
    """The window's samples, to embed more of it (:meth:`WindowDiarizer.print_before`)."""


class RunPrints:
    """One stream's split settings and the voice prints of the runs it has embedded, by their
    stretch of stream frames (found again within ``SPLIT_TOLERANCE_S`` at both ends). Runs that
    ended before the current window are forgotten now and then: no window sees them again."""

    KEEP = 256
    """Past this many prints kept, those of runs behind the current window are dropped."""

    def __init__(self, threshold: float, min_run_s: float) -> None:
        self.threshold = threshold
        self.min_run_frames = round(min_run_s / GRID.step_s)
        self._stretches = Stretches(round(SPLIT_TOLERANCE_S / GRID.step_s))
        self._prints: list[npt.NDArray[np.float32]] = []

    def prints(
        self,
        stretches: tuple[tuple[int, int], ...],
        window: npt.NDArray[np.float32],
        first_frame: int,
        embedder: Embedder,
    ) -> npt.NDArray[np.float32]:
        """The prints of ``stretches`` (stream frames inside ``window``, which starts at stream
        frame ``first_frame``), shape (n, dim): those met before from memory."""
        if len(self._prints) > self.KEEP:
            self._forget_before(first_frame)
        index = [self._stretches.find(first, last) for first, last in stretches]
        new = [k for k, found in enumerate(index) if found < 0]
        if new:
            clips = [
                frames_clip(window, stretches[k][0] - first_frame, stretches[k][1] - first_frame)
                for k in new
            ]
            for k, print_ in zip(new, embedder.embed(clips), strict=True):
                index[k] = self._stretches.add(*stretches[k])
                self._prints.append(print_)
        return np.stack([self._prints[k] for k in index])

    def __len__(self) -> int:
        return len(self._prints)

    def _forget_before(self, frame: int) -> None:
        kept = [
            (stretch, print_)
            for stretch, print_ in zip(self._stretches.all, self._prints, strict=True)
            if stretch[1] > frame
        ]
        self._stretches = Stretches(self._stretches.tolerance)
        self._prints = []
        for stretch, print_ in kept:
            self._stretches.add(*stretch)
            self._prints.append(print_)


def window_start(end_sample: int) -> int:
    """The stream frame where the 10 s window ending near ``end_sample`` starts (≥ 0)."""
    return max(0, (end_sample - WINDOW_SAMPLES) // FRAME_STEP_SAMPLES)


class WindowDiarizer:
    """segmentation-3.0 + CAM++ (ONNX) on one window at a time: the pipeline diarizer's
    loaded models (:meth:`sharing`), or its own (:meth:`load`)."""

    def __init__(self, segmenter: Segmenter, embedder: Embedder) -> None:
        self._segmenter = segmenter
        self._embedder = embedder

    @classmethod
    def sharing(cls, diarizer: Diarizer) -> WindowDiarizer:
        """On the models ``diarizer`` loaded (the final pass runs after the stream)."""
        return cls(diarizer.segmenter, diarizer.embedder)

    @classmethod
    def load(cls, threads: int, device: Resolved = "cpu") -> WindowDiarizer:
        """Load both models (their threads sleep when idle: Whisper computes meanwhile)."""
        return cls(
            Segmenter(models.model_file(SEGMENTATION_MODEL), threads, device, spinning=False),
            Embedder(models.model_file(EMBEDDING_MODEL), threads, device, spinning=False),
        )

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        """The two models, with their sha256."""
        return diarization_models()

    def local_speakers(
        self,
        window: npt.NDArray[np.float32],
        first_frame: int,
        split: RunPrints | None = None,
    ) -> LocalSpeakers:
        """The local speakers of ``window`` (at most 10 s of 16 kHz samples starting at stream
        frame ``first_frame``; a shorter window is padded with silence); ``split``: the
        stream's memory of run prints, to split a local speaker holding two voices."""
        local = self._segmenter.local_activity(Audio(window, SAMPLE_RATE), step_s=10.0)
        activity = local.activity[0]  # (589, 3)
        if split is not None:
            activity = self._split(activity, local.n_frames, window, first_frame, split)
        clean = alone(activity[: local.n_frames])  # (frames, 3)
        clean_s = np.zeros(3, dtype=np.float64)
        tail_first = np.full(3, -1, dtype=np.int64)
        clips, slots = [], []  # slot k: local speaker k's print, 3 + k: its tail's
        for speaker in range(3):
            frames = clean[:, speaker]
            seconds = float(frames.sum()) * FRAME_STEP_SAMPLES / SAMPLE_RATE
            if seconds < MIN_PRINT_S:
                continue
            clip = self._clip(window, frames)
            if clip.shape[0] < MIN_SAMPLES:
                continue
            clips.append(clip)
            slots.append(speaker)
            clean_s[speaker] = seconds
            tail = (
                _newest(frames, activity[: local.n_frames, speaker] > 0, frames.shape[0])
                if seconds >= 2 * TAIL_S
                else None
            )
            if tail is not None:
                clips.append(self._clip(window, tail))
                slots.append(3 + speaker)
                tail_first[speaker] = int(np.argmax(tail))
        prints = np.zeros((6, EMBEDDING_DIM), dtype=np.float32)  # 3 local speakers, 3 tails
        if clips:
            prints[slots] = self._embedder.embed(clips)
        return LocalSpeakers(
            first_frame,
            activity[: local.n_frames],
            prints[:3],
            clean_s,
            prints[3:],
            tail_first,
            window,
        )

    def print_before(
        self, local: LocalSpeakers, speaker: int, before: int
    ) -> tuple[int, npt.NDArray[np.float32]] | None:
        """The window frame where local ``speaker``'s last ``TAIL_S`` of clean speech before
        window frame ``before`` starts (not reaching back past a pause), and a print of it;
        ``None`` if it has less than ``MIN_PRINT_S`` there."""
        if local.window is None:
            return None
        stretch = _newest(alone(local.activity)[:, speaker], local.activity[:, speaker] > 0, before)
        if stretch is None:
            return None
        return int(np.argmax(stretch)), self._embedder.embed([self._clip(local.window, stretch)])[0]

    @staticmethod
    def _clip(
        window: npt.NDArray[np.float32], frames: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float32]:
        mask = frames_to_samples(
            frames, FRAME_STEP_SAMPLES, RECEPTIVE_FIELD_SAMPLES // 2, window.shape[0]
        )
        clip: npt.NDArray[np.float32] = window[mask]
        return clip

    def _split(
        self,
        activity: npt.NDArray[np.float32],
        n_frames: int,
        window: npt.NDArray[np.float32],
        first_frame: int,
        split: RunPrints,
    ) -> npt.NDArray[np.float32]:
        """``activity`` (589, 3) with a second voice of a local speaker in a free slot."""
        moves = second_voices(
            run_candidates(activity[None], split.min_run_frames),
            np.array([first_frame], dtype=np.int64),
            first_frame + n_frames,
            lambda stretches: split.prints(stretches, window, first_frame, self._embedder),
            threshold=split.threshold,
            frames_per_window=FRAMES_PER_WINDOW,
            max_frames=round(SPLIT_RUN_MAX_S / GRID.step_s),
            tolerance_frames=round(SPLIT_TOLERANCE_S / GRID.step_s),
        )
        if not moves:
            return activity
        split_activity: npt.NDArray[np.float32] = apply_splits(activity[None], moves)[0]
        return split_activity


def _newest(
    clean: npt.NDArray[np.bool_], talking: npt.NDArray[np.bool_], before: int
) -> npt.NDArray[np.bool_] | None:
    """The last ``TAIL_S`` of ``clean`` frames before frame ``before``, not reaching back past
    a pause in ``talking`` (a new voice after a pause is on its own), as a mask of the same
    shape; ``None`` when there is less than ``MIN_PRINT_S`` there."""
    chosen = np.flatnonzero(clean[:before])[-_TAIL_FRAMES:]
    if chosen.size == 0:
        return None
    paused = np.flatnonzero(~talking[: chosen[-1]])
    if paused.size:
        chosen = chosen[chosen > paused[-1]]
    if chosen.size < _MIN_TAIL_FRAMES:
        return None
    stretch = np.zeros_like(clean)
    stretch[chosen] = True
    return stretch
