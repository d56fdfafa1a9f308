"""Start a live engine with its models, and drive one through a recording as fast as it runs.

:func:`run_simulated` feeds a recording chunk by chunk on a clock that reads the audio fed
so far (:class:`FedClock`): the engine decides exactly as it would live, without the waiting,
so tests and quality benchmarks run faster than real time and measure latency in stream
seconds.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from saywho.asr.whisper import WhisperRecognizer
from saywho.config import LiveConfig, PipelineConfig, RecognizeConfig
from saywho.device import resolve_device
from saywho.diarize.diarizer import Diarizer
from saywho.engines import Engines, LanguageDetector, Recognizer
from saywho.errors import ConfigError
from saywho.identify.naming import Identification
from saywho.live.engine import Clock, Fallback, LiveEngine, LiveUpdate
from saywho.live.window import WindowDiarizer
from saywho.pipeline import Pipeline
from saywho.types import SAMPLE_RATE, Transcript

__all__ = [
    "LIVE_MODEL",
    "FedClock",
    "LiveModels",
    "live_decoding",
    "open_engine",
    "run_simulated",
    "stream_paced",
    "stream_simulated",
    "with_live_model",
]

_IDLE_S = 0.02
"""How long the stepping thread waits between checks when no step is due."""


class FedClock:
    """A clock that reads the stream time of the audio fed so far."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        """Seconds of audio fed so far."""
        return self.now_s


LIVE_MODEL = "tiny.en"
"""The live default: Whisper base takes about twice tiny.en's time per step on 2 cores."""


def with_live_model(config: PipelineConfig) -> PipelineConfig:
    """``config`` with :data:`LIVE_MODEL` for a stream in English (or of no language given)."""
    if config.recognize.language not in (None, "en"):
        return config
    return dataclasses.replace(
        config, recognize=dataclasses.replace(config.recognize, model=LIVE_MODEL)
    )


_STREAM_TOKENS_PER_S = 12.0
"""A stream's decoding stops after this many tokens per second of buffer: twice the engine's
6 words a second, past which a recognition is a repetition loop and dropped. A loop otherwise
runs to Whisper's 448 tokens: base on 2 cores spent 2.8 s on such a step instead of 0.6 s,
and fell back to tiny.en."""

_STREAM_WINDOW_S = 15.0
"""A stream's buffer of up to 13 s is encoded padded to 15 s rather than 30 s: base's encoder
takes 84 ms on 2 cores for 15 s and 384 ms for 30 s. It put base's median delay on a 10.5-minute
real-time run from 3.9 s to 2.4 s (see docs/live.md)."""


def live_decoding(config: RecognizeConfig) -> RecognizeConfig:
    """Whisper decodes the stream greedily, once: a beam of 5 and the retries at higher
    temperatures cost 1.6 times the time per step (tiny.en, 2 cores) for words the next step
    checks anyway. The final pass keeps the configured settings."""
    return dataclasses.replace(config, beam_size=1, best_of=1, temperature_increment=None)


class LiveModels:
    """The models of live sessions, loaded once: the pipeline (the final pass, VAD), its
    Whisper with the stream's decoding settings, and the window diarizer; and, for a stream
    on a Whisper larger than :data:`LIVE_MODEL`, that one as a :attr:`fallback` when the
    machine cannot keep up (loaded the first time a session needs it, then shared)."""

    def __init__(self, config: PipelineConfig, engines: Engines | None = None) -> None:
        if not config.recognize.enabled:
            raise ConfigError("live transcription needs recognition switched on")
        self.pipeline = Pipeline(config, engines=engines)
        recognizer = self.pipeline.engines.recognizer
        if recognizer is None:  # engines given without the Whisper the config asks for
            raise ConfigError("live transcription needs a recognizer")
        self.recognizer: Recognizer = _for_the_stream(recognizer, config)
        self._smaller = _Smaller(config.recognize)
        diarizer = self.pipeline.engines.diarizer
        if isinstance(diarizer, Diarizer):  # the final pass's models: loaded once
            self.windows = WindowDiarizer.sharing(diarizer)
        else:
            threads = config.recognize.threads or os.cpu_count() or 1
            self.windows = WindowDiarizer.load(threads, resolve_device(config.recognize.device))

    @property
    def config(self) -> PipelineConfig:
        """The config these models run."""
        return self.pipeline.config

    def with_config(self, config: PipelineConfig) -> LiveModels:
        """The same loaded models for a session with other settings (language, speaker
        counts, decoding): :class:`ConfigError` if ``config`` needs other models."""
        twin = object.__new__(LiveModels)
        twin.pipeline = Pipeline(config, engines=self.pipeline.engines)
        twin.recognizer = _for_the_stream(self.recognizer, config)
        twin.windows = self.windows
        twin._smaller = self._smaller
        return twin

    @property
    def languages(self) -> LanguageDetector | None:
        """What finds the stream's language when none is given: its Whisper."""
        return self.recognizer if isinstance(self.recognizer, WhisperRecognizer) else None

    @property
    def fallback(self) -> Fallback | None:
        """:data:`LIVE_MODEL` for a stream whose own Whisper is larger (``None`` otherwise)."""
        if not isinstance(self.recognizer, WhisperRecognizer):
            return None
        if self.config.recognize.model == LIVE_MODEL:
            return None
        return Fallback(LIVE_MODEL, self._smaller.load, frozenset({"en"}))


