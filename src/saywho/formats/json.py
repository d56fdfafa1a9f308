"""JSON: the complete result, versioned, and the one format saywho can read back.

Schema (``SCHEMA_VERSION`` 1)::

    {schema_version, source, duration_s, language, language_probability,
     config: {stage: {key: value}},            # the effective options
     models: [{name, role, sha256}],
     speakers: [{label, name, confidence, centroid}],   # centroid: voice embedding or null
     turns: [{start, end, speaker}],           # diarization turns, overlap kept
     utterances: [{start, end, speaker, text,
                   words: [{text, start, end, probability, speaker, speaker_confidence,
                            overlapping}]}]}         # overlapping: other speakers' labels

Times are seconds rounded to 3 decimals, probabilities to 4; an untimed word has ``null``
start and end. Speakers in utterances and words are labels; ``speakers`` maps them to names.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, TextIO

from saywho.config import PipelineConfig, merge_config
from saywho.errors import ConfigError
from saywho.timestamps import milliseconds
from saywho.types import ModelInfo, Span, Speaker, Transcript, Turn, Utterance, Word

__all__ = ["SCHEMA_VERSION", "read_json", "transcript_data", "write_json"]

SCHEMA_VERSION = 1


def write_json(transcript: Transcript, stream: TextIO) -> None:
    """Write ``transcript`` as UTF-8-safe, indented JSON with a trailing newline."""
    json.dump(transcript_data(transcript), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def read_json(stream: TextIO, *, name: str = "<json>") -> Transcript:
    """Read a transcript that :func:`write_json` wrote.

    ``name`` (usually the file name) starts every error message. Raises
    :class:`ConfigError` for text that is not JSON, a schema version this saywho does not
    know, or a missing or mistyped field.
    """
    try:
        data = json.load(stream)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not valid JSON ({exc})") from None
    try:
        return _read_transcript(data)
    except _MalformedError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"{name}: config: {exc}") from None


# -- writing ------------------------------------------------------------------------------


def transcript_data(transcript: Transcript) -> dict[str, Any]:
    """The JSON object of ``transcript`` (dicts and lists) that :func:`write_json` writes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "source": transcript.source,
        "duration_s": _time(transcript.duration_s),
        "language": transcript.language,
        "language_probability": _probability(transcript.language_probability),
        "config": dataclasses.asdict(transcript.config),
        "models": [dataclasses.asdict(model) for model in transcript.models],
        "speakers": [
            {
                "label": s.label,
                "name": s.name,
                "confidence": _probability(s.confidence),
                "centroid": None if s.centroid is None else [round(x, 6) for x in s.centroid],
            }
            for s in transcript.speakers
        ],
        "turns": [
            {"start": _time(t.span.start), "end": _time(t.span.end), "speaker": t.label}
            for t in transcript.turns
        ],
        "utterances": [_utterance_object(u) for u in transcript.utterances],
    }


def _utterance_object(utterance: Utterance) -> dict[str, Any]:
    return {
        "start": _time(utterance.span.start),
        "end": _time(utterance.span.end),
        "speaker": utterance.speaker,
        "text": utterance.text,
        "words": [_word_object(word) for word in utterance.words],
    }


def _word_object(word: Word) -> dict[str, Any]:
    return {
        "text": word.text,
        "start": _time(word.span.start) if word.span is not None else None,
        "end": _time(word.span.end) if word.span is not None else None,
        "probability": _probability(word.probability),
        "speaker": word.speaker,
        "speaker_confidence": _probability(word.speaker_confidence),
        "overlapping": list(word.overlapping),
    }


def _time(seconds: float) -> float:
    return milliseconds(seconds) / 1000


