"""Jobs survive a crash: kill the server with jobs queued and running, start it again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from serving import finished, start_server, wait_for

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]


def _statuses(database: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(database) as db:
        return {
            row[0]: (row[1], row[2]) for row in db.execute("SELECT id, status, attempts FROM jobs")
        }


def test_nothing_is_lost_when_the_server_is_killed(
    tmp_path: Path, long_wav: Path, speech_wav: Path
) -> None:
    data = tmp_path / "data"
    server = start_server(data, "--workers", "1")
    try:
        with server.client() as client:
            files = [
                ("files", (p.name, p.read_bytes(), "audio/wav"))
                for p in (long_wav, speech_wav, speech_wav)
            ]
            jobs = client.post("/v1/jobs", files=files).raise_for_status().json()["jobs"]
            first = wait_for(client, jobs[0]["id"], lambda job: job["percent"] > 5)
    finally:
        server.kill()  # SIGKILL: no clean shutdown, the running job stays 'running'
    assert first["status"] == "running"
    before = _statuses(data / "jobs.sqlite3")
    assert before[jobs[0]["id"]] == ("running", 1)
    assert [before[job["id"]][0] for job in jobs[1:]] == ["queued", "queued"]

    again = start_server(data, "--workers", "1")
    try:
        with again.client() as client:
            final = [wait_for(client, job["id"], finished) for job in jobs]
            srt = client.get(f"/v1/jobs/{jobs[0]['id']}/result", params={"format": "srt"}).text
    finally:
        again.stop()
    assert [job["status"] for job in final] == ["done", "done", "done"]
    assert [job["attempts"] for job in final] == [2, 1, 1]  # the interrupted job ran once more
    assert "Stella" in srt or "stella" in srt.lower()
    assert not list((data / "uploads").glob("*"))


def test_a_clean_stop_puts_the_running_job_back_without_counting_it(
    tmp_path: Path, long_wav: Path
) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        with server.client() as client:
            files = [("files", (long_wav.name, long_wav.read_bytes(), "audio/wav"))]
            (job,) = client.post("/v1/jobs", files=files).raise_for_status().json()["jobs"]
            wait_for(client, job["id"], lambda j: j["percent"] > 5)
    finally:
        server.stop()  # SIGTERM: the worker stops at its next progress report
    assert _statuses(data / "jobs.sqlite3")[job["id"]] == ("queued", 0)
