"""Helpers of the server tests: a real ``saywho serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

import saywho

HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
SRC = Path(saywho.__file__).resolve().parents[1]


@dataclass
class Server:
    """A running server: its URL, data directory, process and (when printed) its token."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    token: str | None = None

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def kill(self) -> None:
        """Kill the process at once (no clean shutdown)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    @contextmanager
    def stopping(self) -> Iterator[Server]:
        """This server, stopped at the end of the ``with`` block."""
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_server(data_dir: Path, *extra: str, port: int | None = None) -> Server:
    """Start ``saywho serve`` on loopback with Whisper tiny.en; wait until it answers."""
    port = port or free_port()
    args = (
        *("serve", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir)),
        *("--model", "tiny.en", "--models", "tiny.en"),
        *("--voices", str(data_dir / "voices.sqlite3")),  # never the user's voice library
        *extra,
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    log = data_dir.with_name(f"{data_dir.name}-{port}.log")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "saywho.cli", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server(f"http://{HOST}:{port}", data_dir, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"saywho serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(f"{server.url}/v1/info", timeout=1.0)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("saywho serve did not answer within 60 s")
    server.token = _read_token(server)
    return server


def _read_token(server: Server) -> str | None:
    """The token line, if this start generated one (it is printed before the server starts)."""
    for line in server.log.read_text().splitlines():
        if line.startswith("API token"):
            return line.rsplit(" ", 1)[-1].strip()
    return None


def wait_for(
    client: httpx.Client,
    job_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout_s: float = 180,
) -> dict[str, Any]:
    """Poll a job until ``done(job)``; fail with the job's state after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").raise_for_status().json()
        if done(job):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not get there in {timeout_s} s: {job}")


def finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("done", "failed")


def screenshot(page: Page, name: str) -> None:
    """Keep a screenshot where SAYWHO_SCREENSHOTS says (for a person to look at)."""
    folder = os.environ.get("SAYWHO_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@contextmanager
def chromium(*args: str) -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (never downloaded), with ``args``."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            "chromium is not installed: run `make test` (it installs it) or apt install chromium"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield launched
        finally:
            launched.close()


def problems_of(page: Page) -> list[str]:
    """The errors ``page`` will log or throw (a script or style refused by its policy, too)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems
