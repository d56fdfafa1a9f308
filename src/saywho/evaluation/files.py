"""Reference and hypothesis files for scoring: RTTM, UEM, STM, pair lists, saywho JSON.

The ``parse_*`` functions are pure: text and a name in, typed values keyed by uri out. A
malformed line raises :class:`ConfigError` with a one-line message that starts with
``name:line:`` and says what is wrong. The ``read_*`` functions only read a file and parse it.

    RTTM  SPEAKER <uri> <channel> <start> <duration> <NA> <NA> <speaker> <NA> <NA>
    UEM   <uri> <channel> <start> <end>
    STM   <uri> <channel> <speaker> <start> <end> [<label>] text…
    list  <reference> <hypothesis>

Blank lines are skipped everywhere, and so are comment lines (``;;`` in every format, ``#`` in
all but STM, whose text could start with one). RTTM records other than ``SPEAKER`` (``SPKR-INFO``,
``LEXEME`` …) are skipped; an unknown record type is an error, since it usually means the file is
not RTTM at all.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from saywho.errors import ConfigError
from saywho.formats.json import read_json
from saywho.types import Span, Transcript, Turn

__all__ = [
    "Hypothesis",
    "SpokenText",
    "StmLine",
    "parse_pairs",
    "parse_rttm",
    "parse_stm",
    "parse_uem",
    "read_hypothesis",
    "read_rttm",
    "read_stm",
    "read_text",
    "read_uem",
    "stm_text",
    "stm_turns",
    "transcript_text",
    "transcript_turns",
]

RTTM_FIELDS = "SPEAKER uri channel start duration NA NA speaker NA NA"
# Every record type of the RTTM specification (NIST RT-09); only SPEAKER lines are scored.
RTTM_TYPES = frozenset(
    (
        *("SEGMENT", "NOSCORE", "NO_RT_METADATA", "LEXEME", "NON-LEX", "NON-SPEECH", "FILLER"),
        *("EDIT", "IP", "END-OF-SENTENCE", "SU", "CB", "A/P", "SPEAKER", "SPKR-INFO"),
    )
)
# STM lines that sclite does not score: a region to ignore, and the gap between segments.
STM_IGNORED_TEXT = "ignore_time_segment_in_scoring"
STM_GAP_SPEAKER = "inter_segment_gap"


@dataclass(frozen=True, slots=True)
class StmLine:
    """One line of an STM file: who said ``text`` (as written, unnormalised) during ``span``."""

    uri: str
    speaker: str
    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class SpokenText:
    """What was said in one recording.

    ``text`` is everything in time order; ``by_speaker`` is each speaker's text in time order,
    as ``(speaker, text)`` pairs sorted by speaker, or ``None`` when some words have no speaker.
    """

    text: str
    by_speaker: tuple[tuple[str, str], ...] | None


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """A system's answer for one recording: speaker turns and, unless it came from RTTM, text."""

    uri: str
    turns: tuple[Turn, ...]
    text: SpokenText | None


_T = TypeVar("_T")
_O = TypeVar("_O", Turn, Span)  # values that sort by time


class _MalformedLineError(ValueError):
    """What is wrong with one line; the caller adds the file name and line number."""


# -- parsing ------------------------------------------------------------------------------


def parse_rttm(text: str, name: str) -> dict[str, tuple[Turn, ...]]:
    """The ``SPEAKER`` turns of an RTTM file, by uri, each uri's turns sorted.

    Fields after the speaker are not checked (many tools leave them out or add more).
    Raises :class:`ConfigError` naming ``name`` and the line for a malformed line.
    """
    return _by_uri(_parse_lines(text, name, _rttm_line, comments=(";;", "#")))


def parse_uem(text: str, name: str) -> dict[str, tuple[Span, ...]]:
    """The scored regions of a UEM file, by uri, each uri's spans sorted.

    Raises :class:`ConfigError` naming ``name`` and the line for a malformed line.
    """
    return _by_uri(_parse_lines(text, name, _uem_line, comments=(";;", "#")))


