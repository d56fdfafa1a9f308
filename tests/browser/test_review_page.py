"""The HTML review page in a real headless Chromium (Debian's, driven by Playwright).

The media is real synthesised speech (eSpeak NG, two voices) written as a wav file, and the
transcript's utterance times are where that speech really is in the file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from media import silence, speech_samples, write_media
from saywho.config import PipelineConfig
from saywho.formats import write
from saywho.formats.html import ReviewApi, render_review
from saywho.outputs import write_outputs
from saywho.types import Span, Speaker, Transcript, Turn, Utterance, Word

CHROMIUM = "/usr/bin/chromium"
RATE = 16_000
LINES = (
    ("SPEAKER_00", "en", "Good morning and welcome to the programme."),
    ("SPEAKER_01", "en+f3", "Thank you, it is a pleasure to be here today."),
    ("SPEAKER_00", "en", "Tell us how the project started."),
    ("SPEAKER_01", "en+f3", "It started with one question about voices."),
)


def _utterance(text: str, speaker: str, start: float, end: float) -> Utterance:
    """Words spread evenly over the spoken span (close enough for a review page)."""
    tokens = text.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(
            token,
            Span(round(start + i * step, 3), round(start + (i + 1) * step, 3)),
            0.9,
            speaker,
            0.8,
        )
        for i, token in enumerate(tokens)
    )
    return Utterance(Span(round(start, 3), round(end, 3)), text, words, speaker)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Transcript]:
    """A wav of four spoken lines and the transcript whose times match it."""
    folder = tmp_path_factory.mktemp("review")
    pieces = [silence(0.4)]
    utterances = []
    cursor = 0.4
    for speaker, voice, text in LINES:
        spoken = speech_samples(text, folder, voice=voice)
        duration = spoken.shape[0] / RATE
        utterances.append(_utterance(text, speaker, cursor, cursor + duration))
        pieces += [spoken, silence(0.5)]
        cursor += duration + 0.5
    samples = np.concatenate(pieces)
    media = write_media(folder / "talk.wav", samples)
    transcript = Transcript(
        source=str(media),
        duration_s=samples.shape[0] / RATE,
        language="en",
        language_probability=0.99,
        utterances=tuple(utterances),
        config=PipelineConfig(),
        speakers=(Speaker("SPEAKER_00", "Host"), Speaker("SPEAKER_01")),
        turns=tuple(Turn(u.span, u.speaker or "") for u in utterances),
    )
    return media, transcript


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            "chromium is not installed: run `make test` (it installs it) or apt install chromium"
        )
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=["--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, recording: tuple[Path, Transcript], tmp_path: Path) -> Iterator[Page]:
    """The page as `saywho transcribe -f html` writes it, in a folder beside the media."""
    media, transcript = recording
    out = tmp_path / "out"
    (html_path,) = write_outputs(transcript, out, "talk", ["html"], media=media)
    context = browser.new_context(viewport={"width": 1100, "height": 420}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(html_path.as_uri())
    tab.wait_for_function("() => document.getElementById('player').readyState >= 1")
    yield tab
    context.close()
    assert errors == []


def current_word(tab: Page) -> dict[str, float] | None:
    return tab.evaluate(
        """() => {
            const w = document.querySelector('.word.current');
            return w && {start: Number(w.dataset.start), end: Number(w.dataset.end)};
        }"""
    )


def test_the_highlight_follows_playback(page: Page) -> None:
    page.evaluate("document.getElementById('player').play()")
    seen = set()
    for _ in range(12):
        page.wait_for_timeout(250)
        state = page.evaluate(
            """() => {
                const p = document.getElementById('player');
                const w = document.querySelector('.word.current');
                return {t: p.currentTime, start: w && Number(w.dataset.start),
                        end: w && Number(w.dataset.end), paused: p.paused};
            }"""
        )
        assert not state["paused"]
        if state["start"] is not None:
            seen.add(state["start"])
            # the page updates on each animation frame: allow one frame of lag
            assert state["start"] - 0.1 <= state["t"] <= state["end"] + 0.1
    assert page.evaluate("document.getElementById('player').currentTime") > 2.0
    assert len(seen) >= 4  # it moved from word to word
    page.evaluate("document.getElementById('player').pause()")
    time = page.evaluate("document.getElementById('player').currentTime")
    word = current_word(page)
    assert word is None or word["start"] <= time < word["end"]


def test_clicking_a_word_seeks_there(page: Page) -> None:
    target = page.locator(".line").nth(2).locator(".word").nth(3)
    start = float(target.get_attribute("data-start") or "nan")
    target.click()
    page.evaluate("document.getElementById('player').pause()")
    time = page.evaluate("document.getElementById('player').currentTime")
    assert start <= time < start + 0.5
    assert current_word(page) is not None
    page.locator(".line").nth(1).locator(".time").click()
    time = page.evaluate("document.getElementById('player').currentTime")
    line_start = float(
        page.locator(".line").nth(1).locator(".time").get_attribute("data-start") or "nan"
    )
    assert line_start <= time < line_start + 0.5


def test_autoscroll_follows_and_can_be_switched_off(page: Page) -> None:
    last = page.locator(".word").last
    page.evaluate("window.scrollTo(0, 0)")
    page.uncheck("#autoscroll")
    last.dispatch_event("click")
    page.evaluate("document.getElementById('player').pause()")
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") == 0
    page.check("#autoscroll")
    page.locator(".word").first.dispatch_event("click")
    page.evaluate("document.getElementById('player').pause()")
    last.dispatch_event("click")
    page.evaluate("document.getElementById('player').pause()")
    page.wait_for_function("() => window.scrollY > 0")


def test_renaming_a_speaker_updates_every_line_and_the_downloads(page: Page) -> None:
    hostile = 'Diane <img src=x onerror="window.pwned=1"> & "co"'
    box = page.locator('input.rename[data-speaker="SPEAKER_01"]')
    box.fill(hostile)
    box.press("Enter")
    names = page.locator('.speaker-name[data-speaker="SPEAKER_01"]').all_text_contents()
    assert names == [hostile, hostile]
    assert (
        page.locator('.speaker-name[data-speaker="SPEAKER_00"]').all_text_contents() == ["Host"] * 2
    )
    assert page.locator("#transcript img").count() == 0
    assert page.evaluate("window.pwned") is None

    texts = {}
    for fmt in ("json", "srt", "txt"):
        with page.expect_download() as caught:
            page.click(f'button[data-download="{fmt}"]')
        download = caught.value
        assert download.suggested_filename == f"talk.{fmt}"
        texts[fmt] = Path(download.path()).read_text(encoding="utf-8")
    data = json.loads(texts["json"])
    assert [(s["label"], s["name"]) for s in data["speakers"]] == [
        ("SPEAKER_00", "Host"),
        ("SPEAKER_01", hostile),
    ]
    assert f"\n{hostile}: Thank you,\nit is a pleasure" in texts["srt"]  # broken at the comma
    assert texts["srt"].startswith("1\n00:00:00,400 --> ")
    assert texts["txt"].splitlines()[1].startswith("[00:00:0")
    assert f"] {hostile}: Thank you, it is a pleasure to be here today." in texts["txt"]
    assert "] Host: Good morning and welcome to the programme." in texts["txt"]


def test_search_highlights_matches(page: Page) -> None:
    page.fill("#search", "STARTED")
    assert page.locator(".word.match").all_text_contents() == ["started.", "started"]
    assert page.text_content("#search-count") == "2 matches"
    page.fill("#search", "the project")
    assert page.locator(".word.match").all_text_contents() == ["the", "project"]
    page.fill("#search", "")
    assert page.locator(".word.match").count() == 0


def test_hostile_words_and_names_stay_text(browser: Browser, tmp_path: Path) -> None:
    evil = "</script><script>window.pwned=1</script><!--"
    word = Word(evil, Span(0.0, 1.0), 0.9, "SPEAKER_00")
    transcript = Transcript(
        source="x.wav",
        duration_s=1.0,
        language=None,
        language_probability=None,
        utterances=(Utterance(Span(0.0, 1.0), evil, (word,), "SPEAKER_00"),),
        config=PipelineConfig(),
        speakers=(Speaker("SPEAKER_00", '<img src=x onerror="window.pwned=2">'),),
    )
    path = tmp_path / "x.html"
    path.write_text(render_review(transcript, media_src=None), encoding="utf-8")
    tab = browser.new_page()
    tab.goto(path.as_uri())
    assert tab.evaluate("window.pwned") is None
    assert tab.text_content(".word") == evil
    assert tab.text_content(".speaker-name") == '<img src=x onerror="window.pwned=2">'
    assert tab.input_value("input.rename") == '<img src=x onerror="window.pwned=2">'
    data = json.loads(tab.text_content("#transcript-data") or "")
    assert data["utterances"][0]["words"][0]["text"] == evil
    tab.close()


def test_edits_go_to_the_review_api_and_failures_are_shown(
    browser: Browser, recording: tuple[Path, Transcript], tmp_path: Path
) -> None:
    """The server's endpoints are stood in for by Playwright's router: no socket is opened."""
    _, transcript = recording
    api = ReviewApi("http://127.0.0.1:9/jobs/1/rename", "http://127.0.0.1:9/jobs/1/enroll", "t0k")
    path = tmp_path / "served.html"
    path.write_text(render_review(transcript, media_src=None, api=api), encoding="utf-8")
    tab = browser.new_page()
    requests: list[tuple[str, str | None, dict[str, str]]] = []
    answers = iter([200, 500, 201])

    def answer(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        requests.append((request.url, request.headers.get("authorization"), request.post_data_json))
        route.fulfill(status=next(answers), json={"detail": "voice library is locked"})  # type: ignore[attr-defined]

    tab.route("http://127.0.0.1:9/**", answer)
    tab.goto(path.as_uri())
    box = tab.locator('input.rename[data-speaker="SPEAKER_01"]')
    box.fill("Diane")
    box.press("Enter")
    tab.wait_for_function("() => document.getElementById('status').className === 'ok'")
    box.fill("Dana")
    box.press("Enter")
    tab.wait_for_function("() => document.getElementById('status').className === 'error'")
    assert "voice library is locked" in (tab.text_content("#status") or "")
    tab.click('button.remember[data-speaker="SPEAKER_01"]')
    tab.wait_for_function("() => document.getElementById('status').className === 'ok'")
    assert requests == [
        (api.rename_url, "Bearer t0k", {"label": "SPEAKER_01", "name": "Diane"}),
        (api.rename_url, "Bearer t0k", {"label": "SPEAKER_01", "name": "Dana"}),
        (api.enroll_url, "Bearer t0k", {"label": "SPEAKER_01", "name": "Dana"}),
    ]
    tab.close()


def test_embedded_media_plays_without_the_file(
    browser: Browser, recording: tuple[Path, Transcript], tmp_path: Path
) -> None:
    media, transcript = recording
    copy = tmp_path / "gone.wav"
    shutil.copy(media, copy)
    (path,) = write_outputs(
        transcript, tmp_path / "out", "talk", ["html"], media=copy, embed_media=True
    )
    copy.unlink()
    tab = browser.new_page()
    tab.goto(path.as_uri())
    tab.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert tab.evaluate("document.getElementById('player').duration") == pytest.approx(
        transcript.duration_s, abs=0.05
    )
    tab.close()


# -- layout, marks and the page's own SRT, on a transcript longer than the window ------------------

TALK = (  # speaker, words, the pause after them (s): "Right." and "Okay." share a cue
    ("SPEAKER_00", "So we started in the spring, when the first recordings came in.", 0.6),
    ("SPEAKER_01", "Right.", 0.0),
    ("SPEAKER_00", "Okay.", 0.0),
    ("SPEAKER_01", "And the labels were missing, so every tape had to be heard twice.", 0.6),
    (
        "SPEAKER_02",
        "Which took all summer. Nobody had written down who was speaking on any tape.",
        0.6,
    ),
)


def _talk(rounds: int, media_src: str, *, overlap: bool = True) -> Transcript:
    """``rounds`` times TALK, back to back; with ``overlap`` one word of every other round
    is spoken over another speaker."""
    utterances = []
    cursor = 1.0
    for round_ in range(rounds):
        for line, (speaker, text, pause) in enumerate(TALK):
            seconds = 0.3 * len(text.split())
            utterance = _utterance(text, speaker, cursor, cursor + seconds)
            if (
                overlap and line == 0 and round_ % 2 == 0
            ):  # the last word heard while SPEAKER_01 talks
                last = utterance.words[-1]
                words = (
                    *utterance.words[:-1],
                    dataclasses.replace(last, overlapping=("SPEAKER_01",)),
                )
                utterance = dataclasses.replace(utterance, words=words)
            utterances.append(utterance)
            cursor += seconds + pause
    return Transcript(
        source=media_src,
        duration_s=cursor,
        language="en",
        language_probability=0.99,
        utterances=tuple(utterances),
        config=PipelineConfig(),
        speakers=(Speaker("SPEAKER_00", "Host"), Speaker("SPEAKER_01"), Speaker("SPEAKER_02")),
    )


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16:9 video (black, silent) as long as the talk."""
    folder = tmp_path_factory.mktemp("film")
    seconds = _talk(8, "x").duration_s
    return write_media(
        folder / "film.webm",
        silence(seconds, 48_000),
        rate=48_000,
        codec="libopus",
        video="libvpx",
        video_size=(320, 180),
        video_seconds=seconds,
    )


