"""A conversation of three eSpeak NG voices: the written RTTM says where the speech energy is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from media import speak, speech_samples, write_media
from saywho.audio import decode
from saywho.evaluation.mixtures import (
    SAMPLE_RATE,
    Clip,
    MixtureSpec,
    build_conversation,
    main,
    speech_clip,
    write_mixture,
)
from saywho.types import Audio, Span, Turn
from saywho.vad.silero import SileroVad

VOICES = {"mike": "en-us+m3", "fiona": "en-gb+f3", "mark": "en-us+m7"}
SENTENCES = (
    "I think we should leave before the rain starts.",
    "The meeting moved to Thursday afternoon, after lunch.",
    "Could you send me the numbers from last quarter?",
    "Honestly, the old version was faster on my laptop.",
)
FRAME_S = 0.01


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, vad: SileroVad) -> list[Clip]:
    """Each voice says every sentence, trimmed to its speech with Silero VAD."""
    folder = tmp_path_factory.mktemp("voices")
    result = []
    for name, voice in VOICES.items():
        for sentence in SENTENCES:
            samples = speech_samples(sentence, folder, voice=voice)
            clip = speech_clip(Audio(samples, SAMPLE_RATE), vad, name, sentence)
            assert clip is not None
            result.append(clip)
    return result


def parse_rttm(path: Path) -> list[Turn]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        _, _, _, start, duration, _, _, speaker, _, _ = line.split()
        turns.append(Turn(Span(float(start), float(start) + float(duration)), speaker))
    return turns


def frame_db(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Level of each 10 ms frame in dBFS; shape (n // 160,)."""
    frame = round(FRAME_S * SAMPLE_RATE)
    n_frames = samples.shape[0] // frame
    frames = samples[: n_frames * frame].reshape(n_frames, frame).astype(np.float64)
    return 10 * np.log10(np.mean(np.square(frames), axis=1) + 1e-12)  # (n_frames,)


def frames_in(levels: npt.NDArray[np.float64], span: Span) -> npt.NDArray[np.float64]:
    return levels[int(span.start / FRAME_S) : int(np.ceil(span.end / FRAME_S))]


def gaps(turns: list[Turn], duration_s: float) -> list[Span]:
    """The stretches no turn covers."""
    result, covered = [], 0.0
    for turn in sorted(turns):
        if turn.span.start > covered:
            result.append(Span(covered, turn.span.start))
        covered = max(covered, turn.span.end)
    if duration_s > covered:
        result.append(Span(covered, duration_s))
    return result


def test_the_rttm_matches_where_the_speech_is(tmp_path: Path, clips: list[Clip]) -> None:
    spec = MixtureSpec(n_speakers=3, duration_s=45.0, overlap_share=0.2, backchannel_share=0.3)
    mixture = build_conversation(clips, spec, seed=21)
    write_mixture(mixture, tmp_path, "voices")
    turns = parse_rttm(tmp_path / "voices.rttm")
    levels = frame_db(decode(tmp_path / "voices.wav").samples)

    assert {turn.label for turn in turns} == set(VOICES)
    assert abs(mixture.duration_s - 45.0) < 5.0
    for turn in turns:
        inside = frames_in(levels, turn.span)
        assert np.mean(inside > -45.0) > 0.5, turn  # mostly speech
        edge_s = min(0.15, turn.span.duration / 2)
        head = frames_in(levels, Span(turn.span.start, turn.span.start + edge_s))
        tail = frames_in(levels, Span(turn.span.end - edge_s, turn.span.end))
        assert head.max() > -45.0, turn  # trimmed: speech right from the start
        assert tail.max() > -45.0, turn  # and up to the end
    long_gaps = [gap for gap in gaps(turns, mixture.duration_s) if gap.duration > 0.3]
    assert long_gaps
    for gap in long_gaps:
        inner = Span(gap.start + 0.02, gap.end - 0.02)  # RTTM times are rounded to 1 ms
        assert frames_in(levels, inner).max() < -80.0, gap


def test_the_command_line_builds_from_an_eval_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eval_dir = make_eval_dir(tmp_path / "eval")
    out = tmp_path / "out"
    args = ["--eval-dir", str(eval_dir), "--out", str(out), "--speakers", "4", "--minutes", "0.5"]
    assert main([*args, "--overlap", "0.2", "--seed", "3", "--count", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    uris = ["mix-4spk-30s-ov20-bc0-seed3", "mix-4spk-30s-ov20-bc0-seed4"]
    assert [line.split("\t")[0] for line in printed] == uris
    assert all("4 speakers" in line for line in printed)
    for uri in uris:
        rttm = (out / f"{uri}.rttm").read_text(encoding="utf-8")
        assert "librispeech_42" in rttm
        assert "anna" not in rttm  # German is left out by default
        assert (out / f"{uri}.stm").read_text(encoding="utf-8")
    first = (out / f"{uris[0]}.wav").read_bytes()
    assert main([*args, "--overlap", "0.2", "--seed", "3", "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / f"{uris[0]}.wav").read_bytes() == first
    assert main([*args, "--speakers", "6"]) == 2  # five speakers at most, four of them English
    assert "needs 6 speakers" in capsys.readouterr().err


def make_eval_dir(root: Path) -> Path:
    """A small eval corpus in the layout of the shared one: eSpeak voices, one German."""
    single = root / "single_speaker_utterances"
    single.mkdir(parents=True)
    rows = ["file\tspeaker\tlanguage\tsource\ttranscript"]
    voices = [*VOICES.items(), ("anna", "de")]
    for name, voice in voices:
        for index, sentence in enumerate(SENTENCES[:2]):
            speak(sentence, single / f"{name}{index}.wav", voice=voice)
            language = "de" if voice == "de" else "en"
            rows.append(f"{name}{index}.wav\t{name}\t{language}\tespeak-ng\t{sentence}")
    (single / "manifest.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    libri = root / "librispeech_test-other_resemblyzer" / "42"
    libri.mkdir(parents=True)
    for index, sentence in enumerate(SENTENCES[2:]):
        samples = speech_samples(sentence, libri.parent, voice="en-us+m1")
        write_media(libri / f"42-1-{index}.flac", samples, codec="flac")
    rows = ["file\tspeaker", "42/42-1-0.flac\t42", "42/42-1-1.flac\t42"]
    (libri.parent / "manifest.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def test_a_pause_inside_a_clip_is_found_and_left_out_of_the_reference(
    tmp_path: Path, vad: SileroVad
) -> None:
    sentences = [speech_samples(text, tmp_path, voice=VOICES["mike"]) for text in SENTENCES[:2]]
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)  # 1 s between the two sentences
    audio = Audio(np.concatenate([silence, sentences[0], silence, sentences[1]]), SAMPLE_RATE)
    clip = speech_clip(audio, vad, "mike", None)
    assert clip is not None
    assert len(clip.pauses) == 1
    first, last = clip.pauses[0]
    assert 0.8 <= (last - first) / SAMPLE_RATE <= 1.6  # espeak adds a little quiet at its edges
    assert np.abs(clip.samples[first:last]).max() < 0.01  # the pause is the silence
    mixture = build_conversation([clip], MixtureSpec(n_speakers=1, duration_s=5.0), seed=0)
    assert len(mixture.turns) == 2 * len(mixture.placed)
