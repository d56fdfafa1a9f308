"""Every writer's output read back by an independent parser: pysubs2, praatio, python-docx."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pysubs2
import pytest
from docx import Document
from praatio import textgrid
from test_formats import TRANSCRIPTS, assert_matches_golden, render, render_bytes

from saywho.formats import write_binary
from saywho.formats.cues import subtitle_cues
from saywho.formats.html import ReviewApi, media_data_uri, render_review
from saywho.formats.json import transcript_data
from saywho.formats.speakers import shown_speaker
from saywho.timestamps import milliseconds
from saywho.types import Transcript

CASES = sorted(TRANSCRIPTS)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
@pytest.mark.parametrize("case", CASES)
def test_pysubs2_reads_our_subtitles(case: str, fmt: str) -> None:
    transcript = TRANSCRIPTS[case]()
    events = pysubs2.SSAFile.from_string(render(transcript, fmt), format_=fmt).events
    cues = subtitle_cues(transcript)
    assert [(e.start, e.end) for e in events] == [
        (milliseconds(c.span.start), milliseconds(c.span.end)) for c in cues
    ]
    for event, cue in zip(events, cues, strict=True):
        assert all(len(line) <= 42 for line in cue.text.split("\n"))
        if fmt == "srt" and cue.lines[0].label is not None:
            assert event.plaintext.startswith(f"{cue.lines[0].label}: ")


@pytest.mark.parametrize("case", CASES)
def test_praatio_reads_our_textgrid(case: str, tmp_path: Path) -> None:
    transcript = TRANSCRIPTS[case]()
    path = tmp_path / f"{case}.TextGrid"
    path.write_text(render(transcript, "textgrid"), encoding="utf-8")
    grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    spoken = [u for u in transcript.utterances if u.text.strip()]
    if case == "plain":
        assert grid.tierNames == ("transcript",)
    else:
        names = {shown_speaker(transcript, u.speaker) for u in spoken}
        assert names <= set(grid.tierNames)
    texts = sorted(entry.label for name in grid.tierNames for entry in grid.getTier(name).entries)
    assert texts == sorted(" ".join(u.text.split()) for u in spoken)
    assert grid.maxTimestamp >= transcript.duration_s


def docx_text(transcript: Transcript) -> str:
    """The document as text: one paragraph a line, bold runs in **."""
    document = Document(io.BytesIO(render_bytes(transcript, "docx")))
    lines = []
    for paragraph in document.paragraphs:
        runs = "".join(f"**{r.text}**" if r.bold else r.text for r in paragraph.runs)
        lines.append(f"{paragraph.style.name}: {runs}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", CASES)
def test_docx_opens_in_python_docx_and_matches_golden_text(case: str) -> None:
    text = docx_text(TRANSCRIPTS[case]())
    assert_matches_golden(f"{case}.docx.txt", text)
    for utterance in TRANSCRIPTS[case]().utterances:
        assert " ".join(utterance.text.split()) in text  # untimed words included


# -- html ------------------------------------------------------------------------------------


class _Hooks(HTMLParser):
    """Collects the elements the contract names, and the JSON script blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: dict[str, str] = {}
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script = attributes.get("id") or "code"
            self.scripts[self._script] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] += data

    def having(self, cls: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.tags if cls in (a.get("class") or "").split()]


def parse(page: str) -> _Hooks:
    hooks = _Hooks()
    hooks.feed(page)
    return hooks


@pytest.mark.parametrize("case", CASES)
def test_html_has_the_contract_hooks_and_the_json(case: str) -> None:
    transcript = TRANSCRIPTS[case]()
    hooks = parse(render(transcript, "html"))
    assert json.loads(hooks.scripts["transcript-data"]) == json.loads(render(transcript, "json"))
    words = hooks.having("word")
    assert len(words) == len(transcript.words)
    for attributes, word in zip(words, transcript.words, strict=True):
        start, end = float(attributes["data-start"] or ""), float(attributes["data-end"] or "")
        if word.span is not None:
            assert (start, end) == (
                milliseconds(word.span.start) / 1000,
                milliseconds(word.span.end) / 1000,
            )
        else:
            assert start == end  # never highlighted, still shown
    lines = hooks.having("line")
    assert len(lines) == len([u for u in transcript.utterances if u.text.strip()])
    ids = {a.get("id") for _, a in hooks.tags}
    assert {"legend", "autoscroll", "search", "status", "transcript-data"} <= ids
    assert ("player" in ids) == (transcript.source != "")
    downloads = [a.get("data-download") for _, a in hooks.tags if a.get("data-download")]
    assert downloads == ["json", "srt", "txt"]


def test_html_legend_has_a_rename_box_per_speaker_and_unknown_without_one() -> None:
    transcript = TRANSCRIPTS["speakers"]()
    hooks = parse(render(transcript, "html"))
    boxes = [(a["data-speaker"], a["value"]) for a in hooks.having("rename")]
    assert boxes == [("SPEAKER_00", "Zoë"), ("SPEAKER_01", "SPEAKER_01")]
    names = hooks.having("speaker-name")
    assert [a["data-speaker"] for a in names] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00", ""]
    assert hooks.having("remember") == []
    served = parse(render_review(transcript, media_src=None, api=ReviewApi("/r", "/e", "t")))
    assert [a["data-speaker"] for a in served.having("remember")] == ["SPEAKER_00", "SPEAKER_01"]
    assert json.loads(served.scripts["review-api"]) == {
        "rename_url": "/r",
        "enroll_url": "/e",
        "token": "t",
    }


def test_html_json_cannot_close_its_script_element() -> None:
    transcript = TRANSCRIPTS["speakers"]()  # holds "<team>" and "R&D"
    page = render(transcript, "html")
    data = re.search(r'id="transcript-data">(.*?)</script>', page, re.S)
    assert data is not None
    assert "<" not in data.group(1) and "&" not in data.group(1)
    assert json.loads(data.group(1)) == transcript_data(transcript)


def test_html_policy_allows_exactly_its_own_script_and_style() -> None:
    hooks = parse(render(TRANSCRIPTS["speakers"](), "html"))
    policy = next(
        a["content"] for t, a in hooks.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert policy is not None
    digest = base64.b64encode(hashlib.sha256(hooks.scripts["code"].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "unsafe" not in policy
    assert "default-src 'none'" in policy


def test_html_player_and_media_link(tmp_path: Path) -> None:
    transcript = TRANSCRIPTS["plain"]()
    video = parse(render_review(transcript, media_src="../a b.mp4"))
    audio = parse(render_review(transcript, media_src="x", media_type="audio/ogg"))
    assert [t for t, a in video.tags if a.get("id") == "player"] == ["video"]
    assert [t for t, a in audio.tags if a.get("id") == "player"] == ["audio"]
    assert parse(render_review(transcript, media_src=None)).having("no-media")
    clip = tmp_path / "c.wav"
    clip.write_bytes(b"RIFF0000WAVE")
    assert media_data_uri(clip) == "data:audio/x-wav;base64,UklGRjAwMDBXQVZF" or media_data_uri(
        clip
    ).startswith("data:audio/")


def test_write_binary_writes_docx_to_any_binary_stream() -> None:
    stream = io.BytesIO()
    write_binary(TRANSCRIPTS["empty"](), "docx", stream)
    assert stream.getvalue()[:2] == b"PK"
    assert Document(io.BytesIO(stream.getvalue())).paragraphs[0].text == "Transcript of silence.wav"
