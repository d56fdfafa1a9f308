"""Output writers: a transcript to text, subtitles, data or documents.

The CLI and the server choose paths and open files; a writer only formats. ``WRITERS``
is the registry of every format by name: an :class:`OutputFormat` says which file suffix
the format uses and whether it writes text (to a ``TextIO``) or bytes (to a binary
stream, e.g. ``docx``). :func:`write` writes a text format to a text stream;
:func:`write_binary` writes any format to a binary stream (text as UTF-8).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO, TextIO

from saywho.config import WriteConfig
from saywho.errors import OutputError
from saywho.formats.audacity import write_audacity
from saywho.formats.csv import write_csv
from saywho.formats.docx import write_docx
from saywho.formats.html import MediaLink, write_html
from saywho.formats.json import read_json, write_json
from saywho.formats.rttm import write_rttm
from saywho.formats.speakers import UNKNOWN
from saywho.formats.srt import write_srt
from saywho.formats.textgrid import write_textgrid
from saywho.formats.tsv import write_tsv
from saywho.formats.txt import write_txt
from saywho.formats.vtt import write_vtt
from saywho.types import Transcript
from saywho.utterances import speaker_runs

__all__ = [
    "FORMATS",
    "UNKNOWN",
    "WRITERS",
    "BinaryWriter",
    "MediaLink",
    "OutputFormat",
    "TextWriter",
    "Writer",
    "as_written",
    "output_format",
    "parse_formats",
    "read_json",
    "write",
    "write_binary",
]

TextWriter = Callable[[Transcript, TextIO], None]
BinaryWriter = Callable[[Transcript, IO[bytes]], None]
PageWriter = Callable[[Transcript, TextIO, MediaLink | None], None]
Writer = TextWriter  # the signature of a text writer (kept for callers of saywho 0.1)


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """One output format: its name, file suffix and the writer that makes it.

    Exactly one of ``text`` (writes to a text stream), ``page`` (a text writer that also
    links the media file, e.g. the HTML review page) and ``binary`` is set.
    """

    name: str
    suffix: str
    """Appended to the output stem: ``.srt``, ``.audacity.txt`` (never two formats alike)."""
    description: str
    text: TextWriter | None = None
    page: PageWriter | None = None
    binary: BinaryWriter | None = None

    def __post_init__(self) -> None:
        if sum(w is not None for w in (self.text, self.page, self.binary)) != 1:
            raise ValueError(f"format {self.name}: set exactly one of text, page, binary")

    @property
    def is_binary(self) -> bool:
        """Whether the format writes bytes (a binary stream) rather than text."""
        return self.binary is not None


WRITERS: Mapping[str, OutputFormat] = MappingProxyType(
    {
        f.name: f
        for f in (
            OutputFormat("txt", ".txt", "speaker-labelled lines with times", text=write_txt),
            OutputFormat("srt", ".srt", "SubRip subtitles, Name: prefixes", text=write_srt),
            OutputFormat("vtt", ".vtt", "WebVTT subtitles, <v Name> voice tags", text=write_vtt),
            OutputFormat("json", ".json", "everything: words, speakers, turns", text=write_json),
            OutputFormat("tsv", ".tsv", "one utterance per row, tab-separated", text=write_tsv),
            OutputFormat("rttm", ".rttm", "diarization turns for scoring tools", text=write_rttm),
            OutputFormat("csv", ".csv", "one utterance per row, for spreadsheets", text=write_csv),
            OutputFormat("audacity", ".audacity.txt", "Audacity label track", text=write_audacity),
            OutputFormat(
                "textgrid", ".TextGrid", "Praat TextGrid, a tier per speaker", text=write_textgrid
            ),
            OutputFormat("docx", ".docx", "Word document of the interview", binary=write_docx),
            OutputFormat("html", ".html", "interactive review page", page=write_html),
        )
    }
)
FORMATS: tuple[str, ...] = tuple(WRITERS)


def output_format(fmt: str) -> OutputFormat:
    """The registry entry of ``fmt``; :class:`OutputError` naming the known ones if none."""
    found = WRITERS.get(fmt)
    if found is None:
        raise OutputError(f"unknown output format {fmt!r}; known: {', '.join(FORMATS)}")
    return found


def write(
    transcript: Transcript,
    fmt: str,
    stream: TextIO,
    *,
    media: MediaLink | None = None,
    options: WriteConfig | None = None,
) -> None:
    """Write ``transcript`` to the text ``stream`` in format ``fmt`` (a key of ``WRITERS``).

    The utterances written are the transcript's words regrouped into speaker runs
    (:func:`saywho.utterances.speaker_runs`). ``options`` (default: the transcript's own
    ``config.write``) set the pause that ends an utterance and the subtitle limits.
    ``media`` tells a page format (``html``) where the media file is. Raises
    :class:`OutputError` for an unknown format, naming the known ones, or for a binary
    format (use :func:`write_binary`).
    """
    found = output_format(fmt)
    transcript = as_written(transcript, options)
    if found.text is not None:
        found.text(transcript, stream)
    elif found.page is not None:
        found.page(transcript, stream, media)
    else:
        raise OutputError(f"{fmt} is a binary format: write it to a binary stream")


def write_binary(
    transcript: Transcript,
    fmt: str,
    stream: IO[bytes],
    *,
    media: MediaLink | None = None,
    options: WriteConfig | None = None,
) -> None:
    """Write ``transcript`` to the binary ``stream`` in any format (text ones as UTF-8).

    ``options`` as for :func:`write`.
    """
    found = output_format(fmt)
    if found.binary is not None:
        found.binary(as_written(transcript, options), stream)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
    try:
        write(transcript, fmt, text, media=media, options=options)
        text.flush()
    finally:
        text.detach()  # the caller owns the binary stream: leave it open


def as_written(transcript: Transcript, options: WriteConfig | None = None) -> Transcript:
    """``transcript`` as the writers take it: ``options`` (if given) as its ``config.write``,
    and its utterances regrouped into speaker runs with that config's pause."""
    config = transcript.config
    if options is not None and options != config.write:
        config = dataclasses.replace(config, write=options)
    utterances = speaker_runs(transcript.utterances, gap_s=config.write.utterance_gap_s)
    if config is transcript.config and utterances == transcript.utterances:
        return transcript
    return dataclasses.replace(transcript, config=config, utterances=utterances)


def parse_formats(text: str) -> tuple[str, ...]:
    """Parse a comma-separated format list such as ``"txt,srt"`` (or ``"all"``).

    Names are stripped and lower-cased; duplicates are dropped, first occurrence kept;
    ``all`` stands for every format. Raises :class:`OutputError` for an unknown name or
    an empty list.
    """
    chosen: list[str] = []
    for item in text.split(","):
        name = item.strip().lower()
        if not name:
            continue
        if name == "all":
            names = FORMATS
        elif name in WRITERS:
            names = (name,)
        else:
            raise OutputError(f"unknown output format {name!r}; known: {', '.join(FORMATS)}, all")
        chosen.extend(n for n in names if n not in chosen)
    if not chosen:
        raise OutputError(f"no output format given; choose from {', '.join(FORMATS)}, all")
    return tuple(chosen)
