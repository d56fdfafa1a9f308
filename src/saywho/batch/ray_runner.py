"""Run a batch on Ray: actors hold the models, the files are spread over the cluster's nodes.

Every node must see the inputs and the output folder at the same paths (shared storage), and
have saywho installed; the coordinator (this process) keeps the manifest and the report, so
resuming works exactly as with local workers. Ray is an optional extra: ``saywho[ray]``.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from saywho.batch.events import Event, Finished, Started
from saywho.batch.jobs import Job, Outcome, run_job, thread_environment
from saywho.batch.reaper import start_reaper, stop_reaper
from saywho.config import PipelineConfig
from saywho.errors import ConfigError, ModelError
from saywho.pipeline import Pipeline

__all__ = ["RayWorker", "run_ray"]

_LOCAL_OBJECT_STORE_BYTES = 100 * 1024 * 1024  # jobs and outcomes are tiny; audio never moves


class RayWorker:
    """A Ray actor: loads the models once, then transcribes the jobs it is sent."""

    def __init__(self, config: PipelineConfig) -> None:
        self._pipeline = Pipeline(config)
        node = _ray().get_runtime_context().get_node_id()
        self._name = f"node-{node[:8]}:{os.getpid()}"

    def name(self) -> str:
        """Where this actor runs: the start of its Ray node id, and its process id."""
        return self._name

    def process(self, job: Job) -> Outcome:
        """Transcribe one job (see :func:`saywho.batch.jobs.run_job`)."""
        return dataclasses.replace(run_job(self._pipeline, job), worker=self._name)


def run_ray(
    jobs: Sequence[Job],
    config: PipelineConfig,
    *,
    address: str | None,
    workers: int | None,
    threads: int,
) -> Iterator[Event]:
    """Run ``jobs`` on Ray actors of ``threads`` CPUs each; yield their events.

    ``address`` is a cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); ``None`` starts a
    local Ray instance for this run. ``workers`` actors (default: as many as the cluster's
    CPUs allow) each load the models once. Raises :class:`ModelError` when an actor cannot
    load the models.
    """
    if not jobs:
        return
    ray = _ray()
    reaper = None if address else start_reaper()  # ends what Ray leaves if we are killed
    try:
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:
            ray.init(
                # "local": always a new instance of our own; without it Ray joins the cluster
                # named by RAY_ADDRESS or the last `ray start` here (anyone's, or a dead one).
                address="local",
                _node_ip_address="127.0.0.1",  # a private instance: nothing outside need reach it
                include_dashboard=False,
                object_store_memory=_LOCAL_OBJECT_STORE_BYTES,
                log_to_driver=False,
                configure_logging=False,
            )
        yield from _run(ray, jobs, config, workers, threads)
    finally:
        ray.shutdown()
        stop_reaper(reaper)


def _run(
    ray: Any, jobs: Sequence[Job], config: PipelineConfig, workers: int | None, threads: int
) -> Iterator[Event]:
    cpus = int(ray.cluster_resources().get("CPU", 1))
    count = max(1, min(workers or cpus // threads, len(jobs)))
    # The actors' thread pools start as a local worker's do (see thread_environment).
    runtime_env = {"env_vars": thread_environment(threads)}
    actor_class = ray.remote(num_cpus=threads, max_restarts=0, runtime_env=runtime_env)(RayWorker)
    actors = [_hire(ray, actor_class, config) for _ in range(count)]
    waiting = deque(jobs)
    running: dict[Any, tuple[str, Any, Job]] = {}

    def dispatch(name: str, actor: Any) -> Iterator[Event]:
        job = waiting.popleft()
        running[actor.process.remote(job)] = (name, actor, job)
        yield Started(name, job)

    for name, actor in actors:
        yield from dispatch(name, actor)
        if not waiting:
            break
    while running:
        ready, _ = ray.wait(list(running), num_returns=1)
        name, actor, job = running.pop(ready[0])
        try:
            outcome: Outcome = ray.get(ready[0])
        except ray.exceptions.RayActorError as error:
            yield Finished(name, _died(job, name, error))
            if waiting:  # in place of the lost actor (its node may be gone: Ray places it)
                yield from dispatch(*_hire(ray, actor_class, config))
            continue
        yield Finished(name, outcome)
        if waiting:
            yield from dispatch(name, actor)
    for _, actor in actors:
        ray.kill(actor)


def _hire(ray: Any, actor_class: Any, config: PipelineConfig) -> tuple[str, Any]:
    actor = actor_class.remote(config)
    try:
        return ray.get(actor.name.remote()), actor
    except ray.exceptions.RayActorError as error:
        raise ModelError(f"a Ray worker could not load the models: {error}") from error


def _died(job: Job, worker: str, error: Exception) -> Outcome:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return Outcome.lost(job, worker, f"Ray worker died ({message})")


def _ray() -> Any:
    try:
        return importlib.import_module("ray")
    except ImportError as error:
        raise ConfigError(
            "--ray needs Ray: pip install 'saywho[ray]' (or pip install ray)"
        ) from error
