"""schemathesis against our own OpenAPI schema: bad input gets a clear 4xx, never a 5xx, and
every answer is one the schema documents (status, content type, body, ``Allow``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from serving import Server, start_server

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("fuzz-data"), "--rate-limit", "0")
    yield running
    running.stop()


def test_no_input_makes_the_server_fail(fuzzed_server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/v1/openapi.json")
    tested = []
    for found in schema.get_all_operations():
        operation = found.ok()
        if operation.path == "/v1/events":
            continue  # an endless stream, tested on its own
        _fuzz(operation, fuzzed_server.url)
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /v1/jobs" in tested and "POST /v1/jobs/{job_id}/rename" in tested


def _fuzz(operation: Any, base_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, timeout=30)
        label = f"{case.method} {case.formatted_path}"
        unavailable = response.status_code == 501 and "no voice library" in response.text
        assert response.status_code < 500 or unavailable, (label, response.text)
        if response.status_code >= 400:
            assert response.json()["detail"], (label, response.text)  # a message

    check()


def test_every_answer_is_one_the_schema_documents(fuzzed_server: Server, tmp_path: Path) -> None:
    """schemathesis's own run, every check on (tests/server/schemathesis.toml says which
    refusals of schema-valid requests are expected, and why); a fixed seed, so a failure
    shows again on the next run."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        *("--config-file", str(Path(__file__).with_name("schemathesis.toml"))),
        *("run", f"{fuzzed_server.url}/v1/openapi.json", "--checks", "all"),
        *("--exclude-path", "/v1/events", "--max-examples", "12", "--seed", "1"),
        *("--workers", "1", "--no-shrink", "--generation-database", "none"),
    ]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Tested: 16" in run.stdout, run.stdout[-2000:]


def test_the_data_dir_has_only_what_the_server_made(fuzzed_server: Server) -> None:
    made = {"jobs.sqlite3", "voices.sqlite3", "token.sha256", "uploads", "jobs"}
    for path in Path(fuzzed_server.data_dir).iterdir():
        assert path.name.removesuffix("-wal").removesuffix("-shm") in made, path
