"""The pipeline: the only module that knows the order of the stages.

Three strategies (``attribute.strategy``) combine recognition and diarization:

    attribute: decode ─► detect (VAD) ─► recognize (speech only) ─► restore times ─┐
                     └─► diarize (on a thread of its own, meanwhile) ──────────────┴► attribute
    per-turn:  decode ─► diarize ─► group turns ─► recognize each group ─► confirm
    spacer:    decode ─► diarize ─► group turns ─► join with silent spacers ─► recognize once
                     ─► map back (groups Whisper blurred: recognized on their own) ─► confirm

Without diarization (or where it finds no speech) every strategy recognizes the whole file,
so words are never lost: they keep ``speaker`` ``None``. Then the words are grouped into
utterances, one per speaker run (``write.utterance_gap_s``: the pause that ends one), and
last, the speakers whose voices are enrolled are named (``voices``: the identify stage).

The engines come from :func:`saywho.engines.load_engines` unless given (a test double or
another engine); the pipeline itself is frozen: :meth:`Pipeline.with_attribute` makes a twin.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from saywho import memory, strategies
from saywho.attribute import attribute, confirm
from saywho.audio import decode
from saywho.config import AttributeConfig, PipelineConfig
from saywho.engines import Engines, Recognizer, SpeakerDiarizer, Voices, load_engines
from saywho.errors import ConfigError
from saywho.types import (
    Audio,
    Diarization,
    ModelInfo,
    Recognition,
    Span,
    Speaker,
    StageHook,
    Transcript,
    Turn,
    Utterance,
)
from saywho.utterances import speaker_runs
from saywho.vad.regions import TimeMap, recognition_blocks, restore_times

__all__ = ["ArtifactHook", "Pipeline", "ProgressHook"]

ProgressHook = StageHook
"""Called as ``hook(stage, done_s, total_s)``: seconds of audio done out of the total."""
ArtifactHook = Callable[[str, Any], None]
"""Called as ``hook(name, value)`` after a stage: ``("recognition", Recognition)`` (on the
recording's clock), ``("diarization", Diarization)``, ``("groups", tuple[Turn, ...])`` (the
groups of turns recognized by ``per-turn`` and ``spacer``) and ``("retried", tuple[Turn, ...])``
(the groups ``spacer`` recognized again on their own)."""

TURN_PAD_S = 0.2
"""Each group of turns is recognized with up to this much of the silence around it."""


class Pipeline:
    """Loads the models of ``config`` once (or runs the ``engines`` given); call
    :meth:`transcribe` for each file. Frozen: its config always matches its engines.

    ``concurrent``: the ``attribute`` strategy diarizes on a thread of its own while Whisper
    recognizes (the same result in less wall time); ``False`` runs one after the other.
    """

    __slots__ = ("concurrent", "config", "engines")
    config: PipelineConfig
    engines: Engines
    concurrent: bool

    def __init__(
        self,
        config: PipelineConfig | None = None,
        *,
        engines: Engines | None = None,
        concurrent: bool = True,
    ) -> None:
        config = config if config is not None else PipelineConfig()
        engines = engines if engines is not None else load_engines(config)
        engines.check(config)
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "engines", engines)
        object.__setattr__(self, "concurrent", concurrent)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"a Pipeline is frozen: it cannot set {name!r} (see with_attribute)")

    def with_attribute(self, settings: AttributeConfig) -> Pipeline:
        """This pipeline's loaded models with other attribution settings (strategy, rules)."""
        config = dataclasses.replace(self.config, attribute=settings)
        return Pipeline(config, engines=self.engines, concurrent=self.concurrent)

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        """The models this pipeline runs, with their sha256."""
        engines = self.engines
        vad = (engines.detector.info,) if engines.detector is not None else ()
        asr = (engines.recognizer.info,) if engines.recognizer is not None else ()
        diarize = engines.diarizer.models if engines.diarizer is not None else ()
        return (*vad, *asr, *diarize)

    def transcribe(
        self,
        path: Path | str,
        *,
        progress: ProgressHook | None = None,
        artifacts: ArtifactHook | None = None,
        voices: Voices | None = None,
    ) -> Transcript:
        """Decode ``path`` and transcribe it (``artifacts`` and ``voices``: see
        :meth:`transcribe_audio`)."""
        hook = progress if progress is not None else _no_progress
        audio = decode(
            path,
            on_progress=lambda done_s, total_s: hook("decode", done_s, total_s),
            max_duration_s=self.config.decode.max_duration_s,
        )
        hook("decode", audio.duration_s, audio.duration_s)
        return self.transcribe_audio(
            audio, source=str(path), progress=progress, artifacts=artifacts, voices=voices
        )

    def transcribe_audio(
        self,
        audio: Audio,
        *,
        source: str = "",
        progress: ProgressHook | None = None,
        artifacts: ArtifactHook | None = None,
        voices: Voices | None = None,
    ) -> Transcript:
        """Transcribe decoded 16 kHz ``audio``; ``source`` names it in the result.

        ``artifacts`` receives each stage's result as it is made (for benchmarks and tools).
        ``voices`` names the speakers whose voices it holds (none: labels only).
        """
        hook = _serialized(progress if progress is not None else _no_progress)
        keep = artifacts if artifacts is not None else _no_artifact
        if self.config.attribute.strategy == "attribute" or self.engines.recognizer is None:
            recognition, diarization, utterances = self._attributed(audio, hook, keep, None)
        else:
            recognition, diarization, utterances = self._by_turns(audio, hook, keep)
        transcript = self._assemble(audio, source, recognition, diarization, utterances)
        identification = voices.identification() if voices is not None else None
        if identification is not None:
            transcript = identification.apply(transcript)
        hook("done", audio.duration_s, audio.duration_s)
        return transcript

    def _assemble(
        self,
        audio: Audio,
        source: str,
        recognition: Recognition,
        diarization: Diarization,
        utterances: tuple[Utterance, ...],
    ) -> Transcript:
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
        """Recognize the whole file and diarize it (unless given; ``concurrent``: on a thread
        of its own meanwhile), then attribute words to speakers."""
        diarizer = self.engines.diarizer
        if diarizer is not None and diarization is None and self.concurrent:
            with _alongside(diarizer, audio, hook) as pending:
                recognition = self._recognize(audio, hook)
            diarization = pending.result()
            keep("recognition", recognition)
            keep("diarization", diarization)
        else:
            recognition = self._recognize(audio, hook)
            keep("recognition", recognition)
            if diarizer is not None and diarization is None:
                diarization = _diarize(diarizer, audio, hook)
                keep("diarization", diarization)
        if diarization is None:
            return recognition, Diarization((), (), {}), recognition.utterances
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
        if self.engines.diarizer is None:
            return self._attributed(audio, hook, keep, None)
        diarization = _diarize(self.engines.diarizer, audio, hook)
        keep("diarization", diarization)
        if not diarization.exclusive_turns:
            return self._attributed(audio, hook, keep, diarization)
        recognition = self._recognize_turns(audio, diarization, hook, keep)
        keep("recognition", recognition)
        return recognition, diarization, confirm(recognition.utterances, diarization.turns)

    def _recognize(self, audio: Audio, hook: ProgressHook) -> Recognition:
        """Recognize the speech regions, one block of at most ``max_block_s`` at a time."""
        recognizer = self.engines.recognizer
        if recognizer is None:
            return Recognition(None, None, ())
        total_s = audio.duration_s
        hook("detect", 0.0, total_s)
        regions = self._speech_regions(audio)
        hook("detect", total_s, total_s)
        blocks = recognition_blocks(regions, self.config.recognize.max_block_s)
        hook("recognize", 0.0, total_s)
        first = Recognition(self.config.recognize.language, None, ())
        utterances: list[Utterance] = []
        for index, block in enumerate(blocks):
            time_map = TimeMap.of(block)
            heard = recognizer.recognize(
                _concatenate(audio, block),
                on_progress=_recognize_progress(hook, time_map, total_s),
                language=first.language,
            )
            if index == 0:
                first = heard
            utterances.extend(restore_times(heard.utterances, time_map))
            memory.release_free_memory()
        hook("recognize", total_s, total_s)
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
        hook("recognize", total_s, total_s)
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

    def _require_recognizer(self) -> Recognizer:
        if self.engines.recognizer is None:
            raise ConfigError("recognition is switched off")
        return self.engines.recognizer

    def _speech_regions(self, audio: Audio) -> tuple[Span, ...]:
        detector = self.engines.detector
        if detector is None:
            return (Span(0.0, audio.duration_s),)
        regions = detector.detect(audio, self.config.vad)
        memory.release_free_memory()
        return regions


