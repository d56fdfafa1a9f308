"""The option table (saywho.option_table) and the command-line flags made from it."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

import pytest

from saywho.cli import _parser
from saywho.config import PipelineConfig, config_from_options
from saywho.option_table import OPTIONS, Option, option_names
from saywho.options import build_config

# The families of flags each command takes.
COMMANDS = {
    "transcribe": {"recognize", "speakers", "subtitles", "input", "threads"},
    "diarize": {"speakers", "input", "threads"},
    "batch": {"recognize", "speakers", "subtitles", "input", "threads"},
}
OUT = {"transcribe": [], "batch": ["-o", "out"]}
# A value unlike the default for each kind of option, as typed and as the config holds it.
SAMPLES: dict[str, tuple[list[str], Any]] = {
    "model": (["tiny.en"], "tiny.en"),
    "compute_type": (["float32"], "float32"),
    "max_duration_s": (["90m"], 5400.0),
}


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    sub: argparse.ArgumentParser = commands.choices[command]
    return sub


def _config_keys() -> set[str]:
    """Every key config_from_options takes: each stage's fields, each stage's switch."""
    keys = set()
    for stage in dataclasses.fields(PipelineConfig):
        for field in dataclasses.fields(getattr(PipelineConfig(), stage.name)):
            keys.add(stage.name if field.name == "enabled" else field.name)
    return keys


def _sample(option: Option) -> tuple[list[str], Any]:
    """Command-line words that set ``option`` away from its default, and the value set."""
    if option.name in SAMPLES:
        words, value = SAMPLES[option.name]
        return [*option.flags, *words], value
    if option.kind is bool:
        value = not option.default
        if not option.flags:
            return [], value
        negated = option.switch == "both" and not value
        return ["--no-" + option.flags[0].removeprefix("--")] if negated else [*option.flags], value
    if option.choices is not None:
        value = next(choice for choice in option.choices if choice != option.default)
        return [*option.flags, value], value
    value = {int: 12, float: 0.5, str: "text"}[option.kind]
    return [*option.flags, str(value)], value


def test_every_option_is_a_config_field_of_the_same_type() -> None:
    config = PipelineConfig()
    for option in OPTIONS:
        stage = getattr(config, option.stage)
        hints = typing.get_type_hints(type(stage))
        assert option.field in hints, option
        assert option.hint == hints[option.field]
        assert option.default == getattr(stage, option.field)
        allowed = set(typing.get_args(option.hint)) | {option.hint}
        assert option.kind in allowed or option.choices is not None, option
    assert len(set(option_names())) == len(OPTIONS)
    assert set(option_names()) <= _config_keys()
    # each name reaches its own field through config_from_options, the key list's user
    for option in OPTIONS:
        _, value = _sample(option)
        changed = config_from_options(PipelineConfig(), {option.name: value})
        assert getattr(getattr(changed, option.stage), option.field) == value, option.name


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_flags_are_exactly_those_of_the_table(command: str) -> None:
    parser = _subparser(command)
    by_dest = {action.dest: action for action in parser._actions}
    expected = {o.name: o for o in OPTIONS if o.group in COMMANDS[command] and o.flags}
    # no flag that sets a config field outside the table
    assert set(by_dest) & _config_keys() == set(expected)
    for name, option in expected.items():
        action = by_dest[name]
        assert tuple(action.option_strings) == option.flags or (
            option.switch == "both" and action.option_strings[0] == option.flags[0]
        )
        assert action.default is None, name  # so that a config file's value stands
        if option.kind is not bool:
            assert action.type is (option.parse or option.kind), name
            assert action.choices == option.choices, name
        assert action.help and "{" not in action.help, name


@pytest.mark.parametrize("command", ["transcribe", "batch"])
def test_each_flag_sets_its_config_field(command: str) -> None:
    for option in OPTIONS:
        if option.group is None:
            continue
        words, value = _sample(option)
        config = build_config(_parser().parse_args([command, "a.wav", *words, *OUT[command]]))
        assert getattr(getattr(config, option.stage), option.field) == value, option.name
    unset = build_config(_parser().parse_args([command, "a.wav", *OUT[command]]))
    assert unset == PipelineConfig()


def test_help_reads_defaults_from_the_config() -> None:
    text = _subparser("transcribe").format_help()
    for words in (
        "beam search width (default 5)",
        "base (default), tiny.en",
        "(default 0; retried 0.2 higher",
        "(default: on; off can stop",
        "int8 (default)",
        "cpu (default), cuda",
        "attribute (default): recognize",
        "(default 42)",
        "--condition-on-previous-text, --no-condition-on-previous-text",
        "--no-vad",
        "--max-duration DURATION",
    ):
        assert words in " ".join(text.split()), words


def test_live_help_names_its_own_default_model() -> None:
    text = " ".join(_subparser("live").format_help().split())
    assert "--model MODEL tiny.en by default (base with a --language other than en)" in text
    assert "base (default)" not in text


def test_diarize_turns_recognition_off_and_bad_durations_are_usage_errors() -> None:
    args = _parser().parse_args(["diarize", "a.wav", "--max-duration", "2h"])
    config = build_config(args)
    assert not config.recognize.enabled and config.decode.max_duration_s == 7200.0
    assert build_config(_parser().parse_args(["transcribe", "a.wav"])).recognize.enabled
    with pytest.raises(SystemExit):
        _parser().parse_args(["diarize", "a.wav", "--max-duration", "soon"])
    with pytest.raises(SystemExit):  # a recognition flag is not a diarize flag
        _parser().parse_args(["diarize", "a.wav", "--beam-size", "2"])
