"""LocalAgreement: a word is final once two recognitions agree on it (pure).

Whisper re-recognizes the growing buffer of a stream at every step; its guess about the last
words changes as more audio arrives. A word is final once two recognitions both begin, after
everything already final, with the same words up to it: the leading words an earlier and the
current hypothesis share (compared without case or punctuation). The engine compares the
current one with each of the two before it: a guess that flips for one recognition and comes
back does not hold the words back for two more.

One word two recognitions keep hearing differently (a name, the first word of a new voice)
would hold back every word after it until the buffer is cut. So a disagreement of at most
``_BRIDGED`` words is bridged when at least ``_RESYNC`` words right after it agree, at about
the same time in both: the current recognition's words are taken there.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from difflib import SequenceMatcher

from saywho.types import Word

__all__ = ["agreed_prefix", "fresh_words", "word_key"]

_NOT_WORD = re.compile(r"[^\w']+")
_REPEAT_NGRAM = 5
"""A recognition may start by repeating up to this many words that are already final."""
_OVERLAP_S = 0.1
"""A recognized word starting this much before the end of the final text may be new."""
_BRIDGED = 2
"""At most this many words (in either recognition) may disagree inside agreed text..."""
_RESYNC = 3
"""...when at least this many words agree right after them..."""
_RESYNC_S = 0.5
"""...starting within this many seconds of each other in both recognitions (the median)."""


def word_key(word: Word) -> str:
    """``word``'s text as agreement compares it: lower case, no punctuation."""
    return _NOT_WORD.sub("", word.text.lower())


def agreed_prefix(previous: Sequence[Word], current: Sequence[Word]) -> int:
    """How many leading words of ``current`` agree with the ``previous`` hypothesis: the words
    both begin with, and past a short disagreement that the words after it bridge."""
    before = [word_key(w) for w in previous]
    now = [word_key(w) for w in current]
    agreed_before = agreed_now = 0
    while True:
        shared = _shared_start(before[agreed_before:], now[agreed_now:])
        agreed_before, agreed_now = agreed_before + shared, agreed_now + shared
        bridge = _bridge(previous[agreed_before:], current[agreed_now:])
        if bridge is None:
            return agreed_now
        agreed_before, agreed_now = agreed_before + bridge[0], agreed_now + bridge[1]


def _shared_start(before: Sequence[str], now: Sequence[str]) -> int:
    """How many leading words the two share."""
    count = 0
    for a, b in zip(before, now, strict=False):
        if a != b:
            break
        count += 1
    return count


def _bridge(previous: Sequence[Word], current: Sequence[Word]) -> tuple[int, int] | None:
    """After a disagreement at the start of both: how many words of each to take as agreed
    (up to the end of the words that agree after it), or ``None`` if it cannot be bridged."""
    before = [word_key(w) for w in previous[: _BRIDGED + _RESYNC]]
    now = [word_key(w) for w in current[: _BRIDGED + _RESYNC]]
    for a, b, size in SequenceMatcher(None, before, now, autojunk=False).get_matching_blocks():
        if size == 0 or a > _BRIDGED or b > _BRIDGED:
            return None
        if size >= _RESYNC and _shift_s(previous[a : a + size], current[b : b + size]) <= _RESYNC_S:
            return a + size, b + size
    return None


def _shift_s(before: Sequence[Word], now: Sequence[Word]) -> float:
    """How far apart in time the same words are in two recognitions: the median of their
    start times' differences (the first word of a stretch, stretched over a pause before it
    in one recognition, moves most)."""
    return float(
        statistics.median(abs(a.start - b.start) for a, b in zip(before, now, strict=True))
    )


def fresh_words(
    hypothesis: Sequence[Word], final: Sequence[Word], final_end_s: float
) -> tuple[Word, ...]:
    """The words of ``hypothesis`` that come after the ``final`` ones (ending at
    ``final_end_s``): words starting before that end are dropped, and so is a run of leading
    words that repeats the last final words (Whisper re-reads the buffer's start)."""
    words = [w for w in hypothesis if w.span is not None and w.start > final_end_s - _OVERLAP_S]
    if not words or not final:
        return tuple(words)
    keys = [word_key(w) for w in words]
    tail = [word_key(w) for w in final[-_REPEAT_NGRAM:]]
    for size in range(min(len(tail), len(keys)), 0, -1):
        if keys[:size] == tail[-size:]:
            return tuple(words[size:])
    return tuple(words)
