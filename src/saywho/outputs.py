"""Writing results to files: chosen paths, atomic writes (temp file + rename)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from saywho.atomic import atomic_text_file
from saywho.errors import OutputError
from saywho.formats import write
from saywho.types import Transcript

__all__ = ["write_outputs"]


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
        raise OutputError(
            f"cannot write results to {out_dir}: {error.strerror or error}"
        ) from error
    return tuple(written)
