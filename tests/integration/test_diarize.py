"""Real diarization (segmentation-3.0 + CAM++ ONNX) on synthesised voices with known turns."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from media import LINES, VOICES, conversation, resample, silence, speech_samples, tone, write_media
from saywho import Pipeline, PipelineConfig, RecognizeConfig, models
from saywho.audio import decode
from saywho.cli import main
from saywho.config import EMBEDDING_MODEL, SEGMENTATION_MODEL, DiarizeConfig
from saywho.diarize.diarizer import Diarizer
from saywho.diarize.embed import Embedder
from saywho.diarize.segment import Segmenter
from saywho.errors import ConfigError
from saywho.types import Audio, Diarization, Span


def agreement(result: Diarization, truth: list[tuple[Span, int]]) -> float:
    """Share of the true speech time given to the label that best maps to each true voice."""
    step = 0.01
    score, total = 0.0, 0.0
    for span, voice in truth:
        for t in np.arange(span.start + 0.2, span.end - 0.2, step):
            labels = [
                turn.label
                for turn in result.exclusive_turns
                if turn.span.start <= t < turn.span.end
            ]
            total += step
            score += step if labels and labels[0] == _best_label(result, truth, voice) else 0.0
    return score / total


def _best_label(result: Diarization, truth: list[tuple[Span, int]], voice: int) -> str | None:
    overlap: dict[str, float] = {}
    for span, who in truth:
        if who != voice:
            continue
        for turn in result.exclusive_turns:
            shared = min(span.end, turn.span.end) - max(span.start, turn.span.start)
            if shared > 0:
                overlap[turn.label] = overlap.get(turn.label, 0.0) + shared
    return max(overlap, key=lambda k: overlap[k]) if overlap else None


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return Diarizer(DiarizeConfig())


def test_two_voices_are_two_speakers_at_the_right_times(diarizer: Diarizer, tmp_path: Path) -> None:
    samples, truth = conversation(tmp_path, (0, 1, 0, 1))
    result = diarizer.diarize(Audio(samples, 16_000))
    assert result.labels == ("SPEAKER_00", "SPEAKER_01")
    assert agreement(result, truth) > 0.9
    assert set(result.centroids) == set(result.labels)
    assert all(abs(np.linalg.norm(c) - 1.0) < 1e-4 for c in result.centroids.values())
    exclusive = sorted(result.exclusive_turns)
    assert all(a.span.end <= b.span.start + 1e-9 for a, b in itertools.pairwise(exclusive))


def test_two_voices_through_a_voice_note_codec_stay_two(diarizer: Diarizer, tmp_path: Path) -> None:
    # A voice note: Opus at 16 kbps (48 kHz in the codec), decoded back the normal way.
    samples, truth = conversation(tmp_path, (0, 1, 0, 1))
    note = write_media(
        tmp_path / "note.ogg",
        resample(samples, 16_000, 48_000),
        rate=48_000,
        codec="libopus",
        bit_rate=16_000,
    )
    result = diarizer.diarize(decode(note))
    assert result.labels == ("SPEAKER_00", "SPEAKER_01")
    assert agreement(result, truth) > 0.85


def test_three_voices_and_count_hints(diarizer: Diarizer, tmp_path: Path) -> None:
    samples, truth = conversation(tmp_path, (0, 1, 2, 0, 1, 2))
    audio = Audio(samples, 16_000)
    auto = diarizer.diarize(audio)
    assert len(auto.labels) == 3
    assert agreement(auto, truth) > 0.85
    told = Diarizer(DiarizeConfig(num_speakers=3)).diarize(audio)
    assert agreement(told, truth) >= agreement(auto, truth) - 1e-9
    two = Diarizer(DiarizeConfig(max_speakers=2)).diarize(audio)
    assert len(two.labels) == 2


def test_one_voice_is_one_speaker(diarizer: Diarizer, tmp_path: Path) -> None:
    samples, _ = conversation(tmp_path, (2, 2, 2, 2))
    assert diarizer.diarize(Audio(samples, 16_000)).labels == ("SPEAKER_00",)


@pytest.mark.parametrize(
    "samples",
    [silence(20.0), silence(0.3), tone(0.3)],
    ids=["silence", "0.3 s of silence", "0.3 s of tone"],
)
def test_nothing_to_diarize_gives_no_turns(
    diarizer: Diarizer, samples: npt.NDArray[np.float32]
) -> None:
    result = diarizer.diarize(Audio(samples, 16_000))
    assert result.turns == ()
    assert result.labels == ()


def test_a_short_reply_survives(diarizer: Diarizer, tmp_path: Path) -> None:
    long_a = speech_samples(" ".join(LINES[:2]), tmp_path, voice=VOICES[0])
    reply = speech_samples("Yes.", tmp_path, voice=VOICES[1])
    long_b = speech_samples(" ".join(LINES[2:]), tmp_path, voice=VOICES[1])
    samples = np.concatenate(
        [long_a, silence(0.4), reply, silence(0.4), long_a, silence(0.6), long_b]
    )
    reply_start = (long_a.shape[0] + 0.4 * 16_000) / 16_000
    result = diarizer.diarize(Audio(samples, 16_000))
    assert len(result.labels) == 2
    during = [
        t.label
        for t in result.exclusive_turns
        if t.span.start < reply_start + 0.3 and t.span.end > reply_start + 0.1
    ]
    main_speaker = result.exclusive_turns[0].label
    assert during and any(label != main_speaker for label in during)


def test_transcript_words_get_speakers(tmp_path: Path) -> None:
    samples, truth = conversation(tmp_path, (0, 1, 0))
    pipeline = Pipeline(PipelineConfig(recognize=RecognizeConfig(model="tiny.en")))
    transcript = pipeline.transcribe(write_media(tmp_path / "talk.wav", samples))
    assert [s.label for s in transcript.speakers] == ["SPEAKER_00", "SPEAKER_01"]
    assert transcript.turns
    speakers = [u.speaker for u in transcript.utterances]
    assert speakers[0] == "SPEAKER_00" and "SPEAKER_01" in speakers
    first_b = next(u for u in transcript.utterances if u.speaker == "SPEAKER_01")
    assert first_b.span.start == pytest.approx(truth[1][0].start, abs=0.6)
    assert all(w.speaker_confidence is not None for w in transcript.words)


def test_diarize_command_writes_rttm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples, _ = conversation(tmp_path, (0, 1))
    path = write_media(tmp_path / "pair.wav", samples)
    assert main(["diarize", str(path), "-o", str(tmp_path / "out"), "-q"]) == 0
    lines = (tmp_path / "out" / "pair.rttm").read_text().splitlines()
    assert {line.split()[7] for line in lines} == {"SPEAKER_00", "SPEAKER_01"}
    assert all(line.startswith("SPEAKER pair 1 ") for line in lines)
    assert (tmp_path / "out" / "pair.json").exists()
    assert main(["diarize", str(path), "--min-speakers", "5", "--max-speakers", "2"]) == 2
    assert "min-speakers 5 is more than max-speakers 2" in capsys.readouterr().err


def test_bad_hints_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="num-speakers must be at least 1"):
        DiarizeConfig(num_speakers=0)


def test_decoded_file_round_trip(tmp_path: Path) -> None:
    """The same conversation through a compressed file diarizes the same way."""
    samples, truth = conversation(tmp_path, (1, 0))
    path = write_media(tmp_path / "pair.m4a", samples, rate=16_000, codec="aac")
    result = Diarizer(DiarizeConfig()).diarize(decode(path))
    assert agreement(result, truth) > 0.9


def test_speech_running_into_the_end_of_the_file(diarizer: Diarizer, tmp_path: Path) -> None:
    """Speech cut off by the end of the recording, in a window padded past it, still works."""
    samples, _ = conversation(tmp_path, (0, 1), pause_s=0.1)
    for cut_s in (0.02, 0.3, 2.0):
        cut = samples[: samples.shape[0] - round(cut_s * 16_000)]
        result = diarizer.diarize(Audio(np.ascontiguousarray(cut), 16_000))
        assert 1 <= len(result.labels) <= 2
        assert all(t.span.end <= cut.shape[0] / 16_000 + 0.05 for t in result.turns)


def test_clips_embedded_side_by_side_give_the_same_prints(tmp_path: Path) -> None:
    samples = speech_samples(LINES[0], tmp_path, voice=VOICES[0])
    clips = [
        samples[start : start + 24_000] for start in range(0, samples.shape[0] - 24_000, 8_000)
    ]
    assert len(clips) >= 3
    path = models.model_file(EMBEDDING_MODEL)
    one_at_a_time = Embedder(path, threads=1).embed(clips)
    side_by_side = Embedder(path, threads=2).embed(clips)
    assert side_by_side.shape == (len(clips), 192)
    assert np.isfinite(side_by_side).all()
    np.testing.assert_allclose(side_by_side, one_at_a_time, atol=1e-5)
    # Each clip kept its own print: neighbours differ.
    assert not np.allclose(side_by_side[0], side_by_side[1], atol=1e-3)


def test_windows_segmented_side_by_side_give_the_same_activity(tmp_path: Path) -> None:
    samples, _ = conversation(tmp_path, (0, 1, 0, 1), pause_s=0.3)
    audio = Audio(np.tile(samples, 3), 16_000)  # long enough for several batches of windows
    path = models.model_file(SEGMENTATION_MODEL)
    reported: list[float] = []
    one_at_a_time = Segmenter(path, threads=1).local_activity(audio, 2.5)
    side_by_side = Segmenter(path, threads=2).local_activity(audio, 2.5, reported.append)
    assert side_by_side.activity.shape[0] > 8  # more windows than two batches
    np.testing.assert_array_equal(side_by_side.window_start, one_at_a_time.window_start)
    np.testing.assert_allclose(side_by_side.activity, one_at_a_time.activity)
    np.testing.assert_allclose(side_by_side.count, one_at_a_time.count, atol=1e-5)
    assert side_by_side.activity.any()
    # Progress comes in order and ends at the end of the recording.
    assert reported == sorted(reported)
    assert reported[-1] == pytest.approx(audio.duration_s)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_clip_too_short_to_embed_is_refused(tmp_path: Path, threads: int) -> None:
    samples = speech_samples(LINES[0], tmp_path, voice=VOICES[0])
    clips = [samples[:24_000], samples[:800], samples[:24_000]]  # 1.5 s, 0.05 s, 1.5 s
    embedder = Embedder(models.model_file(EMBEDDING_MODEL), threads=threads)
    with pytest.raises(ValueError, match="800 samples is too short"):
        embedder.embed(clips)
