"""Multipart uploads streamed straight to disk, under names we generate.

The request body is parsed as it arrives (python-multipart's streaming parser): file parts
go chunk by chunk into ``<dir>/<random>.part``, never held whole in memory, and the upload
stops as soon as it passes the size limit. The client's file name is kept only as a label.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header

from saywho.errors import SaywhoError

__all__ = ["Upload", "UploadError", "UploadedFile", "receive_upload"]

_MAX_FIELD_BYTES = 1000
_MAX_FIELDS = 20
_DISPOSITION = re.compile(rb'(?:^|;)\s*(filename\*?|name)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class UploadError(SaywhoError):
    """The upload is malformed or too large; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One file part: where we stored it, the label the client gave, its size."""

    path: Path
    filename: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Upload:
    """A parsed upload: its file parts (field ``files``) and its short text fields."""

    files: tuple[UploadedFile, ...]
    fields: dict[str, str]


@dataclass(slots=True)
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    header_name: bytes = b""
    header_value: bytes = b""
    name: str | None = None
    filename: str | None = None
    path: Path | None = None
    stream: IO[bytes] | None = None
    size: int = 0
    text: bytearray = field(default_factory=bytearray)


class _Receiver:
    """The parser's callbacks: they fill parts and enforce the limits."""

    def __init__(self, directory: Path, max_bytes: int, max_files: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.total = 0
        self.part = _Part()
        self.files: list[UploadedFile] = []
        self.fields: dict[str, str] = {}
        self.written: list[Path] = []

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        part = self.part
        part.headers[part.header_name.decode("latin-1").strip().lower()] = part.header_value
        part.header_name, part.header_value = b"", b""

    def on_headers_finished(self) -> None:
        part = self.part
        params = _disposition(part.headers.get("content-disposition", b""))
        part.name = params.get("name")
        if part.name is None:
            raise UploadError(400, "a form part has no name (Content-Disposition: form-data)")
        part.filename = params.get("filename")
        if part.filename is not None:
            if part.name != "files":
                raise UploadError(400, f"files go in the form field 'files', not {part.name!r}")
            if len(self.files) >= self.max_files:
                raise UploadError(413, f"at most {self.max_files} files per upload")
            part.path = self.directory / f"{secrets.token_hex(16)}.part"
            self.written.append(part.path)
            part.stream = part.path.open("xb")
        elif len(self.fields) >= _MAX_FIELDS:
            raise UploadError(400, f"at most {_MAX_FIELDS} form fields")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        size = end - start
        part.size += size
        self.total += size
        if self.total > self.max_bytes:
            raise UploadError(
                413, f"the upload is larger than this server's limit of {_mb(self.max_bytes)}"
            )
        if part.stream is not None:
            part.stream.write(data[start:end])
        else:
            if part.size > _MAX_FIELD_BYTES:
                raise UploadError(400, f"form field {part.name!r} is too long")
            part.text += data[start:end]

    def on_part_end(self) -> None:
        part = self.part
        if part.stream is not None and part.path is not None:
            part.stream.close()
            part.stream = None
            self.files.append(UploadedFile(part.path, _label(part.filename), part.size))
        elif part.name is not None:
            if part.name in self.fields:
                raise UploadError(400, f"form field {part.name!r} is given twice")
            try:
                self.fields[part.name] = part.text.decode("utf-8")
            except UnicodeDecodeError:
                raise UploadError(400, f"form field {part.name!r} is not UTF-8 text") from None

    def discard(self) -> None:
        if self.part.stream is not None:
            self.part.stream.close()
        for path in self.written:
            path.unlink(missing_ok=True)


async def receive_upload(
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    directory: Path,
    *,
    max_bytes: int,
    max_files: int,
) -> Upload:
    """Parse a ``multipart/form-data`` body from ``chunks`` into files under ``directory``.

    Raises :class:`UploadError` (and removes what it wrote) for a body that is not
    multipart form data, is malformed, holds no file, or passes ``max_bytes``.
    """
    boundary = _boundary(content_type)
    directory.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(directory, max_bytes, max_files)
    callbacks = {
        name: getattr(receiver, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
        if receiver.part.stream is not None:
            raise UploadError(400, "the upload ended in the middle of a file")
    except UploadError:
        receiver.discard()
        raise
    except Exception as error:  # the parser's own errors: a malformed body
        receiver.discard()
        raise UploadError(400, f"malformed multipart body ({error})") from None
    if not receiver.files:
        receiver.discard()
        raise UploadError(422, "no file: send one or more media files in the form field 'files'")
    return Upload(tuple(receiver.files), receiver.fields)


def _boundary(content_type: str | None) -> bytes:
    if not content_type:
        raise UploadError(415, "send the files as multipart/form-data")
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadError(415, "send the files as multipart/form-data (with a boundary)")
    if len(boundary) > 200:
        raise UploadError(400, "the multipart boundary is too long")
    return boundary


def _disposition(value: bytes) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _DISPOSITION.finditer(value):
        key = match.group(1).decode("latin-1").lower()
        raw = match.group(2).strip()
        if raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2:
            raw = raw[1:-1].replace(b'\\"', b'"')
        params[key.rstrip("*")] = raw.decode("utf-8", "replace")
    return params


def _label(filename: str | None) -> str:
    """A display name from the client's file name: its last path part, printable, short."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200] or "upload"


def _mb(size: int) -> str:
    return f"{size / 1e6:g} MB"
