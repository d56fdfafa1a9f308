"""Shared fixtures: an isolated model cache, real pipelines loaded once, synthesised speech."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import settings

from media import SENTENCE, silence, speech_samples
from saywho import Pipeline, PipelineConfig, RecognizeConfig

# Property tests run the same examples on every machine and every run (no saved database, no
# per-example deadline on a loaded machine): a failure found here is found everywhere.
settings.register_profile("saywho", derandomize=True, database=None, deadline=None)
settings.load_profile("saywho")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test run assembles Whisper base afresh into its own cache, never the user's."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAYWHO_CACHE_DIR", str(cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("SAYWHO_VOICES", str(cache / "voices.sqlite3"))  # never the user's library
        yield cache


@pytest.fixture(scope="session")
def tiny_pipeline() -> Pipeline:
    """Whisper tiny.en with VAD, loaded once."""
    return Pipeline(
        PipelineConfig(recognize=RecognizeConfig(model="tiny.en", threads=os.cpu_count() or 1))
    )


@pytest.fixture(scope="session")
def base_pipeline() -> Pipeline:
    """Whisper base (multilingual) with VAD, loaded once."""
    return Pipeline(PipelineConfig(recognize=RecognizeConfig(model="base")))


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> npt.NDArray[np.float32]:
    """An English sentence spoken by eSpeak NG, 16 kHz mono, with short silence around it."""
    spoken = speech_samples(SENTENCE, tmp_path_factory.mktemp("speech"))
    return np.concatenate([silence(0.3), spoken, silence(0.5)])
