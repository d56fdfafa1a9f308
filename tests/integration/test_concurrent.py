"""Diarization beside recognition, on the real models: the very result of one after the other."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from saywho.pipeline import Pipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "interview.wav"


@pytest.mark.integration
def test_concurrent_diarization_gives_the_sequential_result(tiny_pipeline: Pipeline) -> None:
    assert tiny_pipeline.concurrent  # the default
    sequential = Pipeline(tiny_pipeline.config, engines=tiny_pipeline.engines, concurrent=False)
    threads: dict[str, set[int]] = {}
    beside = tiny_pipeline.transcribe(
        EXAMPLE,
        progress=lambda stage, done_s, total_s: threads.setdefault(stage, set()).add(
            threading.get_ident()
        ),
    )
    alone = sequential.transcribe(EXAMPLE)
    assert beside.utterances == alone.utterances
    assert beside.turns == alone.turns
    assert beside.speakers == alone.speakers
    assert len(beside.speakers) == 2 and beside.words
    # Diarization reported from a thread of its own.
    assert threads["segment"] == threads["embed"]
    assert not threads["segment"] & (threads["recognize"] | threads["decode"])
