"""Word attribution: the vote, each boundary rule with and without it, overlap, scale."""

from __future__ import annotations

import pytest

from saywho.attribute import RULES, Timeline, attribute, confirm
from saywho.types import Span, Turn, Utterance, Word


def word(text: str, start: float | None, end: float | None = None) -> Word:
    span = None if start is None or end is None else Span(start, end)
    return Word(text, span, 0.9)


def said(*words: Word) -> list[Utterance]:
    timed = [w.span for w in words if w.span is not None]
    span = Span(timed[0].start, timed[-1].end) if timed else Span(0.0, 0.0)
    return [Utterance(span, " ".join(w.text for w in words), words)]


def speakers(utterances: tuple[Utterance, ...]) -> list[str | None]:
    return [w.speaker for u in utterances for w in u.words]


def without(*names: str) -> tuple[str, ...]:
    return tuple(name for name in RULES if name not in names)


TURNS = (Turn(Span(0.0, 2.0), "A"), Turn(Span(2.0, 4.0), "B"), Turn(Span(6.0, 7.0), "A"))


def test_each_word_gets_the_speaker_it_overlaps_most() -> None:
    words = (word("hello", 0.1, 0.5), word("there", 1.8, 2.4), word("friend", 2.5, 3.0))
    (first, second) = attribute([Utterance(Span(0.1, 3.0), "hello there friend", words)], TURNS)
    assert [w.speaker for w in first.words] == ["A"]
    assert [w.speaker for w in second.words] == ["B", "B"]
    assert second.words[0].speaker_confidence == pytest.approx(4 / 6)
    assert (first.text, first.speaker, second.text, second.speaker) == (
        "hello",
        "A",
        "there friend",
        "B",
    )
    assert second.span == Span(1.8, 3.0)


def test_word_in_a_gap_takes_the_nearest_turn_with_lower_confidence() -> None:
    (utterance,) = attribute(said(word("um", 4.5, 4.8)), TURNS)
    assert utterance.words[0].speaker == "B"
    assert utterance.words[0].speaker_confidence is not None
    assert 0 < utterance.words[0].speaker_confidence < 0.5
    (far,) = attribute(said(word("far", 10.0, 10.5)), TURNS)
    assert far.words[0].speaker is None
    (off,) = attribute(said(word("um", 4.5, 4.8)), TURNS, rules=without("nearest"))
    assert off.words[0].speaker is None


def test_untimed_word_takes_its_neighbours_speaker() -> None:
    words = (word("so", 2.1, 2.3), word("untimed", None))
    (utterance,) = attribute(said(*words), TURNS)
    assert speakers((utterance,)) == ["B", "B"]
    assert utterance.words[1].speaker_confidence == pytest.approx(0.5)
    assert speakers(attribute(said(*words), TURNS, rules=without("untimed"))) == ["B", None]


def test_untimed_word_after_a_full_stop_goes_with_the_next_sentence() -> None:
    words = (word("right.", 1.0, 1.5), word("well", None), word("then", 2.5, 3.0))
    assert speakers(attribute(said(*words), TURNS)) == ["A", "B", "B"]
    words = (word("and", 1.0, 1.5), word("well", None), word("then", 2.5, 3.0))
    assert speakers(attribute(said(*words), TURNS)) == ["A", "A", "B"]


def test_last_word_of_a_sentence_on_the_next_turn_comes_back() -> None:
    # "that is the end." — the last word's timing slid into B's turn, no pause before it.
    words = (
        word("that", 1.0, 1.2),
        word("is", 1.25, 1.4),
        word("the", 1.45, 1.6),
        word("end.", 1.95, 2.4),
        word("Yes,", 2.8, 3.0),
        word("it", 3.05, 3.2),
        word("is.", 3.25, 3.5),
    )
    fixed = attribute(said(*words), TURNS)
    assert speakers(fixed) == ["A", "A", "A", "A", "B", "B", "B"]
    assert fixed[0].words[3].speaker_confidence == pytest.approx(0.5 * 3 / 4)
    plain = attribute(said(*words), TURNS, rules=without("sentence"))
    assert speakers(plain) == ["A", "A", "A", "B", "B", "B", "B"]


