"""Jobs run in worker processes: one that dies takes only its own job with it (issue 13, item 3)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from serving import Server, finished, start_server, wait_for

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]


def _workers(server: Server) -> list[int]:
    """The server's worker processes (its children started by multiprocessing's spawn)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server.process.pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _files(*paths: Path) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (p.name, p.read_bytes(), "audio/wav")) for p in paths]


def test_a_killed_worker_fails_its_job_alone_and_the_next_job_runs(
    tmp_path: Path, long_wav: Path, speech_wav: Path
) -> None:
    server = start_server(tmp_path / "data", "--workers", "1", "--rate-limit", "0")
    with server.stopping(), server.client() as client:
        jobs = client.post("/v1/jobs", files=_files(long_wav, speech_wav)).json()["jobs"]
        running = wait_for(client, jobs[0]["id"], lambda job: job["percent"] > 5)
        (worker,) = _workers(server)
        os.kill(worker, signal.SIGKILL)  # as the kernel's OOM killer would
        killed = wait_for(client, jobs[0]["id"], finished)
        info = client.get("/v1/info")
        following = wait_for(client, jobs[1]["id"], finished)
        replacement = _workers(server)
        later = client.post("/v1/jobs", files=_files(speech_wav)).json()["jobs"][0]
        last = wait_for(client, later["id"], finished)
        srt = client.get(f"/v1/jobs/{later['id']}/result", params={"format": "srt"}).text
    assert running["status"] == "running"
    assert killed["status"] == "failed", killed
    assert "worker process" in killed["error"] and "SIGKILL" in killed["error"]
    assert info.status_code == 200
    assert following["status"] == "done", following
    assert len(replacement) == 1 and replacement[0] != worker
    assert last["status"] == "done" and "stella" in srt.lower()


def test_a_job_over_the_memory_limit_fails_alone(tmp_path: Path, speech_wav: Path) -> None:
    # 300 MB: too little even to load Whisper tiny.en, so the very first job runs out.
    server = start_server(tmp_path / "data", "--max-job-memory-mb", "300")
    with server.stopping(), server.client() as client:
        (job,) = client.post("/v1/jobs", files=_files(speech_wav)).json()["jobs"]
        failed = wait_for(client, job["id"], finished)
        info = client.get("/v1/info")
        server_alive = server.process.poll() is None
    assert failed["status"] == "failed", failed
    assert "memory" in failed["error"].lower(), failed["error"]
    assert str(server.data_dir) not in failed["error"]
    assert info.status_code == 200 and server_alive
