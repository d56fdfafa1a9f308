"""The three strategies end to end with real models, and the bad inputs each must survive."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from media import silence, speech_samples
from saywho import Pipeline
from saywho.config import STRATEGIES, AttributeConfig
from saywho.evaluation.score import normalize_text
from saywho.strategies import spacer_chunks
from saywho.types import Audio, Diarization, Recognition, Span, Transcript, Utterance, Word

VOICES = ("en+croak", "en-029+f2")
LINES = (
    "Good morning everyone, thank you for joining the weekly planning meeting today.",
    "Thanks for having me. I have three items on the agenda that I want to go through.",
    "The release went out on Tuesday, two days late, because the tests kept failing.",
)


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Audio, list[tuple[Span, int]]]:
    """Voices 0, 1, 0 read the three lines with pauses; the true turns."""
    tmp = tmp_path_factory.mktemp("dialogue")
    pieces, truth, now = [silence(0.5)], [], 0.5
    for index, voice in enumerate((0, 1, 0)):
        line = speech_samples(LINES[index], tmp, voice=VOICES[voice])
        truth.append((Span(now, now + line.shape[0] / 16_000), voice))
        pieces += [line, silence(0.8)]
        now += line.shape[0] / 16_000 + 0.8
    return Audio(np.concatenate(pieces), 16_000), truth


def run(pipeline: Pipeline, strategy: str, audio: Audio) -> Transcript:
    return pipeline.with_attribute(AttributeConfig(strategy=strategy)).transcribe_audio(audio)  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_says_who_said_what(
    tiny_pipeline: Pipeline, dialogue: tuple[Audio, list[tuple[Span, int]]], strategy: str
) -> None:
    audio, truth = dialogue
    check_who_said_what(run(tiny_pipeline, strategy, audio), audio, truth)


def test_spacer_joins_a_long_recording_a_few_turns_at_a_time(
    tiny_pipeline: Pipeline, dialogue: tuple[Audio, list[tuple[Span, int]]]
) -> None:
    once, truth = dialogue
    audio = Audio(np.concatenate([once.samples, once.samples]), once.sample_rate)
    spacer = tiny_pipeline.with_attribute(AttributeConfig(strategy="spacer"))
    # Blocks of 30 s: the six turns (about 35 s joined) are recognized in two pieces.
    recognize = dataclasses.replace(spacer.config.recognize, max_block_s=30.0)
    config = dataclasses.replace(spacer.config, recognize=recognize)
    pipeline = Pipeline(config, engines=spacer.engines)
    seen: dict[str, Any] = {}
    transcript = pipeline.transcribe_audio(audio, artifacts=seen.__setitem__)
    spacer_s = pipeline.config.attribute.spacer_s
    assert len(spacer_chunks(seen["groups"], spacer_s, 30.0)) == 2
    for half in (0.0, once.duration_s):
        end = half + once.duration_s
        words = [w for w in transcript.words if w.span and half <= w.span.start < end]
        moved = [(Span(span.start + half, span.end + half), voice) for span, voice in truth]
        check_words(words, audio, moved)
    starts = [u.span.start for u in transcript.utterances]
    assert starts == sorted(starts)


def check_who_said_what(
    transcript: Transcript, audio: Audio, truth: list[tuple[Span, int]]
) -> None:
    check_words(list(transcript.words), audio, truth)
    starts = [u.span.start for u in transcript.utterances]
    assert starts == sorted(starts)


def check_words(words: list[Word], audio: Audio, truth: list[tuple[Span, int]]) -> None:
    """The three lines' words, nothing lost or doubled; each true turn to one speaker, the
    first and the last the same person."""
    reference = normalize_text(" ".join(LINES)).split()
    heard = normalize_text(" ".join(w.text for w in words)).split()
    assert len(set(heard) & set(reference)) >= 0.8 * len(set(reference))
    assert 0.8 * len(reference) <= len(heard) <= 1.2 * len(reference)
    by_turn = [
        {w.speaker for w in words if w.span and span.start <= w.span.start < span.end}
        for span, _ in truth
    ]
    assert all(len(speakers) == 1 for speakers in by_turn)
    assert by_turn[0] == by_turn[2] != by_turn[1]
    assert all(w.speaker_confidence is not None for w in words)
    assert all(w.span is not None and 0 <= w.span.start <= audio.duration_s for w in words)


class FakeRecognizer:
    """Says the same words whatever it hears (some untimed): for inputs Whisper never gives."""

    def __init__(self, words: tuple[Word, ...]) -> None:
        self.words = words
        self.info = None

    def recognize(
        self,
        samples: npt.NDArray[np.float32],
        on_progress: Callable[[float], None] | None = None,
        *,
        language: str | None = None,
    ) -> Recognition:
        del on_progress, language
        duration_s = samples.shape[0] / 16_000
        words = tuple(w for w in self.words if w.span is None or w.span.end <= duration_s)
        if not words:
            return Recognition("en", 1.0, ())
        text = " ".join(w.text for w in words)
        return Recognition("en", 1.0, (Utterance(Span(0.0, duration_s), text, words),))


class NoSpeechDiarizer:
    """Diarization that heard nobody."""

    models = ()

    def diarize(self, audio: Audio, progress: Any = None) -> Diarization:
        del audio, progress
        return Diarization((), (), {})


def faked(pipeline: Pipeline, strategy: str, **engines: Any) -> Pipeline:
    """``pipeline`` with ``strategy`` and stand-ins for some of its engines."""
    twin = pipeline.with_attribute(AttributeConfig(strategy=strategy))  # type: ignore[arg-type]
    return Pipeline(twin.config, engines=dataclasses.replace(twin.engines, **engines))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_words_without_diarized_speech_keep_no_speaker(
    tiny_pipeline: Pipeline, dialogue: tuple[Audio, list[tuple[Span, int]]], strategy: str
) -> None:
    audio, _ = dialogue
    transcript = faked(tiny_pipeline, strategy, diarizer=NoSpeechDiarizer()).transcribe_audio(audio)
    assert len(transcript.words) >= 20
    assert {w.speaker for w in transcript.words} == {None}
    assert transcript.turns == () and transcript.speakers == ()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_diarized_speech_without_words(
    tiny_pipeline: Pipeline, dialogue: tuple[Audio, list[tuple[Span, int]]], strategy: str
) -> None:
    audio, _ = dialogue
    pipeline = faked(tiny_pipeline, strategy, recognizer=FakeRecognizer(()))
    transcript = pipeline.transcribe_audio(audio)
    assert transcript.utterances == ()
    assert len(transcript.speakers) == 2 and transcript.turns


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_untimed_words_are_kept_and_get_a_speaker(
    tiny_pipeline: Pipeline, dialogue: tuple[Audio, list[tuple[Span, int]]], strategy: str
) -> None:
    audio, _ = dialogue
    words = (Word("so", Span(0.6, 0.9), 0.9), Word("um", None, 0.5), Word("well", None, 0.5))
    transcript = faked(tiny_pipeline, strategy, recognizer=FakeRecognizer(words)).transcribe_audio(
        audio
    )
    said = [w.text for w in transcript.words]
    assert said[:3] == ["so", "um", "well"] and set(said) == {"so", "um", "well"}
    assert all(w.speaker is not None for w in transcript.words)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_silence_gives_an_empty_transcript(tiny_pipeline: Pipeline, strategy: str) -> None:
    transcript = run(tiny_pipeline, strategy, Audio(silence(5.0), 16_000))
    assert transcript.utterances == () and transcript.turns == ()
    assert transcript.duration_s == pytest.approx(5.0)
