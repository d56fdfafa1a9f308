"""Writing results to files: chosen paths, atomic writes (temp file + rename)."""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from saywho.atomic import atomic_binary_file, write_together
from saywho.config import WriteConfig
from saywho.errors import OutputError
from saywho.formats import MediaLink, output_format, write_binary
from saywho.formats.html import media_data_uri, media_type_of
from saywho.types import Transcript

__all__ = ["check_output_dir", "output_path", "write_file", "write_outputs"]

MIN_FREE_BYTES = 1_000_000
"""An output folder with less room than this is refused before any work is done."""


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
    """Write ``transcript`` as ``out_dir/stem<suffix>`` for each format, atomically: every
    format is rendered in memory first, then the files appear together or not at all.

    ``media`` is the recording a review page plays (default: the transcript's source);
    the page refers to it by its path relative to ``out_dir``, or holds it as a ``data:``
    URI with ``embed_media``. Raises :class:`OutputError` for an unknown format or a
    folder that cannot be written.
    """
    paths = [output_path(out_dir, stem, fmt) for fmt in formats]  # unknown formats fail first
    try:
        link = _media_link(transcript, out_dir, media, embed_media) if "html" in formats else None
        rendered = [_render(transcript, fmt, link) for fmt in formats]
        out_dir.mkdir(parents=True, exist_ok=True)
        write_together(list(zip(paths, rendered, strict=True)))
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


def check_output_dir(out_dir: Path) -> None:
    """Make sure results can be written to ``out_dir`` before any work is done: raises
    :class:`OutputError` for a file in its place, no permission, or a full disk. Creates
    nothing (a missing folder is made when the first results are written)."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write results to {out_dir}: {existing} is a file, not a folder")
    try:
        if existing == out_dir:
            with tempfile.TemporaryFile(dir=out_dir, prefix=".saywho-check-") as probe:
                probe.write(b"\0" * 4096)
                probe.flush()
                os.fsync(probe.fileno())
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        usage = shutil.disk_usage(existing)
    except OSError as error:
        raise OutputError(
            f"cannot write results to {out_dir}: {error.strerror or error}"
        ) from error
    if usage.total > 0 and usage.free < MIN_FREE_BYTES:  # pseudo file systems have no size
        raise OutputError(
            f"cannot write results to {out_dir}: its disk is full ({usage.free} bytes free)"
        )


def _render(transcript: Transcript, fmt: str, link: MediaLink | None) -> bytes:
    buffer = io.BytesIO()
    write_binary(transcript, fmt, buffer, media=link)
    return buffer.getvalue()


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
