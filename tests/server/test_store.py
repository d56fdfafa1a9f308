"""The job store (real SQLite files), options, the upload parser and the security pieces."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from saywho.config import PipelineConfig
from saywho.errors import ConfigError
from saywho.server.guard import Guard
from saywho.server.jobs import MAX_ATTEMPTS, JobStore, NewJob, new_job_id
from saywho.server.options import JobOptions
from saywho.server.security import (
    HostCheck,
    RateLimiter,
    cross_site,
    is_loopback,
    load_or_create_token,
    token_required,
    without_paths,
)
from saywho.server.service import JobService
from saywho.server.settings import ServerSettings
from saywho.server.uploads import UploadError, receive_upload
from saywho.server.voices import open_voice_library
from saywho.server.worker import WorkerPool
from saywho.types import Span, Speaker, Transcript, Utterance, Word


def _add(store: JobStore, count: int = 1) -> list[str]:
    jobs = [NewJob(new_job_id(), JobOptions(), f"f{i}.wav", "audio/wav", 10) for i in range(count)]
    return [job.id for job in store.add(jobs)]


def test_jobs_are_claimed_oldest_first_and_once(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    ids = _add(store, 20)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while (job := store.claim()) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)  # every job exactly once
    assert store.count("running") == 20 and store.count("queued") == 0


def test_a_crashed_job_is_retried_once_then_failed(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    (job_id,) = _add(JobStore(path))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        store = JobStore(path)  # a new process opens the same file
        job = store.claim()
        assert job is not None and job.attempts == attempt
        retried, failed = JobStore(path).recover()
        expected = ([job_id], []) if attempt < MAX_ATTEMPTS else ([], [job_id])
        assert (retried, failed) == expected
    final = JobStore(path).get(job_id)
    assert final is not None and final.status == "failed"
    assert final.error is not None and "server stopped while this job ran" in final.error


def test_a_stale_worker_cannot_report_on_a_rerun(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    (job_id,) = _add(store)
    stale = store.claim()
    assert stale is not None
    store.requeue(job_id, JobOptions(num_speakers=2))
    fresh = store.claim()
    assert fresh is not None and fresh.options.num_speakers == 2
    assert not store.progress(stale, "recognize", 50.0)
    assert not store.finish(stale, 1.0)
    assert store.finish(fresh, 1.0)
    done = store.get(job_id)
    assert done is not None and (done.status, done.percent) == ("done", 100.0)
    assert store.delete(job_id) and store.get(job_id) is None


def test_a_job_shows_its_length_from_upload_and_its_speakers_once_done(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    (queued,) = store.add([NewJob(new_job_id(), JobOptions(), "talk.wav", "audio/wav", 10, 61.5)])
    assert (queued.public()["duration_s"], queued.public()["speakers"]) == (61.5, None)
    running = store.claim()
    assert running is not None and store.finish(running, 61.48, 3)
    done = store.get(queued.id)
    assert done is not None and (done.public()["duration_s"], done.public()["speakers"]) == (
        61.48,
        3,
    )
    again = store.requeue(queued.id, JobOptions(num_speakers=2))
    assert again is not None and (again.duration_s, again.speakers) == (61.48, None)


def test_a_store_from_before_speaker_counts_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    (job_id,) = _add(JobStore(path))
    db = sqlite3.connect(path)  # the table as the first release made it
    db.execute("ALTER TABLE jobs DROP COLUMN speakers")
    db.commit()
    db.close()
    store = JobStore(path)
    job = store.get(job_id)
    assert job is not None and job.speakers is None
    running = store.claim()
    assert running is not None and store.finish(running, 1.0, 2)
    done = store.get(job_id)
    assert done is not None and done.speakers == 2


def test_a_finished_live_session_becomes_a_done_job(tmp_path: Path) -> None:
    settings = ServerSettings(data_dir=tmp_path / "data")
    store = JobStore(settings.paths.database)
    voices = open_voice_library(tmp_path / "voices.sqlite3")
    pool = WorkerPool(store, settings.paths, settings.config, 1, voices)
    service = JobService(store, pool, settings)  # its workers never start
    recording = tmp_path / "live-1.wav"
    recording.write_bytes(b"RIFF" + bytes(40))
    words = (
        Word("Hi", Span(0.1, 0.4), 0.9, "SPEAKER_00"),
        Word("hello", Span(1.0, 1.5), 0.9, "SPEAKER_01"),
    )
    transcript = Transcript(
        source="live",
        duration_s=2.0,
        language="en",
        language_probability=None,
        utterances=(Utterance(Span(0.1, 1.5), "Hi hello", words),),
        config=PipelineConfig(),
        speakers=(Speaker("SPEAKER_00", "Ann"), Speaker("SPEAKER_01")),
    )
    job = service.add_finished(recording, "live-x.wav", transcript, JobOptions(language="en"))
    assert (job.status, job.stage, job.percent, job.error) == ("done", "done", 100.0, None)
    assert (job.filename, job.media_type, job.size_bytes) == ("live-x.wav", "audio/wav", 44)
    assert (job.duration_s, job.speakers, job.options.language) == (2.0, 2, "en")
    assert not recording.exists()
    assert service.media(job).read_bytes().startswith(b"RIFF")
    stored = service.transcript(service.done(job.id))
    assert stored.source == "live-x.wav"
    assert [(w.text, w.speaker) for w in stored.words] == [
        ("Hi", "SPEAKER_00"),
        ("hello", "SPEAKER_01"),
    ]
    assert stored.speaker_display("SPEAKER_00") == "Ann"
    assert store.claim() is None  # never handed to a worker

    with pytest.raises(FileNotFoundError):
        service.add_finished(tmp_path / "gone.wav", "live-y.wav", transcript, JobOptions())
    assert [j.id for j in store.all()] == [job.id]
    assert [p.name for p in (settings.paths.root / "jobs").iterdir()] == [job.id]


def test_options_are_checked() -> None:
    models = ("tiny.en",)
    assert JobOptions.parse({"num_speakers": "2", "language": " en "}, models) == JobOptions(
        language="en", num_speakers=2
    )
    assert JobOptions.parse({"diarize": "false", "model": ""}, models) == JobOptions(diarize=False)
    for bad, message in [
        ({"model": "large-v3"}, "not offered"),
        ({"num_speakers": "0"}, "from 1 to 32"),
        ({"num_speakers": True}, "whole number"),
        ({"diarize": "maybe"}, "true or false"),
        ({"threads": "64"}, "unknown option 'threads'"),
        ({"min_speakers": 4, "max_speakers": 2}, "more than max-speakers"),
    ]:
        with pytest.raises(ConfigError, match=message):
            JobOptions.parse(bad, models)
    options = JobOptions(model="tiny.en", num_speakers=3)
    assert JobOptions.from_json(options.to_json()) == options


def test_token_is_kept_as_a_private_digest(tmp_path: Path) -> None:
    check, token = load_or_create_token(tmp_path)
    assert token is not None and check.accepts(token) and not check.accepts(token + "x")
    stored = tmp_path / "token.sha256"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert token not in stored.read_text()
    again, shown = load_or_create_token(tmp_path)
    assert shown is None and again.accepts(token)
    renewed, new = load_or_create_token(tmp_path, renew=True)
    assert new is not None and renewed.accepts(new) and not renewed.accepts(token)


def test_who_needs_the_token() -> None:
    assert not token_required("remote", "127.0.0.1") and not token_required("remote", "::1")
    assert token_required("remote", "192.168.1.20") and token_required("remote", None)
    assert token_required("always", "127.0.0.1")
    assert not token_required("none", "203.0.113.9")


def test_loopback_and_rate_limit() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("10.0.0.1", "192.168.1.2", "example.org", None))
    limiter = RateLimiter(per_minute=60)
    assert all(limiter.allow("a", now=0.0) == 0 for _ in range(60))
    assert limiter.allow("a", now=0.0) > 0  # the bucket is empty
    assert limiter.allow("b", now=0.0) == 0  # per client
    assert limiter.allow("a", now=1.5) == 0  # refilled at one a second


def test_messages_for_clients_name_no_path_of_the_server() -> None:
    root = Path("/srv/saywho data")
    upload = root / "uploads" / "1f2e.part"
    message = f"Invalid data: '{upload}', also '{root}/jobs/ab/media' and {root}/x y"
    cleaned = without_paths(message, {upload: "talk.wav"}, root)
    assert cleaned == "Invalid data: 'talk.wav', also '<data dir>' and <data dir> y"


def test_host_names_the_server_answers_to() -> None:
    loopback = HostCheck.for_bind("127.0.0.1", ["saywho.lan"])
    for host in ("127.0.0.1:8000", "localhost", "LOCALHOST.:80", "[::1]:8000", "saywho.lan"):
        assert loopback.accepts(host), host
    for host in ("evil.example", "evil.example:8000", "10.0.0.2", "", None, "[::1"):
        assert not loopback.accepts(host), host
    public = HostCheck.for_bind("192.168.1.5", [])
    assert public.accepts("192.168.1.5:8000") and not public.accepts("localhost:8000")
    everywhere = HostCheck.for_bind("0.0.0.0", [], machine=("box",))
    assert all(everywhere.accepts(h) for h in ("10.1.2.3:8000", "[fe80::1]", "box", "localhost"))
    assert not everywhere.accepts("rebound.example")
    assert HostCheck.for_bind("127.0.0.1", ["*"]).accepts("anything.example")


def test_cross_site_requests_that_change_state_are_refused() -> None:
    host = "127.0.0.1:8000"

    def refused(method: str, allowed: tuple[str, ...] = (), **headers: str) -> bool:
        named = {k.replace("_", "-"): v for k, v in headers.items()}
        return cross_site(method, named, host, allowed)

    assert refused("POST", origin="http://evil.example", sec_fetch_site="cross-site")
    assert refused("POST", origin="http://localhost:3000", sec_fetch_site="same-site")
    assert refused("DELETE", origin="http://evil.example")  # a browser without Sec-Fetch-*
    assert refused("POST", origin="null")
    assert not refused("POST", origin="http://127.0.0.1:8000", sec_fetch_site="same-origin")
    assert not refused("POST", origin="http://127.0.0.1:8000")
    assert not refused("POST", sec_fetch_site="none")  # typed by the user
    assert not refused("POST")  # not a browser: curl, scripts (the token check applies)
    assert not refused("GET", origin="http://evil.example", sec_fetch_site="cross-site")
    assert not refused(
        "POST", ("http://app.example",), origin="http://app.example", sec_fetch_site="cross-site"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trusted_proxies": ("proxy.lan",)}, "trusted-proxy must be an IP address or network"),
        ({"max_job_memory_bytes": -5}, "max-job-memory-mb must be positive"),
    ],
)
def test_server_settings_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerSettings(**fields)  # type: ignore[arg-type]
    assert ServerSettings(trusted_proxies=("10.0.0.0/8", "::1")).trusted_proxies


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ") -> bytes:
    body = b""
    for name, filename, payload in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += payload + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


async def _chunks(body: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _receive(body: bytes, folder: Path, **limits: int) -> object:
    settings = {"max_bytes": 10_000, "max_files": 3, **limits}
    return asyncio.run(
        receive_upload(_chunks(body), "multipart/form-data; boundary=XyZ", folder, **settings)
    )


def test_uploads_stream_to_generated_files(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 10
    body = _multipart([("files", "../a/b\\evil\x07.wav", payload), ("language", None, b"en")])
    upload = _receive(body, tmp_path)
    (part,) = upload.files  # type: ignore[attr-defined]
    assert part.path.parent == tmp_path and part.path.read_bytes() == payload
    assert part.filename == "evil.wav" and part.size_bytes == len(payload)
    assert upload.fields == {"language": "en"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("parts", "limits", "status", "message"),
    [
        ([("files", "a.wav", b"x" * 20_000)], {}, 413, "larger than"),
        ([("files", f"{i}.wav", b"x") for i in range(4)], {}, 413, "at most 3 files"),
        ([("language", None, b"en")], {}, 422, "no file"),
        ([("other", "a.wav", b"x")], {}, 400, "form field 'files'"),
        ([("files", "a.wav", b"x"), ("model", None, b"m" * 2000)], {}, 400, "too long"),
        (
            [("files", "a.wav", b"x"), ("model", None, b"a"), ("model", None, b"b")],
            {},
            400,
            "twice",
        ),
    ],
)
def test_bad_uploads_leave_nothing_behind(
    tmp_path: Path,
    parts: list[tuple[str, str | None, bytes]],
    limits: dict[str, int],
    status: int,
    message: str,
) -> None:
    with pytest.raises(UploadError, match=message) as caught:
        _receive(_multipart(parts), tmp_path, **limits)
    assert caught.value.status == status
    assert list(tmp_path.iterdir()) == []


def test_a_body_that_is_not_multipart_is_refused(tmp_path: Path) -> None:
    for content_type in (None, "application/json", "multipart/form-data"):
        with pytest.raises(UploadError) as caught:
            asyncio.run(
                receive_upload(_chunks(b"{}"), content_type, tmp_path, max_bytes=10, max_files=1)
            )
        assert caught.value.status == 415
    with pytest.raises(UploadError, match="ended in the middle"):
        _receive(
            b"--XyZ\r\nContent-Disposition: form-data; name=files; filename=a\r\n\r\nabc", tmp_path
        )
    assert list(tmp_path.iterdir()) == []


def _handshake(
    headers: dict[str, str], *, extensions: dict[str, object] | None = None, client: str = "::1"
) -> list[dict[str, object]]:
    """What the guard sends for a WebSocket handshake to /v1/live (``passed``: it let it in)."""
    sent: list[dict[str, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        sent.append({"type": "passed"})

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    guard = Guard(app, ServerSettings(), None)  # type: ignore[arg-type]
    scope = {
        "type": "websocket",
        "path": "/v1/live",
        "client": (client, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "extensions": extensions or {},
    }
    asyncio.run(guard(scope, receive, send))  # type: ignore[arg-type]
    return sent


def test_websocket_handshakes_pass_the_guard_like_requests() -> None:
    ours = {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"}
    assert _handshake(ours) == [{"type": "passed"}]
    assert _handshake({"Host": "localhost:8000"}) == [{"type": "passed"}]  # not from a page
    answer = {"websocket.http.response": {}}
    other = {"Host": "127.0.0.1:8000", "Origin": "https://evil.example"}
    refused = _handshake(other, extensions=answer)
    assert refused[0]["type"] == "websocket.http.response.start"
    assert refused[0]["status"] == 403
    assert b"cross-site" in refused[1]["body"]  # type: ignore[operator]
    closed = _handshake(other)  # a server that cannot answer a handshake with HTTP
    assert closed[0]["type"] == "websocket.close" and closed[0]["code"] == 1008
    evil = {"Host": "evil.example", "Origin": "http://evil.example"}
    rebound = _handshake(evil, extensions=answer)
    assert rebound[0]["status"] == 400
    remote = _handshake({"Host": "127.0.0.1:8000"}, extensions=answer, client="192.0.2.7")
    assert remote[0]["status"] == 401  # the token, as for any request from elsewhere
