"""The options a client may set on a job, checked before the job is queued.

A client chooses among the models the server allows (never a path on the server, never a
hub download), a language, and speaker-count hints; the server's own config fills the rest.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from saywho.config import MAX_SPEAKERS, PipelineConfig, config_from_options
from saywho.errors import ConfigError

__all__ = ["OPTION_NAMES", "JobOptions"]

OPTION_NAMES = (
    "model",
    "language",
    "num_speakers",
    "min_speakers",
    "max_speakers",
    "diarize",
)
_INTS = ("num_speakers", "min_speakers", "max_speakers")


@dataclass(frozen=True, slots=True)
class JobOptions:
    """A job's options; ``None`` means the server's default."""

    model: str | None = None
    language: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    diarize: bool | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any], models: Collection[str]) -> JobOptions:
        """Options from a form or JSON object; strings are converted, blanks mean unset.

        Raises :class:`ConfigError` naming an unknown option, a bad value or a model the
        server does not offer.
        """
        unknown = sorted(set(values) - set(OPTION_NAMES))
        if unknown:
            raise ConfigError(f"unknown option {unknown[0]!r}; known: {', '.join(OPTION_NAMES)}")
        clean = {name: _value(name, values.get(name)) for name in OPTION_NAMES}
        options = cls(**clean)
        if options.model is not None and options.model not in models:
            raise ConfigError(
                f"model {options.model!r} is not offered by this server; choose one of "
                f"{', '.join(sorted(models))}"
            )
        options.config(PipelineConfig())  # raises ConfigError for inconsistent hints
        return options

    def config(self, base: PipelineConfig) -> PipelineConfig:
        """``base`` with these options applied."""
        return config_from_options(base, asdict(self))

    def public(self) -> dict[str, Any]:
        """The options as a JSON object."""
        return asdict(self)

    def to_json(self) -> str:
        """The options as stored in the job store."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobOptions:
        """Read what :meth:`to_json` wrote."""
        return cls(**json.loads(text))


def _value(name: str, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if name in _INTS:
        return _count(name, raw)
    if name == "diarize":
        return _flag(name, raw)
    if not isinstance(raw, str) or len(raw) > 100:
        raise ConfigError(f"{name} must be a short text")
    return raw.strip()


def _count(name: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"{name} must be a whole number")
    if isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not isinstance(raw, int) or not 1 <= raw <= MAX_SPEAKERS:
        raise ConfigError(f"{name} must be a whole number from 1 to {MAX_SPEAKERS}")
    return raw


def _flag(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false")
