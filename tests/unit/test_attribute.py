"""Word attribution: the speaker who talks most during each word; utterances split at changes."""

from __future__ import annotations

import pytest

from saywho.attribute import attribute
from saywho.types import Span, Turn, Utterance, Word


def word(text: str, start: float | None, end: float | None = None) -> Word:
    span = None if start is None or end is None else Span(start, end)
    return Word(text, span, 0.9)


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
    (utterance,) = attribute([Utterance(Span(4.5, 4.8), "um", (word("um", 4.5, 4.8),))], TURNS)
    assert utterance.words[0].speaker == "B"
    assert utterance.words[0].speaker_confidence is not None
    assert 0 < utterance.words[0].speaker_confidence < 0.5
    (far,) = attribute([Utterance(Span(10.0, 10.5), "far", (word("far", 10.0, 10.5),))], TURNS)
    assert far.words[0].speaker is None


def test_untimed_word_follows_the_previous_word() -> None:
    words = (word("so", 2.1, 2.3), word("untimed", None))
    (utterance,) = attribute([Utterance(Span(2.1, 2.3), "so untimed", words)], TURNS)
    assert [w.speaker for w in utterance.words] == ["B", "B"]
    assert utterance.words[1].speaker_confidence is None


def test_no_turns_leaves_words_anonymous() -> None:
    utterance = Utterance(Span(0.0, 1.0), "hi", (word("hi", 0.0, 1.0),))
    assert attribute([utterance], ())[0].words[0].speaker is None


def test_many_words_and_turns_scale() -> None:
    turns = tuple(Turn(Span(i, i + 1.0), "A" if i % 2 else "B") for i in range(5000))
    words = tuple(word(f"w{i}", i + 0.1, i + 0.6) for i in range(5000))
    result = attribute([Utterance(Span(0.1, 4999.6), "x", words)], turns)
    assert len(result) == 5000
    assert [u.speaker for u in result[:3]] == ["B", "A", "B"]
