"""The web page in real headless Chromium (Debian's, driven by Playwright; never downloaded)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from serving import Server, chromium, problems_of, screenshot

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_upload_follow_review_rename_download(
    server: Server, browser: Browser, long_wav: Path, tmp_path: Path
) -> None:
    page = browser.new_page(accept_downloads=True)
    seen_percents: list[str] = []
    try:
        page.goto(server.url + "/")
        page.set_input_files("#files", str(long_wav))
        page.select_option("#model", "tiny.en")
        page.fill("#language", "en")
        page.fill("#min-speakers", "1")
        page.fill("#max-speakers", "2")
        page.click("#upload")
        expect(page.locator("#upload-status")).to_have_text("queued 1 file(s)")
        row = page.locator("tr.job").first
        job_id = row.get_attribute("data-id")
        options = httpx.get(f"{server.url}/v1/jobs/{job_id}").json()["options"]
        assert (options["num_speakers"], options["min_speakers"], options["max_speakers"]) == (
            None,
            1,
            2,
        )
        expect(row.locator("td.length")).to_have_text(re.compile(r"^\d+ s$"))  # from the upload
        for _ in range(600):  # the live list, pushed by server-sent events
            seen_percents.append(row.locator(".percent").inner_text().strip())
            if row.get_attribute("data-status") in ("done", "failed"):
                break
            page.wait_for_timeout(100)
        assert row.get_attribute("data-status") == "done"
        expect(row.locator(".percent")).to_have_text(re.compile(r"100 %"))
        expect(row.locator("td.speakers")).to_have_text("1")
        screenshot(page, "server-jobs-done")
        bar, percent = (
            row.locator("progress").bounding_box(),
            row.locator(".percent").bounding_box(),
        )
        assert bar is not None and percent is not None
        assert percent["height"] < 30  # one line: "100 %" does not wrap
        assert (
            percent["y"] < bar["y"] + bar["height"] and bar["y"] < percent["y"] + percent["height"]
        )
        assert len(set(seen_percents)) >= 2  # it moved while we watched

        row.locator("a.review").click()
        page.wait_for_url(f"**/jobs/{job_id}")
        names = page.locator(".line .speaker-name")
        expect(names.first).to_have_text("SPEAKER_00")
        assert "stella" in " ".join(page.locator(".line").all_inner_texts()).lower()
        rename = page.locator('input.rename[data-speaker="SPEAKER_00"]')
        rename.fill("Diane")
        rename.dispatch_event("change")
        expect(page.locator("#status")).to_contain_text("Saved")
        expect(names.first).to_have_text("Diane")
        assert page.locator("#player").evaluate("p => p.readyState >= 1 || p.networkState !== 3")
        remember = page.locator('button.remember[data-speaker="SPEAKER_00"]')
        if remember.count():  # a build with the voice library (saywho.identify)
            remember.click()
            expect(page.locator("#status")).to_contain_text("remembered")

        page.goto(server.url + "/")
        link = page.locator(f'tr.job[data-id="{job_id}"] a[data-format="srt"]')
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
    finally:
        page.close()
    assert saved.name == "long.srt"
    srt = saved.read_text(encoding="utf-8")
    assert "Diane: " in srt and "SPEAKER_00" not in srt
    stored = httpx.get(f"{server.url}/v1/jobs/{job_id}/result", params={"format": "txt"}).text
    assert "Diane: " in stored


def test_the_pages_icon_form_and_api_fields(server: Server, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    problems = problems_of(page)
    try:
        page.goto(server.url + "/")
        expect(page.locator("#model option")).not_to_have_count(0)
        for field in ("#num-speakers", "#min-speakers", "#max-speakers"):
            assert page.locator(field).get_attribute("type") == "number"
        icon = page.locator('link[rel="icon"]').get_attribute("href")
        assert icon == "/static/favicon.svg"
        answer = httpx.get(server.url + icon)
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert page.locator(".top img").evaluate("img => img.naturalWidth") > 0
        screenshot(page, "server-index")

        page.goto(server.url + "/docs")
        upload = page.locator(
            ".op", has=page.locator("code", has_text=re.compile("^/v1/jobs$"))
        ).filter(has_text="multipart/form-data")
        fields = upload.locator(".fields li")
        expect(fields).to_have_count(7)  # the schema is fetched and drawn after the page loads
        names = [item.get_attribute("data-field") for item in fields.all()]
        assert names == [
            "files",
            "model",
            "language",
            "num_speakers",
            "min_speakers",
            "max_speakers",
            "diarize",
        ]
        expect(fields.filter(has_text="min_speakers")).to_contain_text("integer, 1\u201332")
        expect(fields.filter(has_text="files")).to_contain_text(
            "array of string (binary), required"
        )
        rename = page.locator(".op", has_text="/rename").first.locator(".fields li")
        expect(rename.first).to_contain_text("label")  # a JSON body, through its $ref
        screenshot(page, "server-docs")
    finally:
        page.close()
    assert problems == []  # no script or style refused by the pages' policy
