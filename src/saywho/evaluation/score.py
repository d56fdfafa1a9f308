"""Scores through the libraries everyone reports with: DER and JER (pyannote.metrics), WER
(jiwer) and cpWER (meeteval).

Totals over files are the libraries' own: pyannote.metrics accumulates each component over
every file (so the total DER is time-weighted by reference speech, and the total JER is
weighted by reference speakers), and the WERs are total errors over total reference words.

The collar follows md-eval and dscore: ``collar_s`` seconds are forgiven on *each* side of every
reference boundary. pyannote.metrics' ``collar`` is the whole width, so it gets ``2 * collar_s``.

The libraries are the optional extra ``saywho[eval]``; they are imported only when scoring.
"""

from __future__ import annotations

import importlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saywho.errors import ConfigError
from saywho.evaluation.files import SpokenText
from saywho.types import Span, Turn

if TYPE_CHECKING:
    from pyannote.core import Annotation, Timeline

__all__ = [
    "DiarizationPair",
    "DiarizationScore",
    "DiarizationScores",
    "TextPair",
    "TextScore",
    "TextScores",
    "normalize_text",
    "score_diarization",
    "score_text",
]

INSTALL_HINT = "scoring needs pyannote.metrics, meeteval and jiwer: pip install 'saywho[eval]'"


@dataclass(frozen=True, slots=True)
class DiarizationPair:
    """One recording to score: reference and hypothesis turns, and the regions to score.

    ``uem`` ``None`` scores from the earliest to the latest turn of either side.
    """

    uri: str
    reference: tuple[Turn, ...]
    hypothesis: tuple[Turn, ...]
    uem: tuple[Span, ...] | None = None


@dataclass(frozen=True, slots=True)
class DiarizationScore:
    """DER and JER of one recording (``uri``), or of all of them (``uri`` ``None``).

    Rates are fractions (0.2 is 20 %). ``reference_speech_s`` is the scored reference speech
    (overlap counted once per speaker, collars removed), which the parts are fractions of.
    With no reference speech a rate is 0 if its part is 0, else 1, as in pyannote.metrics.
    """

    uri: str | None
    der: float
    jer: float
    miss_s: float
    false_alarm_s: float
    confusion_s: float
    reference_speech_s: float
    collar_s: float

    @property
    def miss(self) -> float:
        """Missed speech as a fraction of reference speech."""
        return _fraction(self.miss_s, self.reference_speech_s)

    @property
    def false_alarm(self) -> float:
        """False alarm as a fraction of reference speech."""
        return _fraction(self.false_alarm_s, self.reference_speech_s)

    @property
    def confusion(self) -> float:
        """Speaker confusion as a fraction of reference speech."""
        return _fraction(self.confusion_s, self.reference_speech_s)


@dataclass(frozen=True, slots=True)
class DiarizationScores:
    """The score of every recording, in the order given, and the total over them."""

    files: tuple[DiarizationScore, ...]
    total: DiarizationScore


@dataclass(frozen=True, slots=True)
class TextPair:
    """One recording's reference and hypothesis text (unnormalised)."""

    uri: str
    reference: SpokenText
    hypothesis: SpokenText


@dataclass(frozen=True, slots=True)
class TextScore:
    """WER and cpWER of one recording (``uri``), or of all of them (``uri`` ``None``).

    Counted on normalised words (:func:`normalize_text`). ``wer`` is ``None`` when the
    reference has no words; ``cpwer`` when it has none, or when either side has words without
    a speaker (for the total: when any recording's is ``None``).
    """

    uri: str | None
    wer: float | None
    cpwer: float | None
    reference_words: int
    errors: int
    cp_errors: int | None


@dataclass(frozen=True, slots=True)
class TextScores:
    """The score of every recording, in the order given, and the total over them."""

    files: tuple[TextScore, ...]
    total: TextScore


# -- diarization --------------------------------------------------------------------------


def score_diarization(pairs: Sequence[DiarizationPair], *, collar_s: float) -> DiarizationScores:
    """DER (overlap scored) and JER of each pair and in total, by pyannote.metrics.

    ``collar_s`` seconds on each side of every reference boundary are not scored. Turns of
    one speaker that overlap are merged first (nobody speaks twice at once); otherwise the
    turns go to pyannote.metrics as they are, as its own RTTM loader would give them.
    Raises :class:`ConfigError` if the ``eval`` extra is not installed.
    """
    if collar_s < 0:
        raise ConfigError(f"collar {collar_s} s is negative")
    metrics = _import("pyannote.metrics.diarization")
    der_metric = metrics.DiarizationErrorRate(collar=2 * collar_s, skip_overlap=False)
    jer_metric = metrics.JaccardErrorRate(collar=2 * collar_s)
    files = []
    for pair in pairs:
        reference = _annotation(pair.uri, pair.reference)
        hypothesis = _annotation(pair.uri, pair.hypothesis)
        uem = _timeline(pair.uem if pair.uem is not None else _extent(pair))
        parts = der_metric(reference, hypothesis, uem=uem, detailed=True)
        jer = jer_metric(reference, hypothesis, uem=uem)
        der = float(parts["diarization error rate"])
        files.append(_diarization_score(pair.uri, parts, der, float(jer), collar_s))
    der, jer = float(abs(der_metric)), float(abs(jer_metric))
    total = _diarization_score(None, der_metric[:], der, jer, collar_s)
    return DiarizationScores(tuple(files), total)


