"""The web page in real headless Chromium (Debian's, driven by Playwright; never downloaded)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from serving import Server

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            "chromium is not installed: run `make test` (it installs it) or apt install chromium"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


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
        page.fill("#num-speakers", "1")
        page.click("#upload")
        expect(page.locator("#upload-status")).to_have_text("queued 1 file(s)")
        row = page.locator("tr.job").first
        job_id = row.get_attribute("data-id")
        for _ in range(600):  # the live list, pushed by server-sent events
            seen_percents.append(row.locator(".percent").inner_text().strip())
            if row.get_attribute("data-status") in ("done", "failed"):
                break
            page.wait_for_timeout(100)
        assert row.get_attribute("data-status") == "done"
        expect(row.locator(".percent")).to_have_text(re.compile(r"100 %"))
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
