"""The live engine's pure parts: agreement, speaker tracking, the timeline, label mapping,
lines, the recording, and the live settings."""

from __future__ import annotations

import dataclasses
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from saywho.config import LiveConfig
from saywho.diarize.reconstruct import FrameGrid
from saywho.errors import ConfigError
from saywho.identify.naming import VoicePrint
from saywho.live.agreement import agreed_prefix, fresh_words, word_key
from saywho.live.language import StreamLanguage
from saywho.live.lines import LineBuilder
from saywho.live.mapping import live_labels
from saywho.live.recording import Recording
from saywho.live.tails import recheck_tails
from saywho.live.timeline import SpeakerTimeline
from saywho.live.tracker import SpeakerTracker, TrackerSettings
from saywho.types import Audio, Span, Turn, Word


def words(
    text: str, start: float = 0.0, step: float = 0.5, speaker: str | None = None
) -> list[Word]:
    return [
        Word(token, Span(start + i * step, start + i * step + 0.4), 0.9, speaker)
        for i, token in enumerate(text.split())
    ]


def direction(angle: float, dim: int = 8) -> npt.NDArray[np.float32]:
    vector = np.zeros(dim, dtype=np.float32)
    vector[0], vector[1] = np.cos(angle), np.sin(angle)
    return vector


# -- agreement ----------------------------------------------------------------------------


def test_words_compare_without_case_or_punctuation() -> None:
    assert word_key(Word("Hello,", None, 1.0)) == word_key(Word("hello", None, 1.0)) == "hello"
    assert word_key(Word("didn't", None, 1.0)) == "didn't"


def test_agreement_is_the_shared_leading_words() -> None:
    before = words("so we went to the")
    now = words("So, we went to a market")
    assert agreed_prefix(before, now) == 4
    assert agreed_prefix([], now) == 0
    assert agreed_prefix(now, now) == len(now)


def test_agreement_bridges_a_word_heard_differently_when_the_words_after_it_agree() -> None:
    before = words("apomorphine is not early in physiological")
    now = words("Epimorphine is not early in physiological action")
    assert agreed_prefix(before, now) == 6  # the current guess of the first word is taken
    looped = words("we went to the we went to the market")  # a repeat in the old guess
    assert agreed_prefix(looped, words("we went to the market")) == 4
    twice = words("the gut and the gut being cut across")
    assert agreed_prefix(words("the gut of the gut being cut across"), twice) == 8


def test_agreement_does_not_bridge_on_too_few_words_too_many_or_other_times() -> None:
    now = words("epimorphine is not early in physiological action")
    assert agreed_prefix(words("apomorphine is not"), now) == 0  # two words after it: not enough
    assert agreed_prefix(words("a pomme or fine is not early"), now) == 0  # three words differ
    later = words("apomorphine is not early in", start=1.0)  # the same words a second later
    assert agreed_prefix(later, now) == 0


def test_a_bridge_compares_the_times_of_all_the_words_after_it_not_only_the_first() -> None:
    now = words("epimorphine is not early in physiological action")
    before = words("apomorphine is not early in physiological")
    # The first word after the disagreement stretched back over a pause in one guess.
    stretched = Span(before[1].start - 0.8, before[1].end)
    moved = [dataclasses.replace(before[1], span=stretched), *before[2:]]
    assert agreed_prefix([before[0], *moved], now) == 6


def test_fresh_words_drop_what_is_final_by_time_and_by_repeat() -> None:
    final = words("we went to the market")  # ends at 2.4 s
    hypothesis = words("the market and bought bread", start=1.5)
    assert [w.text for w in fresh_words(hypothesis, final, final[-1].end)] == [
        "and",
        "bought",
        "bread",
    ]
    # Whisper re-reads the last final words with later times: the repeat goes too.
    repeated = words("the market and then", start=2.5)
    assert [w.text for w in fresh_words(repeated, final, final[-1].end)] == ["and", "then"]
    assert fresh_words(words("hello there"), [], 0.0) == tuple(words("hello there"))


# -- tracker ------------------------------------------------------------------------------


def test_tracker_founds_speakers_only_with_enough_clean_speech() -> None:
    tracker = SpeakerTracker(TrackerSettings(threshold_distance=0.3, new_speaker_s=1.5))
    prints = np.stack([direction(0.0), direction(np.pi / 2)])
    assert tracker.assign(prints, np.array([2.0, 1.0])) == (0, None)  # too little for a second
    assert tracker.assign(prints, np.array([2.0, 2.0])) == (0, 1)
    assert [s.index for s in tracker.speakers] == [0, 1]


def test_two_local_speakers_of_a_window_are_never_one_speaker() -> None:
    tracker = SpeakerTracker(
        TrackerSettings(threshold_distance=0.3, new_speaker_s=1.0, merge_distance=None)
    )
    tracker.assign(direction(0.0)[None], np.array([3.0]))
    # Both are close to speaker 0; only the closer gets it, the other founds a new speaker.
    both = np.stack([direction(0.05), direction(0.2)])
    assert tracker.assign(both, np.array([2.0, 2.0])) == (0, 1)


def test_speaker_numbers_never_change_and_centroids_follow_clean_speech() -> None:
    tracker = SpeakerTracker(
        TrackerSettings(threshold_distance=0.3, new_speaker_s=1.0, update_s=1.0)
    )
    tracker.assign(direction(0.0)[None], np.array([2.0]))
    tracker.assign(direction(np.pi)[None], np.array([2.0]))
    for _ in range(5):
        assert tracker.assign(direction(0.1)[None], np.array([2.0])) == (0,)
        assert tracker.assign(direction(np.pi + 0.1)[None], np.array([0.5])) == (1,)
    centroids = {s.index: s.centroid for s in tracker.speakers}
    assert float(centroids[0] @ direction(0.1)) > float(centroids[0] @ direction(0.0))
    assert np.allclose(centroids[1], direction(np.pi), atol=1e-6)  # short prints move nothing


def test_a_speaker_founded_twice_joins_the_older_one_when_their_centroids_meet() -> None:
    tracker = SpeakerTracker(
        TrackerSettings(threshold_distance=0.6, new_speaker_s=1.0, merge_distance=0.2)
    )
    assert tracker.assign(direction(0.0)[None], np.array([3.0])) == (0,)
    # Segmentation holds one voice in two local speakers: the second founds speaker 1
    # (farther than merge_distance from speaker 0: 1 - cos 0.7 = 0.24).
    assert tracker.assign(np.stack([direction(0.0), direction(0.7)]), np.array([3, 2.0])) == (
        0,
        1,
    )
    assert tracker.merged == {}
    # It happens again; speaker 1 learns a print that is speaker 0's voice, and the two
    # centroids come within merge_distance: speaker 1 joins speaker 0, in this window too.
    assert tracker.assign(np.stack([direction(0.0), direction(0.1)]), np.array([3, 3.0])) == (
        0,
        0,
    )
    assert tracker.merged == {1: 0}
    assert [s.index for s in tracker.speakers] == [0]
    assert tracker.assign(direction(0.7)[None], np.array([2.0])) == (0,)  # 1 is gone
    assert tracker.closer(direction(0.7), current=0, taken=[0], margin=0.0) is None
    # A different voice still founds a speaker of its own (numbers are never reused).
    assert tracker.assign(direction(np.pi)[None], np.array([2.0])) == (2,)


def test_two_enrolled_voices_are_never_merged() -> None:
    enrolled = [VoicePrint("alice", direction(0.0)), VoicePrint("ann", direction(0.1))]
    tracker = SpeakerTracker(
        TrackerSettings(enrolled_distance=0.4, new_speaker_s=1.0, merge_distance=0.2), enrolled
    )
    assert tracker.assign(np.stack([direction(0.0), direction(0.1)]), np.array([3, 3.0])) == (
        0,
        1,
    )
    assert tracker.merged == {}
    assert [s.name for s in tracker.speakers] == ["alice", "ann"]


def test_a_print_closer_to_another_speaker_by_the_margin_names_that_one() -> None:
    tracker = SpeakerTracker(TrackerSettings(threshold_distance=0.5, new_speaker_s=1.0))
    tracker.assign(np.stack([direction(0.0), direction(np.pi / 2)]), np.array([3.0, 3.0]))
    assert tracker.closer(direction(1.4), current=0, taken=[0, None], margin=0.1) == 1
    assert tracker.closer(direction(1.4), current=0, taken=[0, 1], margin=0.1) is None  # taken
    assert tracker.closer(direction(0.2), current=0, taken=[0], margin=0.1) is None  # own voice
    assert tracker.closer(direction(0.8), current=0, taken=[0], margin=0.1) is None  # in between
    assert tracker.closer(direction(np.pi), current=0, taken=[0], margin=0.1) is None  # no one


