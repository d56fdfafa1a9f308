"""HTML review page: one self-contained file to listen, read, search, rename and download.

The page's HTML, CSS and JavaScript are package data (``formats/review/``) inlined at render
time, so the file works offline and from ``file://``. Every piece of user data (words,
speaker names, the source name) is escaped: as text in the markup, and as JSON inside
``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as ``\\u003c`` …
so that no word can close the script element. A Content-Security-Policy lets only the
page's own script and style (by their sha256) run.

DOM hooks that the browser tests and ``saywho serve`` rely on: ``#player``,
``.word[data-start][data-end][data-speaker]``,
``.line[data-speaker]``, ``.speaker-name``, ``#legend``, ``input.rename``,
``button.remember``, ``#autoscroll``, ``#search``, ``button[data-download]``, ``#status``,
``#transcript-data``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import json
import mimetypes
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePath
from typing import Any, TextIO
from urllib.parse import quote

from saywho.errors import OutputError
from saywho.formats.cues import subtitle_cues
from saywho.formats.json import transcript_data
from saywho.formats.speakers import UNKNOWN, has_speakers, shown_speaker, speaker_labels
from saywho.timestamps import format_timestamp, milliseconds
from saywho.types import Transcript, Utterance, Word
from saywho.utterances import speaker_runs

__all__ = [
    "MediaLink",
    "ReviewApi",
    "media_data_uri",
    "media_type_of",
    "render_review",
    "write_html",
]

_PALETTE_SIZE = 8  # the number of speaker colours in review.css (.spk-0 … .spk-7)


@dataclass(frozen=True, slots=True)
class ReviewApi:
    """Where a review page served by ``saywho serve`` sends the user's edits."""

    rename_url: str
    """POST JSON ``{"label": "SPEAKER_00", "name": "Diane"}`` → 2xx."""
    enroll_url: str | None = None
    """POST JSON ``{"label": "SPEAKER_00", "name": "Diane"}`` → 2xx ("Remember this voice")."""
    token: str | None = None
    """When set, sent as the header ``Authorization: Bearer <token>``."""


@dataclass(frozen=True, slots=True)
class MediaLink:
    """How a page refers to its media: a relative path, URL or ``data:`` URI, and its type."""

    src: str
    media_type: str | None = None


def write_html(transcript: Transcript, stream: TextIO, media: MediaLink | None = None) -> None:
    """Write the review page of ``transcript`` to ``stream``.

    Without ``media`` the page plays the source file by its name, as if it lay beside the
    page (the CLI passes the path relative to the output folder instead).
    """
    if media is None:
        name = PurePath(transcript.source).name
        media = MediaLink(name, media_type_of(name)) if name else None
    stream.write(
        render_review(
            transcript,
            media_src=None if media is None else media.src,
            media_type=None if media is None else media.media_type,
        )
    )


def render_review(
    transcript: Transcript,
    *,
    media_src: str | None,
    media_type: str | None = None,
    api: ReviewApi | None = None,
) -> str:
    """One self-contained HTML document (inline CSS/JS, no CDN, works from ``file://``).

    ``media_src``: relative path, URL or ``data:`` URI of the audio/video (``None``: no
    player). ``media_type``: a MIME type such as ``audio/wav`` or ``video/mp4``, which
    chooses ``<audio>`` or ``<video>`` (guessed from ``media_src`` when ``None``).
    One line per utterance, the words regrouped into speaker runs (``config.write``).
    """
    gap_s = transcript.config.write.utterance_gap_s
    transcript = dataclasses.replace(
        transcript, utterances=speaker_runs(transcript.utterances, gap_s=gap_s)
    )
    css = _asset("palette.css") + _asset("review.css")  # the palette: the server's too
    script = _asset("review.js")
    labels = speaker_labels(transcript)
    title = PurePath(transcript.source).name or "transcript"
    fields = {
        "ICON": html.escape("data:image/svg+xml," + quote(_asset("favicon.svg").strip())),
        "TITLE": html.escape(title),
        "CSP": html.escape(_policy(css, script, api)),
        "CSS": css,
        "SCRIPT": script,
        "FACTS": html.escape(_facts(transcript, labels)),
        "PLAYER": _player(media_src, media_type),
        "LEGEND": _legend(transcript, labels, api),
        "KEY": _key(transcript),
        "DOWNLOADS": "".join(
            f'<button type="button" data-download="{fmt}">{fmt.upper()}</button>'
            for fmt in ("json", "srt", "txt")
        ),
        "LINES": _lines(transcript, labels),
        "DATA": _script_json(transcript_data(transcript)),
        "CUES": _script_json(_cue_data(transcript)),
        "API": _script_json(None if api is None else dataclasses.asdict(api)),
    }
    page = _asset("review.html")
    for key, value in fields.items():
        page = page.replace("{{" + key + "}}", value)
    return page