def _diarization_score(
    uri: str | None, parts: dict[str, float], der: float, jer: float, collar_s: float
) -> DiarizationScore:
    return DiarizationScore(
        uri=uri,
        der=der,
        jer=jer,
        miss_s=float(parts["missed detection"]),
        false_alarm_s=float(parts["false alarm"]),
        confusion_s=float(parts["confusion"]),
        reference_speech_s=float(parts["total"]),
        collar_s=collar_s,
    )


def _extent(pair: DiarizationPair) -> tuple[Span, ...]:
    """From the first start to the last end of either side (none when both are empty)."""
    turns = (*pair.reference, *pair.hypothesis)
    if not turns:
        return ()
    return (Span(min(t.span.start for t in turns), max(t.span.end for t in turns)),)


def _annotation(uri: str, turns: Sequence[Turn]) -> Annotation:
    core = _import("pyannote.core")
    annotation = core.Annotation(uri=uri)
    for track, turn in enumerate(_merge_overlaps(turns)):
        annotation[core.Segment(turn.span.start, turn.span.end), track] = turn.label
    return annotation


def _merge_overlaps(turns: Sequence[Turn]) -> list[Turn]:
    """``turns`` with the overlapping turns of each speaker merged, sorted.

    pyannote.metrics would count a speaker twice where two of its turns overlap. Turns that
    only touch stay apart: their boundary keeps its collar, as in pyannote.metrics.
    """
    merged: list[Turn] = []
    for turn in sorted(turns, key=lambda t: (t.label, t.span)):
        last = merged[-1] if merged else None
        if last is not None and last.label == turn.label and turn.span.start < last.span.end:
            merged[-1] = Turn(Span(last.span.start, max(last.span.end, turn.span.end)), turn.label)
        else:
            merged.append(turn)
    return sorted(merged)


def _timeline(spans: Sequence[Span]) -> Timeline:
    core = _import("pyannote.core")
    timeline: Timeline = core.Timeline([core.Segment(s.start, s.end) for s in spans])
    return timeline.support()


def _fraction(part: float, whole: float) -> float:
    """``part / whole``; with nothing to divide by, 0 for nothing and 1 for something."""
    if whole > 0:
        return part / whole
    return 0.0 if part == 0 else 1.0


# -- text ---------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """Whisper-style basic normalisation of ``text`` for counting words.

    NFKC, lower case, punctuation and symbols (Unicode categories P*, S*) to spaces, runs of
    whitespace to one space, none at the ends.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(char)[0] in "PS" else char for char in text)
    return " ".join(text.split())


def score_text(pairs: Sequence[TextPair]) -> TextScores:
    """WER (jiwer) and cpWER (meeteval) of each pair and in total, on normalised text.

    Raises :class:`ConfigError` if the ``eval`` extra is not installed.
    """
    files = tuple(_text_score(pair) for pair in pairs)
    reference_words = sum(score.reference_words for score in files)
    errors = sum(score.errors for score in files)
    cp_counts = [score.cp_errors for score in files]
    cp_errors = None if None in cp_counts else sum(c for c in cp_counts if c is not None)
    total = TextScore(
        uri=None,
        wer=_rate(errors, reference_words),
        cpwer=None if cp_errors is None else _rate(cp_errors, reference_words),
        reference_words=reference_words,
        errors=errors,
        cp_errors=cp_errors,
    )
    return TextScores(files, total)


def _text_score(pair: TextPair) -> TextScore:
    jiwer = _import("jiwer")
    reference, hypothesis = (
        normalize_text(pair.reference.text),
        normalize_text(pair.hypothesis.text),
    )
    words = jiwer.process_words(reference, hypothesis)
    errors = int(words.substitutions + words.deletions + words.insertions)
    reference_words = len(reference.split())
    cp_errors = _cp_errors(pair)
    return TextScore(
        uri=pair.uri,
        wer=_rate(errors, reference_words),
        cpwer=None if cp_errors is None else _rate(cp_errors, reference_words),
        reference_words=reference_words,
        errors=errors,
        cp_errors=cp_errors,
    )


def _cp_errors(pair: TextPair) -> int | None:
    """Errors of the concatenated minimum-permutation WER, or None without speakers."""
    if pair.reference.by_speaker is None or pair.hypothesis.by_speaker is None:
        return None
    wer = _import("meeteval.wer")
    # Plain strings carry no times; sort=False says so (else meeteval prints a notice).
    result = wer.cp_word_error_rate(
        _speaker_texts(pair.reference.by_speaker),
        _speaker_texts(pair.hypothesis.by_speaker),
        reference_sort=False,
        hypothesis_sort=False,
    )
    return int(result.errors)


def _speaker_texts(by_speaker: Sequence[tuple[str, str]]) -> dict[str, str]:
    return {speaker: normalize_text(text) for speaker, text in by_speaker}


def _rate(errors: int, reference_words: int) -> float | None:
    return errors / reference_words if reference_words > 0 else None


def _import(module: str) -> Any:
    """Import one of the ``eval`` extra's modules, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ConfigError(f"{INSTALL_HINT} ({error})") from None
