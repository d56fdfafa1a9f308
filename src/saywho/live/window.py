"""The live diarizer's adapter: segmentation-3.0 and CAM++ on one 10 s window at a time.

A window is the last 10 s of the stream, starting on the segmentation frame grid
(:data:`saywho.diarize.segment.GRID`), so every window's frames fall on the stream's frames.
Each local speaker gets a voice print from the frames where it talks alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saywho import models
from saywho.config import EMBEDDING_MODEL, SEGMENTATION_MODEL
from saywho.device import Resolved
from saywho.diarize.diarizer import Diarizer, diarization_models
from saywho.diarize.embed import EMBEDDING_DIM, MIN_SAMPLES, Embedder
from saywho.diarize.requests import frames_to_samples
from saywho.diarize.segment import (
    FRAME_STEP_SAMPLES,
    RECEPTIVE_FIELD_SAMPLES,
    WINDOW_SAMPLES,
    Segmenter,
)
from saywho.types import SAMPLE_RATE, Audio, ModelInfo

__all__ = ["LocalSpeakers", "WindowDiarizer", "window_start"]

MIN_PRINT_S = 0.5
"""A local speaker with less clean speech than this in a window gets no voice print."""


@dataclass(frozen=True, slots=True, eq=False)
class LocalSpeakers:
    """One window's local speakers: ``activity`` (589, 3) of 0/1 starting at stream frame
    ``first_frame``; ``prints`` (3, 192) voice prints and ``clean_s`` (3,) the clean seconds
    behind each (0 and a zero print where a local speaker has too little)."""

    first_frame: int
    activity: npt.NDArray[np.float32]
    prints: npt.NDArray[np.float32]
    clean_s: npt.NDArray[np.float64]


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

    def local_speakers(self, window: npt.NDArray[np.float32], first_frame: int) -> LocalSpeakers:
        """The local speakers of ``window`` (at most 10 s of 16 kHz samples starting at stream
        frame ``first_frame``; a shorter window is padded with silence)."""
        local = self._segmenter.local_activity(Audio(window, SAMPLE_RATE), step_s=10.0)
        activity = local.activity[0]  # (589, 3)
        alone = activity * (activity.sum(axis=1, keepdims=True) == 1)  # (589, 3)
        prints = np.zeros((3, EMBEDDING_DIM), dtype=np.float32)
        clean_s = np.zeros(3, dtype=np.float64)
        clips, speakers = [], []
        for speaker in range(3):
            frames = alone[: local.n_frames, speaker] > 0
            seconds = float(frames.sum()) * FRAME_STEP_SAMPLES / SAMPLE_RATE
            if seconds < MIN_PRINT_S:
                continue
            mask = frames_to_samples(
                frames, FRAME_STEP_SAMPLES, RECEPTIVE_FIELD_SAMPLES // 2, window.shape[0]
            )
            clip = window[mask]
            if clip.shape[0] >= MIN_SAMPLES:
                clips.append(clip)
                speakers.append(speaker)
                clean_s[speaker] = seconds
        if clips:
            prints[speakers] = self._embedder.embed(clips)
        return LocalSpeakers(first_frame, activity[: local.n_frames], prints, clean_s)
