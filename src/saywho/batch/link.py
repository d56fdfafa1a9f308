"""``saywho batch --link-speakers``: one label per person across every finished file.

Runs after the files are transcribed, over all of them (this run's and earlier runs'), from
their JSON results, so it needs ``json`` among the formats. Two passes keep memory to one
transcript at a time: read every file's speakers (voice prints) and cluster them, then read,
relabel and rewrite each file whose labels changed. Linking is deterministic, so running it
again over the same files changes nothing.

The clustering compares every speaker with every other (average linkage on an n-by-n matrix),
so it suits batches of up to a few thousand speakers, not a whole archive at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from saywho.batch.report import ReportRow
from saywho.errors import SaywhoError
from saywho.formats.json import read_json
from saywho.identify.naming import link_labels, relabel
from saywho.outputs import output_path, write_outputs
from saywho.types import Transcript

__all__ = ["LinkSummary", "link_batch"]


@dataclass(frozen=True, slots=True)
class LinkSummary:
    """What linking did: files linked, people found (recurring: heard in 2+ files), files
    rewritten, and the files that could not be read (with why)."""

    files: int
    people: int
    recurring: int
    rewritten: int
    problems: tuple[str, ...]


def link_batch(
    rows: Sequence[ReportRow], out_dir: Path, formats: tuple[str, ...], threshold: float
) -> LinkSummary:
    """Relabel the finished files of ``rows`` under ``out_dir`` so that one person (voice
    cosine ≥ ``threshold``, or the same enrolled name) has one label in all of them."""
    problems: list[str] = []
    linked: list[ReportRow] = []
    speakers = []
    for row in rows:
        if not row.outcome.ok:
            continue
        try:
            transcript = _read(row, out_dir)
        except (SaywhoError, OSError) as error:
            problems.append(f"{row.outcome.source}: not linked: {error}")
            continue
        linked.append(row)
        speakers.append(transcript.speakers)
    mappings, seen = link_labels(speakers, threshold)
    # JSON, the record linking reads back, is replaced last: if writing stops half way, the
    # next run still sees the old labels and rewrites every format again.
    json_last = (*(fmt for fmt in formats if fmt != "json"), "json")
    rewritten = 0
    for row, mapping in zip(linked, mappings, strict=True):
        if all(old == new for old, new in mapping.items()):
            continue
        try:
            transcript = relabel(_read(row, out_dir), mapping)
            folder = out_dir / row.outcome.output.parent
            write_outputs(
                transcript, folder, row.outcome.output.name, json_last, media=row.outcome.source
            )
        except (SaywhoError, OSError) as error:
            problems.append(f"{row.outcome.source}: not linked: {error}")
            continue
        rewritten += 1
    recurring = sum(1 for _, files in seen if len(files) > 1)
    return LinkSummary(len(linked), len(seen), recurring, rewritten, tuple(problems))


def _read(row: ReportRow, out_dir: Path) -> Transcript:
    folder = out_dir / row.outcome.output.parent
    path = output_path(folder, row.outcome.output.name, "json")
    with path.open(encoding="utf-8") as stream:
        return read_json(stream, name=str(path))
