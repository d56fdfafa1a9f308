"""faster-whisper (CTranslate2) with word timestamps: the recognizer adapter."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from saywho import models
from saywho.config import RecognizeConfig
from saywho.device import resolve_device
from saywho.errors import ConfigError, ModelError
from saywho.types import SAMPLE_RATE, ModelInfo, Recognition, Span, Utterance, Word

__all__ = ["WhisperRecognizer", "silent_padding", "token_cap"]

_MAX_LENGTH = 448
"""Whisper's tokens per decoding: the prompt's and the new ones."""
_KEPT_PROMPT_TOKENS = 223
"""faster-whisper keeps at most this many tokens of the prompt, and of the hotwords."""
_SPARE_TOKENS = 16
"""A capped decoding may always make this many tokens (timestamps, a short word's pieces)."""
_MOST_NEW_TOKENS = 200
"""A capped decoding never asks for more (a 20 s buffer at 12 tokens a second would)."""
_FRAMES_PER_S = 100
"""Whisper's log-Mel frames per second of audio."""
_SILENCE_BELOW_PEAK = 2.0
"""Whisper's log-Mel features span 8 decades below a window's loudest, scaled by 1/4: silence
sits 2 below the window's peak."""
_SHORT_WINDOW_MARGIN_S = 2.0
"""A short window holds at least this much padding after the audio: Whisper was trained on
speech that ends before its window does."""


class WhisperRecognizer:
    """A loaded Whisper model; reuse one for many files."""

    def __init__(self, config: RecognizeConfig) -> None:
        source = models.resolve_whisper(config.model)
        self.info: ModelInfo = source.info
        self.config = config
        self._model = _load(source, config)
        self._loaded = self._model  # a twin's _model may encode differently; this one never
        self._first_window: _FirstWindow | None = None
        self._tokens_per_s: float | None = None
        self._batched = _batched(self._model) if config.batch_size is not None else None
        self.supported_languages: tuple[str, ...] = tuple(self._model.supported_languages)
        _check_language(config, self.supported_languages)

    def with_config(
        self,
        config: RecognizeConfig,
        *,
        first_window_only: bool = False,
        max_tokens_per_s: float | None = None,
        short_window_s: float | None = None,
    ) -> WhisperRecognizer:
        """A twin on the same loaded model with other decoding settings (``config`` must name
        the same model, device, compute type and threads).

        ``first_window_only``: the twin decodes the first 30 s window of what it is given and
        stops there. faster-whisper decodes again from the last word it found to the end of the
        audio (a second window, encoded padded to 30 s as well); a stream's buffer is shorter
        than 30 s and heard again, longer, a second later, so that second pass only costs
        time there. Such a twin is for one thread at a time, and not for the batched pipeline.
        Its window is padded with silence, as Whisper was trained (see :class:`_FirstWindow`).

        ``max_tokens_per_s``: a decoding of ``n`` seconds stops after ``max_tokens_per_s * n``
        tokens (and a few spare, at most 200; fewer where a long prompt leaves less room,
        see :func:`token_cap`): a decoding that loops, repeating a phrase
        until Whisper's 448 tokens, costs several times a normal one, for words its caller
        drops anyway.

        ``short_window_s`` (with ``first_window_only``): a buffer at least 2 s shorter than
        this is encoded padded to ``short_window_s`` rather than to Whisper's 30 s. The
        encoder's time grows faster than its input (base on 2 cores: 384 ms for 30 s, 84 ms
        for 15 s), and a stream's buffer is mostly short.
        """
        same = ("model", "device", "compute_type", "threads", "batch_size")
        changed = [name for name in same if getattr(config, name) != getattr(self.config, name)]
        if changed:
            raise ConfigError(f"a twin recognizer cannot change {', '.join(changed)}")
        if short_window_s is not None and not first_window_only:
            raise ConfigError("a short window is for a twin that decodes the first window only")
        if short_window_s is not None and not _SHORT_WINDOW_MARGIN_S < short_window_s <= 30:
            raise ConfigError(f"a short window must be over 2 s and at most 30 s: {short_window_s}")
        twin = object.__new__(WhisperRecognizer)
        twin.info = self.info
        twin.config = config
        twin._model = self._model
        twin._loaded = self._loaded
        twin._first_window = None
        twin._tokens_per_s = max_tokens_per_s
        if first_window_only:
            twin._first_window = _FirstWindow(self._model.encode, short_window_s)
            twin._model = copy.copy(self._model)  # shares the CTranslate2 model and tokenizer
            twin._model.encode = twin._first_window
        twin._batched = self._batched
        twin.supported_languages = self.supported_languages
        _check_language(config, self.supported_languages)
        return twin

    def recognize(
        self,
        samples: npt.NDArray[np.float32],
        on_progress: Callable[[float], None] | None = None,
        *,
        language: str | None = None,
        prompt: str | None = None,
    ) -> Recognition:
        """Recognize 16 kHz mono ``samples`` (shape (n,)); times are seconds from sample 0.

        ``on_progress`` is called with the seconds recognized so far. ``language`` overrides
        the configured one (a later block or turn of a file keeps the language found first);
        ``prompt`` the configured initial prompt (a stream gives the text it already has).
        """
        config = self.config
        language = language if language is not None else config.language
        if samples.shape[0] == 0:
            return Recognition(language, None, ())
        common: dict[str, Any] = {
            "language": language,
            "task": config.task,
            "beam_size": config.beam_size,
            "best_of": config.best_of,
            "patience": config.patience,
            "temperature": list(config.temperatures),
            "condition_on_previous_text": config.condition_on_previous_text,
            "initial_prompt": prompt if prompt is not None else config.initial_prompt,
            "hotwords": config.hotwords,
            "word_timestamps": True,
        }
        duration_s = samples.shape[0] / SAMPLE_RATE
        if self._tokens_per_s is not None:
            wanted = math.ceil(self._tokens_per_s * duration_s) + _SPARE_TOKENS
            common["max_new_tokens"] = token_cap(wanted, common["initial_prompt"], config.hotwords)
        if self._first_window is not None:  # a new decoding (it may detect the language first)
            self._first_window.start(duration_s)
        if self._batched is not None:
            # The batched pipeline needs windows of at most 30 s cut at pauses: its own VAD
            # makes them (on speech only, where ours ran first).
            segments, info = self._batched.transcribe(
                samples, batch_size=config.batch_size, vad_filter=True, **common
            )
        else:  # our VAD already removed the silence
            segments, info = self._model.transcribe(samples, vad_filter=False, **common)
        if self._first_window is not None:
            self._first_window.calls = 0  # language detection, if any, is done by now
        utterances = []
        try:
            for segment in segments:
                utterances.append(_utterance(segment))
                if on_progress is not None:
                    on_progress(float(segment.end))
        except _SecondWindowError:
            pass
        probability = None if language else float(info.language_probability)
        return Recognition(info.language, probability, tuple(u for u in utterances if u.words))

    def detect_language(self, samples: npt.NDArray[np.float32]) -> tuple[str, float]:
        """The language spoken in the first 30 s of 16 kHz ``samples``, and its probability
        (English-only models: ``("en", 1.0)``). Shorter audio is padded with silence."""
        from faster_whisper.audio import pad_or_trim

        model = self._loaded
        if not model.model.is_multilingual:
            return "en", 1.0
        extractor = model.feature_extractor
        features = pad_or_trim(extractor(samples[: extractor.n_samples]), extractor.nb_max_frames)
        content_frames = round(min(samples.shape[0], extractor.n_samples) / extractor.hop_length)
        language, probability, _ = model.detect_language(
            features=silent_padding(features, content_frames)
        )
        return str(language), float(probability)


def token_cap(wanted: int, prompt: str | None, hotwords: str | None) -> int:
    """``wanted`` new tokens, or fewer where the prompt and hotwords may leave less room in
    Whisper's 448 (faster-whisper refuses a decoding that asks for more): a token holds at
    least one byte of text, and faster-whisper keeps at most 223 tokens of each."""
    room = _MAX_LENGTH - 5  # the previous-text marker, the start sequence, no-timestamps
    for text in (prompt, hotwords):
        if text:
            room -= min(_KEPT_PROMPT_TOKENS, len((" " + text.strip()).encode()))
    return max(1, min(wanted, room, _MOST_NEW_TOKENS))


class _SecondWindowError(Exception):
    """faster-whisper asked a first-window-only twin to encode a second window."""


class _FirstWindow:
    """A twin's ``encode``: the loaded model's for the first window of a decoding (the
    segments decoded so far are then all there are), :class:`_SecondWindowError` after it.
    :meth:`start` comes before each decoding; ``calls`` is set to 0 after language detection.

    With ``short_window_s``, a decoding of audio at least 2 s shorter encodes only the first
    ``short_window_s`` of faster-whisper's 30 s of features: the rest is padding.

    The padding is silence: faster-whisper pads a window's features with zeros, a faint hiss
    to Whisper, which was trained on audio padded with silence (the features' floor, 2 below
    the window's peak). Speech running to the end of a stream's buffer and into that hiss was
    often left an unfinished segment, which faster-whisper drops: the buffer's last words then
    waited for a pause (base, a generated conversation, injected clock: latency p95 7.2 s;
    with silence after the speech, 4.0 s)."""

    def __init__(self, encode: Callable[[Any], Any], short_window_s: float | None) -> None:
        self._encode = encode
        self._short_window_s = short_window_s
        self._frames: int | None = None
        self._content_frames = 0
        self.calls = 0

    def start(self, duration_s: float) -> None:
        """A new decoding of ``duration_s`` seconds of audio."""
        self.calls = 0
        self._content_frames = round(duration_s * _FRAMES_PER_S)
        short = self._short_window_s
        self._frames = None
        if short is not None and duration_s + _SHORT_WINDOW_MARGIN_S <= short:
            self._frames = round(short * _FRAMES_PER_S)

    def __call__(self, features: Any) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise _SecondWindowError
        if self._frames is not None:
            features = features[..., : self._frames]
        return self._encode(silent_padding(features, self._content_frames))


def silent_padding(features: Any, content_frames: int) -> Any:
    """``features`` (log-Mel, ``(..., n_mels, frames)``) with the frames after the first
    ``content_frames`` set to silence, the floor 2 below the content's peak."""
    if content_frames <= 0 or content_frames >= features.shape[-1]:
        return features
    padded = np.array(features, copy=True)
    padded[..., content_frames:] = padded[..., :content_frames].max() - _SILENCE_BELOW_PEAK
    return padded


def _load(source: models.WhisperSource, config: RecognizeConfig) -> Any:
    from faster_whisper import WhisperModel

    threads = config.threads or os.cpu_count() or 1
    device = resolve_device(config.device)
    try:
        return WhisperModel(
            source.location,
            device=device,
            compute_type=config.compute_type,
            cpu_threads=threads,
            local_files_only=not source.is_hub,
        )
    except Exception as error:  # faster-whisper / huggingface_hub / ctranslate2 raise many kinds
        hint = " (a hub model needs the network the first time)" if source.is_hub else ""
        raise ModelError(f"cannot load Whisper model {config.model!r}{hint}: {error}") from error


def _batched(model: Any) -> Any:
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(model)


def _check_language(config: RecognizeConfig, supported: tuple[str, ...]) -> None:
    if config.language is None or config.language in supported:
        return
    if supported == ("en",):
        raise ConfigError(
            f"model {config.model} is English-only; drop --language {config.language} "
            "or use a multilingual model such as base"
        )
    raise ConfigError(
        f"unknown language {config.language!r}: use a Whisper language code such as "
        "en, de, fr, es, ja (or leave it out to detect the language)"
    )


def _utterance(segment: Any) -> Utterance:
    words = tuple(
        Word(
            text=word.word.strip(),
            span=Span(float(word.start), max(float(word.start), float(word.end))),
            probability=float(word.probability),
        )
        for word in segment.words or ()
        if word.word.strip()
    )
    start = float(segment.start)
    return Utterance(Span(start, max(start, float(segment.end))), segment.text.strip(), words)
