"""Every option a user sets for one run, in one table.

The ``saywho transcribe``, ``diarize`` and ``batch`` flags and the keys that
:func:`saywho.options.build_config` reads from them, and, for the options marked as a
client's, the server's job options, re-run body and upload form (:mod:`saywho.server.options`)
are all made from :data:`OPTIONS`. An option names the config field it sets; its type,
default and choices are read from that field, never written here again. Adding an option:
its field in the stage's config (:mod:`saywho.config`), one row here, and its use.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from saywho.config import MAX_SPEAKERS, PipelineConfig

__all__ = ["OPTIONS", "Group", "Option", "option_names", "parse_duration_s"]

Group = Literal["recognize", "speakers", "subtitles", "input", "threads"]
"""Which family of flags an option belongs to (each command adds the families it takes)."""

Switch = Literal["both", "on", "off"]
"""How a boolean option is spelled: ``--x``/``--no-x``, only ``--x``, or only ``--no-x``."""


def parse_duration_s(text: str) -> float:
    """``"90"``, ``"90s"``, ``"45m"`` or ``"4h"`` in seconds; argparse reports a bad one."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    number, scale = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1.0)
    try:
        seconds = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (say 3600, 90m or 4h)"
        ) from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive duration, got {text!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class Option:
    """One option: the config field it sets, and how the command line and the server show it.

    ``setting`` is ``stage.field`` as in a config file (``recognize.beam_size``); an
    ``enabled`` field makes the option the stage's on/off switch, named after the stage.
    ``group`` is the family of flags it joins. ``help`` is the ``--help`` text, where
    ``{default}`` stands for the field's default (``on``/``off`` for a boolean) and
    ``{stage}`` for the stage's default config. ``flag`` is the flag where it is not ``--``
    and the name with dashes (``None``: no flag, a command sets the value). ``switch`` spells a
    boolean flag, ``parse`` and ``metavar`` replace argparse's own for the value.
    ``client`` marks an option a server client may set (every other one is the server's
    to choose); its text is the option's description in the API. ``minimum`` and ``maximum``
    bound a number there.
    """

    setting: str
    group: Group | None
    help: str
    flag: str | None = ""
    switch: Switch = "both"
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    client: str | None = None
    minimum: int | None = None
    maximum: int | None = None

    @property
    def stage(self) -> str:
        """The :class:`PipelineConfig` field (a stage's config) that the option is in."""
        return self.setting.partition(".")[0]

    @property
    def field(self) -> str:
        """The field of the stage's config that the option sets."""
        return self.setting.partition(".")[2]

    @property
    def name(self) -> str:
        """The option's key: its field, or its stage for a stage's ``enabled`` switch."""
        return self.stage if self.field == "enabled" else self.field

    @property
    def flags(self) -> tuple[str, ...]:
        """The option's command-line flag (none: a command sets the value itself)."""
        if self.flag is None:
            return ()
        if self.flag:
            return (self.flag,)
        prefix = "--no-" if self.switch == "off" else "--"
        return (prefix + self.name.replace("_", "-"),)

    @property
    def hint(self) -> Any:
        """The config field's type annotation, such as ``int | None``."""
        return typing.get_type_hints(type(_stage_default(self.stage)))[self.field]

    @property
    def kind(self) -> type:
        """The value's type: ``str``, ``int``, ``float`` or ``bool`` (a choice is a ``str``)."""
        hint = _without_none(self.hint)
        return str if typing.get_origin(hint) is Literal else typing.cast(type, hint)

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The values a ``Literal`` field allows, in order; ``None``: any of its type."""
        hint = _without_none(self.hint)
        return typing.get_args(hint) if typing.get_origin(hint) is Literal else None

    @property
    def default(self) -> Any:
        """The config field's default."""
        return getattr(_stage_default(self.stage), self.field)

    def help_text(self) -> str:
        """``help`` with the defaults filled in."""
        default = self.default
        shown = ("on" if default else "off") if isinstance(default, bool) else default
        return self.help.format(default=shown, stage=_stage_default(self.stage))


def _without_none(hint: Any) -> Any:
    """``X`` of ``X | None``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return hint


def _stage_default(stage: str) -> Any:
    return getattr(PipelineConfig(), stage)


def _hint(setting: str, help: str) -> Option:
    """A speaker-count hint: the same words on the command line and in the API."""
    return Option(setting, "speakers", help, client=help, minimum=1, maximum=MAX_SPEAKERS)


# The order is that of the --help text within each group (and of the server's fields).
OPTIONS: tuple[Option, ...] = (
    Option(
        "recognize.model", "recognize",
        "{default} (default), tiny.en, a CTranslate2 model directory, or a hub name",
        client="a model this server offers",
    ),
    Option(
        "recognize.language", "recognize", "language code such as en or de (default: detect)",
        client="e.g. en, de; blank: detect",
    ),
    Option("recognize.task", "recognize", "{default} (default), or translate into English"),
    Option("recognize.initial_prompt", "recognize", "text that primes the vocabulary and style"),
    Option("recognize.hotwords", "recognize", "words to favour (names, jargon)"),
    Option("recognize.beam_size", "recognize", "beam search width (default {default})"),
    Option(
        "recognize.best_of", "recognize",
        "candidates sampled at a temperature above 0 (default {default})",
    ),
    Option("recognize.patience", "recognize", "beam search patience (default {default})"),
    Option(
        "recognize.temperature", "recognize",
        "decoding temperature to start at (default {default:g}; retried "
        "{stage.temperature_increment} higher where the result fails, up to 1: "
        "temperature_increment in [recognize])",
    ),
    Option(
        "recognize.condition_on_previous_text", "recognize",
        "prompt each 30 s window with the text before it (default: {default}; off can stop "
        "a repetition loop)",
    ),
    Option(
        "recognize.batch_size", "recognize",
        "decode this many 30 s windows at once (faster-whisper's batched pipeline; "
        "default: one after the other)",
    ),
    Option("recognize.compute_type", "recognize", "{default} (default), float32, float16, …"),
    Option(
        "recognize.device", "recognize",
        "{default} (default), cuda (an NVIDIA GPU; diarization too where onnxruntime has "
        "its CUDA provider), or auto (cuda where a GPU is found)",
    ),
    Option(
        "diarize.num_speakers", "speakers", "the number of speakers, if known",
        client="exactly this many speakers; blank: find out", minimum=1, maximum=MAX_SPEAKERS,
    ),
    _hint("diarize.min_speakers", "at least this many speakers"),
    _hint("diarize.max_speakers", "at most this many speakers"),
    Option("vad.enabled", "recognize", "skip voice activity detection", switch="off"),
    Option(
        "diarize.enabled", "recognize", "skip speaker diarization", switch="off",
        client="find who speaks when (default: the server's)",
    ),
    Option(
        "attribute.strategy", "recognize",
        "{default} (default): recognize the whole file, then give words speakers; "
        "per-turn: recognize each speaker turn; spacer: join turns with silence, recognize once",
    ),
    Option("recognize.enabled", None, "", flag=None),  # `saywho diarize` turns it off
    Option(
        "write.max_line_width", "subtitles",
        "subtitle line width in characters, speaker label included (default {default})",
    ),
    Option("write.max_line_count", "subtitles", "lines per subtitle (default {default})"),
    Option(
        "write.highlight_words", "subtitles",
        "underline each word in the subtitles while it is spoken (karaoke style)", switch="on",
    ),
    Option(
        "decode.max_duration_s", "input",
        "refuse a file whose audio is longer than this: seconds, or 90m, 4h (default: no limit)",
        flag="--max-duration", parse=parse_duration_s, metavar="DURATION",
    ),
    Option("recognize.threads", "threads", "CPU threads (default: all cores)"),
)  # fmt: skip


def option_names() -> tuple[str, ...]:
    """Every option's key, in table order."""
    return tuple(option.name for option in OPTIONS)
