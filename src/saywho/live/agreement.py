"""LocalAgreement: a word is final once two consecutive recognitions agree on it (pure).

Whisper re-recognizes the growing buffer of a stream at every step; its guess about the last
words changes as more audio arrives. A word is final once two consecutive recognitions both
begin, after everything already final, with the same words up to it: the leading words the
previous and the current hypothesis share (compared without case or punctuation).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from saywho.types import Word

__all__ = ["agreed_prefix", "fresh_words", "word_key"]

_NOT_WORD = re.compile(r"[^\w']+")
_REPEAT_NGRAM = 5
"""A recognition may start by repeating up to this many words that are already final."""
_OVERLAP_S = 0.1
"""A recognized word starting this much before the end of the final text may be new."""


def word_key(word: Word) -> str:
    """``word``'s text as agreement compares it: lower case, no punctuation."""
    return _NOT_WORD.sub("", word.text.lower())


def agreed_prefix(previous: Sequence[Word], current: Sequence[Word]) -> int:
    """How many leading words of ``current`` the ``previous`` hypothesis also begins with."""
    count = 0
    for before, now in zip(previous, current, strict=False):
        if word_key(before) != word_key(now):
            break
        count += 1
    return count


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
