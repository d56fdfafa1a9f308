"""Attribute words to speakers: each word gets who talks most during it (pure).

This is the first, plain rule; boundary repairs build on it. Exclusive turns (one speaker
at a time) are sorted and disjoint, so the turns a word overlaps are found by bisection:
O((words + turns) log turns).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from saywho.types import Span, Turn, Utterance, Word

__all__ = ["attribute"]

NEAREST_TURN_S = 1.0
"""A word outside every turn takes the nearest turn's speaker if it is this close."""


def attribute(utterances: Sequence[Utterance], turns: Sequence[Turn]) -> tuple[Utterance, ...]:
    """Give every word a speaker and a confidence, and split utterances where it changes.

    ``turns`` must be exclusive (no two overlap). Confidence is the share of the word's
    time covered by its speaker's turn (lower, by distance, for a word outside any turn).
    An untimed word takes the speaker of the word before it.
    """
    ordered = sorted(turns, key=lambda t: t.span.start)
    starts = [t.span.start for t in ordered]
    result: list[Utterance] = []
    previous: str | None = None
    for utterance in utterances:
        words = []
        for word in utterance.words:
            speaker, confidence = _speaker_of(word.span, ordered, starts)
            if word.span is None:
                speaker, confidence = previous, None
            words.append(Word(word.text, word.span, word.probability, speaker, confidence))
            previous = speaker if speaker is not None else previous
        result.extend(_split_by_speaker(utterance, words))
    return tuple(result)


def _speaker_of(
    span: Span | None, turns: Sequence[Turn], starts: list[float]
) -> tuple[str | None, float | None]:
    if span is None or not turns:
        return None, None
    index = bisect.bisect_left(starts, span.end)
    best: tuple[float, str] | None = None
    # Exclusive turns end in order too: walk back until one ends before the word starts.
    at = index - 1
    while at >= 0 and turns[at].span.end > span.start:
        turn = turns[at]
        overlap = min(span.end, turn.span.end) - max(span.start, turn.span.start)
        if best is None or overlap > best[0]:
            best = (overlap, turn.label)
        at -= 1
    if best is not None:
        return best[1], min(1.0, best[0] / max(span.duration, 1e-3))
    return _nearest(span, turns, index)


def _nearest(span: Span, turns: Sequence[Turn], index: int) -> tuple[str | None, float | None]:
    candidates = turns[max(0, index - 1) : index + 1]
    distance, label = min(
        (max(turn.span.start - span.end, span.start - turn.span.end, 0.0), turn.label)
        for turn in candidates
    )
    if distance > NEAREST_TURN_S:
        return None, None
    return label, 0.5 * (1.0 - distance / NEAREST_TURN_S)


def _split_by_speaker(utterance: Utterance, words: list[Word]) -> list[Utterance]:
    if len({w.speaker for w in words}) <= 1:
        speaker = words[0].speaker if words else None
        return [Utterance(utterance.span, utterance.text, tuple(words), speaker)]
    glue = " " if " " in utterance.text.strip() else ""
    pieces = []
    for speaker, group in itertools.groupby(words, key=lambda w: w.speaker):
        run = tuple(group)
        timed = [w.span for w in run if w.span is not None]
        span = Span(timed[0].start, timed[-1].end) if timed else utterance.span
        pieces.append(Utterance(span, glue.join(w.text for w in run), run, speaker))
    return pieces