def _diarize(diarizer: SpeakerDiarizer, audio: Audio, hook: ProgressHook) -> Diarization:
    """Diarize ``audio``; its stages reported finished when it is."""
    diarization = diarizer.diarize(audio, hook)
    memory.release_free_memory()
    for stage in ("segment", "embed"):
        hook(stage, audio.duration_s, audio.duration_s)
    return diarization


class _StoppedError(Exception):
    """The work beside the diarization failed: the diarization stops at its next report."""


@contextmanager
def _alongside(
    diarizer: SpeakerDiarizer, audio: Audio, hook: ProgressHook
) -> Iterator[Future[Diarization]]:
    """Diarize ``audio`` on a thread of its own while the body runs (onnxruntime and
    CTranslate2 release the GIL, so both use the cores); the diarization is done when the
    block ends. Should the body fail, the diarization stops at its next progress report."""
    stop = threading.Event()

    def report(stage: str, done_s: float, total_s: float) -> None:
        if stop.is_set():
            raise _StoppedError
        hook(stage, done_s, total_s)

    with ThreadPoolExecutor(1, thread_name_prefix="saywho-diarize") as pool:
        pending = pool.submit(_diarize, diarizer, audio, report)
        try:
            yield pending
        except BaseException:
            stop.set()
            raise


def _serialized(hook: ProgressHook) -> ProgressHook:
    """``hook`` called by one thread at a time (diarization reports from its own thread)."""
    lock = threading.Lock()

    def report(stage: str, done_s: float, total_s: float) -> None:
        with lock:
            hook(stage, done_s, total_s)

    return report


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
