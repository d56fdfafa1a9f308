"""Committed words into the lines a reader sees (pure): a line ends where the speaker changes,
after a sentence, or at a pause."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from saywho.types import Word
from saywho.utterances import ends_sentence

__all__ = ["Line", "LineBuilder"]

PAUSE_S = 1.5
"""A pause this long starts a new line."""


@dataclass(frozen=True, slots=True)
class Line:
    """Words of one speaker (label ``None``: no one heard yet), in order."""

    speaker: str | None
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        """The words joined by spaces."""
        return " ".join(w.text for w in self.words)

    @property
    def start(self) -> float:
        """When the first word starts."""
        return self.words[0].start


class LineBuilder:
    """Collects committed words; :meth:`add` returns the lines they closed."""

    def __init__(self) -> None:
        self._words: list[Word] = []

    @property
    def open_line(self) -> Line | None:
        """The line still growing, if any."""
        return Line(self._words[0].speaker, tuple(self._words)) if self._words else None

    def add(self, words: Sequence[Word]) -> tuple[Line, ...]:
        """Add committed ``words``; the lines they closed, in order."""
        closed = []
        for word in words:
            if self._words and self._breaks(word):
                closed.append(Line(self._words[0].speaker, tuple(self._words)))
                self._words = []
            self._words.append(word)
        return tuple(closed)

    def close(self) -> tuple[Line, ...]:
        """End: the open line, closed."""
        line = self.open_line
        self._words = []
        return (line,) if line is not None else ()

    def _breaks(self, word: Word) -> bool:
        last = self._words[-1]
        if word.speaker != last.speaker:
            return True
        paused = word.span is not None and last.span is not None and word.start - last.end
        return ends_sentence(last.text) or bool(paused and paused >= PAUSE_S)