def media_data_uri(path: Path) -> str:
    """The file at ``path`` as a ``data:`` URI (base64), to embed media in a page.

    Raises :class:`OutputError` when the file cannot be read.
    """
    try:
        payload = path.read_bytes()
    except OSError as error:
        raise OutputError(f"{path}: cannot embed the media ({error.strerror or error})") from error
    kind = media_type_of(path.name) or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(payload).decode('ascii')}"


def media_type_of(name: str) -> str | None:
    """The MIME type of a media file name (``audio/wav``, ``video/mp4`` …), if known."""
    suffix = PurePath(name.split("?")[0]).suffix.lower()
    known = {".m4a": "audio/mp4", ".opus": "audio/ogg", ".mkv": "video/x-matroska"}
    return known.get(suffix) or mimetypes.guess_type(f"x{suffix}", strict=False)[0]


# -- pieces of the page ------------------------------------------------------------------------


def _asset(name: str) -> str:
    text = resources.files("saywho.formats").joinpath("review", name).read_text("utf-8")
    # The assets are inlined: they must not end their own element early.
    closing = {".js": "</script", ".css": "</style"}.get(PurePath(name).suffix)
    if closing is not None and closing in text.lower():
        raise OutputError(f"review/{name} must not contain {closing!r}")
    return text


def _policy(css: str, script: str, api: ReviewApi | None) -> str:
    """Only our own inline style and script run; media from anywhere, requests only to api."""
    connect = "'self'"
    if api is not None:
        connect += "".join(
            f" {_origin(url)}" for url in (api.rename_url, api.enroll_url) if url and _origin(url)
        )
    return (
        "default-src 'none'; "
        f"style-src '{_sha256(css)}'; script-src '{_sha256(script)}'; "
        "media-src 'self' data: blob: file: http: https:; img-src 'self' data:; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'"
    )


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    if not rest or scheme not in ("http", "https"):
        return ""  # a relative URL: covered by 'self'
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}" if all(c not in host for c in " ;,'\"") else ""


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _facts(transcript: Transcript, labels: tuple[str, ...]) -> str:
    parts = [f"length {format_timestamp(transcript.duration_s)}"]
    if transcript.language is not None:
        parts.append(f"language {transcript.language}")
    if labels:
        parts.append(f"{len(labels)} speaker{'s' if len(labels) != 1 else ''}")
    words = len(transcript.words)
    parts.append(f"{words} word{'s' if words != 1 else ''}")
    return " · ".join(parts)


def _player(media_src: str | None, media_type: str | None) -> str:
    if media_src is None:
        return '<p class="no-media">No media file is linked to this transcript.</p>'
    kind = media_type or media_type_of(media_src) or ""
    tag = "video" if kind.startswith("video/") else "audio"
    type_attribute = f' type="{html.escape(kind)}"' if kind else ""
    return (
        f'<{tag} id="player" controls preload="auto">'
        f'<source src="{html.escape(media_src)}"{type_attribute}>'
        f"</{tag}>"
    )


def _legend(transcript: Transcript, labels: tuple[str, ...], api: ReviewApi | None) -> str:
    items = []
    for index, label in enumerate(labels):
        name = html.escape(transcript.speaker_display(label) or label)
        safe = html.escape(label)
        remember = ""
        if api is not None and api.enroll_url is not None:
            remember = (
                f'<button type="button" class="remember" data-speaker="{safe}">'
                "Remember this voice</button>"
            )
        items.append(
            f'<li data-speaker="{safe}" class="{_colour_class(index)}">'
            '<span class="swatch" aria-hidden="true"></span>'
            f'<input class="rename" data-speaker="{safe}" value="{name}" '
            f'aria-label="name of {safe}" title="{safe}: type a name, then Enter">'
            f'<span class="label">{safe}</span>{remember}</li>'
        )
    if has_speakers(transcript) and any(u.speaker is None for u in transcript.utterances):
        items.append(
            f'<li data-speaker="" class="spk-unknown"><span class="swatch" aria-hidden="true">'
            f'</span><span class="unknown-name">{UNKNOWN}</span>'
            '<span class="label">no speaker found</span></li>'
        )
    return "".join(items)


def _key(transcript: Transcript) -> str:
    """What the marks on words mean, for the marks this transcript has (samples are not
    ``.word``: the page's scripts and readers take every ``.word`` for a transcript word)."""
    entries = []
    if any(word.overlapping for word in transcript.words):
        entries.append(
            '<li><span class="sample overlapped">dotted</span> spoken while another speaker '
            "was talking too</li>"
        )
    if any(word.span is None for word in transcript.words):
        entries.append(
            '<li><span class="sample untimed">grey</span> no time found: '
            "plays from the word before</li>"
        )
    return f'<ul class="key" aria-label="marks on words">{"".join(entries)}</ul>' if entries else ""