def _probability(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# -- reading ------------------------------------------------------------------------------


class _MalformedError(ValueError):
    """A field is missing or has the wrong type; the message names it."""


def _read_transcript(data: Any) -> Transcript:
    top = _object(data, "the top level")
    _check_version(top)
    config = _object(_field(top, "config"), "config")
    return Transcript(
        source=_text(top, "source"),
        duration_s=_number(top, "duration_s"),
        language=_optional_text(top, "language"),
        language_probability=_optional_number(top, "language_probability"),
        utterances=tuple(
            _read_utterance(_object(u, f"utterances[{i}]"), f"utterances[{i}]")
            for i, u in enumerate(_list(top, "utterances"))
        ),
        config=merge_config(PipelineConfig(), config),
        models=tuple(
            _read_model(_object(m, f"models[{i}]")) for i, m in enumerate(_list(top, "models"))
        ),
        speakers=tuple(
            _read_speaker(_object(s, f"speakers[{i}]"))
            for i, s in enumerate(_list(top, "speakers"))
        ),
        turns=tuple(
            _read_turn(_object(t, f"turns[{i}]"), f"turns[{i}]")
            for i, t in enumerate(_list(top, "turns"))
        ),
    )


def _check_version(top: Mapping[str, Any]) -> None:
    version = _field(top, "schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _MalformedError(f"schema_version {version!r} is not a saywho schema version")
    if version > SCHEMA_VERSION:
        raise _MalformedError(
            f"schema_version {version} is newer than this saywho supports ({SCHEMA_VERSION})"
        )


def _read_utterance(obj: Mapping[str, Any], where: str) -> Utterance:
    return Utterance(
        span=_span(obj, where),
        text=_text(obj, "text", where),
        words=tuple(
            _read_word(_object(w, f"{where}.words[{i}]"), f"{where}.words[{i}]")
            for i, w in enumerate(_list(obj, "words", where))
        ),
        speaker=_optional_text(obj, "speaker", where),
    )


def _read_word(obj: Mapping[str, Any], where: str) -> Word:
    timed = obj.get("start") is not None or obj.get("end") is not None
    return Word(
        text=_text(obj, "text", where),
        span=_span(obj, where) if timed else None,
        probability=_number(obj, "probability", where),
        speaker=_optional_text(obj, "speaker", where),
        speaker_confidence=_optional_number(obj, "speaker_confidence", where),
        overlapping=tuple(_texts(obj, "overlapping", where)) if "overlapping" in obj else (),
    )


def _read_turn(obj: Mapping[str, Any], where: str) -> Turn:
    return Turn(span=_span(obj, where), label=_text(obj, "speaker", where))


def _read_model(obj: Mapping[str, Any]) -> ModelInfo:
    return ModelInfo(
        name=_text(obj, "name"), role=_text(obj, "role"), sha256=_optional_text(obj, "sha256")
    )


def _read_speaker(obj: Mapping[str, Any]) -> Speaker:
    return Speaker(
        label=_text(obj, "label"),
        name=_optional_text(obj, "name"),
        confidence=_optional_number(obj, "confidence"),
        centroid=_centroid(obj),
    )


def _centroid(obj: Mapping[str, Any]) -> tuple[float, ...] | None:
    if obj.get("centroid") is None:
        return None
    values = _list(obj, "centroid", "speaker")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in values):
        raise _MalformedError("speaker.centroid must be a list of numbers")
    return tuple(float(x) for x in values)


def _texts(obj: Mapping[str, Any], key: str, where: str) -> list[str]:
    values = _list(obj, key, where)
    if not all(isinstance(x, str) for x in values):
        raise _MalformedError(f"{_path(where, key)} must be a list of strings")
    return values


def _span(obj: Mapping[str, Any], where: str) -> Span:
    start, end = _number(obj, "start", where), _number(obj, "end", where)
    if end < start:
        raise _MalformedError(f"{where} ends ({end}) before it starts ({start})")
    return Span(start, end)


def _field(obj: Mapping[str, Any], key: str, where: str = "") -> Any:
    if key not in obj:
        raise _MalformedError(f"{_path(where, key)} is missing")
    return obj[key]


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _MalformedError(f"{where} must be an object")
    return value


def _list(obj: Mapping[str, Any], key: str, where: str = "") -> list[Any]:
    value = _field(obj, key, where)
    if not isinstance(value, list):
        raise _MalformedError(f"{_path(where, key)} must be a list")
    return value


def _text(obj: Mapping[str, Any], key: str, where: str = "") -> str:
    value = _field(obj, key, where)
    if not isinstance(value, str):
        raise _MalformedError(f"{_path(where, key)} must be a string")
    return value


def _optional_text(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    return None if _field(obj, key, where) is None else _text(obj, key, where)


def _number(obj: Mapping[str, Any], key: str, where: str = "") -> float:
    value = _field(obj, key, where)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _MalformedError(f"{_path(where, key)} must be a number")
    return float(value)


def _optional_number(obj: Mapping[str, Any], key: str, where: str = "") -> float | None:
    return None if _field(obj, key, where) is None else _number(obj, key, where)


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
