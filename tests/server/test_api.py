"""The REST API against a real ``saywho serve`` (uvicorn, loopback) with httpx."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from serving import Server, finished, start_server, wait_for

from media import silence, speech_samples, write_media
from saywho.formats import FORMATS, read_json

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]


def upload(client: httpx.Client, *paths: Path, **fields: str) -> httpx.Response:
    files = [
        ("files", (path.name, path.read_bytes(), "application/octet-stream")) for path in paths
    ]
    return client.post("/v1/jobs", files=files, data=fields)


@pytest.fixture(scope="module")
def done_job(server: Server, speech_wav: Path) -> str:
    """One job transcribed to the end."""
    with server.client() as client:
        response = upload(client, speech_wav, language="en")
        assert response.status_code == 201, response.text
        (job,) = response.json()["jobs"]
        assert job["status"] == "queued"
        assert job["filename"] == "hi.wav"
        final = wait_for(client, job["id"], finished)
    assert final["status"] == "done", final
    return str(job["id"])


def test_a_job_runs_to_a_speaker_labelled_result(server: Server, done_job: str) -> None:
    with server.client() as client:
        job = client.get(f"/v1/jobs/{done_job}").json()
        assert (job["percent"], job["stage"], job["error"], job["attempts"]) == (
            100.0,
            "done",
            None,
            1,
        )
        assert job["duration_s"] > 2
        assert done_job in [j["id"] for j in client.get("/v1/jobs").json()["jobs"]]
        result = client.get(f"/v1/jobs/{done_job}/result", params={"format": "json"})
        srt = client.get(f"/v1/jobs/{done_job}/result", params={"format": "srt"})
    data = result.json()
    assert data["source"] == "hi.wav"
    assert "stella" in " ".join(u["text"] for u in data["utterances"]).lower()
    assert [s["label"] for s in data["speakers"]] == ["SPEAKER_00"]
    assert "SPEAKER_00: " in srt.text
    assert srt.headers["content-disposition"].startswith('attachment; filename="hi.srt"')


def test_every_registry_format_downloads(server: Server, done_job: str) -> None:
    with server.client() as client:
        for fmt in FORMATS:
            response = client.get(f"/v1/jobs/{done_job}/result", params={"format": fmt})
            assert response.status_code == 200, (fmt, response.text)
            assert response.content, fmt
        bad = client.get(f"/v1/jobs/{done_job}/result", params={"format": "mp3"})
    assert bad.status_code == 422
    assert "unknown format 'mp3'" in bad.json()["detail"]


def test_renaming_a_speaker_is_kept_on_the_server(server: Server, done_job: str) -> None:
    with server.client() as client:
        renamed = client.post(
            f"/v1/jobs/{done_job}/rename", json={"label": "SPEAKER_00", "name": "Diane"}
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["speakers"] == [{"label": "SPEAKER_00", "name": "Diane"}]
        srt = client.get(f"/v1/jobs/{done_job}/result", params={"format": "srt"}).text
        missing = client.post(
            f"/v1/jobs/{done_job}/rename", json={"label": "SPEAKER_09", "name": "X"}
        )
        page = client.get(f"/jobs/{done_job}").text
        reset = client.post(f"/v1/jobs/{done_job}/rename", json={"label": "SPEAKER_00", "name": ""})
    assert "Diane: " in srt and "SPEAKER_00: " not in srt
    with (server.data_dir / "jobs" / done_job / "result.json").open() as stream:
        assert read_json(stream).speakers[0].name is None  # reset back to the label
    assert reset.json()["speakers"] == [{"label": "SPEAKER_00", "name": None}]
    assert missing.status_code == 404
    assert "no speaker 'SPEAKER_09'" in missing.json()["detail"]
    assert f"/v1/jobs/{done_job}/rename" in page and 'id="player"' in page
    assert f"/v1/jobs/{done_job}/media" in page


def test_media_is_served_with_ranges_for_seeking(
    server: Server, done_job: str, speech_wav: Path
) -> None:
    with server.client() as client:
        whole = client.get(f"/v1/jobs/{done_job}/media")
        part = client.get(f"/v1/jobs/{done_job}/media", headers={"Range": "bytes=0-99"})
    assert whole.content == speech_wav.read_bytes()
    assert whole.headers["content-type"] == "audio/wav"
    assert part.status_code == 206 and part.content == speech_wav.read_bytes()[:100]


def test_media_is_recognised_by_content_not_by_name(server: Server, tmp_path: Path) -> None:
    flac = write_media(tmp_path / "x.flac", speech_samples("Good morning.", tmp_path), codec="flac")
    disguised = flac.rename(tmp_path / "notes.txt")
    not_media = tmp_path / "fake.wav"
    not_media.write_bytes(b"RIFF" + b"\x00" * 4000)
    with server.client() as client:
        before = len(client.get("/v1/jobs").json()["jobs"])
        refused = upload(client, disguised, not_media)
        after = len(client.get("/v1/jobs").json()["jobs"])
        accepted = upload(client, disguised, model="tiny.en")
        job = accepted.json()["jobs"][0]
        client.delete(f"/v1/jobs/{job['id']}")
    assert refused.status_code == 415
    assert refused.json()["detail"].startswith("fake.wav: ")
    assert str(server.data_dir) not in refused.text and ".part" not in refused.text
    assert before == after  # all or nothing: the good file of a refused upload is not queued
    assert not list((server.data_dir / "uploads").glob("*"))
    assert accepted.status_code == 201
    assert job["media_type"] == "audio/flac"


def test_uploads_are_stored_under_generated_names(server: Server, speech_wav: Path) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/jobs",
            files=[("files", ("../../../etc/evil.wav", speech_wav.read_bytes(), "audio/wav"))],
        )
        job = response.json()["jobs"][0]
        client.delete(f"/v1/jobs/{job['id']}")
    assert response.status_code == 201
    assert job["filename"] == "evil.wav"
    assert not (server.data_dir.parent / "etc").exists()


def test_bad_requests_get_a_clear_4xx(server: Server, speech_wav: Path) -> None:
    with server.client() as client:
        cases = {
            "no file": client.post("/v1/jobs", files={"model": (None, "tiny.en")}),
            "not multipart": client.post("/v1/jobs", content=b"hello"),
            "unknown option": upload(client, speech_wav, colour="blue"),
            "model not offered": upload(client, speech_wav, model="/etc/passwd"),
            "bad count": upload(client, speech_wav, num_speakers="many"),
            "bad hints": upload(client, speech_wav, min_speakers="3", max_speakers="2"),
            "no such job": client.get("/v1/jobs/0123456789abcdef01234567"),
            "not a job id": client.get("/v1/jobs/..%2F..%2Fetc"),
        }
    expected = {
        "no file": (422, "no file"),
        "not multipart": (415, "multipart/form-data"),
        "unknown option": (422, "unknown option 'colour'"),
        "model not offered": (422, "not offered by this server"),
        "bad count": (422, "num_speakers must be a whole number"),
        "bad hints": (422, "min-speakers 3 is more than max-speakers 2"),
        "no such job": (404, "no job"),
        "not a job id": (404, ""),
    }
    for name, response in cases.items():
        status, message = expected[name]
        assert response.status_code == status, (name, response.text)
        assert message in str(response.json()["detail"]), name


def test_rerun_with_other_options_and_delete(server: Server, speech_wav: Path) -> None:
    with server.client() as client:
        job = upload(client, speech_wav).json()["jobs"][0]
        wait_for(client, job["id"], finished)
        rerun = client.post(
            f"/v1/jobs/{job['id']}/rerun", json={"diarize": False, "language": "en"}
        )
        assert rerun.status_code == 202, rerun.text
        again = wait_for(client, job["id"], finished)
        result = client.get(f"/v1/jobs/{job['id']}/result").json()
        bad = client.post(f"/v1/jobs/{job['id']}/rerun", json={"num_speakers": 0})
        gone = client.delete(f"/v1/jobs/{job['id']}")
        after = client.get(f"/v1/jobs/{job['id']}")
    assert again["status"] == "done" and again["options"]["diarize"] is False
    assert result["speakers"] == [] and result["config"]["diarize"]["enabled"] is False
    assert bad.status_code == 422
    assert gone.status_code == 204 and after.status_code == 404
    assert not (server.data_dir / "jobs" / job["id"]).exists()


def test_voice_library_endpoints_and_names_on_later_jobs(server: Server, long_wav: Path) -> None:
    with server.client() as client:
        job = upload(client, long_wav, language="en").json()["jobs"][0]  # enough speech
        assert wait_for(client, job["id"], finished)["status"] == "done"
        enrolled = client.post(
            f"/v1/jobs/{job['id']}/enroll", json={"label": "SPEAKER_00", "name": "Dee"}
        )
        assert enrolled.status_code == 201, enrolled.text
        assert enrolled.json()["name"] == "Dee" and enrolled.json()["samples"] == 1
        assert [v["name"] for v in client.get("/v1/voices").json()["voices"]] == ["Dee"]
        speakers = client.get(f"/v1/jobs/{job['id']}/speakers").json()["speakers"]
        assert speakers == [{"label": "SPEAKER_00", "name": "Dee"}]
        assert 'class="remember"' in client.get(f"/jobs/{job['id']}").text
        # A later job with the same voice is named from the library.
        later = upload(client, long_wav, language="en").json()["jobs"][0]
        assert wait_for(client, later["id"], finished)["status"] == "done"
        result = client.get(f"/v1/jobs/{later['id']}/result", params={"format": "json"}).json()
        assert [(s["label"], s["name"]) for s in result["speakers"]] == [("SPEAKER_00", "Dee")]
        assert result["speakers"][0]["confidence"] > 0.5
        renamed = client.patch("/v1/voices/Dee", json={"name": "Diane"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "Diane"
        assert client.patch("/v1/voices/Nobody", json={"name": "X"}).status_code == 404
        assert client.delete("/v1/voices/Diane").status_code == 204
        assert client.get("/v1/voices").json()["voices"] == []
        assert client.delete("/v1/voices/Diane").status_code == 404


def test_events_stream_the_job_list(server: Server, done_job: str) -> None:
    with server.client() as client, client.stream("GET", "/v1/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "event: jobs"
        data = next(lines)
    assert done_job in [job["id"] for job in json.loads(data.removeprefix("data: "))["jobs"]]


def test_pages_and_docs_need_no_cdn(server: Server) -> None:
    with server.client() as client:
        texts = {
            path: client.get(path).text
            for path in ("/", "/docs", "/static/app.js", "/static/docs.js", "/static/style.css")
        }
        schema = client.get("/v1/openapi.json").json()
        no_cors = client.get("/v1/jobs", headers={"Origin": "http://example.org"})
    for path, text in texts.items():
        assert "http://" not in text and "https://" not in text and "cdn" not in text.lower(), path
    assert "/v1/jobs" in schema["paths"] and "/v1/jobs/{job_id}/result" in schema["paths"]
    assert "access-control-allow-origin" not in no_cors.headers


def test_token_limits_and_rate(tmp_path: Path, speech_wav: Path) -> None:
    data = tmp_path / "data"
    server = start_server(
        data,
        *("--auth", "always", "--max-upload-mb", "0.05", "--max-queued", "1", "--rate-limit", "30"),
    )
    try:
        assert server.token
        with server.client() as anonymous:
            refused = anonymous.get("/v1/jobs")
            info = anonymous.get("/v1/info").json()
            wrong = anonymous.get("/v1/jobs", headers={"Authorization": "Bearer nope"})
        headers = {"Authorization": f"Bearer {server.token}"}
        with server.client(headers=headers) as client:
            listed = client.get("/v1/jobs")
            too_big = upload(client, speech_wav)
            tiny = tmp_path / "tiny.wav"
            write_media(tiny, silence(0.2))
            too_many = upload(client, tiny, tiny)
        with server.client() as browser:
            bad_login = browser.post("/v1/login", json={"token": "guess"})
            login = browser.post("/v1/login", json={"token": server.token})
            with_cookie = browser.get("/v1/jobs")
        with server.client(headers=headers) as client:
            statuses = [client.get("/v1/jobs").status_code for _ in range(40)]
    finally:
        server.stop()
    assert refused.status_code == 401 and "API token is required" in refused.json()["detail"]
    assert info["token_required"] is True
    assert wrong.status_code == 401
    assert listed.status_code == 200
    assert too_big.status_code == 413 and "limit" in too_big.json()["detail"]
    assert too_many.status_code == 429 and "queue is full" in too_many.json()["detail"]
    assert 429 in statuses
    assert bad_login.status_code == 401
    assert login.status_code == 200 and with_cookie.status_code == 200
    mode = stat.S_IMODE((data / "token.sha256").stat().st_mode)
    assert mode == 0o600
    assert server.token not in (data / "token.sha256").read_text()
    restarted = start_server(data, "--auth", "always")
    try:
        assert restarted.token is None  # shown once: not printed again
        with restarted.client(headers=headers) as client:
            assert client.get("/v1/jobs").status_code == 200
    finally:
        restarted.stop()


def test_a_page_of_another_site_cannot_use_the_server(
    server: Server, done_job: str, speech_wav: Path
) -> None:
    """Cross-site uploads and DNS rebinding (issue 13, items 14 and 15)."""
    port = server.url.rsplit(":", 1)[1]
    evil = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    with server.client() as client:
        before = len(client.get("/v1/jobs").json()["jobs"])
        forged = client.post("/v1/jobs", files=_files(speech_wav), headers=evil)
        old_browser = client.post(
            "/v1/jobs", files=_files(speech_wav), headers={"Origin": "http://evil.example"}
        )
        same_site = client.post(
            f"/v1/jobs/{done_job}/rename",
            json={"label": "SPEAKER_00", "name": ""},
            headers={"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},
        )
        after = len(client.get("/v1/jobs").json()["jobs"])
        ours = client.post(
            f"/v1/jobs/{done_job}/rename",
            json={"label": "SPEAKER_00", "name": ""},
            headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
        )
        rebound = client.get("/v1/jobs", headers={"Host": f"evil.example:{port}"})
        by_name = client.get("/v1/info", headers={"Host": f"localhost:{port}"})
        by_ipv6 = client.get("/v1/info", headers={"Host": f"[::1]:{port}"})
    for refused in (forged, old_browser, same_site):
        assert refused.status_code == 403, refused.text
        assert "cross-site" in refused.json()["detail"]
    assert before == after
    assert ours.status_code == 200, ours.text
    assert rebound.status_code == 400 and "evil.example" in rebound.json()["detail"]
    assert "jobs" not in rebound.json()
    assert by_name.status_code == 200 and by_ipv6.status_code == 200


def test_pages_cannot_be_framed_and_run_only_our_scripts(server: Server, done_job: str) -> None:
    with server.client() as client:
        pages = {path: client.get(path) for path in ("/", "/docs", f"/jobs/{done_job}")}
        api = client.get("/v1/info")
    for path, page in pages.items():
        assert page.status_code == 200, path
        assert page.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"], path
    for path in ("/", "/docs"):
        policy = pages[path].headers["content-security-policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy
        assert "<style" not in pages[path].text and "<script>" not in pages[path].text
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["x-content-type-options"] == "nosniff"


def test_forwarded_for_is_believed_only_from_a_named_proxy(tmp_path: Path) -> None:
    """Item 19: a proxy that passes the client's X-Forwarded-For on must not make it loopback."""
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    with start_server(tmp_path / "plain").stopping() as plain, plain.client() as client:
        ignored = client.get("/v1/info", headers=forwarded).json()
        listed = client.get("/v1/jobs", headers=forwarded)
    proxied = start_server(tmp_path / "proxied", "--trusted-proxy", "127.0.0.1")
    with proxied.stopping(), proxied.client() as client:
        believed = client.get("/v1/info", headers=forwarded).json()
        refused = client.get("/v1/jobs", headers=forwarded)
        direct = client.get("/v1/jobs")
    assert ignored["token_required"] is False and listed.status_code == 200
    assert believed["token_required"] is True and refused.status_code == 401
    assert direct.status_code == 200


def _files(path: Path) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (path.name, path.read_bytes(), "audio/wav"))]
