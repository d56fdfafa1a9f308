"""The pipeline over stand-in engines: the order of the stages, diarization beside
recognition, the identify stage, and a pipeline that cannot drift from its engines."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from saywho.config import EMBEDDING_MODEL, DiarizeConfig, PipelineConfig, VadConfig
from saywho.engines import Engines, StageHook
from saywho.errors import ConfigError
from saywho.identify.naming import Identification, VoicePrint
from saywho.pipeline import Pipeline
from saywho.types import (
    SAMPLE_RATE,
    Audio,
    Diarization,
    ModelInfo,
    Recognition,
    Span,
    Turn,
    Utterance,
    Word,
)

SHA = "0" * 64
ALICE = np.array([1.0, 0.0, 0.0], dtype=np.float32)
BOB = np.array([0.0, 1.0, 0.0], dtype=np.float32)


class FakeRecognizer:
    """Hears "hello there" at 1-2 s and "hi" at 6-7 s of whatever it is given."""

    info = ModelInfo("fake-whisper", "asr", None)

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def recognize(
        self,
        samples: npt.NDArray[np.float32],
        on_progress: Callable[[float], None] | None = None,
        *,
        language: str | None = None,
    ) -> Recognition:
        if self.fail:
            raise RuntimeError("the recognizer broke")
        words = (Word("hello", Span(1.0, 1.4), 0.9), Word("there.", Span(1.5, 2.0), 0.9))
        reply = (Word("Hi.", Span(6.0, 6.5), 0.8),)
        if on_progress is not None:
            on_progress(samples.shape[0] / SAMPLE_RATE)
        return Recognition(
            language or "en",
            0.99,
            (
                Utterance(Span(1.0, 2.0), "hello there.", words),
                Utterance(Span(6.0, 6.5), "Hi.", reply),
            ),
        )


class FakeDiarizer:
    """Alice talks 0-4 s, Bob 5-8 s; remembers the thread it ran on."""

    models = (ModelInfo(EMBEDDING_MODEL, "diarize", SHA),)

    def __init__(self, reports: int = 1) -> None:
        self.thread: int | None = None
        self.reports = reports
        self.stopped = threading.Event()

    def diarize(self, audio: Audio, progress: StageHook | None = None) -> Diarization:
        self.thread = threading.get_ident()
        try:
            for step in range(self.reports):
                if progress is not None:
                    progress("segment", step / self.reports * audio.duration_s, audio.duration_s)
                if self.reports > 1:
                    threading.Event().wait(0.01)
        except BaseException:
            self.stopped.set()
            raise
        turns = (Turn(Span(0.0, 4.0), "SPEAKER_00"), Turn(Span(5.0, 8.0), "SPEAKER_01"))
        return Diarization(turns, turns, {"SPEAKER_00": ALICE, "SPEAKER_01": BOB})


def pipeline(
    recognizer: FakeRecognizer | None = None,
    diarizer: FakeDiarizer | None = None,
    *,
    concurrent: bool = True,
) -> Pipeline:
    config = PipelineConfig(vad=VadConfig(enabled=False))
    engines = Engines(None, recognizer or FakeRecognizer(), diarizer or FakeDiarizer())
    return Pipeline(config, engines=engines, concurrent=concurrent)


def audio(seconds: float = 8.0) -> Audio:
    return Audio(np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32), SAMPLE_RATE)


def test_words_get_the_speakers_of_the_turns_they_fall_in() -> None:
    transcript = pipeline().transcribe_audio(audio(), source="x.wav")
    assert [(u.speaker, u.text) for u in transcript.utterances] == [
        ("SPEAKER_00", "hello there."),
        ("SPEAKER_01", "Hi."),
    ]
    assert transcript.models == (FakeRecognizer.info, *FakeDiarizer.models)


def test_diarization_runs_beside_recognition_with_the_same_result() -> None:
    beside, after = FakeDiarizer(), FakeDiarizer()
    concurrent = pipeline(diarizer=beside).transcribe_audio(audio())
    sequential = pipeline(diarizer=after, concurrent=False).transcribe_audio(audio())
    assert beside.thread is not None and beside.thread != threading.get_ident()
    assert after.thread == threading.get_ident()
    assert concurrent == sequential


def test_a_failed_recognition_stops_the_diarization_beside_it() -> None:
    slow = FakeDiarizer(reports=500)  # about 5 s, unless stopped
    with pytest.raises(RuntimeError, match="the recognizer broke"):
        pipeline(FakeRecognizer(fail=True), slow).transcribe_audio(audio())
    assert slow.stopped.is_set()


def test_a_failed_diarization_is_raised_to_the_caller() -> None:
    class Broken(FakeDiarizer):
        def diarize(self, audio: Audio, progress: StageHook | None = None) -> Diarization:
            raise ValueError("no speakers today")

    with pytest.raises(ValueError, match="no speakers today"):
        pipeline(diarizer=Broken()).transcribe_audio(audio())


def test_progress_reaches_every_stage_from_one_thread_at_a_time() -> None:
    seen: dict[str, float] = {}
    inside = threading.Lock()

    def hook(stage: str, done_s: float, total_s: float) -> None:
        assert inside.acquire(blocking=False), "two threads reported at once"
        try:
            seen[stage] = max(seen.get(stage, 0.0), done_s / total_s)
        finally:
            inside.release()

    pipeline(diarizer=FakeDiarizer(reports=50)).transcribe_audio(audio(), progress=hook)
    assert {seen[s] for s in ("recognize", "segment", "embed", "done")} == {1.0}


def test_the_identify_stage_names_enrolled_voices() -> None:
    voices = Identification((VoicePrint("Alice", ALICE),), 0.5, SHA)
    transcript = pipeline().transcribe_audio(audio(), voices=voices)
    assert [(s.label, s.name) for s in transcript.speakers] == [
        ("SPEAKER_00", "Alice"),
        ("SPEAKER_01", None),
    ]
    assert transcript.speaker_display("SPEAKER_00") == "Alice"


def test_a_pipeline_is_frozen_and_twins_share_its_engines() -> None:
    first = pipeline()
    with pytest.raises(AttributeError, match="frozen"):
        first.config = PipelineConfig()  # type: ignore[misc]
    twin = first.with_attribute(dataclasses.replace(first.config.attribute, strategy="per-turn"))
    assert twin.engines is first.engines and twin.config.attribute.strategy == "per-turn"
    assert (
        twin.concurrent
        and not pipeline(concurrent=False).with_attribute(twin.config.attribute).concurrent
    )
    assert first.config.attribute.strategy == "attribute"


def test_engines_must_be_those_the_config_switches_on() -> None:
    with pytest.raises(ConfigError, match="switches the diarizer off"):
        Pipeline(
            PipelineConfig(vad=VadConfig(enabled=False), diarize=DiarizeConfig(enabled=False)),
            engines=Engines(None, FakeRecognizer(), FakeDiarizer()),
        )
    with pytest.raises(ConfigError, match="switches the detector on"):
        Pipeline(PipelineConfig(), engines=Engines(None, FakeRecognizer(), FakeDiarizer()))
