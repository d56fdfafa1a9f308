"""Silero VAD v6 (the ONNX file shipped in the faster-whisper package), run with onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from saywho import models
from saywho.config import VadConfig
from saywho.onnxrt import load_session
from saywho.types import SAMPLE_RATE, Audio, ModelInfo, Span
from saywho.vad.regions import speech_regions

__all__ = ["SileroVad"]

_MODEL = "silero-vad-v6"
_WINDOW = 512  # samples per probability: 32 ms at 16 kHz
_CONTEXT = 64  # samples of the previous window the model sees in front of each window
_BATCH = 2_000  # windows per session call: as fast as more, and memory stays small
_STATE_SHAPE = (1, 1, 128)


class SileroVad:
    """Speech probabilities every 32 ms, and speech regions from them."""

    frame_s = _WINDOW / SAMPLE_RATE

    def __init__(self, path: Path | None = None) -> None:
        path = path if path is not None else models.model_file(_MODEL)
        self.info = ModelInfo(_MODEL, "vad", models.spec(_MODEL).sha256)
        # A small recurrent model: one thread is as fast as more, and leaves the cores free;
        # no memory arena, so nothing of its working memory stays held during the next stages.
        self._session = load_session(path, threads=1, memory_arena=False)

    def probabilities(self, audio: Audio) -> npt.NDArray[np.float32]:
        """Speech probability of each 32 ms window of ``audio``; shape (ceil(n / 512),)."""
        if audio.sample_rate != SAMPLE_RATE:
            raise ValueError(f"Silero VAD needs {SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
        samples = audio.samples
        n_windows = -(-samples.shape[0] // _WINDOW)
        state = np.zeros((2, *_STATE_SHAPE), dtype=np.float32)
        outputs = []
        for first in range(0, n_windows, _BATCH):
            batch = _windows_with_context(samples, first, min(first + _BATCH, n_windows))
            probability, h, c = self._session.run(
                None, {"input": batch, "h": state[0], "c": state[1]}
            )
            state = np.stack([h, c])
            outputs.append(np.asarray(probability, dtype=np.float32).reshape(-1))
        if not outputs:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(outputs)

    def detect(self, audio: Audio, config: VadConfig) -> tuple[Span, ...]:
        """The speech regions of ``audio``."""
        return speech_regions(self.probabilities(audio), self.frame_s, audio.duration_s, config)


def _windows_with_context(
    samples: npt.NDArray[np.float32], first: int, last: int
) -> npt.NDArray[np.float32]:
    """Windows ``first..last`` of 512 samples, each preceded by 64 samples of context."""
    begin = max(0, first * _WINDOW - _CONTEXT)
    chunk = samples[begin : last * _WINDOW]
    lead = _CONTEXT - (first * _WINDOW - begin)
    total = _CONTEXT + (last - first) * _WINDOW
    padded = np.zeros(total, dtype=np.float32)
    padded[lead : lead + chunk.shape[0]] = chunk
    # Each row: 64 context samples followed by its own 512 samples.
    index = np.arange(last - first)[:, None] * _WINDOW + np.arange(_WINDOW + _CONTEXT)[None, :]
    windows: npt.NDArray[np.float32] = padded[index]  # (n, 576)
    return windows
