"""Writing results to files: chosen paths, atomic writes (temp file + rename)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from saywho.errors import OutputError
from saywho.formats import write
from saywho.types import Transcript

__all__ = ["atomic_text_file", "write_outputs"]


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """Open a temporary file beside ``path``; it replaces ``path`` only if the block succeeds."""
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=path.parent, prefix=f".{path.name}.", delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_outputs(
    transcript: Transcript, out_dir: Path, stem: str, formats: Sequence[str]
) -> tuple[Path, ...]:
    """Write ``transcript`` as ``out_dir/stem.<format>`` for each format, atomically."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            with atomic_text_file(path) as stream:
                write(transcript, fmt, stream)
            written.append(path)
    except OSError as error:
        raise OutputError(f"cannot write results to {out_dir}: {error.strerror or error}") from error
    return tuple(written)
