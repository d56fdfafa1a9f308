"""Boundary repairs after the plain vote: each rule fixes one classic attribution error (pure).

Every rule takes the words in time order (each with the speaker the vote, or an earlier rule,
gave it) and the evidence, and returns new words; none mutates its input. The rules are
linear in the number of words, plus timeline look-ups of O(log turns) each.

- ``nearest``: a word outside every turn (diarization missed its edge) takes the nearest
  speaker within :data:`NEAREST_TURN_S`, at a confidence that falls with the distance.
- ``sentence``: a sentence, as Whisper punctuates it, has one speaker. A short run of another
  speaker at its edge or inside it (the last words of a turn landing on the next speaker, a
  sentence split by a word-timing wobble) joins the sentence's majority, unless a pause
  separates the run from the rest of the sentence.
- ``reply``: a short sentence ("Yes.") inside one speaker's talk, during which the turns that
  keep overlap show another speaker talking, belongs to that other speaker (the plain vote,
  on one-speaker-at-a-time turns, gives it to the louder, dominant one).
- ``untimed``: a word without a time takes its neighbours' speaker: the one both share, else
  the previous word's unless that one ends a sentence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from saywho.attribute.timeline import Timeline
from saywho.types import Span, Word

__all__ = [
    "NEAREST_TURN_S",
    "RULES",
    "Evidence",
    "Rule",
    "ends_sentence",
    "nearest",
    "reply",
    "sentence",
    "untimed",
]

NEAREST_TURN_S = 1.0
"""A word outside every turn takes the nearest turn's speaker if it is this close."""
PAUSE_S = 0.5
"""A silence at least this long between two words is a real pause, not a timing wobble."""
MAX_RUN_WORDS = 3
"""The sentence rule moves runs of at most this many words (and fewer than the majority's)."""
MAX_REPLY_WORDS = 3
"""A short reply has at most this many words."""
MIN_REPLY_COVER = 0.5
"""The other speaker must talk during at least this share of a short reply."""

_SENTENCE_END = (".", "?", "!", "\u3002", "\uff1f", "\uff01", "\u2026")  # and CJK forms


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the rules may consult: exclusive turns and turns that keep overlap."""

    exclusive: Timeline
    overlapping: Timeline


Rule = Callable[[tuple[Word, ...], Evidence], tuple[Word, ...]]


def ends_sentence(word: Word) -> bool:
    """Whether ``word`` ends a sentence (its text ends with . ? ! or their CJK forms)."""
    return word.text.rstrip("\"')]\u00bb\u201d\u2019").endswith(_SENTENCE_END)


def nearest(words: tuple[Word, ...], evidence: Evidence) -> tuple[Word, ...]:
    """Timed words without a speaker take the nearest talk within :data:`NEAREST_TURN_S`."""
    result = []
    for word in words:
        found = evidence.exclusive.nearest(word.span) if word.span and not word.speaker else None
        if found is not None and found[1] <= NEAREST_TURN_S:
            label, distance = found
            word = dataclasses.replace(
                word, speaker=label, speaker_confidence=0.5 * (1 - distance / NEAREST_TURN_S)
            )
        result.append(word)
    return tuple(result)


def sentence(words: tuple[Word, ...], evidence: Evidence) -> tuple[Word, ...]:
    """Short runs of a minority speaker inside a sentence join its majority speaker."""
    del evidence
    result = list(words)
    for first, last in _sentences(words):
        for at, word in _join_majority(words, first, last).items():
            result[at] = word
    return tuple(result)


def reply(words: tuple[Word, ...], evidence: Evidence) -> tuple[Word, ...]:
    """A short sentence inside one speaker's talk goes to another speaker heard during it."""
    result = list(words)
    for first, last in _sentences(words):
        if last - first > MAX_REPLY_WORDS or first == 0 or last == len(words):
            continue
        own = {w.speaker for w in words[first:last]}
        spans = [w.span for w in words[first:last] if w.span is not None]
        host = words[first - 1].speaker
        if own != {host} or host is None or words[last].speaker != host or not spans:
            continue
        span = Span(spans[0].start, max(s.end for s in spans))
        talk = evidence.overlapping.talk(span)
        others = [(seconds, label) for label, seconds in talk.items() if label != host]
        if not others or span.duration <= 0:
            continue
        seconds, label = max(others)
        cover = seconds / span.duration
        if cover >= MIN_REPLY_COVER:
            for at in range(first, last):
                result[at] = dataclasses.replace(
                    words[at], speaker=label, speaker_confidence=min(1.0, cover) * 0.5
                )
    return tuple(result)