def parse_stm(text: str, name: str) -> dict[str, tuple[StmLine, ...]]:
    """The lines of an STM file, by uri, each uri's lines in order of start time.

    A sixth field in angle brackets (``<O,M,>``) is the optional label and is dropped.
    Raises :class:`ConfigError` naming ``name`` and the line for a malformed line.
    """
    lines = _parse_lines(text, name, _stm_line, comments=(";;",), maxsplit=5)
    by_uri: dict[str, list[StmLine]] = {}
    for line in lines:
        by_uri.setdefault(line.uri, []).append(line)
    return {
        uri: tuple(sorted(found, key=lambda line: line.span.start)) for uri, found in by_uri.items()
    }


def parse_pairs(text: str, name: str) -> tuple[tuple[str, str], ...]:
    """The ``reference hypothesis`` path pairs of a list file, in order.

    Raises :class:`ConfigError` naming ``name`` and the line for a malformed line.
    """
    return tuple(_parse_lines(text, name, _pair_line, comments=(";;", "#")))


def _rttm_line(fields: list[str]) -> tuple[str, Turn] | None:
    if fields[0] not in RTTM_TYPES:
        raise _MalformedLineError(f"unknown record type {fields[0]!r} (is this an RTTM file?)")
    if fields[0] != "SPEAKER":
        return None
    if len(fields) < 8:
        raise _MalformedLineError(f"expected 10 fields ({RTTM_FIELDS}), got {len(fields)}")
    start = _time(fields[3], "start")
    duration = _time(fields[4], "duration")
    return fields[1], Turn(Span(start, start + duration), fields[7])


def _uem_line(fields: list[str]) -> tuple[str, Span]:
    if len(fields) != 4:
        raise _MalformedLineError(f"expected 4 fields (uri channel start end), got {len(fields)}")
    return fields[0], _span(fields[2], fields[3])


def _stm_line(fields: list[str]) -> StmLine:
    if len(fields) < 5:
        raise _MalformedLineError(
            f"expected at least 5 fields (uri channel speaker start end text…), got {len(fields)}"
        )
    words = fields[5] if len(fields) > 5 else ""
    if words.startswith("<"):
        label, _, words = words.partition(" ")
        if not label.endswith(">"):
            raise _MalformedLineError(f"label {label!r} does not end with '>'")
    return StmLine(fields[0], fields[2], _span(fields[3], fields[4]), words.strip())


def _pair_line(fields: list[str]) -> tuple[str, str]:
    if len(fields) != 2:
        raise _MalformedLineError(f"expected 2 fields (reference hypothesis), got {len(fields)}")
    return fields[0], fields[1]


def _parse_lines(
    text: str,
    name: str,
    parse: Callable[[list[str]], _T | None],
    *,
    comments: tuple[str, ...],
    maxsplit: int = -1,
) -> list[_T]:
    """``parse`` applied to the fields of each line that is neither blank nor a comment.

    A :class:`_MalformedLineError` from ``parse`` becomes a :class:`ConfigError` that names the
    file and the line; a ``None`` from it (a record to skip) is left out.
    """
    parsed = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(comments):
            continue
        try:
            value = parse(stripped.split(maxsplit=maxsplit))
        except _MalformedLineError as error:
            raise ConfigError(f"{name}:{number}: {error}") from None
        if value is not None:
            parsed.append(value)
    return parsed


def _by_uri(items: Sequence[tuple[str, _O]]) -> dict[str, tuple[_O, ...]]:
    grouped: dict[str, list[_O]] = {}
    for uri, item in items:
        grouped.setdefault(uri, []).append(item)
    return {uri: tuple(sorted(found)) for uri, found in grouped.items()}


def _span(start_text: str, end_text: str) -> Span:
    start, end = _time(start_text, "start"), _time(end_text, "end")
    if end < start:
        raise _MalformedLineError(f"end {end_text!r} is before start {start_text!r}")
    return Span(start, end)


