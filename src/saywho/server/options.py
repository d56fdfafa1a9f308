"""The options a client may set on a job, checked before the job is queued.

They are the rows of :data:`saywho.option_table.OPTIONS` marked as a client's: a model among
those the server allows (never a path on the server, never a hub download), a language,
speaker-count hints and diarization on or off; the server's own config fills the rest. The
job's options, the JSON body of a re-run (:data:`RerunRequest`) and the upload form's
OpenAPI fields (:func:`form_fields`) are all made from those rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from saywho.config import PipelineConfig, config_from_options
from saywho.errors import ConfigError
from saywho.option_table import OPTIONS, Option

__all__ = ["CLIENT_OPTIONS", "OPTION_NAMES", "JobOptions", "RerunRequest", "form_fields"]

CLIENT_OPTIONS: tuple[Option, ...] = tuple(option for option in OPTIONS if option.client)
OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in CLIENT_OPTIONS)
_OFFERED = "model"  # the option whose values are the server's models, no others
_MAX_TEXT = 100  # characters of a text option
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True, slots=True, init=False)
class JobOptions:
    """A job's options, set by keyword (``JobOptions(num_speakers=2)``) and read as
    attributes (``options.num_speakers``); ``None`` means the server's default."""

    values: tuple[tuple[str, Any], ...]
    """The options set, as (name, value) pairs in table order."""

    def __init__(self, **values: Any) -> None:
        _check_names(values)
        pairs = tuple((name, values[name]) for name in OPTION_NAMES if values.get(name) is not None)
        object.__setattr__(self, "values", pairs)

    def __getattr__(self, name: str) -> Any:
        if name not in OPTION_NAMES:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return dict(self.values).get(name)

    @classmethod
    def parse(cls, values: Mapping[str, Any], models: Collection[str]) -> JobOptions:
        """Options from a form or JSON object; strings are converted, blanks mean unset.

        Raises :class:`ConfigError` naming an unknown option, a bad value or a model the
        server does not offer.
        """
        _check_names(values)
        options = cls(
            **{option.name: _value(option, values.get(option.name)) for option in CLIENT_OPTIONS}
        )
        model = getattr(options, _OFFERED)
        if model is not None and model not in models:
            raise ConfigError(
                f"model {model!r} is not offered by this server; choose one of "
                f"{', '.join(sorted(models))}"
            )
        options.config(PipelineConfig())  # raises ConfigError for inconsistent hints
        return options

    def config(self, base: PipelineConfig) -> PipelineConfig:
        """``base`` with these options applied."""
        return config_from_options(base, dict(self.values))

    def public(self) -> dict[str, Any]:
        """The options as a JSON object: every client option, ``None`` where unset."""
        return {name: getattr(self, name) for name in OPTION_NAMES}

    def to_json(self) -> str:
        """The options as stored in the job store."""
        return json.dumps(self.public(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobOptions:
        """Read what :meth:`to_json` wrote."""
        return cls(**json.loads(text))


def _check_names(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(OPTION_NAMES))
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}; known: {', '.join(OPTION_NAMES)}")


def _value(option: Option, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if option.kind is bool:
        return _flag(option.name, raw)
    if option.kind in (int, float):
        return _number(option, raw)
    if not isinstance(raw, str) or len(raw) > _MAX_TEXT:
        raise ConfigError(f"{option.name} must be a short text")
    text = raw.strip()
    if option.choices is not None and text not in option.choices:
        raise ConfigError(f"{option.name} must be one of {', '.join(option.choices)}")
    return text


def _number(option: Option, raw: Any) -> int | float:
    kind = option.kind
    what = "a whole number" if kind is int else "a finite number"
    if isinstance(raw, str):
        try:
            raw = kind(raw.strip())
        except ValueError:
            raise ConfigError(f"{option.name} must be {what}, got {raw!r}") from None
    allowed = int if kind is int else (int, float)
    if isinstance(raw, bool) or not isinstance(raw, allowed) or not math.isfinite(raw):
        raise ConfigError(f"{option.name} must be {what}")
    low, high = option.minimum, option.maximum
    if (low is not None and raw < low) or (high is not None and raw > high):
        raise ConfigError(f"{option.name} must be {what}{_range(low, high)}")
    return kind(raw)  # type: ignore[no-any-return]


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    return f" of at least {low}" if low is not None else f" of at most {high}"


def _flag(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false")


def _limits(option: Option) -> dict[str, Any]:
    """The bounds of an option's value, as pydantic's ``Field`` and JSON Schema name them."""
    if option.kind is str and option.choices is None:
        return {"max_length": _MAX_TEXT}
    bounds = {"ge": option.minimum, "le": option.maximum}
    return {key: value for key, value in bounds.items() if value is not None}


def _request_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        option.name: (option.hint | None, Field(default=None, **_limits(option)))
        for option in CLIENT_OPTIONS
    }
    return create_model(
        "RerunRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="New options for a job; unset ones take the server's defaults.",
        **fields,
    )


if TYPE_CHECKING:
    RerunRequest = BaseModel
else:
    RerunRequest = _request_model()
    """The JSON body of a re-run: the client options, each optional."""


def form_fields(models: Collection[str]) -> dict[str, dict[str, Any]]:
    """The upload form's option fields as OpenAPI properties; ``models``: those offered."""
    return {option.name: _form_field(option, models) for option in CLIENT_OPTIONS}


def _form_field(option: Option, models: Collection[str]) -> dict[str, Any]:
    field: dict[str, Any] = {"type": _JSON_TYPES[option.kind]}
    choices = list(models) if option.name == _OFFERED else option.choices
    names = {"max_length": "maxLength", "ge": "minimum", "le": "maximum"}
    if choices is not None:
        field["enum"] = list(choices)
    else:
        field.update({names[key]: value for key, value in _limits(option).items()})
    field["description"] = option.client
    return field