def _screenshot(tab: Page, name: str) -> None:
    """Keep a screenshot where SAYWHO_SCREENSHOTS says (for a person to look at)."""
    folder = os.environ.get("SAYWHO_SCREENSHOTS")
    if folder:
        tab.screenshot(path=str(Path(folder) / f"{name}.png"))


def _box(tab: Page, selector: str) -> dict[str, float]:
    box = tab.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def _on_top(tab: Page, selector: str) -> bool:
    """Whether the centre of ``selector`` is in the window and not covered by anything else."""
    return bool(
        tab.evaluate(
            """(selector) => {
                const element = document.querySelector(selector);
                const box = element.getBoundingClientRect();
                const x = box.left + box.width / 2, y = box.top + box.height / 2;
                if (y < 0 || y >= window.innerHeight) return false;
                const hit = document.elementFromPoint(x, y);
                return hit === element || element.contains(hit);
            }""",
            selector,
        )
    )


@pytest.mark.parametrize("height", [420, 760])
def test_a_video_leaves_room_for_the_transcript_and_the_speakers_stay_in_view(
    browser: Browser, film: Path, tmp_path: Path, height: int
) -> None:
    transcript = _talk(8, str(film))
    (path,) = write_outputs(transcript, tmp_path, "film", ["html"], media=film)
    context = browser.new_context(viewport={"width": 1100, "height": height})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(path.as_uri())
    tab.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert tab.evaluate("document.getElementById('player').videoWidth") == 320
    _screenshot(tab, f"review-video-{height}-top")
    header = _box(tab, ".top")
    assert header["height"] <= 0.4 * height  # the transcript keeps most of the window

    tab.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    tab.wait_for_timeout(100)
    _screenshot(tab, f"review-video-{height}-bottom")
    assert tab.evaluate("window.scrollY") > 1000  # the transcript is much longer than the window
    assert _on_top(tab, "#player")
    assert _on_top(tab, 'input.rename[data-speaker="SPEAKER_02"]')  # below the header, in view
    assert _box(tab, ".side")["y"] >= header["height"]

    # a word scrolled to by playback or search is not hidden under the header
    tab.fill("#search", "spring")
    tab.press("#search", "Enter")
    tab.wait_for_timeout(100)
    assert _on_top(tab, ".word.match")
    context.close()
    assert errors == []


