"""Core value types: every stage speaks in these.

All times are seconds (floats). All types are frozen and slotted; absence is ``None``.
Words, utterances and transcripts already carry speaker fields so that diarization and
identification can fill them later without a new type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from saywho.timestamps import format_timestamp

SAMPLE_RATE = 16_000
"""The rate, in Hz, of the audio every stage works on (decoding resamples to it)."""

if TYPE_CHECKING:
    from saywho.config import PipelineConfig

__all__ = [
    "SAMPLE_RATE",
    "Audio",
    "Diarization",
    "ModelInfo",
    "Recognition",
    "Span",
    "Speaker",
    "StageHook",
    "Transcript",
    "Turn",
    "Utterance",
    "Word",
]


StageHook = Callable[[str, float, float], None]
"""A progress hook, called as ``hook(stage, done_s, total_s)``: seconds of audio done."""


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A half-open time interval ``[start, end)`` in seconds."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not self.end >= self.start:
            raise ValueError(f"Span end {self.end} is before its start {self.start}")

    @property
    def duration(self) -> float:
        """Length of the span in seconds."""
        return self.end - self.start

    def shift(self, offset_s: float) -> Span:
        """Return this span moved by ``offset_s`` seconds."""
        return Span(self.start + offset_s, self.end + offset_s)

    def __str__(self) -> str:
        """The span as a reader writes it: ``00:10.904 → 00:11.884`` (hours from one hour on)."""
        return f"{_clock(self.start)} → {_clock(self.end)}"


@dataclass(frozen=True, slots=True, eq=False)
class Audio:
    """Mono audio: float32 samples in [-1, 1] at ``sample_rate`` Hz, read-only (a read-only
    view of the array given, which itself stays as it was)."""

    samples: npt.NDArray[np.float32]
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 1 or self.samples.dtype != np.float32:
            raise ValueError("Audio samples must be a 1-D float32 array")
        view = self.samples.view()
        view.flags.writeable = False
        object.__setattr__(self, "samples", view)

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return int(self.samples.shape[0]) / self.sample_rate

    def slice(self, span: Span) -> npt.NDArray[np.float32]:
        """Return the samples inside ``span`` (a read-only view), clipped to the audio."""
        first = max(0, round(span.start * self.sample_rate))
        last = min(self.samples.shape[0], round(span.end * self.sample_rate))
        return self.samples[first : max(first, last)]


@dataclass(frozen=True, slots=True, order=True)
class Turn:
    """Diarization output: who (an anonymous label such as ``SPEAKER_00``) spoke during a span."""

    span: Span
    label: str

    def __str__(self) -> str:
        """``00:10.904 → 00:11.884 SPEAKER_00``."""
        return f"{self.span} {self.label}"


@dataclass(frozen=True, slots=True, eq=False)
class Diarization:
    """Who spoke when.

    ``turns`` keep overlapped speech (two turns may cover the same instant); in
    ``exclusive_turns`` one speaker at most talks at any instant (for attributing words).
    ``centroids`` maps each label to its mean speaker embedding, shape (dim,), L2-normalised,
    which the voice library matches names against.
    """

    turns: tuple[Turn, ...]
    exclusive_turns: tuple[Turn, ...]
    centroids: Mapping[str, npt.NDArray[np.float32]]

    @property
    def labels(self) -> tuple[str, ...]:
        """Every speaker label, sorted."""
        return tuple(sorted({turn.label for turn in self.turns}))


@dataclass(frozen=True, slots=True)
class Word:
    """A recognized word.

    ``text`` has no surrounding whitespace and keeps its punctuation (``"Hello,"``).
    ``span`` is ``None`` when the word has no time: Whisper times every word it recognizes,
    so only a transcript read from another tool's JSON can hold such a word; ``start`` and
    ``end`` read the span without a ``None`` check. ``speaker`` is the
    anonymous label (``SPEAKER_00``) of whoever said it, once diarization ran, and
    ``speaker_confidence`` how sure the attribution is, in [0, 1]. ``overlapping`` are the
    labels of the other speakers who talk during the word (overlapped speech).
    """

    text: str
    span: Span | None
    probability: float
    speaker: str | None = None
    speaker_confidence: float | None = None
    overlapping: tuple[str, ...] = ()

    @property
    def start(self) -> float:
        """When the word starts, in seconds; :class:`ValueError` for an untimed word."""
        return self._timed().start

    @property
    def end(self) -> float:
        """When the word ends, in seconds; :class:`ValueError` for an untimed word."""
        return self._timed().end

    def _timed(self) -> Span:
        if self.span is None:
            raise ValueError(f"the word {self.text!r} has no time (check word.span is not None)")
        return self.span


@dataclass(frozen=True, slots=True)
class Utterance:
    """Consecutive words of one speaker.

    In a :class:`Transcript` an utterance is a speaker run, cut only where the speaker
    changes or at a long pause after a sentence (:func:`saywho.utterances.speaker_runs`);
    between the stages it is a piece of the recognizer's output.
    """

    span: Span
    text: str
    words: tuple[Word, ...]
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Recognition:
    """What the recognizer heard, on the clock of the samples it was given."""

    language: str | None
    language_probability: float | None
    utterances: tuple[Utterance, ...]


@dataclass(frozen=True, slots=True)
class Speaker:
    """A speaker of a transcript: its anonymous label and, once identified, a name.

    ``centroid`` is the speaker's mean voice embedding (L2-normalised, from the diarization
    embedding model), which the voice library matches names against.
    """

    label: str
    name: str | None = None
    confidence: float | None = None
    centroid: tuple[float, ...] | None = None

    @property
    def display(self) -> str:
        """The name if known, else the label."""
        return self.name if self.name is not None else self.label


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Which model file did a job: its registry name, role and sha256."""

    name: str
    role: str
    sha256: str | None


@dataclass(frozen=True, slots=True)
class Transcript:
    """The result of a job: who said what, and when."""

    source: str
    duration_s: float
    language: str | None
    language_probability: float | None
    utterances: tuple[Utterance, ...]
    config: PipelineConfig
    models: tuple[ModelInfo, ...] = ()
    speakers: tuple[Speaker, ...] = field(default=())
    turns: tuple[Turn, ...] = field(default=())
    """Diarization turns, overlap kept (empty when diarization did not run)."""

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word in order."""
        return tuple(word for utterance in self.utterances for word in utterance.words)

    @property
    def text(self) -> str:
        """The whole text, utterances joined by spaces."""
        return " ".join(u.text for u in self.utterances if u.text)

    def speaker_display(self, label: str | None) -> str | None:
        """The name to show for ``label``: its enrolled name if any, else the label."""
        if label is None:
            return None
        for speaker in self.speakers:
            if speaker.label == label:
                return speaker.display
        return label


def _clock(seconds: float) -> str:
    """``seconds`` as ``MM:SS.mmm``; a time no clock shows (negative, NaN) as the number."""
    try:
        return format_timestamp(seconds)
    except ValueError:
        return f"{seconds} s"