def untimed(words: tuple[Word, ...], evidence: Evidence) -> tuple[Word, ...]:
    """Untimed words take a speaker from the timed words around them."""
    del evidence
    previous = _previous_timed(words)
    following = [None if at is None else len(words) - 1 - at for at in _previous_timed(words[::-1])]
    following.reverse()
    result = []
    for at, word in enumerate(words):
        if word.span is None:
            before, after = _at(words, previous[at]), _at(words, following[at])
            source = _untimed_source(before, after)
            if source is not None:
                confidence = source.speaker_confidence
                word = dataclasses.replace(
                    word,
                    speaker=source.speaker,
                    speaker_confidence=None if confidence is None else 0.5 * confidence,
                )
        result.append(word)
    return tuple(result)


RULES: dict[str, Rule] = {
    "nearest": nearest,
    "sentence": sentence,
    "reply": reply,
    "untimed": untimed,
}
"""Every rule by name, in the order they run."""


def _sentences(words: Sequence[Word]) -> list[tuple[int, int]]:
    """``[first, last)`` index ranges of the sentences: split after sentence punctuation."""
    ranges = []
    first = 0
    for at, word in enumerate(words):
        if ends_sentence(word) or at == len(words) - 1:
            ranges.append((first, at + 1))
            first = at + 1
    return ranges


def _join_majority(words: Sequence[Word], first: int, last: int) -> dict[int, Word]:
    """The words of short, unpaused minority runs of ``words[first:last]`` moved to its
    majority speaker, by index."""
    counts: dict[str | None, int] = {}
    moved: dict[int, Word] = {}
    for word in words[first:last]:
        if word.span is not None:
            counts[word.speaker] = counts.get(word.speaker, 0) + 1
    ranked = sorted(((n, s) for s, n in counts.items() if s is not None), reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return moved  # nobody, or a tie: no majority to join
    votes, majority = ranked[0]
    share = votes / sum(counts.values())
    for run_first, run_last in _runs(words, first, last):
        run = words[run_first:run_last]
        if run[0].speaker == majority or any(w.span is None for w in run):
            continue
        if len(run) > MAX_RUN_WORDS or len(run) >= votes:
            continue
        if _paused(words, run_first, first) or _paused(words, run_last, last):
            continue
        for at in range(run_first, run_last):
            moved[at] = dataclasses.replace(
                words[at], speaker=majority, speaker_confidence=0.5 * share
            )
    return moved


def _runs(words: Sequence[Word], first: int, last: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of consecutive words with one speaker in ``words[first:last]``."""
    runs = []
    start = first
    for at in range(first + 1, last + 1):
        if at == last or words[at].speaker != words[start].speaker:
            runs.append((start, at))
            start = at
    return runs


def _paused(words: Sequence[Word], boundary: int, edge: int) -> bool:
    """Whether a pause separates ``words[boundary - 1]`` from ``words[boundary]``.

    A boundary at the sentence's own ``edge`` has nothing on the other side: no pause.
    """
    if boundary == edge:
        return False
    before, after = words[boundary - 1].span, words[boundary].span
    if before is None or after is None:
        return False
    return after.start - before.end >= PAUSE_S


def _previous_timed(words: Sequence[Word]) -> list[int | None]:
    """For each index, the index of the nearest timed word strictly before it."""
    found: list[int | None] = []
    last: int | None = None
    for at, word in enumerate(words):
        found.append(last)
        if word.span is not None:
            last = at
    return found


def _at(words: Sequence[Word], index: int | None) -> Word | None:
    return None if index is None else words[index]


def _untimed_source(before: Word | None, after: Word | None) -> Word | None:
    if before is None or after is None:
        return before if before is not None else after
    if before.speaker == after.speaker or not ends_sentence(before):
        return before
    return after
