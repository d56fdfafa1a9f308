"""The pipeline: the only module that knows the order of the stages.

Three strategies (``attribute.strategy``) combine recognition and diarization:

    attribute: decode ─► detect (VAD) ─► recognize (speech only) ─► restore times ─┐
                     └─► diarize ──────────────────────────────────────────────────┴► attribute
    per-turn:  decode ─► diarize ─► group turns ─► recognize each group ─► confirm
    spacer:    decode ─► diarize ─► group turns ─► join with silent spacers ─► recognize once
                     ─► map back (groups Whisper blurred: recognized on their own) ─► confirm

Without diarization (or where it finds no speech) every strategy recognizes the whole file,
so words are never lost: they keep ``speaker`` ``None``. Last, the words are grouped into
utterances, one per speaker run (``write.utterance_gap_s``: the pause that ends one).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from saywho import memory, strategies
from saywho.asr.whisper import Recognition, WhisperRecognizer
from saywho.attribute import attribute, confirm
from saywho.audio import decode
from saywho.config import AttributeConfig, PipelineConfig
from saywho.device import resolve_device
from saywho.diarize.diarizer import Diarizer
from saywho.errors import ConfigError
from saywho.types import (
    Audio,
    Diarization,
    ModelInfo,
    Span,
    Speaker,
    Transcript,
    Turn,
    Utterance,
)
from saywho.utterances import speaker_runs
from saywho.vad.regions import TimeMap, recognition_blocks, restore_times
from saywho.vad.silero import SileroVad

__all__ = ["ArtifactHook", "Pipeline", "ProgressHook"]

ProgressHook = Callable[[str, float, float], None]
"""Called as ``hook(stage, done_s, total_s)``: seconds of audio done out of the total."""
ArtifactHook = Callable[[str, Any], None]
"""Called as ``hook(name, value)`` after a stage: ``("recognition", Recognition)`` (on the
recording's clock), ``("diarization", Diarization)``, ``("groups", tuple[Turn, ...])`` (the
groups of turns recognized by ``per-turn`` and ``spacer``) and ``("retried", tuple[Turn, ...])``
(the groups ``spacer`` recognized again on their own)."""

TURN_PAD_S = 0.2
"""Each group of turns is recognized with up to this much of the silence around it."""


class Pipeline:
    """Loads the models of ``config`` once; call :meth:`transcribe` for each file."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config if config is not None else PipelineConfig()
        recognizing = self.config.recognize.enabled
        self._vad = SileroVad() if recognizing and self.config.vad.enabled else None
        self._recognizer = WhisperRecognizer(self.config.recognize) if recognizing else None
        self._diarizer = (
            Diarizer(
                self.config.diarize,
                threads=self.config.recognize.threads,
                device=resolve_device(self.config.recognize.device),
            )
            if self.config.diarize.enabled
            else None
        )
        if self._recognizer is None and self._diarizer is None:
            raise ConfigError("nothing to do: both recognition and diarization are switched off")

    def with_attribute(self, settings: AttributeConfig) -> Pipeline:
        """This pipeline's loaded models with other attribution settings (strategy, rules)."""
        twin = copy.copy(self)
        twin.config = dataclasses.replace(self.config, attribute=settings)
        return twin

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        """The models this pipeline runs, with their sha256."""
        vad = (self._vad.info,) if self._vad is not None else ()
        asr = (self._recognizer.info,) if self._recognizer is not None else ()
        diarize = self._diarizer.models if self._diarizer is not None else ()
        return (*vad, *asr, *diarize)

    def transcribe(
        self,
        path: Path | str,
        *,
        progress: ProgressHook | None = None,
        artifacts: ArtifactHook | None = None,
    ) -> Transcript:
        """Decode ``path`` and transcribe it (``artifacts``: see :meth:`transcribe_audio`)."""
        hook = progress if progress is not None else _no_progress
        audio = decode(
            path,
            on_progress=lambda done_s, total_s: hook("decode", done_s, total_s),
            max_duration_s=self.config.decode.max_duration_s,
        )
        return self.transcribe_audio(
            audio, source=str(path), progress=progress, artifacts=artifacts
        )

    def transcribe_audio(
        self,
        audio: Audio,
        *,
        source: str = "",
        progress: ProgressHook | None = None,
        artifacts: ArtifactHook | None = None,
    ) -> Transcript:
        """Transcribe decoded 16 kHz ``audio``; ``source`` names it in the result.

        ``artifacts`` receives each stage's result as it is made (for benchmarks and tools).
        """
        hook = progress if progress is not None else _no_progress
        keep = artifacts if artifacts is not None else _no_artifact
        if self.config.attribute.strategy == "attribute" or self._recognizer is None:
            recognition, diarization, utterances = self._attributed(audio, hook, keep, None)
        else:
            recognition, diarization, utterances = self._by_turns(audio, hook, keep)
        hook("done", audio.duration_s, audio.duration_s)
        return Transcript(
            source=source,
            duration_s=audio.duration_s,
            language=recognition.language,
            language_probability=recognition.language_probability,
            utterances=speaker_runs(utterances, gap_s=self.config.write.utterance_gap_s),
            config=self.config,
            models=self.models,
            speakers=_speakers(diarization),
            turns=diarization.turns,
        )

    def _attributed(
        self,
        audio: Audio,
        hook: ProgressHook,
        keep: ArtifactHook,
        diarization: Diarization | None,
    ) -> tuple[Recognition, Diarization, tuple[Utterance, ...]]:
        """Recognize the whole file, diarize (unless given), attribute words to speakers."""
        recognition = self._recognize(audio, hook)
        keep("recognition", recognition)
        if self._diarizer is None:
            return recognition, Diarization((), (), {}), recognition.utterances
        if diarization is None:
            diarization = self._diarizer.diarize(audio, hook)
            memory.release_free_memory()
            keep("diarization", diarization)
        utterances = attribute(
            recognition.utterances,
            diarization.exclusive_turns,
            diarization.turns,
            rules=self.config.attribute.rules,
        )
        return recognition, diarization, utterances

    def _by_turns(
        self, audio: Audio, hook: ProgressHook, keep: ArtifactHook
    ) -> tuple[Recognition, Diarization, tuple[Utterance, ...]]:
        """Diarize, then recognize the turns; with no turns, the whole file (no speakers)."""
        if self._diarizer is None:
            return self._attributed(audio, hook, keep, None)
        diarization = self._diarizer.diarize(audio, hook)
        memory.release_free_memory()
        keep("diarization", diarization)
        if not diarization.exclusive_turns:
            return self._attributed(audio, hook, keep, diarization)
        recognition = self._recognize_turns(audio, diarization, hook, keep)
        keep("recognition", recognition)
        return recognition, diarization, confirm(recognition.utterances, diarization.turns)

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
            memory.release_free_memory()
        return Recognition(first.language, first.language_probability, tuple(utterances))

    def _recognize_turns(
        self, audio: Audio, diarization: Diarization, hook: ProgressHook, keep: ArtifactHook
    ) -> Recognition:
        """Recognize the diarized turns (per turn or joined by spacers), speakers set."""
        settings = self.config.attribute
        groups = strategies.group_turns(
            diarization.exclusive_turns,
            max_gap_s=settings.turn_gap_s,
            pad_s=TURN_PAD_S,
            duration_s=audio.duration_s,
        )
        keep("groups", groups)
        if settings.strategy == "spacer":
            return self._recognize_joined(audio, groups, hook, keep)
        return self._recognize_each(audio, groups, hook, language=None)

    def _recognize_each(
        self,
        audio: Audio,
        groups: tuple[Turn, ...],
        hook: ProgressHook,
        *,
        language: str | None,
    ) -> Recognition:
        """Each group on its own; the language found on the longest group holds for all."""
        recognizer = self._require_recognizer()
        total_s = audio.duration_s
        order = sorted(range(len(groups)), key=lambda i: -groups[i].span.duration)
        found: dict[int, tuple[Utterance, ...]] = {}
        probability = None
        for done, index in enumerate(order):
            hook("recognize", total_s * done / len(order), total_s)
            heard = recognizer.recognize(audio.slice(groups[index].span), language=language)
            if language is None:
                language, probability = heard.language, heard.language_probability
            found[index] = strategies.on_turn(heard.utterances, groups[index])
        utterances = tuple(u for index in range(len(groups)) for u in found.get(index, ()))
        return Recognition(language, probability, utterances)

    def _recognize_joined(
        self, audio: Audio, groups: tuple[Turn, ...], hook: ProgressHook, keep: ArtifactHook
    ) -> Recognition:
        """Groups joined by spacers, at most ``max_block_s`` at a time; the groups Whisper
        blurred, one by one. The language found in the first chunk holds for the rest."""
        recognizer = self._require_recognizer()
        spacer_s = self.config.attribute.spacer_s
        total_s = audio.duration_s
        chunks = strategies.spacer_chunks(groups, spacer_s, self.config.recognize.max_block_s)
        language = self.config.recognize.language
        probability = None
        utterances: list[Utterance] = []
        failed: list[Turn] = []
        for number, (first, stop) in enumerate(chunks):
            hook("recognize", groups[first].span.start, total_s)
            chunk = groups[first:stop]
            heard = recognizer.recognize(_joined(audio, chunk, spacer_s), language=language)
            if number == 0:
                language, probability = heard.language, heard.language_probability
            mapped = strategies.map_back(
                heard.utterances, strategies.spacer_layout(chunk, spacer_s), spacer_s
            )
            utterances.extend(mapped.utterances)
            failed.extend(chunk[i] for i in mapped.failed)
            memory.release_free_memory()
        keep("retried", tuple(failed))
        retried = self._recognize_each(audio, tuple(failed), hook, language=language)
        utterances.extend(retried.utterances)
        utterances.sort(key=lambda u: u.span.start)
        return Recognition(language, probability, tuple(utterances))

    def _require_recognizer(self) -> WhisperRecognizer:
        if self._recognizer is None:
            raise ConfigError("recognition is switched off")
        return self._recognizer

    def _speech_regions(self, audio: Audio) -> tuple[Span, ...]:
        if self._vad is None:
            return (Span(0.0, audio.duration_s),)
        regions = self._vad.detect(audio, self.config.vad)
        memory.release_free_memory()
        return regions


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


def _joined(audio: Audio, groups: tuple[Turn, ...], spacer_s: float) -> npt.NDArray[np.float32]:
    """The groups' samples end to end with ``spacer_s`` of silence after each."""
    spacer = np.zeros(round(spacer_s * audio.sample_rate), dtype=np.float32)
    parts = [part for group in groups for part in (audio.slice(group.span), spacer)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)  # (joined,)


def _original(time_map: TimeMap, time_s: float) -> float:
    if not time_map.regions:
        return 0.0
    return time_map.to_original(time_s, time_map.region_of(time_s))


def _no_progress(stage: str, done_s: float, total_s: float) -> None:
    del stage, done_s, total_s


def _no_artifact(name: str, value: Any) -> None:
    del name, value
