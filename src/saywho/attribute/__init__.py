"""Attribute words to speakers (pure): who said each word, how sure, and who else talked.

1. vote: each timed word gets the speaker who talks most during it in the exclusive turns
   (one speaker at a time), with the share of the word they cover as its confidence;
2. boundary rules (:mod:`saywho.attribute.rules`) repair the classic errors at turn edges;
3. every word lists the other speakers heard during it (from the turns that keep overlap);
4. utterances are split wherever the speaker changes.

Both turn lists become a :class:`~saywho.attribute.timeline.Timeline` (O(m log m)), and every
word asks it in O(log m) plus the few pieces it covers: O((n + m) log m) in all.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence

from saywho.attribute.rules import RULES, Evidence
from saywho.attribute.timeline import Timeline
from saywho.types import Span, Turn, Utterance, Word

__all__ = ["MIN_OVERLAP_SHARE", "RULES", "Timeline", "attribute", "confirm", "regroup"]

MIN_OVERLAP_SHARE = 0.25
"""Another speaker counts as overlapping a word when heard during this share of it."""


def attribute(
    utterances: Sequence[Utterance],
    exclusive_turns: Sequence[Turn],
    turns: Sequence[Turn] | None = None,
    *,
    rules: Iterable[str] = tuple(RULES),
) -> tuple[Utterance, ...]:
    """Give every word a speaker, a confidence and its overlapping speakers.

    ``exclusive_turns``: at most one speaker at any instant (they vote); ``turns``: the same
    talk with overlap kept (``None``: the exclusive ones), for the ``reply`` rule and for
    :attr:`Word.overlapping`. ``rules``: names out of :data:`RULES`, run in that order;
    an unknown name is a ``ValueError``. Utterances are split where the speaker changes.
    A word nobody can be credited with keeps ``speaker`` ``None``; none is dropped.
    """
    chosen = set(rules)
    unknown = chosen - set(RULES)
    if unknown:
        raise ValueError(f"unknown attribution rules: {', '.join(sorted(unknown))}")
    exclusive = Timeline.of(exclusive_turns)
    overlapping = Timeline.of(turns) if turns is not None else exclusive
    evidence = Evidence(exclusive, overlapping)
    words = tuple(_vote(w, exclusive) for u in utterances for w in u.words)
    for name, rule in RULES.items():
        if name in chosen:
            words = rule(words, evidence)
    words = tuple(_with_overlapping(w, overlapping) for w in words)
    return regroup(utterances, words)


def confirm(utterances: Sequence[Utterance], turns: Sequence[Turn]) -> tuple[Utterance, ...]:
    """Words whose speaker is already known get a confidence and their overlapping speakers.

    For the strategies that transcribe each speaker's turns: the confidence is the share of
    the word during which its speaker talks in ``turns`` (overlap kept).
    """
    timeline = Timeline.of(turns)
    words = []
    for utterance in utterances:
        for word in utterance.words:
            confidence = None
            if word.span is not None and word.speaker is not None:
                talk = timeline.talk(word.span)
                confidence = _share(talk.get(word.speaker, 0.0), word.span)
            scored = dataclasses.replace(word, speaker_confidence=confidence)
            words.append(_with_overlapping(scored, timeline))
    return regroup(utterances, tuple(words))


def regroup(utterances: Sequence[Utterance], words: Sequence[Word]) -> tuple[Utterance, ...]:
    """``utterances`` with their words replaced by ``words`` (same count, same order), each
    split where the speaker changes."""
    result: list[Utterance] = []
    position = 0
    for utterance in utterances:
        count = len(utterance.words)
        result.extend(_split_by_speaker(utterance, list(words[position : position + count])))
        position += count
    return tuple(result)


def _vote(word: Word, exclusive: Timeline) -> Word:
    if word.span is None:
        return dataclasses.replace(word, speaker=None, speaker_confidence=None, overlapping=())
    talk = exclusive.talk(word.span)
    if not talk:
        return dataclasses.replace(word, speaker=None, speaker_confidence=None, overlapping=())
    seconds, label = max((s, label) for label, s in talk.items())
    return dataclasses.replace(
        word, speaker=label, speaker_confidence=_share(seconds, word.span), overlapping=()
    )


def _with_overlapping(word: Word, overlapping: Timeline) -> Word:
    if word.span is None:
        return word
    talk = overlapping.talk(word.span)
    others = tuple(
        label
        for label, seconds in sorted(talk.items())
        if label != word.speaker and _share(seconds, word.span) >= MIN_OVERLAP_SHARE
    )
    return dataclasses.replace(word, overlapping=others) if others else word


def _share(seconds: float, span: Span) -> float:
    """``seconds`` as a share of ``span`` in [0, 1]; a zero-length word counts as 1 ms."""
    return min(1.0, seconds / max(span.duration, 1e-3))


def _split_by_speaker(utterance: Utterance, words: list[Word]) -> list[Utterance]:
    if len({w.speaker for w in words}) <= 1:
        speaker = words[0].speaker if words else None
        return [dataclasses.replace(utterance, words=tuple(words), speaker=speaker)]
    glue = " " if " " in utterance.text.strip() else ""
    pieces = []
    for speaker, group in itertools.groupby(words, key=lambda w: w.speaker):
        run = tuple(group)
        timed = [w.span for w in run if w.span is not None]
        span = Span(timed[0].start, timed[-1].end) if timed else utterance.span
        pieces.append(Utterance(span, glue.join(w.text for w in run), run, speaker))
    return pieces