def test_a_run_after_a_pause_keeps_its_own_speaker() -> None:
    # A new speaker who answers after a real pause, in a sentence Whisper did not close.
    words = (
        word("so", 0.5, 0.7),
        word("you", 0.75, 0.9),
        word("see", 0.95, 1.2),
        word("okay", 2.1, 2.5),
    )
    assert speakers(attribute(said(*words), TURNS)) == ["A", "A", "A", "B"]


def test_a_tie_inside_a_sentence_moves_nothing() -> None:
    words = (word("one", 1.5, 1.8), word("two", 1.85, 1.95), word("three", 2.1, 2.3))
    words = (*words, word("four.", 2.35, 2.5))
    assert speakers(attribute(said(*words), TURNS)) == ["A", "A", "B", "B"]


def test_a_short_reply_heard_over_the_dominant_speaker_is_given_back() -> None:
    exclusive = (Turn(Span(0.0, 6.0), "A"),)
    overlapping = (Turn(Span(0.0, 6.0), "A"), Turn(Span(2.9, 3.5), "B"))
    words = (
        word("I", 1.0, 1.5),
        word("went.", 1.6, 2.5),
        word("Yes.", 3.0, 3.4),
        word("And", 4.0, 4.5),
        word("so.", 4.6, 5.0),
    )
    fixed = attribute(said(*words), exclusive, overlapping)
    assert speakers(fixed) == ["A", "A", "B", "A", "A"]
    assert fixed[1].words[0].overlapping == ("A",)
    plain = attribute(said(*words), exclusive, overlapping, rules=without("reply"))
    assert speakers(plain) == ["A"] * 5
    assert plain[0].words[2].overlapping == ("B",)


def test_overlapping_lists_the_other_speakers_heard_during_a_word() -> None:
    overlapping = (*TURNS, Turn(Span(1.0, 1.4), "C"))
    words = (word("one", 0.5, 0.9), word("two", 1.0, 1.5), word("three", 1.45, 1.55))
    (utterance,) = attribute(said(*words), TURNS, overlapping)
    assert [w.overlapping for w in utterance.words] == [(), ("C",), ()]


def test_no_turns_leaves_words_anonymous_and_keeps_them() -> None:
    words = (word("hi", 0.0, 1.0), word("there", None))
    (utterance,) = attribute(said(*words), ())
    assert speakers((utterance,)) == [None, None]
    assert utterance.text == "hi there"


def test_no_words_gives_no_utterances() -> None:
    assert attribute([], TURNS) == ()


def test_unknown_rule_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown attribution rules: nope"):
        attribute([], TURNS, rules=("nope",))


def test_confirm_scores_words_whose_speaker_is_known() -> None:
    words = (
        Word("yes", Span(1.5, 2.5), 0.9, speaker="A"),
        Word("no", None, 0.9, speaker="B"),
    )
    (first, second) = confirm(said(*words), TURNS)
    assert first.words[0].speaker_confidence == pytest.approx(0.5)
    assert first.words[0].overlapping == ("B",)
    assert (second.speaker, second.words[0].speaker_confidence) == ("B", None)


def test_timeline_pieces_and_talk() -> None:
    timeline = Timeline.of((Turn(Span(0.0, 2.0), "A"), Turn(Span(1.0, 3.0), "B")))
    assert timeline.bounds == (0.0, 1.0, 2.0, 3.0)
    assert timeline.active == (("A",), ("A", "B"), ("B",))
    assert timeline.talk(Span(0.5, 2.5)) == pytest.approx({"A": 1.5, "B": 1.5})
    assert timeline.nearest(Span(3.5, 4.0)) == ("B", pytest.approx(0.5))
    assert Timeline.of(()).nearest(Span(0.0, 1.0)) is None


def test_long_files_are_not_quadratic() -> None:
    # 200k words and 50k turns: a quadratic pass would need 10^10 steps and never finish.
    turns = tuple(Turn(Span(4.0 * i, 4.0 * i + 3.9), "AB"[i % 2]) for i in range(50_000))
    words = tuple(
        word(f"w{i}." if i % 4 == 3 else f"w{i}", i + 0.1, i + 0.6) for i in range(200_000)
    )
    utterances = [Utterance(Span(0.1, 200_000.0), "x", words)]
    result = attribute(utterances, turns)
    assert sum(len(u.words) for u in result) == 200_000
    assert [u.speaker for u in result[:3]] == ["A", "B", "A"]
