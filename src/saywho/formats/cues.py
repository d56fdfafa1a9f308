"""Subtitle cues from a transcript: short enough to read, split at word boundaries.

Pure: no I/O. The SRT and VTT writers only format what :func:`subtitle_cues` returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from saywho.formats.speakers import shown_speaker
from saywho.types import Span, Transcript, Utterance, Word

__all__ = ["LINE_CHARS", "Cue", "subtitle_cues", "wrap_lines"]

LINE_CHARS = 42  # the usual broadcast limit per subtitle line


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: when it shows, its text (at most two lines where possible), who speaks."""

    span: Span
    text: str
    speaker: str | None


def subtitle_cues(
    transcript: Transcript, *, max_chars: int = 84, max_duration_s: float = 7.0
) -> tuple[Cue, ...]:
    """Return the subtitle cues of ``transcript``, in order.

    One cue per utterance with text; an utterance longer than ``max_chars`` characters or
    ``max_duration_s`` seconds is split at word boundaries using its word times. Untimed
    words stay in the cue of the word before them (or the first cue), and a single word
    longer than the limits gets a cue of its own. ``speaker`` is the display name
    (``UNKNOWN`` for words nobody was found to say, ``None`` without diarization).
    """
    if max_chars < 1 or max_duration_s <= 0:
        raise ValueError("max_chars and max_duration_s must be positive")
    cues: list[Cue] = []
    for utterance in transcript.utterances:
        speaker = shown_speaker(transcript, utterance.speaker)
        for span, text in _split_utterance(utterance, max_chars, max_duration_s):
            cues.append(Cue(span, wrap_lines(text), speaker))
    return tuple(cues)


def wrap_lines(text: str, *, line_chars: int = LINE_CHARS) -> str:
    """Collapse whitespace in ``text`` and break it into two lines if it is too long.

    The break is the space nearest the middle among those that leave both lines within
    ``line_chars``; if there is none, the space nearest the middle; text without spaces
    stays on one line.
    """
    text = " ".join(text.split())
    if len(text) <= line_chars:
        return text
    spaces = [i for i, char in enumerate(text) if char == " "]
    if not spaces:
        return text
    fitting = [i for i in spaces if i <= line_chars and len(text) - i - 1 <= line_chars]
    middle = len(text) / 2
    best = min(fitting or spaces, key=lambda i: abs(i - middle))
    return f"{text[:best]}\n{text[best + 1 :]}"


def _split_utterance(
    utterance: Utterance, max_chars: int, max_duration_s: float
) -> Iterator[tuple[Span, str]]:
    text = " ".join(utterance.text.split())
    if not text:
        return
    if len(text) <= max_chars and utterance.span.duration <= max_duration_s:
        yield utterance.span, text
        return
    glued = _is_glued(utterance)
    groups = _group_words(utterance.words, glued, max_chars, max_duration_s)
    if len(groups) <= 1:  # nothing to split at: no words, or no word times
        yield utterance.span, text
        return
    previous_end = 0.0
    for group in groups:
        times = [word.span for word in group if word.span is not None]
        start = max(times[0].start, previous_end)  # whisper's word times may overlap a little
        end = max(times[-1].end, start)
        previous_end = end
        yield Span(start, end), _words_text(group, glued)


def _group_words(
    words: Sequence[Word], glued: bool, max_chars: int, max_duration_s: float
) -> list[list[Word]]:
    """Greedy: close the group before a timed word that would make it too long."""
    groups: list[list[Word]] = []
    group: list[Word] = []
    group_start: float | None = None
    for word in words:
        if word.span is not None and group_start is not None:
            too_long = (
                word.span.end - group_start > max_duration_s
                or len(_words_text([*group, word], glued)) > max_chars
            )
            if too_long:
                groups.append(group)
                group, group_start = [], None
        group.append(word)
        if group_start is None and word.span is not None:
            group_start = word.span.start
    if group:
        groups.append(group)
    return groups


def _is_glued(utterance: Utterance) -> bool:
    """Whether word texts carry their own spaces (whisper: " hello"; none in Chinese).

    Then the words are concatenated as they are; otherwise they are joined by spaces.
    """
    glued = " ".join("".join(word.text for word in utterance.words).split())
    return glued == " ".join(utterance.text.split())


def _words_text(words: Sequence[Word], glued: bool) -> str:
    if glued:
        return " ".join("".join(word.text for word in words).split())
    return " ".join(" ".join(word.text for word in words).split())