def test_enrolled_voices_are_named_fixed_speakers() -> None:
    alice = VoicePrint("alice", direction(0.0))
    tracker = SpeakerTracker(
        TrackerSettings(threshold_distance=0.3, enrolled_distance=0.4, new_speaker_s=1.0), [alice]
    )
    assert tracker.speakers == ()  # not heard yet
    assert tracker.assign(direction(0.5)[None], np.array([3.0])) == (0,)
    assert tracker.assign(direction(2.0)[None], np.array([3.0])) == (1,)  # a stranger
    (named, stranger) = tracker.speakers
    assert (named.name, named.enrolled, stranger.name) == ("alice", True, None)
    assert np.allclose(named.centroid, direction(0.0), atol=1e-6)


def test_at_the_speaker_limit_a_stranger_joins_the_nearest_free_speaker() -> None:
    tracker = SpeakerTracker(
        TrackerSettings(threshold_distance=0.1, new_speaker_s=1.0, max_speakers=2)
    )
    tracker.assign(np.stack([direction(0.0), direction(np.pi)]), np.array([2.0, 2.0]))
    assert tracker.assign(direction(2.5)[None], np.array([2.0])) == (1,)
    assert len(tracker.speakers) == 2


# -- tails ----------------------------------------------------------------------------------


def two_speakers() -> SpeakerTracker:
    tracker = SpeakerTracker(TrackerSettings(threshold_distance=0.6, new_speaker_s=1.0))
    tracker.assign(np.stack([direction(0.0), direction(np.pi / 2)]), np.array([3.0, 3.0]))
    return tracker


def test_a_tail_that_sounds_like_another_speaker_goes_to_them_from_where_their_voice_began() -> (
    None
):
    tracker = two_speakers()
    activity = np.zeros((100, 2), dtype=np.float32)
    activity[:, 0] = 1.0  # local speaker 0: voice A, then voice B from frame 40
    activity[:20, 1] = 1.0  # local speaker 1 (speaker 1, voice B) talks early on only
    stretches = {70: (40, direction(np.pi / 2)), 40: (10, direction(0.0))}
    asked = []

    def print_before(speaker: int, before: int) -> tuple[int, npt.NDArray[np.float32]] | None:
        asked.append((speaker, before))
        return stretches.get(before)

    columns, owners = recheck_tails(
        activity,
        [0, 1],
        np.array([70, -1]),
        np.stack([direction(np.pi / 2 + 0.1), np.zeros(8, dtype=np.float32)]),
        lambda p, current, taken: tracker.closer(p, current, taken, 0.1),
        print_before,
    )
    assert owners == [0, 1, 1]  # speaker 1 was silent during the tail: the same voice
    assert asked == [(0, 70), (0, 40)]  # followed back to where voice A still talks
    assert columns[:40, 0].all() and not columns[40:, 0].any()
    assert columns[40:, 2].all() and not columns[:40, 2].any()
    assert (columns[:, 1] == activity[:, 1]).all()


def test_a_tail_keeps_its_speaker_when_the_one_it_sounds_like_talks_over_it() -> None:
    tracker = two_speakers()
    activity = np.ones((100, 2), dtype=np.float32)  # both talk all along: two people
    tail = np.stack([direction(np.pi / 2), np.zeros(8, dtype=np.float32)])
    columns, owners = recheck_tails(
        activity,
        [0, 1],
        np.array([70, -1]),
        tail,
        lambda p, current, taken: tracker.closer(p, current, taken, 0.1),
        lambda speaker, before: None,
    )
    assert owners == [0, 1] and (columns == activity).all()


# -- timeline -----------------------------------------------------------------------------

GRID = FrameGrid(step_s=0.1, offset_s=0.05)


def test_a_folded_speaker_talks_as_the_one_it_joined() -> None:
    timeline = SpeakerTimeline(GRID)
    activity = np.zeros((20, 2), dtype=np.float32)
    activity[:10, 0] = 1.0
    activity[10:, 1] = 1.0
    timeline.add(0, activity, [0, 1], 20)
    assert timeline.speaker_of(Span(1.2, 1.8)) == 1
    timeline.fold(1, into=0)
    assert timeline.speaker_of(Span(1.2, 1.8)) == 0
    assert [(t.label, round(t.span.end, 1)) for t in timeline.turns({0: "A", 1: "B"})] == [
        ("A", 2.0)
    ]
    timeline.fold(5, into=0)  # a speaker the timeline never saw: nothing to fold


