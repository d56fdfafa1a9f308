"""Atomic file writes: a temporary file beside the target, renamed over it on success.

A reader never sees a half-written file, and a crash leaves the old file (or none).
:func:`write_together` extends that to a group: the files appear together or not at all.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TextIO, cast

__all__ = ["atomic_binary_file", "atomic_text_file", "write_together"]


@contextlib.contextmanager
def atomic_binary_file(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary stream that replaces ``path`` only if the block succeeds."""
    with _atomic(path, "wb", None) as stream:
        yield stream


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """Yield a UTF-8 text stream that replaces ``path`` only if the block succeeds."""
    with _atomic(path, "w", "utf-8") as stream:
        yield cast(TextIO, stream)


@functools.cache
def _umask() -> int:
    """The process umask (read once: setting it is the only way to read it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _atomic(path: Path, mode: str, encoding: str | None) -> Iterator[IO[bytes]]:
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        # mkstemp makes the file private (0600); a result gets the usual permissions.
        os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(
            descriptor, mode, encoding=encoding, newline="" if encoding else None
        ) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_together(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write each ``(path, content)``: all are written to temporary files first, then all are
    renamed into place; when one cannot be written (a full disk), none appears and no
    temporary file is left."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, content in files:
            staged.append((_write_temporary(path, content), path))
        for temporary, path in staged:
            temporary.replace(path)
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise


def _write_temporary(path: Path, content: bytes) -> Path:
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
