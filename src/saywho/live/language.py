"""The stream's language, when it is not given: guessed again as the speech heard grows.

Whisper tells a language from one 30 s window, and a file's is found on its first 30 s. On a
stream's first seconds it can be wrong, and sure of it: base heard the first 1-12 s of an
English meeting (AMI EN2002a) as German (probability 0.6-0.9), its first 16 s and more as
English. A stream recognized in a wrong language gets words of that language, or none, and
Whisper prompted with them goes on in it. So the language is detected on the audio from the
first speech on, again each time that audio has doubled, and fixed once it spans the 30 s a
file's would (the words committed before keep the language they were heard in; the final pass
detects on the whole recording's first 30 s as a file does).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LANGUAGE_WINDOW_S", "StreamLanguage"]

LANGUAGE_WINDOW_S = 30.0
"""Whisper detects a language on one window of this length."""
_FIRST_GUESS_S = 1.0
"""The first guess waits for this much audio from the first speech."""


@dataclass(slots=True)
class StreamLanguage:
    """The language to recognize the stream in: ``language`` (``None`` until known), fixed
    when it was ``configured``; otherwise :meth:`due` says when to detect it again, on how
    much audio, and :meth:`detected` takes the result, fixed once on 30 s."""

    language: str | None = None
    fixed: bool = False
    _heard_s: float = 0.0

    @classmethod
    def configured(cls, language: str | None) -> StreamLanguage:
        """``language`` given (fixed), or ``None``: to be found."""
        return cls(language, fixed=language is not None)

    def due(self, heard_s: float) -> float | None:
        """With ``heard_s`` of audio since the first speech: the seconds of it to detect the
        language on now (at most 30), or ``None`` (fixed, too little, or not doubled yet)."""
        if self.fixed or heard_s < _FIRST_GUESS_S:
            return None
        heard_s = min(heard_s, LANGUAGE_WINDOW_S)
        if heard_s < LANGUAGE_WINDOW_S and heard_s < 2 * self._heard_s:
            return None
        return heard_s

    def detected(self, language: str, heard_s: float) -> None:
        """Whisper heard ``language`` in ``heard_s`` seconds from the first speech."""
        self.language = language
        self._heard_s = heard_s
        self.fixed = heard_s >= LANGUAGE_WINDOW_S

    def found(self, language: str | None) -> None:
        """A recognizer that detects its own language found ``language``: kept, fixed."""
        if self.language is None and language is not None:
            self.language = language
            self.fixed = True
