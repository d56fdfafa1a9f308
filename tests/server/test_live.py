"""The live session over the WebSocket /v1/live, with a Python client, on a real server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from serving import Server, start_server
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from media import conversation

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]

CHUNK = 1600  # 0.1 s at 16 kHz


def socket_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/v1/live"


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> npt.NDArray[np.float32]:
    """Two voices taking turns (about 12 s)."""
    samples, _ = conversation(tmp_path_factory.mktemp("live-talk"), (0, 1))
    return samples


def received(ws: ClientConnection, timeout_s: float = 120) -> dict[str, Any]:
    message = ws.recv(timeout=timeout_s)
    assert isinstance(message, str)
    parsed: dict[str, Any] = json.loads(message)
    return parsed


def send_audio(
    ws: ClientConnection, samples: npt.NDArray[np.float32], speed: float, done: threading.Event
) -> None:
    """Send ``samples`` as float32 frames of 0.1 s, ``speed`` times faster than real time."""
    began = time.monotonic()
    try:
        for index, first in enumerate(range(0, samples.shape[0], CHUNK)):
            ws.send(samples[first : first + CHUNK].astype("<f4").tobytes())
            wait_s = began + (index + 1) * CHUNK / 16_000 / speed - time.monotonic()
            if wait_s > 0:
                time.sleep(wait_s)
    finally:
        done.set()


@pytest.fixture
def session(server: Server) -> Iterator[ClientConnection]:
    """An open live session that has said ``ready``."""
    with connect(socket_url(server), open_timeout=30, close_timeout=30) as ws:
        ws.send(json.dumps({"type": "start", "options": {"language": "en"}}))
        assert received(ws)["type"] == "ready"
        yield ws


def test_a_session_streams_words_with_speakers_and_becomes_a_job(
    server: Server, session: ClientConnection, talk: npt.NDArray[np.float32]
) -> None:
    sent = threading.Event()
    sender = threading.Thread(target=send_audio, args=(session, talk, 2.0, sent), daemon=True)
    sender.start()
    _a_second_session_is_refused(server)
    updates, renamed, after_sending = [], False, 0
    while after_sending < 4 or not renamed:  # a few steps more once the audio is all sent
        message = received(session)
        assert message["type"] == "update", message
        updates.append(message)
        after_sending += sent.is_set()
        labelled = [w["speaker"] for u in updates for w in u["committed"] if w["speaker"]]
        if labelled and not renamed:
            session.send(json.dumps({"type": "rename", "label": labelled[0], "name": "Alice"}))
            renamed = True
    session.send(json.dumps({"type": "stop"}))
    messages = [received(session)]
    while messages[-1]["type"] != "job":
        messages.append(received(session))
    with pytest.raises(ConnectionClosed) as closed:
        session.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    committed = [w for u in [*updates, *messages] if u["type"] == "update" for w in u["committed"]]
    speakers = [w["speaker"] for w in committed]
    first = next(i for i, speaker in enumerate(speakers) if speaker)
    assert len(speakers) - first >= 5  # words with a speaker arrived …
    assert all(speakers[first:])  # … and once someone was heard, every word has one
    assert {"text", "start", "end", "speaker"} <= set(committed[0])
    assert all(u["heard_s"] >= 0 and u["delay_s"] >= 0 for u in updates)
    named = [s for u in [*updates, *messages] if u["type"] == "update" for s in u["speakers"]]
    assert {"label": speakers[first], "name": "Alice"} in named
    kinds = [m["type"] for m in messages]
    assert kinds[-3:] == ["finishing", "update", "job"]  # the stream's last words, then the job

    job = messages[-1]
    assert job["url"] == f"/jobs/{job['id']}"
    with server.client() as client:
        stored = client.get(f"/v1/jobs/{job['id']}").raise_for_status().json()
        assert stored["status"] == "done"
        assert stored["duration_s"] == pytest.approx(talk.shape[0] / 16_000, abs=0.2)
        assert stored["options"]["language"] == "en"
        result = client.get(f"/v1/jobs/{job['id']}/result").raise_for_status().json()
        words = [w for u in result["utterances"] for w in u["words"]]
        assert words and all(w["speaker"] for w in words)
        names = {s["label"]: s.get("name") for s in result["speakers"]}
        assert names[speakers[first]] == "Alice"
        assert "planning meeting" in " ".join(w["text"] for w in words).lower()
        media = client.get(f"/v1/jobs/{job['id']}/media").raise_for_status()
        assert media.content[:4] == b"RIFF"
        assert client.get(f"/jobs/{job['id']}").status_code == 200  # the review page
        srt = client.get(f"/v1/jobs/{job['id']}/result", params={"format": "srt"})
        assert "Alice: " in srt.raise_for_status().text


def _a_second_session_is_refused(server: Server) -> None:
    with connect(socket_url(server), open_timeout=30) as second:
        refusal = received(second, 30)
        assert refusal["type"] == "error" and "one at a time" in refusal["message"]
        with pytest.raises(ConnectionClosed) as closed:
            second.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},  # a sandboxed frame, a page from a file
    ],
)
def test_a_page_of_another_site_cannot_open_a_session(
    server: Server, headers: dict[str, str]
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url(server), additional_headers=headers, open_timeout=30)
    assert refused.value.response.status_code == 403
    assert b"cross-site" in refused.value.response.body


def test_a_rebound_host_name_cannot_open_a_session(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port)) as sock,
        pytest.raises(InvalidStatus) as refused,
    ):
        connect(f"ws://rebound.example:{port}/v1/live", sock=sock, open_timeout=30)
    assert refused.value.response.status_code == 400
    assert b"does not answer to the host" in refused.value.response.body


def test_our_own_page_may_open_a_session(server: Server) -> None:
    with connect(socket_url(server), origin=server.url, open_timeout=30) as ws:
        ws.send(json.dumps({"type": "stop"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


@pytest.mark.parametrize(
    ("message", "code", "says"),
    [
        ("{not json", 1007, "must be JSON"),
        ('{"type": "start", "options": {"model": "base"}}', 1008, "does not take the option"),
        ('{"type": "start", "options": {"num_speakers": 0}}', 1008, "num_speakers"),
        ('{"type": "dance"}', 1008, "unknown message type"),
        (b"\x00" * 300_000, 1009, "may be 262144 bytes"),
        (b"\x00\x00\x80", 1007, "float32"),
        ('{"type": "start", "options": {"language": "de"}}', 1008, "English-only"),
    ],
)
def test_a_broken_message_ends_the_session_with_a_reason(
    server: Server, message: str | bytes, code: int, says: str
) -> None:
    with connect(socket_url(server), open_timeout=30, max_size=None) as ws:
        ws.send(message)
        error = received(ws, 30)
        assert error["type"] == "error" and says in error["message"]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    assert says in closed.value.rcvd.reason or len(closed.value.rcvd.reason.encode()) > 100


def test_the_live_page_is_served_with_its_scripts(server: Server, tmp_path: Path) -> None:
    with server.client() as client:
        page = client.get("/live").raise_for_status()
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert 'href="/live"' in client.get("/").text
        for name in ("live.js", "live-worklet.js", "live.css"):
            client.get(f"/static/{name}").raise_for_status()
        assert ".spk-1 { --c: #b3430e; }" in client.get("/static/live.css").text


def test_a_session_ends_at_the_longest_and_a_vanished_client_keeps_its_recording(
    tmp_path: Path, talk: npt.NDArray[np.float32]
) -> None:
    short = start_server(tmp_path / "data", "--rate-limit", "0", "--max-duration", "3")
    with short.stopping():
        with connect(socket_url(short), open_timeout=30, close_timeout=30) as ws:
            for second in range(5):  # 5 s at once
                ws.send(talk[16_000 * second : 16_000 * (second + 1)].astype("<f4").tobytes())
            kinds = [received(ws)["type"]]
            while kinds[-1] != "job":
                kinds.append(received(ws)["type"])
        assert kinds[0] == "ready" and kinds[-3:] == ["finishing", "update", "job"]
        assert "notice" in kinds

        with connect(socket_url(short), open_timeout=30) as ws:
            ws.send(talk[:16_000].astype("<f4").tobytes())
            assert received(ws)["type"] == "ready"
        with short.client() as client:  # the client went away without "stop"
            deadline = time.monotonic() + 120
            while len(jobs := client.get("/v1/jobs").raise_for_status().json()["jobs"]) < 2:
                assert time.monotonic() < deadline, jobs
                time.sleep(0.2)
    assert [j["status"] for j in jobs] == ["done", "done"]
    assert 2.5 < jobs[0]["duration_s"] <= 3.0  # what came past the longest was dropped
    assert jobs[1]["duration_s"] == pytest.approx(1.0, abs=0.05)
