"""The pipeline: the only module that knows the order of the stages.

decode ─► detect (VAD) ─► recognize (on the speech only) ─► restore times ─► Transcript
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from saywho.asr.whisper import Recognition, WhisperRecognizer
from saywho.attribute import attribute
from saywho.audio import decode
from saywho.config import PipelineConfig
from saywho.diarize.diarizer import Diarizer
from saywho.errors import ConfigError
from saywho.types import Audio, Diarization, ModelInfo, Span, Speaker, Transcript, Utterance
from saywho.vad.regions import TimeMap, recognition_blocks, restore_times
from saywho.vad.silero import SileroVad

__all__ = ["Pipeline", "ProgressHook"]

ProgressHook = Callable[[str, float, float], None]
"""Called as ``hook(stage, done_s, total_s)``: seconds of audio done out of the total."""


class Pipeline:
    """Loads the models of ``config`` once; call :meth:`transcribe` for each file."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config if config is not None else PipelineConfig()
        recognizing = self.config.recognize.enabled
        self._vad = SileroVad() if recognizing and self.config.vad.enabled else None
        self._recognizer = WhisperRecognizer(self.config.recognize) if recognizing else None
        self._diarizer = (
            Diarizer(self.config.diarize, threads=self.config.recognize.threads)
            if self.config.diarize.enabled
            else None
        )
        if self._recognizer is None and self._diarizer is None:
            raise ConfigError("nothing to do: both recognition and diarization are switched off")

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        """The models this pipeline runs, with their sha256."""
        vad = (self._vad.info,) if self._vad is not None else ()
        asr = (self._recognizer.info,) if self._recognizer is not None else ()
        diarize = self._diarizer.models if self._diarizer is not None else ()
        return (*vad, *asr, *diarize)

    def transcribe(self, path: Path | str, *, progress: ProgressHook | None = None) -> Transcript:
        """Decode ``path`` and transcribe it."""
        hook = progress if progress is not None else _no_progress
        audio = decode(path, on_progress=lambda done_s, total_s: hook("decode", done_s, total_s))
        return self.transcribe_audio(audio, source=str(path), progress=progress)

    def transcribe_audio(
        self, audio: Audio, *, source: str = "", progress: ProgressHook | None = None
    ) -> Transcript:
        """Transcribe decoded 16 kHz ``audio``; ``source`` names it in the result."""
        hook = progress if progress is not None else _no_progress
        recognition = self._recognize(audio, hook)
        utterances = recognition.utterances
        diarization = Diarization((), (), {})
        if self._diarizer is not None:
            diarization = self._diarizer.diarize(audio, hook)
            utterances = attribute(utterances, diarization.exclusive_turns)
        hook("done", audio.duration_s, audio.duration_s)
        return Transcript(
            source=source,
            duration_s=audio.duration_s,
            language=recognition.language,
            language_probability=recognition.language_probability,
            utterances=utterances,
            config=self.config,
            models=self.models,
            speakers=_speakers(diarization),
            turns=diarization.turns,
        )

    def _recognize(self, audio: Audio, hook: ProgressHook) -> Recognition:
        """Recognize the speech regions, one block of at most ``max_block_s`` at a time."""
        if self._recognizer is None:
            return Recognition(None, None, ())
        total_s = audio.duration_s
        hook("detect", 0.0, total_s)
        blocks = recognition_blocks(self._speech_regions(audio), self.config.recognize.max_block_s)
        hook("recognize", 0.0, total_s)
        first = Recognition(self.config.recognize.language, None, ())
        utterances: list[Utterance] = []
        for index, block in enumerate(blocks):
            time_map = TimeMap.of(block)
            heard = self._recognizer.recognize(
                _concatenate(audio, block),
                on_progress=_recognize_progress(hook, time_map, total_s),
                language=first.language,
            )
            if index == 0:
                first = heard
            utterances.extend(restore_times(heard.utterances, time_map))
        return Recognition(first.language, first.language_probability, tuple(utterances))

    def _speech_regions(self, audio: Audio) -> tuple[Span, ...]:
        if self._vad is None:
            return (Span(0.0, audio.duration_s),)
        return self._vad.detect(audio, self.config.vad)


def _speakers(diarization: Diarization) -> tuple[Speaker, ...]:
    centroids = diarization.centroids
    return tuple(
        Speaker(
            label,
            centroid=tuple(float(x) for x in centroids[label]) if label in centroids else None,
        )
        for label in diarization.labels
    )


def _concatenate(audio: Audio, regions: tuple[Span, ...]) -> npt.NDArray[np.float32]:
    if not regions:
        return np.zeros(0, dtype=np.float32)
    if len(regions) == 1 and regions[0] == Span(0.0, audio.duration_s):
        return audio.samples
    return np.concatenate([audio.slice(region) for region in regions])  # (kept,) float32


def _recognize_progress(
    hook: ProgressHook, time_map: TimeMap, total_s: float
) -> Callable[[float], None]:
    def report(done_s: float) -> None:
        hook("recognize", _original(time_map, done_s), total_s)

    return report


def _original(time_map: TimeMap, time_s: float) -> float:
    if not time_map.regions:
        return 0.0
    return time_map.to_original(time_s, time_map.region_of(time_s))


def _no_progress(stage: str, done_s: float, total_s: float) -> None:
    del stage, done_s, total_s
