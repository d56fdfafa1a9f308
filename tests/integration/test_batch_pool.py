"""The local worker pool with real models: a worker that dies, a model that cannot load."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path, PurePosixPath

import numpy as np
import numpy.typing as npt
import pytest

from media import write_media
from saywho.batch.events import Finished, Started
from saywho.batch.jobs import Job
from saywho.batch.local import run_local
from saywho.config import PipelineConfig, RecognizeConfig
from saywho.errors import ModelError

pytestmark = pytest.mark.integration


def test_a_worker_that_dies_fails_only_its_file(
    tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    jobs = [
        Job(
            write_media(tmp_path / f"{n}.wav", speech), PurePosixPath(n), tmp_path / "out", ("txt",)
        )
        for n in ("first", "second")
    ]
    config = PipelineConfig(recognize=RecognizeConfig(model="tiny.en", threads=1))
    finished: dict[str, Finished] = {}
    for event in run_local(jobs, config, workers=1):
        if isinstance(event, Started) and event.job.output.name == "first":
            (victim,) = [p for p in multiprocessing.active_children() if p.name == "saywho-w1"]
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)  # as the out-of-memory killer would
        if isinstance(event, Finished):
            finished[event.outcome.output.name] = event
    assert set(finished) == {"first", "second"}
    assert finished["first"].outcome.error is not None
    assert "worker process died" in finished["first"].outcome.error
    assert "signal 9" in finished["first"].outcome.error
    second = finished["second"]
    assert second.outcome.ok, second.outcome.error
    assert second.worker == "w2"  # the replacement
    assert "lazy dog" in (tmp_path / "out" / "second.txt").read_text()
    assert not (tmp_path / "out" / "first.txt").exists()
    assert multiprocessing.active_children() == []


def test_a_model_that_cannot_load_stops_the_batch(tmp_path: Path) -> None:
    job = Job(tmp_path / "a.wav", PurePosixPath("a"), tmp_path, ("txt",))
    config = PipelineConfig(recognize=RecognizeConfig(model=str(tmp_path / "no-such-model")))
    with pytest.raises(ModelError):
        list(run_local([job], config, workers=2))
    assert multiprocessing.active_children() == []