def test_the_timeline_averages_windows_and_names_the_speaker_of_a_span() -> None:
    timeline = SpeakerTimeline(GRID)
    activity = np.zeros((20, 3), dtype=np.float32)
    activity[:10, 0] = 1.0  # local 0 talks in the first second
    activity[12:, 1] = 1.0  # local 1 from 1.2 s
    timeline.add(0, activity, [4, 2, None], 20)
    assert timeline.covered_s == pytest.approx(2.0)
    assert timeline.speaker_of(Span(0.2, 0.8)) == 4
    assert timeline.speaker_of(Span(1.3, 1.9)) == 2
    assert timeline.speaker_of(Span(1.0, 1.15)) in (4, 2)  # nobody: the nearest talker
    labels = ["a", "b", "c", "d", "e"]
    assert {t.label for t in timeline.turns(dict(enumerate(labels)))} == {"c", "e"}


def test_a_word_far_from_any_talk_has_no_speaker() -> None:
    timeline = SpeakerTimeline(GRID)
    activity = np.zeros((50, 3), dtype=np.float32)
    activity[:5, 0] = 1.0
    timeline.add(0, activity, [0, None, None], 50)
    assert timeline.speaker_of(Span(4.0, 4.5)) is None


def test_a_window_beyond_the_heard_frames_adds_only_what_was_heard() -> None:
    timeline = SpeakerTimeline(GRID)
    timeline.add(5, np.ones((20, 3), dtype=np.float32), [0, None, None], 8)
    assert timeline.covered_s == pytest.approx(1.3)


def test_talk_by_a_voice_not_placed_yet_is_not_settled() -> None:
    timeline = SpeakerTimeline(GRID)
    activity = np.zeros((30, 3), dtype=np.float32)
    activity[:10, 0] = 1.0  # a known speaker
    activity[15:, 1] = 1.0  # a new voice, not a speaker yet
    timeline.add(10, activity, [0, None, None], 30)
    assert timeline.settled(Span(1.2, 1.8))
    assert not timeline.settled(Span(2.6, 3.4))
    assert timeline.settled(Span(0.0, 0.5))  # before the latest window
    timeline.add(10, activity, [0, 1, None], 30)  # the next window places it
    assert timeline.settled(Span(2.6, 3.4))


def test_words_wait_while_the_windows_split_evenly_on_who_said_them() -> None:
    timeline = SpeakerTimeline(GRID)
    first, second = np.zeros((30, 3), dtype=np.float32), np.zeros((30, 3), dtype=np.float32)
    first[:20, 0] = 1.0  # the first window hears one voice
    second[:10, 0] = second[10:20, 1] = 1.0  # the next one hears another in its last second
    timeline.add(0, first, [0, None, None], 30)
    timeline.add(0, second, [0, 1, None], 30)
    assert timeline.contested(Span(1.2, 1.8))  # one window each
    assert not timeline.contested(Span(0.2, 0.8))  # both windows: speaker 0
    timeline.add(0, second, [0, 1, None], 30)
    assert not timeline.contested(Span(1.2, 1.8))  # two windows to one
    assert timeline.speaker_of(Span(1.2, 1.8)) == 1


def test_two_voices_talking_at_once_are_no_tie_to_wait_on() -> None:
    timeline = SpeakerTimeline(GRID)
    both = np.zeros((30, 3), dtype=np.float32)
    both[:20, 0] = both[:20, 1] = 1.0
    timeline.add(0, both, [0, 1, None], 30)
    timeline.add(0, both, [0, 1, None], 30)
    assert not timeline.contested(Span(0.5, 1.5))


# -- end-of-stream labels -----------------------------------------------------------------


def test_final_speakers_take_the_live_labels_they_share_most_time_with() -> None:
    live = [Turn(Span(0, 5), "SPEAKER_00"), Turn(Span(5, 9), "SPEAKER_01")]
    final = [
        Turn(Span(0, 4.8), "SPEAKER_01"),
        Turn(Span(4.8, 9), "SPEAKER_00"),
        Turn(Span(9, 10), "SPEAKER_02"),  # found only by the final pass
    ]
    assert live_labels(final, live) == {
        "SPEAKER_01": "SPEAKER_00",
        "SPEAKER_00": "SPEAKER_01",
        "SPEAKER_02": "SPEAKER_02",
    }