def test_the_rename_box_looks_editable_and_the_marks_are_explained(
    browser: Browser, tmp_path: Path
) -> None:
    path = tmp_path / "talk.html"
    path.write_text(render_review(_talk(1, "talk.wav"), media_src=None), encoding="utf-8")
    tab = browser.new_page(viewport={"width": 1100, "height": 500})
    tab.goto(path.as_uri())
    _screenshot(tab, "review-panel")
    style = tab.evaluate(
        """() => {
            const s = getComputedStyle(document.querySelector('input.rename'));
            return {border: s.borderTopWidth, colour: s.borderTopColor, fill: s.backgroundColor,
                    cursor: s.cursor};
        }"""
    )
    assert style["border"] == "1px"
    assert style["colour"] not in ("rgba(0, 0, 0, 0)", "transparent")
    assert style["fill"] == "rgb(255, 255, 255)"
    assert style["cursor"] == "text"
    icon = """() => new Promise((done) => {
        const image = new Image();
        image.onload = () => done(image.naturalWidth);
        image.onerror = () => done(0);
        image.src = document.querySelector('link[rel="icon"]').href;
    })"""
    assert tab.evaluate(icon) > 0  # the page's own icon, inline: it loads from file://
    key = tab.locator(".side .key")
    assert "another speaker" in key.inner_text()
    sample, word = key.locator(".sample.overlapped"), tab.locator("#transcript .word.overlapped")
    decoration = "el => getComputedStyle(el).textDecorationStyle"
    assert sample.evaluate(decoration) == word.first.evaluate(decoration) == "dotted"
    tab.fill("#search", "dotted")  # the key is no part of the transcript
    assert tab.text_content("#search-count") == "0 matches"
    tab.close()
    assert 'class="key"' not in render_review(_talk(1, "x.wav", overlap=False), media_src=None)


def test_the_pages_srt_is_the_writers_until_a_name_changes(
    browser: Browser, tmp_path: Path
) -> None:
    transcript = _talk(2, "talk.wav")
    written = io.StringIO()
    write(transcript, "srt", written)
    assert "\n- SPEAKER_01: Right.\n- Host: Okay.\n" in written.getvalue()  # a shared cue
    assert "\nNobody had written down\n" in written.getvalue()  # the same speaker: no name
    path = tmp_path / "talk.html"
    path.write_text(render_review(transcript, media_src=None), encoding="utf-8")
    tab = browser.new_page(accept_downloads=True)
    tab.goto(path.as_uri())

    def download() -> str:
        with tab.expect_download() as caught:
            tab.click('button[data-download="srt"]')
        return Path(caught.value.path()).read_text(encoding="utf-8")

    assert download() == written.getvalue()
    box = tab.locator('input.rename[data-speaker="SPEAKER_02"]')
    box.fill("Ruth")
    box.press("Enter")
    renamed = download()
    assert renamed == written.getvalue().replace("SPEAKER_02: ", "Ruth: ")
    assert renamed.count("Ruth: ") == written.getvalue().count("SPEAKER_02: ") == 2
    tab.close()