def _time(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _MalformedLineError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _MalformedLineError(f"{what} {text!r} is not a finite number")
    if value < 0:
        raise _MalformedLineError(f"{what} {text!r} is negative")
    return value


# -- turns and text -----------------------------------------------------------------------


def stm_turns(lines: Sequence[StmLine]) -> tuple[Turn, ...]:
    """The speaker turns of STM lines (gaps and ignored regions left out), sorted."""
    return tuple(sorted(Turn(line.span, line.speaker) for line in _scored(lines)))


def stm_text(lines: Sequence[StmLine]) -> SpokenText:
    """What STM lines say, in order of start time (gaps and ignored regions left out)."""
    timed = sorted(_scored(lines), key=lambda line: line.span.start)
    return _spoken([(line.speaker, line.text) for line in timed])


def transcript_turns(transcript: Transcript) -> tuple[Turn, ...]:
    """The speaker turns of a saywho result: its diarization turns if any, else its utterances."""
    if transcript.turns:
        return tuple(sorted(transcript.turns))
    return tuple(
        sorted(Turn(u.span, u.speaker) for u in transcript.utterances if u.speaker is not None)
    )


def transcript_text(transcript: Transcript) -> SpokenText:
    """What a saywho result says, word by word with each word's speaker.

    An utterance without words counts as one word-run of its own speaker.
    """
    pieces: list[tuple[str | None, str]] = []
    for utterance in transcript.utterances:
        if utterance.words:
            pieces.extend((word.speaker, word.text) for word in utterance.words)
        elif utterance.text:
            pieces.append((utterance.speaker, utterance.text))
    return _spoken(pieces)


def _scored(lines: Sequence[StmLine]) -> Iterator[StmLine]:
    for line in lines:
        if line.speaker.lower() != STM_GAP_SPEAKER and line.text.lower() != STM_IGNORED_TEXT:
            yield line


def _spoken(pieces: Sequence[tuple[str | None, str]]) -> SpokenText:
    text = " ".join(words for _, words in pieces if words)
    if any(speaker is None for speaker, _ in pieces):
        return SpokenText(text, None)
    by_speaker: dict[str, list[str]] = {}
    for speaker, words in pieces:
        if speaker is not None and words:
            by_speaker.setdefault(speaker, []).append(words)
    return SpokenText(text, tuple(sorted((s, " ".join(w)) for s, w in by_speaker.items())))


# -- reading files ------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``; :class:`ConfigError` if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None


def read_rttm(path: Path) -> dict[str, tuple[Turn, ...]]:
    """The turns of the RTTM file ``path``, by uri."""
    return parse_rttm(read_text(path), str(path))


def read_uem(path: Path) -> dict[str, tuple[Span, ...]]:
    """The scored regions of the UEM file ``path``, by uri."""
    return parse_uem(read_text(path), str(path))


def read_stm(path: Path) -> dict[str, tuple[StmLine, ...]]:
    """The lines of the STM file ``path``, by uri."""
    return parse_stm(read_text(path), str(path))


def read_hypothesis(path: Path) -> dict[str, Hypothesis]:
    """A system's answers in ``path``, by uri, read by the file's suffix.

    ``.json``: a saywho result (uri: the file's stem), with text. ``.rttm``: turns only.
    ``.stm``: turns and text. Raises :class:`ConfigError` for any other suffix.
    """
    readers: dict[str, Callable[[Path], dict[str, Hypothesis]]] = {
        ".json": _json_hypothesis,
        ".rttm": _rttm_hypothesis,
        ".stm": _stm_hypothesis,
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise ConfigError(
            f"{path}: a hypothesis must be a saywho .json result, an .rttm or an .stm file"
        )
    return reader(path)


def _json_hypothesis(path: Path) -> dict[str, Hypothesis]:
    transcript = read_json(io.StringIO(read_text(path)), name=str(path))
    uri = path.stem
    return {uri: Hypothesis(uri, transcript_turns(transcript), transcript_text(transcript))}


def _rttm_hypothesis(path: Path) -> dict[str, Hypothesis]:
    return {uri: Hypothesis(uri, turns, None) for uri, turns in read_rttm(path).items()}


def _stm_hypothesis(path: Path) -> dict[str, Hypothesis]:
    return {
        uri: Hypothesis(uri, stm_turns(lines), stm_text(lines))
        for uri, lines in read_stm(path).items()
    }
