"""Output writers: a transcript to text, subtitles or data, each written to a ``TextIO``.

The CLI and the server choose paths and open files; a writer only formats. ``WRITERS``
is the registry of every format by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TextIO

from saywho.errors import OutputError
from saywho.formats.json import read_json, write_json
from saywho.formats.rttm import write_rttm
from saywho.formats.srt import write_srt
from saywho.formats.tsv import write_tsv
from saywho.formats.txt import write_txt
from saywho.formats.vtt import write_vtt
from saywho.types import Transcript

__all__ = ["FORMATS", "WRITERS", "Writer", "parse_formats", "read_json", "write"]

Writer = Callable[[Transcript, TextIO], None]

WRITERS: Mapping[str, Writer] = MappingProxyType(
    {
        "txt": write_txt,
        "srt": write_srt,
        "vtt": write_vtt,
        "json": write_json,
        "tsv": write_tsv,
        "rttm": write_rttm,
    }
)
FORMATS: tuple[str, ...] = tuple(WRITERS)


def write(transcript: Transcript, fmt: str, stream: TextIO) -> None:
    """Write ``transcript`` to ``stream`` in format ``fmt`` (a key of ``WRITERS``).

    Raises :class:`OutputError` for an unknown format, naming the known ones.
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        raise OutputError(f"unknown output format {fmt!r}; known: {', '.join(FORMATS)}")
    writer(transcript, stream)


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