class _Smaller:
    """:data:`LIVE_MODEL` with the stream's decoding, loaded once on first use."""

    def __init__(self, config: RecognizeConfig) -> None:
        self._config = dataclasses.replace(live_decoding(config), model=LIVE_MODEL)
        self._lock = threading.Lock()
        self._loaded: Recognizer | None = None

    def load(self) -> Recognizer:
        with self._lock:
            if self._loaded is None:
                whisper = WhisperRecognizer(self._config)
                self._loaded = _stream_twin(whisper, self._config)
            return self._loaded


def _for_the_stream(recognizer: Recognizer, config: PipelineConfig) -> Recognizer:
    """Whisper on the same loaded model with the stream's decoding (:func:`live_decoding`);
    another recognizer as it is."""
    if isinstance(recognizer, WhisperRecognizer):
        return _stream_twin(recognizer, live_decoding(config.recognize))
    return recognizer


def _stream_twin(whisper: WhisperRecognizer, config: RecognizeConfig) -> WhisperRecognizer:
    """A twin that decodes the first window only, loops cut short, short buffers encoded in a
    short window."""
    return whisper.with_config(
        config,
        first_window_only=True,
        max_tokens_per_s=_STREAM_TOKENS_PER_S,
        short_window_s=_STREAM_WINDOW_S,
    )


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
        fallback=models.fallback,
        languages=models.languages,
    )


def run_simulated(
    engine: LiveEngine,
    clock: FedClock,
    chunks: Iterable[npt.NDArray[np.float32]],
    *,
    chunk_s: float = 0.1,
    on_update: Callable[[LiveUpdate], None] | None = None,
) -> Transcript:
    """:func:`stream_simulated`, then finish the stream."""
    stream_simulated(engine, clock, chunks, chunk_s=chunk_s, on_update=on_update)
    return engine.finish()


def stream_simulated(
    engine: LiveEngine,
    clock: FedClock,
    chunks: Iterable[npt.NDArray[np.float32]],
    *,
    chunk_s: float = 0.1,
    on_update: Callable[[LiveUpdate], None] | None = None,
) -> None:
    """Feed 16 kHz ``chunks`` to ``engine`` ``chunk_s`` at a time as fast as it runs,
    stepping whenever a step is due on ``clock`` (the engine's clock)."""
    size = max(1, round(chunk_s * SAMPLE_RATE))
    for piece in _rechunk(chunks, size):
        engine.feed(piece)
        clock.now_s += piece.shape[0] / SAMPLE_RATE
        if engine.due():
            update = engine.step()
            if on_update is not None:
                on_update(update)


def stream_paced(
    engine: LiveEngine,
    chunks: Iterable[npt.NDArray[np.float32]],
    *,
    on_update: Callable[[LiveUpdate], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run ``engine`` on a source that arrives at its own pace (a microphone, a stream, a
    file played in real time): a thread feeds it while this one steps whenever a step is due,
    until the source ends, ``stop`` is set, or Ctrl-C (then call ``engine.finish()``)."""
    stop = stop if stop is not None else threading.Event()
    ended = threading.Event()
    failures: list[BaseException] = []

    def feed() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    break
                engine.feed(chunk)
        except BaseException as error:  # handed to the stepping thread, raised there
            failures.append(error)
        finally:
            ended.set()

    threading.Thread(target=feed, name="saywho-live-source", daemon=True).start()
    try:
        while not ended.is_set() and not stop.is_set():
            if engine.due():
                update = engine.step()
                if on_update is not None:
                    on_update(update)
            else:
                ended.wait(_IDLE_S)
    except KeyboardInterrupt:  # the user ends the stream; what was heard is still finished
        stop.set()
    if failures:
        raise failures[0]


def _rechunk(
    chunks: Iterable[npt.NDArray[np.float32]], size: int
) -> Iterator[npt.NDArray[np.float32]]:
    """The same samples in pieces of ``size`` (the last one shorter)."""
    pending: list[npt.NDArray[np.float32]] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += chunk.shape[0]
        if held < size:
            continue
        joined = np.concatenate(pending)
        cut = held - held % size
        yield from (joined[i : i + size] for i in range(0, cut, size))
        pending, held = [joined[cut:]], held - cut
    if held:
        yield np.concatenate(pending)
