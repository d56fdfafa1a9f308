"""The server's settings, and where it keeps its files in the data directory.

DATA_DIR/jobs.sqlite3          the job store
DATA_DIR/token.sha256          the API token's digest (mode 0600)
DATA_DIR/uploads/<random>.part uploads in flight
DATA_DIR/jobs/<id>/media       the uploaded file, under a name we chose
DATA_DIR/jobs/<id>/result.json the transcript, once done (speaker names edited in place)
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import platformdirs

from saywho.config import DecodeConfig, PipelineConfig
from saywho.errors import ConfigError

__all__ = ["MAX_DURATION_S", "AuthMode", "DataDir", "ServerSettings", "default_data_dir"]

MAX_DURATION_S = 4 * 3600.0
"""The longest audio the server accepts by default (``--max-duration``)."""

AuthMode = Literal["remote", "always", "none"]
"""When the API token is required: for clients not on loopback (default), always, never."""


def default_data_dir() -> Path:
    """``$SAYWHO_DATA_DIR``, else the user data directory."""
    override = os.environ.get("SAYWHO_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("saywho")) / "server"


@dataclass(frozen=True, slots=True)
class DataDir:
    """Paths inside the data directory."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "jobs.sqlite3"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def job(self, job_id: str) -> Path:
        return self.root / "jobs" / job_id

    def media(self, job_id: str) -> Path:
        return self.job(job_id) / "media"

    def result(self, job_id: str) -> Path:
        return self.job(job_id) / "result.json"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything ``saywho serve`` can be told; defaults are the safe choice."""

    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    """The address the server is bound to (its ``Host`` names are accepted)."""
    allowed_hosts: tuple[str, ...] = ()
    """More host names clients may reach the server by (``*``: any)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses (or networks) of reverse proxies whose ``X-Forwarded-For`` is believed."""
    workers: int = 1
    config: PipelineConfig = field(
        default_factory=lambda: PipelineConfig(decode=DecodeConfig(MAX_DURATION_S))
    )
    models: tuple[str, ...] = ("base", "tiny.en")
    auth: AuthMode = "remote"
    max_upload_bytes: int = 2_000_000_000
    max_files: int = 50
    max_queued_jobs: int = 200
    max_job_memory_bytes: int | None = 8_000_000_000
    """The most memory a job's worker process may hold (``RLIMIT_DATA``); None: no limit."""
    requests_per_minute: int = 600
    cors_origins: tuple[str, ...] = ()
    voices_path: Path | None = None
    """The voice library (saywho.identify) file; None: that library's default."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}")
        if self.auth not in ("remote", "always", "none"):
            raise ConfigError(f"auth must be remote, always or none, got {self.auth!r}")
        for name in ("max_upload_bytes", "max_files", "max_queued_jobs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
        if self.max_job_memory_bytes is not None and self.max_job_memory_bytes < 1:
            raise ConfigError("max-job-memory-mb must be positive (or 0 for no limit)")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    f"trusted-proxy must be an IP address or network, got {proxy!r}"
                ) from None
        if self.config.recognize.model not in self.models:
            raise ConfigError("the default model must be one of the offered models")

    @property
    def paths(self) -> DataDir:
        return DataDir(self.data_dir)
