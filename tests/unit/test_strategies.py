"""The by-turn strategies' maths: grouping turns, the spacer layout, mapping words back."""

from __future__ import annotations

import itertools

import pytest

from saywho.strategies import (
    Placement,
    group_turns,
    map_back,
    on_turn,
    spacer_chunks,
    spacer_layout,
)
from saywho.types import Span, Turn, Utterance, Word


def turn(start: float, end: float, label: str) -> Turn:
    return Turn(Span(start, end), label)


def word(text: str, start: float, end: float) -> Word:
    return Word(text, Span(start, end), 0.9)


def said(*words: Word) -> Utterance:
    spans = [w.span for w in words if w.span is not None]
    return Utterance(Span(spans[0].start, spans[-1].end), " ".join(w.text for w in words), words)


def texts(utterances: tuple[Utterance, ...]) -> list[tuple[str | None, str]]:
    return [(u.speaker, u.text) for u in utterances]


def test_one_speakers_close_turns_merge_and_others_keep_them_apart() -> None:
    turns = (turn(0.0, 1.0, "A"), turn(1.5, 2.0, "A"), turn(2.2, 3.0, "B"), turn(5.0, 6.0, "A"))
    groups = group_turns(turns, max_gap_s=1.0, pad_s=0.0, duration_s=10.0)
    assert groups == (turn(0.0, 2.0, "A"), turn(2.2, 3.0, "B"), turn(5.0, 6.0, "A"))
    apart = (turn(0.0, 1.0, "A"), turn(3.0, 4.0, "A"))
    assert len(group_turns(apart, max_gap_s=1.0, pad_s=0.0, duration_s=10.0)) == 2


def test_padding_stays_in_the_silence_and_inside_the_recording() -> None:
    turns = (turn(0.1, 1.0, "A"), turn(1.2, 2.0, "B"), turn(4.0, 4.9, "A"))
    groups = group_turns(turns, max_gap_s=0.0, pad_s=0.5, duration_s=5.0)
    bounds = [time for g in groups for time in (g.span.start, g.span.end)]
    assert bounds == pytest.approx([0.0, 1.1, 1.1, 2.5, 3.5, 5.0])
    for first, second in itertools.pairwise(groups):
        assert first.span.end <= second.span.start


def test_spacer_layout_puts_groups_end_to_end() -> None:
    layout = spacer_layout((turn(10.0, 12.0, "A"), turn(20.0, 21.0, "B")), spacer_s=1.0)
    assert [p.offset_s for p in layout] == [0.0, 3.0]
    assert layout[1].joined == Span(3.0, 4.0)


def test_on_turn_moves_words_onto_the_recording_and_names_the_speaker() -> None:
    (utterance,) = on_turn([said(word("hi", 0.2, 0.5), word("there", 0.5, 9.0))], turn(10, 12, "A"))
    assert utterance.speaker == "A"
    assert [w.span for w in utterance.words] == [Span(10.2, 10.5), Span(10.5, 12.0)]
    assert {w.speaker for w in utterance.words} == {"A"}


LAYOUT = spacer_layout(
    (turn(10.0, 12.0, "A"), turn(20.0, 21.0, "B"), turn(30.0, 32.0, "A")), spacer_s=1.0
)  # joined: A [0, 2), spacer, B [3, 4), spacer, A [5, 7)


def test_words_map_back_to_their_groups_and_split_where_the_group_changes() -> None:
    heard = said(
        word("one", 0.1, 0.5),
        word("two.", 0.6, 1.9),
        word("yes.", 3.1, 3.6),
        word("three", 5.0, 5.5),
    )
    mapped = map_back([heard], LAYOUT, 1.0)
    assert mapped.failed == ()
    assert texts(mapped.utterances) == [("A", "one two."), ("B", "yes."), ("A", "three")]
    span = mapped.utterances[1].words[0].span
    assert span is not None
    assert (span.start, span.end) == pytest.approx((20.1, 20.6))


def test_a_word_on_a_spacer_fails_both_neighbours_and_their_words_are_dropped() -> None:
    heard = said(
        word("one", 0.1, 0.5),
        word("two", 2.2, 2.8),
        word("yes", 3.1, 3.5),
        word("three", 5.0, 5.5),
    )
    mapped = map_back([heard], LAYOUT, 1.0)
    assert mapped.failed == (0, 1)
    assert texts(mapped.utterances) == [("A", "three")]


def test_a_long_group_without_words_fails_with_its_neighbours() -> None:
    # Whisper gave group 2's words times inside group 1: nothing may be counted twice.
    layout = (*LAYOUT, Placement(turn(40.0, 42.0, "B"), 8.0))
    heard = said(word("one", 0.1, 0.5), word("two", 3.1, 3.5), word("four", 8.1, 8.5))
    mapped = map_back([heard], layout, 1.0)
    assert mapped.failed == (1, 2, 3)
    assert texts(mapped.utterances) == [("A", "one")]


def test_nothing_heard_maps_to_nothing() -> None:
    assert map_back([], (), 1.0).utterances == ()
    assert map_back([], LAYOUT[:1], 1.0).failed == (0,)


def test_a_word_stretched_into_the_spacer_stays_with_its_group() -> None:
    # Whisper often lets a group's last word run on into the silence after it.
    heard = said(word("one", 0.1, 0.5), word("two.", 1.6, 2.6), word("yes", 3.1, 3.5))
    mapped = map_back([heard], LAYOUT[:2], 1.0)
    assert mapped.failed == ()
    assert texts(mapped.utterances) == [("A", "one two."), ("B", "yes")]
    span = mapped.utterances[0].words[1].span
    assert span is not None and span.end == 12.0  # clipped to the group


def test_spacer_chunks_bound_the_joined_audio_and_cover_every_group_once() -> None:
    lengths = [40.0, 100.0, 150.0, 20.0, 400.0, 10.0, 10.0]
    groups, start = [], 0.0
    for index, length in enumerate(lengths):
        groups.append(Turn(Span(start, start + length), f"S{index % 2}"))
        start += length + 5.0
    chunks = spacer_chunks(groups, 1.0, 300.0)
    assert chunks == ((0, 3), (3, 4), (4, 5), (5, 7))
    assert [i for first, stop in chunks for i in range(first, stop)] == list(range(len(groups)))
    for first, stop in chunks:
        joined_s = sum(lengths[first:stop]) + (stop - first - 1) * 1.0
        assert joined_s <= 300.0 or stop - first == 1  # only a group alone may be longer
    assert spacer_chunks([], 1.0, 300.0) == ()
