"""The batch report: one row per input, as CSV and JSON beside the results."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saywho.atomic import atomic_text_file
from saywho.batch.jobs import Outcome
from saywho.errors import OutputError

__all__ = ["REPORT_NAMES", "ReportRow", "write_report"]

REPORT_STEM = "saywho-batch-report"
REPORT_NAMES = (REPORT_STEM,)
"""Output names at the top of the output folder that inputs may not take."""

_COLUMNS = (
    "file",
    "output",
    "status",
    "this_run",
    "duration_s",
    "speakers",
    "seconds",
    "real_time_factor",
    "worker",
    "content_sha256",
    "error",
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One input: its latest outcome, and whether this run produced it."""

    outcome: Outcome
    this_run: bool

    @property
    def real_time_factor(self) -> float | None:
        """Processing seconds per second of audio (``None`` when there was no audio)."""
        outcome = self.outcome
        if not outcome.ok or outcome.duration_s <= 0:
            return None
        return outcome.seconds / outcome.duration_s

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values, in :data:`_COLUMNS` order."""
        outcome = self.outcome
        rtf = self.real_time_factor
        return {
            "file": str(outcome.source),
            "output": outcome.output.as_posix(),
            "status": "done" if outcome.ok else "failed",
            "this_run": self.this_run,
            "duration_s": round(outcome.duration_s, 3),
            "speakers": outcome.speakers,
            "seconds": round(outcome.seconds, 3),
            "real_time_factor": None if rtf is None else round(rtf, 4),
            "worker": outcome.worker,
            "content_sha256": outcome.content_sha256,
            "error": outcome.error,
        }


def write_report(rows: Sequence[ReportRow], out_dir: Path) -> tuple[Path, Path]:
    """Write ``saywho-batch-report.csv`` and ``.json`` into ``out_dir``, atomically."""
    records = [row.as_dict() for row in rows]
    done = [row for row in rows if row.outcome.ok]
    audio_s = sum(row.outcome.duration_s for row in done)
    busy_s = sum(row.outcome.seconds for row in done)
    totals = {
        "files": len(rows),
        "done": len(done),
        "failed": len(rows) - len(done),
        "done_this_run": sum(1 for row in done if row.this_run),
        "audio_hours": round(audio_s / 3600, 6),
        "real_time_factor": round(busy_s / audio_s, 4) if audio_s > 0 else None,
    }
    csv_path = out_dir / f"{REPORT_STEM}.csv"
    json_path = out_dir / f"{REPORT_STEM}.json"
    try:
        with atomic_text_file(csv_path) as stream:
            writer = csv.DictWriter(stream, fieldnames=_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for record in records:
                writer.writerow({k: "" if v is None else v for k, v in record.items()})
        with atomic_text_file(json_path) as stream:
            json.dump({"totals": totals, "files": records}, stream, indent=2, ensure_ascii=False)
            stream.write("\n")
    except OSError as error:
        raise OutputError(f"cannot write the batch report to {out_dir}: {error}") from error
    return csv_path, json_path
