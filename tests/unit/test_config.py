"""Configs: validation, TOML-style merging, flat options; unknown keys name themselves."""

from __future__ import annotations

import dataclasses

import pytest

from saywho.config import (
    PipelineConfig,
    RecognizeConfig,
    VadConfig,
    config_from_options,
    merge_config,
)
from saywho.errors import ConfigError


def test_merge_applies_sections() -> None:
    merged = merge_config(
        PipelineConfig(),
        {"recognize": {"model": "tiny.en", "beam_size": 1}, "vad": {"threshold": 0.4}},
    )
    assert merged.recognize.model == "tiny.en"
    assert merged.recognize.beam_size == 1
    assert merged.vad.threshold == 0.4
    assert merged.recognize.language is None


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({"recogniser": {}}, "unknown config section [recogniser]"),
        ({"recognize": {"modle": "x"}}, "unknown key recognize.modle"),
        ({"recognize": {"beam_size": "5"}}, "recognize.beam_size has the wrong type"),
        ({"recognize": {"beam_size": True}}, "recognize.beam_size has the wrong type"),
        ({"recognize": {"task": "summarise"}}, "recognize.task has the wrong type"),
        ({"vad": {"threshold": 1.5}}, "vad.threshold must be between 0 and 1"),
        ({"recognize": {"beam_size": 0}}, "recognize.beam_size must be at least 1"),
        ({"vad": []}, "must be a table"),
        ({"recognize": {"best_of": 0}}, "recognize.best_of must be at least 1"),
        ({"recognize": {"batch_size": 0}}, "recognize.batch_size must be at least 1"),
        ({"recognize": {"patience": 0.0}}, "recognize.patience must be positive"),
        ({"recognize": {"temperature": 1.5}}, "recognize.temperature must be between 0 and 1"),
        ({"recognize": {"temperature_increment": 0.0}}, "temperature_increment must be in"),
        ({"recognize": {"condition_on_previous_text": "no"}}, "has the wrong type"),
        ({"recognize": {"device": "tpu"}}, "recognize.device has the wrong type"),
    ],
)
def test_bad_config_names_the_problem(updates: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        merge_config(PipelineConfig(), updates)


def test_flat_options_route_to_their_stage() -> None:
    config = config_from_options(
        PipelineConfig(), {"model": "tiny.en", "vad": False, "threshold": 0.3, "language": None}
    )
    assert config == PipelineConfig(
        vad=VadConfig(enabled=False, threshold=0.3), recognize=RecognizeConfig(model="tiny.en")
    )


def test_unknown_flat_option_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown option 'beamsize'"):
        config_from_options(PipelineConfig(), {"beamsize": 3})


def test_configs_are_frozen() -> None:
    config = PipelineConfig()
    with pytest.raises(AttributeError):
        config.vad = VadConfig()  # type: ignore[misc]


def test_flat_option_names_are_unique_across_stages() -> None:
    names = [
        field.name
        for stage in dataclasses.fields(PipelineConfig)
        for field in dataclasses.fields(getattr(PipelineConfig(), stage.name))
        if field.name != "enabled"
    ]
    assert len(names) == len(set(names))


def test_stage_switches() -> None:
    config = config_from_options(PipelineConfig(), {"diarize": False, "recognize": True})
    assert config.diarize.enabled is False
    assert config.recognize.enabled is True


@pytest.mark.parametrize(
    ("start", "step", "temperatures"),
    [
        (0.0, 0.2, (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)),  # faster-whisper's and whisperX's default
        (0.0, None, (0.0,)),
        (0.5, 0.25, (0.5, 0.75, 1.0)),
        (0.3, 0.5, (0.3, 0.8)),
        (1.0, 0.2, (1.0,)),
    ],
)
def test_temperatures_start_and_step_up_to_one(
    start: float, step: float | None, temperatures: tuple[float, ...]
) -> None:
    config = RecognizeConfig(temperature=start, temperature_increment=step)
    assert config.temperatures == pytest.approx(temperatures)


def test_decoding_knobs_from_a_config_file_and_flat_options() -> None:
    merged = merge_config(
        PipelineConfig(),
        {"recognize": {"best_of": 3, "patience": 2, "condition_on_previous_text": False}},
    )
    assert (merged.recognize.best_of, merged.recognize.patience) == (3, 2)
    assert merged.recognize.condition_on_previous_text is False
    flat = config_from_options(merged, {"temperature": 0.2, "device": "auto"})
    assert flat.recognize.temperatures[0] == 0.2
    assert flat.recognize.device == "auto"
