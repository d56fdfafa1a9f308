"""The engines the pipeline drives, each behind a small Protocol, and the one factory.

A test double or another engine stands in for any of them: give :class:`Engines` to
``Pipeline(config, engines=...)``. :func:`load_engines` loads the real ones a config asks for
(Silero VAD, faster-whisper, the segmentation-3.0 + CAM++ diarizer).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from saywho.config import PipelineConfig, VadConfig
from saywho.errors import ConfigError
from saywho.identify.naming import Identification
from saywho.types import Audio, Diarization, ModelInfo, Recognition, Span, StageHook

__all__ = [
    "Engines",
    "LanguageDetector",
    "Recognizer",
    "SpeakerDiarizer",
    "SpeechDetector",
    "StageHook",
    "Voices",
    "load_engines",
]


class SpeechDetector(Protocol):
    """Finds the speech regions of a recording (VAD)."""

    @property
    def info(self) -> ModelInfo:
        """The model, with its sha256."""
        ...

    def detect(self, audio: Audio, config: VadConfig) -> tuple[Span, ...]:
        """The speech regions of ``audio``, in order."""
        ...


class Recognizer(Protocol):
    """Speech to timed words (Whisper)."""

    @property
    def info(self) -> ModelInfo:
        """The model, with its sha256."""
        ...

    def recognize(
        self,
        samples: npt.NDArray[np.float32],
        on_progress: Callable[[float], None] | None = None,
        *,
        language: str | None = None,
        prompt: str | None = None,
    ) -> Recognition:
        """What is said in 16 kHz ``samples``, on their clock; ``on_progress(done_s)``;
        ``language`` and ``prompt`` (the text before) override the configured ones."""
        ...


class LanguageDetector(Protocol):
    """Which language is spoken (Whisper's detection, on its 30 s window)."""

    def detect_language(self, samples: npt.NDArray[np.float32]) -> tuple[str, float]:
        """The language of the first 30 s of 16 kHz ``samples`` and its probability."""
        ...


class SpeakerDiarizer(Protocol):
    """Who spoke when."""

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        """Its models, with their sha256."""
        ...

    def diarize(self, audio: Audio, progress: StageHook | None = None) -> Diarization:
        """The speaker turns of ``audio``; ``progress(stage, done_s, total_s)``."""
        ...


class Voices(Protocol):
    """Enrolled voices for the identify stage: an :class:`Identification` is a fixed set;
    :class:`saywho.identify.service.LibraryVoices` reads a library as it is at each file."""

    def identification(self) -> Identification | None:
        """The voices to name speakers after, or ``None`` for none."""
        ...


@dataclass(frozen=True, slots=True)
class Engines:
    """The engines of one pipeline; ``None`` where the config switches the stage off."""

    detector: SpeechDetector | None
    recognizer: Recognizer | None
    diarizer: SpeakerDiarizer | None

    def check(self, config: PipelineConfig) -> None:
        """Raise :class:`ConfigError` unless these are the engines ``config`` switches on."""
        recognizing = config.recognize.enabled
        wanted = {
            "detector": recognizing and config.vad.enabled,
            "recognizer": recognizing,
            "diarizer": config.diarize.enabled,
        }
        for name, on in wanted.items():
            if (getattr(self, name) is not None) != on:
                state = "on" if on else "off"
                raise ConfigError(f"the config switches the {name} {state}; its engine does not")
        if not recognizing and not config.diarize.enabled:
            raise ConfigError("nothing to do: both recognition and diarization are switched off")


def load_engines(config: PipelineConfig) -> Engines:
    """Load the engines ``config`` asks for (each model once; reuse them for many files)."""
    from saywho.asr.whisper import WhisperRecognizer
    from saywho.device import resolve_device
    from saywho.diarize.diarizer import Diarizer
    from saywho.vad.silero import SileroVad

    recognizing = config.recognize.enabled
    if not recognizing and not config.diarize.enabled:
        raise ConfigError("nothing to do: both recognition and diarization are switched off")
    threads = config.recognize.threads or os.cpu_count() or 1
    # With the attribute strategy the diarizer runs beside Whisper (Pipeline's default):
    # its idle threads sleep rather than spin, which measured 10 s less CPU and 10 % less
    # wall time on a 4-minute file on 2 cores.
    beside = recognizing and config.attribute.strategy == "attribute"
    return Engines(
        detector=SileroVad() if recognizing and config.vad.enabled else None,
        recognizer=WhisperRecognizer(config.recognize) if recognizing else None,
        diarizer=(
            Diarizer(
                config.diarize,
                threads=threads,
                device=resolve_device(config.recognize.device),
                beside=beside,
            )
            if config.diarize.enabled
            else None
        ),
    )
