"""Utterances as people read them: one speaker's run of words (pure, no I/O).

The recognizer cuts its output into pieces of its own (Whisper's ~30 s windows), often in
the middle of a sentence, and attribution splits those pieces where the speaker changes.
:func:`speaker_runs` forgets the recognizer's pieces and regroups the words: a new
utterance starts only where the speaker changes, or at a long pause after a sentence ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from saywho.types import Span, Utterance, Word

__all__ = ["ends_sentence", "speaker_runs"]

_SENTENCE_ENDS = frozenset(".?!\u2026\u3002\uff1f\uff01")  # …, CJK . ? !
_CLOSERS = "\"'\u201d\u2019\u00bb)]}"  # quotes and brackets that close


def ends_sentence(text: str) -> bool:
    """Whether ``text`` (a word) ends a sentence: ``"over."``, ``"right?"``, ``'done."'``."""
    stripped = text.rstrip().rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_ENDS


@dataclass(frozen=True, slots=True)
class _Placed:
    """A word with the speaker it counts for and the utterance it came from."""

    word: Word
    speaker: str | None
    source: int


def speaker_runs(utterances: Sequence[Utterance], *, gap_s: float) -> tuple[Utterance, ...]:
    """Regroup the words of ``utterances`` into one utterance per speaker run.

    A run ends where the speaker changes, or where a pause of at least ``gap_s`` seconds
    follows a word that ends a sentence; never at a boundary the recognizer made. A word
    without a speaker counts for its utterance's speaker. Utterances without words are
    kept as they are, in place. An utterance that is a run by itself comes back unchanged,
    so regrouping twice gives the same result.
    """
    # Words carry no spaces: join them with one, unless the language writes none (Chinese).
    glue = " " if any(" " in u.text.strip() for u in utterances) else ""
    result: list[Utterance] = []
    run: list[_Placed] = []
    for index, utterance in enumerate(utterances):
        if not utterance.words:
            result.extend(_close(run, utterances, glue))
            run = []
            result.append(utterance)
            continue
        for word in utterance.words:
            speaker = word.speaker if word.speaker is not None else utterance.speaker
            placed = _Placed(word, speaker, index)
            if run and _breaks(run, placed, gap_s):
                result.extend(_close(run, utterances, glue))
                run = []
            run.append(placed)
    result.extend(_close(run, utterances, glue))
    return tuple(result)


def _breaks(run: Sequence[_Placed], word: _Placed, gap_s: float) -> bool:
    if word.speaker != run[-1].speaker:
        return True
    if word.word.span is None or not ends_sentence(run[-1].word.text):
        return False
    last_end = max((p.word.span.end for p in run if p.word.span is not None), default=None)
    return last_end is not None and word.word.span.start - last_end >= gap_s


def _close(run: Sequence[_Placed], utterances: Sequence[Utterance], glue: str) -> list[Utterance]:
    if not run:
        return []
    sources = {p.source for p in run}
    if len(sources) == 1:
        source = utterances[run[0].source]
        if len(source.words) == len(run):  # a whole utterance: keep its own text and span
            return [source if source.speaker == run[0].speaker else _with(source, run, glue)]
    return [_with(utterances[run[0].source], run, glue)]


def _with(first: Utterance, run: Sequence[_Placed], glue: str) -> Utterance:
    words = tuple(p.word for p in run)
    times = [w.span for w in words if w.span is not None]
    span = Span(times[0].start, max(t.end for t in times)) if times else first.span
    text = glue.join(w.text.strip() for w in words)
    return Utterance(span, text, words, run[0].speaker)