def _lines(transcript: Transcript, labels: tuple[str, ...]) -> str:
    if not any(u.text.strip() for u in transcript.utterances):
        return '<p class="empty">No speech was recognised in this recording.</p>'
    with_speakers = has_speakers(transcript)
    return "\n".join(
        _line(transcript, utterance, labels, with_speakers)
        for utterance in transcript.utterances
        if utterance.text.strip()
    )


def _line(
    transcript: Transcript, utterance: Utterance, labels: tuple[str, ...], with_speakers: bool
) -> str:
    label = utterance.speaker or ""
    safe = html.escape(label)
    index = labels.index(utterance.speaker) if utterance.speaker in labels else -1
    start = _seconds(utterance.span.start)
    parts = [f'<p class="line {_colour_class(index)}" data-speaker="{safe}">']
    if with_speakers:
        name = shown_speaker(transcript, utterance.speaker) or UNKNOWN
        parts.append(f'<span class="speaker-name" data-speaker="{safe}">{html.escape(name)}</span>')
    parts.append(
        f'<button type="button" class="time" data-start="{start}" title="play from here">'
        f"{format_timestamp(utterance.span.start)}</button>"
    )
    parts.append('<span class="text">')
    glue = " " if " " in utterance.text.strip() else ""  # no spaces in Chinese, Japanese …
    parts.append(glue.join(_words(utterance)))
    parts.append("</span></p>")
    return "".join(parts)


def _words(utterance: Utterance) -> list[str]:
    """The words as spans; an utterance whose text has no words keeps its text."""
    if not utterance.words:
        return [html.escape(" ".join(utterance.text.split()))]
    spans = []
    previous_end = utterance.span.start
    for word in utterance.words:
        spans.append(_word(word, utterance.speaker, previous_end))
        if word.span is not None:
            previous_end = word.span.end
    return spans


def _word(word: Word, line_speaker: str | None, previous_end: float) -> str:
    # An untimed word gets an empty interval at the previous word's end: it keeps its
    # place, but playback never highlights it and clicking it plays from its neighbour.
    start, end = (
        (previous_end, previous_end) if word.span is None else (word.span.start, word.span.end)
    )
    speaker = word.speaker if word.speaker is not None else (line_speaker or "")
    extra = " untimed" if word.span is None else ""
    if word.overlapping:
        extra += " overlapped"
    overlap = html.escape(" ".join(word.overlapping))
    overlap_attribute = f' data-overlapping="{overlap}"' if overlap else ""
    return (
        f'<span class="word{extra}" data-start="{_seconds(start)}" data-end="{_seconds(end)}" '
        f'data-speaker="{html.escape(speaker)}"{overlap_attribute}>'
        f"{html.escape(word.text.strip())}</span>"
    )


def _cue_data(transcript: Transcript) -> list[dict[str, Any]]:
    """Subtitle cues with speaker labels (not names), so that the page can rename them.

    Each line is ``{"speaker", "labelled", "dash", "text"}``: ``text`` without dash or name,
    ``labelled`` where the SRT writer shows the speaker's name (it changed), so that the
    page adds the speaker's current name there and nowhere else. The cues are cut with the
    names as they are (the page's SRT is the SRT writer's until a name changes), unless two
    speakers show the same name: then with the labels.
    """
    labels = speaker_labels(transcript)
    shown = {transcript.speaker_display(label) or label: label for label in labels}
    if len(shown) < len(labels) or UNKNOWN in shown:
        transcript = dataclasses.replace(transcript, speakers=())
        shown = {label: label for label in labels}
    unknown = UNKNOWN if has_speakers(transcript) else None
    return [
        {
            "start": milliseconds(cue.span.start) / 1000,
            "end": milliseconds(cue.span.end) / 1000,
            "lines": [
                {
                    "speaker": unknown
                    if line.speaker is None
                    else shown.get(line.speaker, unknown),
                    "labelled": line.label is not None,
                    "dash": line.dash,
                    "text": line.text,
                }
                for line in cue.lines
            ],
        }
        for cue in subtitle_cues(transcript)
    ]


def _script_json(value: object) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` can appear raw."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _colour_class(index: int) -> str:
    return "spk-unknown" if index < 0 else f"spk-{index % _PALETTE_SIZE}"


def _seconds(seconds: float) -> str:
    whole, millis = divmod(milliseconds(seconds), 1000)
    return f"{whole}.{millis:03d}"
