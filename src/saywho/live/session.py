"""Start a live engine with its models, and drive one through a recording as fast as it runs.

:func:`run_simulated` feeds a recording chunk by chunk on a clock that reads the audio fed
so far (:class:`FedClock`): the engine decides exactly as it would live, without the waiting,
so tests and quality benchmarks run faster than real time and measure latency in stream
seconds.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from saywho.asr.whisper import WhisperRecognizer
from saywho.config import LiveConfig, PipelineConfig, RecognizeConfig
from saywho.device import resolve_device
from saywho.engines import Engines, Recognizer
from saywho.errors import ConfigError
from saywho.identify.naming import Identification
from saywho.live.engine import Clock, LiveEngine, LiveUpdate
from saywho.live.window import WindowDiarizer
from saywho.pipeline import Pipeline
from saywho.types import SAMPLE_RATE, Transcript

__all__ = ["FedClock", "LiveModels", "live_decoding", "open_engine", "run_simulated"]


class FedClock:
    """A clock that reads the stream time of the audio fed so far."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        """Seconds of audio fed so far."""
        return self.now_s


def live_decoding(config: RecognizeConfig) -> RecognizeConfig:
    """Whisper decodes the stream greedily, once: a beam of 5 and the retries at higher
    temperatures cost 1.6 times the time per step (tiny.en, 2 cores) for words the next step
    checks anyway. The final pass keeps the configured settings."""
    return dataclasses.replace(config, beam_size=1, best_of=1, temperature_increment=None)


class LiveModels:
    """The models of live sessions, loaded once: the pipeline (the final pass, VAD), its
    Whisper with the stream's decoding settings, and the window diarizer."""

    def __init__(self, config: PipelineConfig, engines: Engines | None = None) -> None:
        if not config.recognize.enabled:
            raise ConfigError("live transcription needs recognition switched on")
        self.pipeline = Pipeline(config, engines=engines)
        recognizer = self.pipeline.engines.recognizer
        if recognizer is None:  # engines given without the Whisper the config asks for
            raise ConfigError("live transcription needs a recognizer")
        if isinstance(recognizer, WhisperRecognizer):
            recognizer = recognizer.with_config(live_decoding(config.recognize))
        self.recognizer: Recognizer = recognizer
        threads = config.recognize.threads or os.cpu_count() or 1
        self.windows = WindowDiarizer(threads, resolve_device(config.recognize.device))


def open_engine(
    models: LiveModels,
    live: LiveConfig | None = None,
    *,
    clock: Clock,
    voices: Identification | None = None,
    recording: Path | None = None,
) -> LiveEngine:
    """A new live session on ``models`` (``recording``: the WAV file to keep the stream in)."""
    return LiveEngine(
        models.pipeline,
        live,
        recognizer=models.recognizer,
        window_diarizer=models.windows,
        clock=clock,
        voices=voices,
        recording=recording,
    )


def run_simulated(
    engine: LiveEngine,
    clock: FedClock,
    samples: npt.NDArray[np.float32],
    *,
    chunk_s: float = 0.1,
    on_update: Callable[[LiveUpdate], None] | None = None,
) -> Transcript:
    """Feed 16 kHz ``samples`` to ``engine`` in chunks of ``chunk_s``, stepping whenever a
    step is due on ``clock`` (the engine's clock), then finish the stream."""
    chunk = max(1, round(chunk_s * SAMPLE_RATE))
    for first in range(0, samples.shape[0], chunk):
        piece = samples[first : first + chunk]
        engine.feed(piece)
        clock.now_s += piece.shape[0] / SAMPLE_RATE
        if engine.due():
            update = engine.step()
            if on_update is not None:
                on_update(update)
    return engine.finish()
