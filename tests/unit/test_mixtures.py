"""Seeded conversations from synthetic clips: determinism, turn-taking rules, written files."""

from __future__ import annotations

import itertools
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from saywho.errors import ConfigError, OutputError
from saywho.evaluation.mixtures import (
    SAMPLE_RATE,
    Clip,
    Mixture,
    MixtureSpec,
    build_conversation,
    overlap_s,
    write_mixture,
)
from saywho.types import Span, Turn

SPEAKERS = ("alice", "bob", "carol", "dave", "erin")
ONE_SAMPLE_S = 1 / SAMPLE_RATE


def burst(seconds: float, hz: float, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A tone plus a little noise, at about -15 dBFS; shape (seconds * 16000,)."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    noise = 0.02 * rng.standard_normal(t.shape[0])
    return (0.2 * np.sin(2 * np.pi * hz * t) + noise).astype(np.float32)


def make_clips(
    speakers: Sequence[str] = SPEAKERS,
    per_speaker: int = 6,
    *,
    lengths_s: tuple[float, float] = (1.0, 6.0),
    short_replies: bool = False,
) -> list[Clip]:
    """Clips of distinct lengths (a length identifies its clip), every other one transcribed."""
    rng = np.random.default_rng(1234)
    clips = []
    for k, speaker in enumerate(speakers):
        for j in range(per_speaker):
            seconds = round(float(rng.uniform(*lengths_s)), 3) + 0.0001 * (k * per_speaker + j)
            text = f"{speaker} says number {j}" if j % 2 == 0 else None
            clips.append(Clip(speaker, burst(seconds, 200.0 + 80 * k, rng), text))
        if short_replies:
            clips.append(Clip(speaker, burst(0.5, 900.0 + 80 * k, rng), "yeah"))
    return clips


def lengths(turns: Sequence[Turn]) -> list[int]:
    return [round(turn.span.duration * SAMPLE_RATE) for turn in turns]


def in_order(turns: Sequence[Turn]) -> list[Turn]:
    return sorted(turns, key=lambda turn: turn.span.start)


# --- determinism ---------------------------------------------------------------------------------


SPEC = MixtureSpec(n_speakers=3, duration_s=90.0, overlap_share=0.2, backchannel_share=0.3)


def test_same_seed_gives_identical_bytes_and_turns(tmp_path: Path) -> None:
    clips = make_clips(short_replies=True)
    first = build_conversation(clips, SPEC, seed=7)
    second = build_conversation(clips, SPEC, seed=7)
    assert first.samples.tobytes() == second.samples.tobytes()
    assert first.turns == second.turns
    assert first.texts == second.texts
    for name, mixture in (("a", first), ("b", second)):
        write_mixture(mixture, tmp_path / name, "mix")
    for suffix in (".wav", ".rttm", ".stm"):
        assert (tmp_path / "a" / f"mix{suffix}").read_bytes() == (
            tmp_path / "b" / f"mix{suffix}"
        ).read_bytes()


def test_different_seeds_give_different_conversations() -> None:
    clips = make_clips()
    first = build_conversation(clips, SPEC, seed=7)
    second = build_conversation(clips, SPEC, seed=8)
    assert first.samples.tobytes() != second.samples.tobytes()
    assert first.turns != second.turns


def test_clips_are_not_modified() -> None:
    clips = make_clips(short_replies=True)
    before = [clip.samples.copy() for clip in clips]
    build_conversation(clips, SPEC, seed=3)
    for clip, samples in zip(clips, before, strict=True):
        np.testing.assert_array_equal(clip.samples, samples)


# --- shape of the conversation -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_turns_lie_inside_the_audio_which_stays_in_range(seed: int) -> None:
    mixture = build_conversation(make_clips(short_replies=True), SPEC, seed)
    assert mixture.samples.dtype == np.float32
    assert mixture.sample_rate == SAMPLE_RATE
    assert np.abs(mixture.samples).max() <= 1.0
    assert mixture.turns == tuple(sorted(mixture.turns))
    for turn in mixture.turns:
        assert 0.0 < turn.span.start < turn.span.end <= mixture.duration_s


@pytest.mark.parametrize("n_speakers", [1, 2, 3, 5])
def test_no_speaker_follows_themselves(n_speakers: int) -> None:
    spec = MixtureSpec(n_speakers=n_speakers, duration_s=120.0, overlap_share=0.3)
    mixture = build_conversation(make_clips(), spec, seed=n_speakers)
    assert len(mixture.speakers) == n_speakers
    labels = [turn.label for turn in in_order(mixture.turns)]
    if n_speakers > 1:
        assert all(a != b for a, b in itertools.pairwise(labels))


@pytest.mark.parametrize("seed", range(5))
def test_no_speaker_overlaps_themselves_with_backchannels(seed: int) -> None:
    spec = MixtureSpec(n_speakers=2, duration_s=120.0, overlap_share=0.3, backchannel_share=0.6)
    mixture = build_conversation(make_clips(short_replies=True), spec, seed)
    for speaker in mixture.speakers:
        own = [turn for turn in mixture.turns if turn.label == speaker]
        assert overlap_s(own) == 0.0


def test_speakers_are_chosen_from_the_clips() -> None:
    mixture = build_conversation(make_clips(), MixtureSpec(n_speakers=3), seed=11)
    assert set(mixture.speakers) <= set(SPEAKERS)
    assert len(mixture.speakers) == 3


def test_each_speaker_uses_every_clip_before_any_again() -> None:
    clips = make_clips(per_speaker=4, lengths_s=(0.5, 1.5))
    spec = MixtureSpec(n_speakers=2, duration_s=60.0, gain_jitter_db=0.0)
    mixture = build_conversation(clips, spec, seed=5)
    for speaker in mixture.speakers:
        used = lengths([turn for turn in mixture.placed if turn.label == speaker])
        assert len(used) >= 8  # two full rounds at least
        own = sorted(len(clip.samples) for clip in clips if clip.speaker == speaker)
        for first in range(0, len(used) - 3, 4):
            assert sorted(used[first : first + 4]) == own


def test_no_overlap_at_all_when_the_share_is_zero() -> None:
    spec = MixtureSpec(n_speakers=4, duration_s=300.0, overlap_share=0.0, min_pause_s=0.2)
    mixture = build_conversation(make_clips(), spec, seed=2)
    assert mixture.overlap_s == 0.0
    turns = in_order(mixture.turns)
    gaps = [b.span.start - a.span.end for a, b in itertools.pairwise(turns)]
    assert min(gaps) >= 0.2 - ONE_SAMPLE_S
    assert max(gaps) <= 1.5 + ONE_SAMPLE_S


def test_the_overlap_share_is_roughly_respected() -> None:
    spec = MixtureSpec(n_speakers=3, duration_s=600.0, overlap_share=0.3, max_overlap_s=1.0)
    mixture = build_conversation(make_clips(lengths_s=(1.0, 4.0)), spec, seed=4)
    turns = in_order(mixture.turns)
    overlaps = [a.span.end - b.span.start for a, b in itertools.pairwise(turns)]
    overlapped = [seconds for seconds in overlaps if seconds > 0]
    assert len(turns) > 150
    assert 0.2 < len(overlapped) / len(overlaps) < 0.4
    assert max(overlapped) <= 1.0 + ONE_SAMPLE_S
    assert mixture.overlap_s == pytest.approx(sum(overlapped))


@pytest.mark.parametrize("duration_s", [60.0, 150.0, 600.0])
def test_the_duration_is_near_the_target(duration_s: float) -> None:
    spec = MixtureSpec(n_speakers=3, duration_s=duration_s, overlap_share=0.1)
    mixture = build_conversation(make_clips(), spec, seed=9)
    # Within half of the longest clip (6 s) plus the trailing pause (at most 1.5 s).
    assert abs(mixture.duration_s - duration_s) <= 3.0 + 1.5


def test_backchannels_are_added_to_the_same_conversation() -> None:
    clips = make_clips(short_replies=True)
    plain = build_conversation(clips, MixtureSpec(n_speakers=3, duration_s=120.0), seed=6)
    spec = MixtureSpec(n_speakers=3, duration_s=120.0, backchannel_share=0.5)
    busy = build_conversation(clips, spec, seed=6)
    assert plain.duration_s == busy.duration_s
    assert set(plain.placed) < set(busy.placed)
    extra = set(busy.placed) - set(plain.placed)
    assert all(turn.span.duration == pytest.approx(0.5) for turn in extra)  # whole short clips
    assert extra <= {turn for turn, text in busy.texts if text == "yeah"}


def test_backchannels_are_cut_from_clips_when_no_short_clip_exists() -> None:
    clips = make_clips()
    plain = build_conversation(clips, MixtureSpec(n_speakers=3, duration_s=120.0), seed=6)
    spec = MixtureSpec(n_speakers=3, duration_s=120.0, backchannel_share=0.5)
    busy = build_conversation(clips, spec, seed=6)
    extra = set(busy.placed) - set(plain.placed)
    assert len(extra) > 5
    assert all(0.0 < turn.span.duration <= 0.8 + ONE_SAMPLE_S for turn in extra)
    assert {turn for turn, _ in busy.texts} <= set(plain.placed)  # cuts carry no text


def test_texts_belong_to_placed_clips() -> None:
    mixture = build_conversation(make_clips(), SPEC, seed=1)
    assert mixture.texts
    assert all(turn in mixture.placed for turn, _ in mixture.texts)
    assert all(text.startswith(turn.label) for turn, text in mixture.texts)


def with_pause(clip: Clip) -> Clip:
    """``clip`` with its middle fifth silenced and declared a pause."""
    n = clip.samples.shape[0]
    first, last = 2 * n // 5, 3 * n // 5
    samples = clip.samples.copy()
    samples[first:last] = 0.0
    return Clip(clip.speaker, samples, clip.text, ((first, last),))


def test_the_reference_leaves_out_the_pauses_inside_clips() -> None:
    plain_clips = make_clips(short_replies=True)
    clips = [with_pause(clip) for clip in plain_clips]
    spec = MixtureSpec(n_speakers=3, duration_s=90.0, backchannel_share=0.5)
    plain = build_conversation(plain_clips, spec, seed=4)
    mixture = build_conversation(clips, spec, seed=4)
    assert mixture.placed == plain.placed  # the same layout: pauses change the reference only
    assert mixture.texts == plain.texts
    assert len(mixture.turns) == 2 * len(mixture.placed)
    for turn in mixture.placed:
        halves = [
            t
            for t in mixture.turns
            if t.label == turn.label
            and t.span.start >= turn.span.start
            and t.span.end <= turn.span.end
        ]
        assert len(halves) == 2
        assert halves[0].span.start == turn.span.start
        assert halves[1].span.end == turn.span.end
        gap = halves[1].span.start - halves[0].span.end
        assert gap == pytest.approx(turn.span.duration / 5, abs=2 * ONE_SAMPLE_S)
        speech = sum(t.span.duration for t in halves)
        assert speech == pytest.approx(turn.span.duration * 4 / 5, abs=2 * ONE_SAMPLE_S)


# --- errors --------------------------------------------------------------------------------------


def test_too_few_speakers_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs 6 speakers"):
        build_conversation(make_clips(), MixtureSpec(n_speakers=6), seed=0)


@pytest.mark.parametrize(
    "changes",
    [
        {"n_speakers": 0},
        {"duration_s": 0.0},
        {"min_pause_s": 2.0, "max_pause_s": 1.0},
        {"overlap_share": 1.5},
        {"backchannel_share": -0.1},
        {"max_overlap_s": 0.0},
        {"min_backchannel_s": 0.0},
        {"gain_jitter_db": -1.0},
        {"level_dbfs": 3.0},
    ],
)
def test_invalid_specs_are_config_errors(changes: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        MixtureSpec(**changes)  # type: ignore[arg-type]


def test_invalid_clips_are_refused() -> None:
    with pytest.raises(ValueError, match="spaces"):
        Clip("two words", np.ones(10, dtype=np.float32))
    with pytest.raises(ValueError, match="no samples"):
        Clip("alice", np.zeros(0, dtype=np.float32))
    with pytest.raises(ValueError, match="float32"):
        Clip("alice", np.ones(10, dtype=np.float64))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "pauses",
    [((0, 4),), ((6, 10),), ((4, 4),), ((5, 3),), ((2, 5), (4, 7)), ((6, 8), (2, 4))],
)
def test_pauses_outside_the_clip_or_out_of_order_are_refused(
    pauses: tuple[tuple[int, int], ...],
) -> None:
    with pytest.raises(ValueError, match="pauses"):
        Clip("alice", np.ones(10, dtype=np.float32), None, pauses)
    Clip("alice", np.ones(10, dtype=np.float32), None, ((2, 4), (6, 8)))  # sorted, inside


def test_a_uri_with_a_slash_is_an_output_error(tmp_path: Path) -> None:
    mixture = build_conversation(make_clips(), MixtureSpec(duration_s=10.0), seed=0)
    with pytest.raises(OutputError):
        write_mixture(mixture, tmp_path, "../escape")


# --- written files -------------------------------------------------------------------------------


def parse_rttm(path: Path) -> list[Turn]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        kind, uri, channel, start, duration, _, _, speaker, _, _ = line.split()
        assert (kind, uri, channel) == ("SPEAKER", "conv", "1")
        turns.append(Turn(Span(float(start), float(start) + float(duration)), speaker))
    return turns


def parse_stm(path: Path) -> list[tuple[Turn, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        uri, channel, speaker, start, end, text = line.split(maxsplit=5)
        assert (uri, channel) == ("conv", "1")
        rows.append((Turn(Span(float(start), float(end)), speaker), text))
    return rows


def assert_same_turns(parsed: Sequence[Turn], turns: Sequence[Turn]) -> None:
    assert len(parsed) == len(turns)
    for got, want in zip(parsed, turns, strict=True):
        assert got.label == want.label
        assert got.span.start == pytest.approx(want.span.start, abs=0.0006)
        assert got.span.end == pytest.approx(want.span.end, abs=0.0011)


def test_written_files_parse_back(tmp_path: Path) -> None:
    mixture: Mixture = build_conversation(make_clips(short_replies=True), SPEC, seed=12)
    paths = write_mixture(mixture, tmp_path / "out", "conv")
    assert [path.name for path in paths] == ["conv.wav", "conv.rttm", "conv.stm"]
    assert_same_turns(parse_rttm(paths[1]), mixture.turns)
    stm = parse_stm(paths[2])
    assert_same_turns([turn for turn, _ in stm], [turn for turn, _ in mixture.texts])
    assert [text for _, text in stm] == [text for _, text in mixture.texts]
    with wave.open(str(paths[0]), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_allclose(pcm / 32767, mixture.samples, atol=1 / 32767)
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind


def test_no_stm_without_transcripts(tmp_path: Path) -> None:
    clips = [Clip(c.speaker, c.samples, None) for c in make_clips()]
    mixture = build_conversation(clips, MixtureSpec(duration_s=30.0), seed=0)
    paths = write_mixture(mixture, tmp_path, "conv")
    assert [path.name for path in paths] == ["conv.wav", "conv.rttm"]
    assert not (tmp_path / "conv.stm").exists()


def test_overlap_s_counts_time_with_two_or_more_speakers() -> None:
    turns = [
        Turn(Span(0.0, 4.0), "a"),
        Turn(Span(3.0, 6.0), "b"),
        Turn(Span(3.5, 5.0), "c"),
        Turn(Span(6.0, 7.0), "a"),  # touching is not overlapping
    ]
    assert overlap_s(turns) == pytest.approx(2.0)
    assert overlap_s([]) == 0.0
