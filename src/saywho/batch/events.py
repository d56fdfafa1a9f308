"""What a batch backend (local processes or Ray) tells the coordinator, in order per worker."""

from __future__ import annotations

from dataclasses import dataclass

from saywho.batch.jobs import Job, Outcome

__all__ = ["Event", "Finished", "Progressed", "Started"]


@dataclass(frozen=True, slots=True)
class Started:
    """``worker`` took ``job``."""

    worker: str
    job: Job


@dataclass(frozen=True, slots=True)
class Progressed:
    """``worker`` is at ``stage`` of its job, ``done_s`` of ``total_s`` seconds of audio."""

    worker: str
    stage: str
    done_s: float
    total_s: float


@dataclass(frozen=True, slots=True)
class Finished:
    """``worker`` finished a job, well or not (see ``outcome.error``)."""

    worker: str
    outcome: Outcome


Event = Started | Progressed | Finished
