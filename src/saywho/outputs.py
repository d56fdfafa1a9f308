"""Writing results to files: chosen paths, atomic writes (temp file + rename)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from saywho.atomic import atomic_binary_file
from saywho.config import WriteConfig
from saywho.errors import OutputError
from saywho.formats import MediaLink, output_format, write_binary
from saywho.formats.html import media_data_uri, media_type_of
from saywho.types import Transcript

__all__ = ["output_path", "write_file", "write_outputs"]


def output_path(out_dir: Path, stem: str, fmt: str) -> Path:
    """Where format ``fmt`` of ``stem`` goes: ``out_dir/stem`` + the format's suffix."""
    return out_dir / f"{stem}{output_format(fmt).suffix}"


def write_outputs(
    transcript: Transcript,
    out_dir: Path,
    stem: str,
    formats: Sequence[str],
    *,
    media: Path | None = None,
    embed_media: bool = False,
) -> tuple[Path, ...]:
    """Write ``transcript`` as ``out_dir/stem<suffix>`` for each format, atomically.

    ``media`` is the recording a review page plays (default: the transcript's source);
    the page refers to it by its path relative to ``out_dir``, or holds it as a ``data:``
    URI with ``embed_media``. Raises :class:`OutputError` for an unknown format or a
    folder that cannot be written.
    """
    paths = [output_path(out_dir, stem, fmt) for fmt in formats]  # unknown formats fail first
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        link = _media_link(transcript, out_dir, media, embed_media) if "html" in formats else None
        for fmt, path in zip(formats, paths, strict=True):
            with atomic_binary_file(path) as stream:
                write_binary(transcript, fmt, stream, media=link)
    except OSError as error:
        raise OutputError(
            f"cannot write results to {out_dir}: {error.strerror or error}"
        ) from error
    return tuple(paths)


def write_file(
    transcript: Transcript,
    fmt: str,
    path: Path | str,
    *,
    options: WriteConfig | None = None,
    media: Path | None = None,
    embed_media: bool = False,
) -> Path:
    """Write ``transcript`` in format ``fmt`` to the file ``path`` (its folder made if need be),
    atomically; return the path.

    ``options`` change how it is written (default: the transcript's ``config.write``), e.g.
    ``WriteConfig(max_line_width=32)`` for narrower subtitles. ``media`` and ``embed_media``
    as for :func:`write_outputs`. Raises :class:`OutputError` for an unknown format or a
    file that cannot be written.
    """
    target = Path(path)
    output_format(fmt)  # an unknown format fails before anything is written
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        link = _media_link(transcript, target.parent, media, embed_media) if fmt == "html" else None
        with atomic_binary_file(target) as stream:
            write_binary(transcript, fmt, stream, media=link, options=options)
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from error
    return target


def _media_link(
    transcript: Transcript, out_dir: Path, media: Path | None, embed: bool
) -> MediaLink | None:
    path = media if media is not None else Path(transcript.source)
    if not path.name:
        return None
    kind = media_type_of(path.name)
    if embed:
        return MediaLink(media_data_uri(path), kind)
    relative = Path(os.path.relpath(path.absolute(), out_dir.absolute())).as_posix()
    return MediaLink(_url_path(relative), kind)


def _url_path(relative: str) -> str:
    """A relative file path as a URL path: ``#``, ``?``, ``%`` and spaces would break it."""
    return quote(relative, safe="/._-~")
