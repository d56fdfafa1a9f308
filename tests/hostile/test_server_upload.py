"""Hostile uploads to a real ``saywho serve``: refused at once with one clear line (the audio
bomb too, in bounded memory) or transcribed correctly; the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from kinds import ERRORS, RESULTS, WORDS, Kind

from media import write_media
from server.serving import Server, finished, start_server, wait_for

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]

_UPLOADABLE_ERRORS = [k for k in ERRORS if k.name not in {
    "missing", "directory", "fifo", "dev-zero", "symlink-loop", "dangling-symlink"}]  # fmt: skip
_UPLOADED_RESULTS = [k for k in RESULTS if k.name in {
    "nan-samples", "speech-on-channel-4-of-8", "phase-inverted-stereo", "wav-cut-to-a-third",
    "silence", "one-sample"}]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("hostile-server"), "--rate-limit", "0", "--max-duration", "30"
    )
    yield running
    running.stop()


def upload(client: httpx.Client, path: Path) -> httpx.Response:
    return client.post(
        "/v1/jobs", files=[("files", (path.name, path.read_bytes(), "application/octet-stream"))]
    )


def peak_rss_mb(server: Server) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@pytest.mark.parametrize("kind", _UPLOADABLE_ERRORS, ids=lambda k: k.name)
def test_a_hostile_upload_is_refused_in_one_line(
    server: Server, tmp_path: Path, speech: npt.NDArray[np.float32], kind: Kind
) -> None:
    path = kind.make(tmp_path, speech)
    with server.client() as client:
        before = len(client.get("/v1/jobs").json()["jobs"])
        response = upload(client, path)
        assert 400 <= response.status_code < 500, response.text
        detail = str(response.json()["detail"])
        assert "\n" not in detail and path.name in detail, detail
        assert "Traceback" not in detail and str(server.data_dir) not in detail, detail
        assert len(client.get("/v1/jobs").json()["jobs"]) == before


def test_the_audio_bomb_is_refused_in_bounded_memory(
    server: Server, tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    bomb = next(k for k in ERRORS if k.name == "sample-rate-1").make(tmp_path, speech)
    with server.client() as client:
        response = upload(client, bomb)
        assert response.status_code == 415, response.text
        assert "declares a sample rate of 1 Hz" in response.json()["detail"]
        assert client.get("/v1/info").status_code == 200
    assert peak_rss_mb(server) < 500


def test_a_longer_upload_than_the_limit_is_refused(
    server: Server, tmp_path: Path, speech: npt.NDArray[np.float32]
) -> None:
    long = write_media(tmp_path / "long.flac", np.tile(speech, 12), codec="flac")
    with server.client() as client:
        response = upload(client, long)
    assert response.status_code == 415, response.text
    assert "the limit is 30 s" in response.json()["detail"]


@pytest.mark.parametrize("kind", _UPLOADED_RESULTS, ids=lambda k: k.name)
def test_odd_but_valid_uploads_are_transcribed(
    server: Server, tmp_path: Path, speech: npt.NDArray[np.float32], kind: Kind
) -> None:
    path = kind.make(tmp_path, speech)
    with server.client() as client:
        response = upload(client, path)
        assert response.status_code == 201, response.text
        (job,) = response.json()["jobs"]
        final = wait_for(client, job["id"], finished)
        assert final["status"] == "done", final
        text = client.get(f"/v1/jobs/{job['id']}/result", params={"format": "txt"}).text.lower()
    if kind.words:
        assert sum(word in text for word in WORDS) >= 3, (kind.name, text)