def test_an_unmatched_final_speaker_never_takes_a_label_shown_live() -> None:
    live = [Turn(Span(0, 5), "SPEAKER_00"), Turn(Span(20, 25), "SPEAKER_01")]
    final = [Turn(Span(0, 5), "SPEAKER_00"), Turn(Span(10, 12), "SPEAKER_01")]
    assert live_labels(final, live) == {"SPEAKER_00": "SPEAKER_00", "SPEAKER_01": "SPEAKER_02"}
    assert live_labels([], live) == {}


# -- lines --------------------------------------------------------------------------------


def test_lines_end_at_a_new_speaker_a_sentence_or_a_pause() -> None:
    builder = LineBuilder()
    first = words("Hello there.", speaker="A")
    assert builder.add(first) == ()
    closed = builder.add(words("How are", start=1.0, speaker="A"))
    assert [line.text for line in closed] == ["Hello there."]
    closed = builder.add(words("fine", start=2.0, speaker="B"))
    assert [(line.speaker, line.text) for line in closed] == [("A", "How are")]
    closed = builder.add(words("thanks", start=5.0, speaker="B"))  # after a 2.6 s pause
    assert [line.text for line in closed] == ["fine"]
    assert [line.text for line in builder.close()] == ["thanks"]
    assert builder.close() == ()


# -- recording ----------------------------------------------------------------------------


def test_the_recording_keeps_what_the_engine_reads_and_writes_the_whole_stream(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stream.wav"
    recording = Recording(path)
    ramp = (np.arange(32_000, dtype=np.float32) / 64_000).astype(np.float32)
    recording.append(ramp[:16_000])
    recording.append(np.array([np.nan, np.inf, -5.0], dtype=np.float32))
    recording.append(ramp[16_000:])
    assert recording.duration_s == pytest.approx(32_003 / 16_000)
    piece = recording.samples(0.5, 0.6)
    assert piece.shape == (1_600,) and piece[0] == pytest.approx(ramp[8_000])
    assert list(recording.samples(1.0, 1.0 + 3 / 16_000)) == [0.0, 1.0, -1.0]
    recording.release(1.5)
    with pytest.raises(ValueError, match="released"):
        recording.samples(1.4, 1.6)
    assert recording.samples(1.5, 1.6)[0] == pytest.approx(ramp[24_000 - 3])
    assert recording.samples(1.9, 2.5).shape == (1_603,)  # to the end of what was heard
    assert recording.close() == path
    with wave.open(str(path)) as written:
        assert (written.getframerate(), written.getnframes()) == (16_000, 32_003)


def test_without_a_file_the_recording_returns_the_whole_audio() -> None:
    recording = Recording(None)
    recording.append(np.ones(800, dtype=np.float32))
    recording.append(np.zeros(0, dtype=np.float32))
    recording.release(10.0)
    audio = recording.close()
    assert isinstance(audio, Audio) and audio.samples.shape == (800,)


# -- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"step_s": 0.1},
        {"step_s": 5.0, "max_step_s": 4.0},
        {"target_load": 0.0},
        {"trim_s": 25.0},
        {"speaker_distance": 2.5},
        {"max_wait_s": -1.0},
        {"diarize_step_s": 0.1},
    ],
)
def test_live_settings_out_of_range_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        LiveConfig(**changes)  # type: ignore[arg-type]


def test_a_stream_language_is_guessed_as_the_audio_doubles_and_fixed_at_30_s() -> None:
    language = StreamLanguage.configured(None)
    assert language.due(0.5) is None  # too little to tell
    assert language.due(1.2) == 1.2
    language.detected("de", 1.2)
    assert language.due(2.3) is None and language.due(2.4) == 2.4
    language.detected("en", 2.4)
    assert (language.language, language.fixed) == ("en", False)
    assert language.due(4.7) is None
    assert language.due(45.0) == 30.0  # a long step: straight to the whole window
    language.detected("en", 30.0)
    assert language.fixed and language.due(90.0) is None


def test_a_configured_or_found_stream_language_is_fixed() -> None:
    given = StreamLanguage.configured("fr")
    assert given.fixed and given.due(5.0) is None
    found = StreamLanguage.configured(None)
    found.found(None)
    assert found.language is None and not found.fixed
    found.found("de")
    found.found("en")
    assert (found.language, found.fixed) == ("de", True)
