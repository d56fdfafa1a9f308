"""The [attribute] config stage: strategy and rule switches, from options, TOML and flags."""

from __future__ import annotations

import pytest

from saywho.cli import _parser
from saywho.config import AttributeConfig, PipelineConfig, config_from_options, merge_config
from saywho.errors import ConfigError
from saywho.options import build_config


def test_strategy_and_rules_come_from_options_and_tables() -> None:
    config = config_from_options(PipelineConfig(), {"strategy": "spacer", "rule_reply": False})
    assert config.attribute.strategy == "spacer"
    assert config.attribute.rules == ("nearest", "sentence", "untimed")
    merged = merge_config(PipelineConfig(), {"attribute": {"strategy": "per-turn"}})
    assert merged.attribute.strategy == "per-turn"
    assert AttributeConfig().rules == ("nearest", "sentence", "reply", "untimed")


def test_bad_strategy_and_negative_spacer_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"attribute\.strategy"):
        merge_config(PipelineConfig(), {"attribute": {"strategy": "guess"}})
    with pytest.raises(ConfigError, match="spacer_s"):
        AttributeConfig(spacer_s=-1.0)


def test_cli_strategy_flag() -> None:
    args = _parser().parse_args(["transcribe", "a.wav", "--strategy", "per-turn"])
    assert build_config(args).attribute.strategy == "per-turn"
    with pytest.raises(SystemExit):
        _parser().parse_args(["transcribe", "a.wav", "--strategy", "guess"])
