"""Fixtures of the server tests: a running server per module and short speech files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import Server, start_server

from media import speak


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short English recording (eSpeak NG, about 4 s)."""
    folder = tmp_path_factory.mktemp("server-media")
    return speak(
        "Hello there. Please call Stella and ask her to bring the milk.", folder / "hi.wav"
    )


@pytest.fixture(scope="session")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A longer recording (about 20 s), so that a job is still running when we look."""
    folder = tmp_path_factory.mktemp("server-media-long")
    text = " ".join(
        [
            "The quick brown fox jumps over the lazy dog.",
            "Please call Stella and ask her to bring these things with her from the store.",
            "Six spoons of fresh snow peas, five thick slabs of blue cheese,",
            "and maybe a snack for her brother Bob. We also need a small plastic snake",
            "and a big toy frog for the kids.",
        ]
    )
    return speak(text, folder / "long.wav")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with default limits, for the API tests of a module."""
    running = start_server(tmp_path_factory.mktemp("server-data"), "--rate-limit", "0")
    yield running
    running.stop()
