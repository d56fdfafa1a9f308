"""Command-line options shared by ``saywho transcribe``, ``diarize`` and ``batch``.

Each function adds one family of the options of :data:`saywho.option_table.OPTIONS` to an
argparse parser; :func:`build_config` turns the parsed values (defaults < ``--config`` TOML
file < flags) into a :class:`PipelineConfig`.
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from saywho.config import PipelineConfig, config_from_options, merge_config
from saywho.errors import ConfigError
from saywho.formats import FORMATS, parse_formats
from saywho.option_table import OPTIONS, Group, Option, option_names, parse_duration_s

__all__ = [
    "add_config_option",
    "add_formats_option",
    "add_input_options",
    "add_recognize_options",
    "add_speaker_options",
    "add_subtitle_options",
    "add_threads_option",
    "build_config",
    "formats_of",
    "parse_duration_s",
]


def add_recognize_options(
    parser: argparse.ArgumentParser, helps: Mapping[str, str] | None = None
) -> None:
    """Model, language, decoding, VAD and diarization switches, and the strategy; ``helps``:
    the command's own help for options (by setting, e.g. ``recognize.model``) that differ."""
    _add_group(parser, "recognize", helps=helps)


def add_speaker_options(parser: argparse.ArgumentParser) -> None:
    """The speaker-count hints."""
    _add_group(parser, "speakers")


def add_subtitle_options(parser: argparse.ArgumentParser) -> None:
    """The subtitle layout (srt, vtt), as whisperX names it; the rest is in ``[write]``."""
    _add_group(parser, "subtitles")


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """``--max-duration``: the longest audio a file may decode to."""
    _add_group(parser, "input")


def add_threads_option(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--threads``, with the command's own ``help`` where its meaning differs."""
    _add_group(parser, "threads", {} if help is None else {"recognize.threads": help})


def _add_group(
    parser: argparse.ArgumentParser, group: Group, helps: Mapping[str, str] | None = None
) -> None:
    """The group's flags; ``helps``: a command's own help text by setting, where it differs."""
    for option in OPTIONS:
        if option.group == group:
            _add_flag(parser, option, (helps or {}).get(option.setting) or option.help_text())


def _add_flag(parser: argparse.ArgumentParser, option: Option, help: str) -> None:
    """The option's flag; its value stays ``None`` unless given, so that a config file's
    value is not overridden by a default."""
    if option.kind is not bool:
        parser.add_argument(
            *option.flags,
            dest=option.name,
            type=option.parse or option.kind,
            choices=option.choices,
            metavar=option.metavar,
            default=None,
            help=help,
        )
    elif option.switch == "both":
        parser.add_argument(
            *option.flags,
            dest=option.name,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=help,
        )
    else:
        action = "store_true" if option.switch == "on" else "store_false"
        parser.add_argument(*option.flags, dest=option.name, action=action, default=None, help=help)


def add_formats_option(parser: argparse.ArgumentParser, default: str) -> None:
    """``-f/--formats``: comma-separated, repeatable (``-f json -f srt``), or ``all``."""
    parser.add_argument(
        "-f",
        "--formats",
        action="append",
        help=f"comma-separated or repeated, out of {','.join(FORMATS)}, or all "
        f"(default: {default})",
    )
    parser.set_defaults(default_formats=default)


def formats_of(args: argparse.Namespace) -> tuple[str, ...]:
    """The formats chosen with :func:`add_formats_option`: every ``-f`` given, in order."""
    given: list[str] | None = args.formats
    return parse_formats(",".join(given) if given else args.default_formats)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE.toml``."""
    parser.add_argument(
        "--config",
        type=Path,
        help="TOML file with [decode], [vad], [recognize], [diarize], [attribute], [write] tables",
    )


def build_config(args: argparse.Namespace) -> PipelineConfig:
    """Defaults, then the ``--config`` file, then the flags given; unknown keys are errors."""
    config = PipelineConfig()
    if getattr(args, "config", None) is not None:
        config = merge_config(config, _read_toml(args.config))
    return config_from_options(config, {key: getattr(args, key, None) for key in option_names()})


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror or error})") from error
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a TOML config file (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from error
