"""The live page in real headless Chromium, its microphone fed from a file of two voices."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from serving import Server, chromium, problems_of, screenshot

from media import conversation, write_media

pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.integration,
]

WORDS_S = 120.0  # for the first words with a speaker: models load, then a few steps


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake microphone hears, over and over: two voices taking turns (about 12 s)."""
    folder = tmp_path_factory.mktemp("live-microphone")
    samples, _ = conversation(folder, (0, 1))
    return write_media(folder / "talk.wav", samples)


@pytest.fixture(scope="module")
def browser(microphone: Path) -> Iterator[Browser]:
    with chromium(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ) as launched:
        yield launched


def test_live_words_with_speakers_then_a_job(server: Server, browser: Browser) -> None:
    context = browser.new_context(permissions=["microphone"])
    page = context.new_page()
    problems = problems_of(page)
    try:
        page.goto(server.url + "/")
        page.click('a[href="/live"]')
        page.wait_for_url("**/live")
        page.fill("#language", "en")
        page.click("#start")
        # The first words may have no speaker yet (nobody heard so far): wait for a line that has.
        heard = page.locator('#transcript .line:not([data-speaker=""]) .speaker-name')
        expect(heard.first).to_have_text(re.compile(r"^SPEAKER_\d\d$"), timeout=WORDS_S * 1000)
        label = heard.first.inner_text()
        line = page.locator(f'#transcript .line[data-speaker="{label}"]').first
        expect(line).to_have_class(re.compile(r"\bspk-\d\b"))
        expect(page.locator("#meter")).to_contain_text("delay")

        line.locator(".speaker-name").click()
        page.locator("input.rename").fill("Alice")
        page.locator("input.rename").press("Enter")
        expect(line.locator(".speaker-name")).to_have_text("Alice")
        screenshot(page, "server-live")

        page.click("#stop")
        link = page.locator("#job-link")
        expect(link).to_be_visible(timeout=120_000)
        link.click()
        page.wait_for_url(re.compile(r"/jobs/[0-9a-f]{24}$"))
        review = page.locator(".line .speaker-name")
        expect(review.first).to_be_visible()
        assert "Alice" in review.all_inner_texts()
        transcript = " ".join(page.locator(".line").all_inner_texts()).lower()
        assert "morning" in transcript
    finally:
        context.close()
    assert problems == []  # no script refused by the page's policy, no error
