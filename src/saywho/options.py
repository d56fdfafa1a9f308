"""Command-line options shared by ``saywho transcribe``, ``diarize`` and ``batch``.

Each function adds one family of options to an argparse parser; :func:`build_config` turns
the parsed values (defaults < ``--config`` TOML file < flags) into a :class:`PipelineConfig`.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from saywho.config import DEVICES, STRATEGIES, PipelineConfig, config_from_options, merge_config
from saywho.errors import ConfigError
from saywho.formats import FORMATS, parse_formats

__all__ = [
    "add_config_option",
    "add_formats_option",
    "add_input_options",
    "add_recognize_options",
    "add_speaker_options",
    "add_subtitle_options",
    "build_config",
    "formats_of",
    "parse_duration_s",
]

_KEYS = (
    *("model", "language", "task", "initial_prompt", "hotwords", "beam_size", "compute_type"),
    *("best_of", "patience", "temperature", "condition_on_previous_text", "device"),
    "batch_size",
    *("threads", "num_speakers", "min_speakers", "max_speakers", "vad", "diarize", "recognize"),
    *("strategy", "max_duration_s"),
    *("max_line_width", "max_line_count", "highlight_words"),
)


def add_recognize_options(parser: argparse.ArgumentParser) -> None:
    """Model, language, decoding, VAD and diarization switches, and the strategy."""
    parser.add_argument(
        "--model", help="base (default), tiny.en, a CTranslate2 model directory, or a hub name"
    )
    parser.add_argument("--language", help="language code such as en or de (default: detect)")
    parser.add_argument("--task", choices=("transcribe", "translate"))
    parser.add_argument("--initial-prompt", help="text that primes the vocabulary and style")
    parser.add_argument("--hotwords", help="words to favour (names, jargon)")
    parser.add_argument("--beam-size", type=int, help="beam search width (default 5)")
    parser.add_argument(
        "--best-of", type=int, help="candidates sampled at a temperature above 0 (default 5)"
    )
    parser.add_argument("--patience", type=float, help="beam search patience (default 1.0)")
    parser.add_argument(
        "--temperature",
        type=float,
        help="decoding temperature to start at (default 0; retried 0.2 higher where "
        "the result fails, up to 1: temperature_increment in [recognize])",
    )
    parser.add_argument(
        "--condition-on-previous-text",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="prompt each 30 s window with the text before it (default: on; off can stop "
        "a repetition loop)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="decode this many 30 s windows at once (faster-whisper's batched pipeline; "
        "default: one after the other)",
    )
    parser.add_argument("--compute-type", help="int8 (default), float32, float16, …")
    parser.add_argument(
        "--device",
        choices=DEVICES,
        help="cpu (default), cuda (an NVIDIA GPU; diarization too where onnxruntime has "
        "its CUDA provider), or auto (cuda where a GPU is found)",
    )
    parser.add_argument(
        "--no-vad",
        dest="vad",
        action="store_false",
        default=None,
        help="skip voice activity detection",
    )
    parser.add_argument(
        "--no-diarize",
        dest="diarize",
        action="store_false",
        default=None,
        help="skip speaker diarization",
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="attribute (default): recognize the whole file, then give words speakers; "
        "per-turn: recognize each speaker turn; spacer: join turns with silence, recognize once",
    )


def add_speaker_options(parser: argparse.ArgumentParser) -> None:
    """The speaker-count hints."""
    parser.add_argument("--num-speakers", type=int, help="the number of speakers, if known")
    parser.add_argument("--min-speakers", type=int, help="at least this many speakers")
    parser.add_argument("--max-speakers", type=int, help="at most this many speakers")


def add_subtitle_options(parser: argparse.ArgumentParser) -> None:
    """The subtitle layout (srt, vtt), as whisperX names it; the rest is in ``[write]``."""
    parser.add_argument(
        "--max-line-width",
        type=int,
        help="subtitle line width in characters, speaker label included (default 42)",
    )
    parser.add_argument("--max-line-count", type=int, help="lines per subtitle (default 2)")
    parser.add_argument(
        "--highlight-words",
        action="store_true",
        default=None,
        help="underline each word in the subtitles while it is spoken (karaoke style)",
    )


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


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """``--max-duration``: the longest audio a file may decode to."""
    parser.add_argument(
        "--max-duration",
        dest="max_duration_s",
        type=parse_duration_s,
        metavar="DURATION",
        help="refuse a file whose audio is longer than this: seconds, or 90m, 4h "
        "(default: no limit)",
    )


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
    return config_from_options(config, {key: getattr(args, key, None) for key in _KEYS})


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
