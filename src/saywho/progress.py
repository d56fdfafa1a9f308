"""Progress as people read it: one bar per file that only moves forward, and human durations.

The pipeline reports ``(stage, done_s, total_s)`` for each stage on its own (decode, detect,
recognize, segment, embed); :class:`FileProgress` folds those into one share of the whole
file's work, each stage weighted by its expected share, so that the bar, and the ETA rich
derives from it, speak for the whole file. :func:`progress_bar` is the bar every long
command shows; :func:`format_duration` writes "7 s", "3 min 05 s", "1 h 02 min".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from saywho.config import PipelineConfig

__all__ = [
    "STAGE_NAMES",
    "STAGE_WEIGHTS",
    "FileProgress",
    "expected_stages",
    "format_duration",
    "progress_bar",
]

STAGE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "decode": 0.02,
        "detect": 0.01,
        "recognize": 0.71,
        "segment": 0.05,
        "embed": 0.20,
        "write": 0.01,
    }
)
"""Each stage's expected share of a file's work on CPU with the default models (Whisper
base, segmentation-3.0, CAM++). Measured on four files of the development set (19 to 42 s,
two busy cores): recognize 69 to 75 %, embed 21 to 26 %, segment 2 to 6 %, the rest at
most 1 % each. Only their ratios matter.
"""

STAGE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "decode": "decoding",
        "detect": "finding speech",
        "recognize": "recognizing",
        "segment": "diarizing",
        "embed": "diarizing",
        "write": "writing",
        "done": "done",
    }
)
"""The words shown beside the bar for each stage."""


def expected_stages(config: PipelineConfig) -> tuple[str, ...]:
    """The stages a file goes through with ``config`` (``write`` last: the caller's)."""
    recognize = config.recognize.enabled
    return (
        "decode",
        *(("detect",) if recognize and config.vad.enabled else ()),
        *(("recognize",) if recognize else ()),
        *(("segment", "embed") if config.diarize.enabled else ()),
        "write",
    )


@dataclass(frozen=True, slots=True)
class FileProgress:
    """How far one file is, as a share in [0, 1] of all its ``stages``' work.

    Each stage counts with the largest share it reported, in any order (``per-turn``
    diarizes before it recognizes) and side by side (diarization runs while Whisper
    recognizes); ``done`` means every stage but ``write``. The share never goes back.
    """

    stages: tuple[str, ...] = tuple(STAGE_WEIGHTS)
    fraction: float = 0.0
    stage: str = ""
    shares: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def advance(self, stage: str, done_s: float, total_s: float) -> FileProgress:
        """This progress after ``stage`` reported ``done_s`` of ``total_s`` seconds."""
        shares = dict(self.shares)
        if stage == "done":
            shares.update((name, 1.0) for name in self.stages if name != "write")
        else:
            shares[stage] = max(shares.get(stage, 0.0), _share(done_s, total_s))
        weights = {name: STAGE_WEIGHTS.get(name, 0.0) for name in self.stages}
        total = sum(weights.values())
        done = sum(weight * shares.get(name, 0.0) for name, weight in weights.items())
        fraction = min(1.0, max(self.fraction, done / total)) if total > 0 else self.fraction
        return FileProgress(self.stages, fraction, stage, MappingProxyType(shares))

    @property
    def label(self) -> str:
        """The stages under way in words, for the line beside the bar ("recognizing +
        diarizing"); when none is, the last one reported."""
        running = [
            STAGE_NAMES.get(name, name)
            for name in self.stages
            if name != "write" and 0.0 < self.shares.get(name, 0.0) < 1.0
        ]
        if self.stage not in ("done", "write") and self.stage not in self.stages:
            running.append(self.stage)
        names = list(dict.fromkeys(running))
        return " + ".join(names) if names else STAGE_NAMES.get(self.stage, self.stage)


def _share(done_s: float, total_s: float) -> float:
    if not (total_s > 0 and math.isfinite(total_s) and math.isfinite(done_s)):
        return 0.0
    return min(1.0, max(0.0, done_s / total_s))


def format_duration(seconds: float) -> str:
    """A duration as people say it: ``0.4 s``, ``7 s``, ``3 min 05 s``, ``1 h 02 min``.

    Under 10 s keeps one decimal (``3.4 s``); from an hour on, seconds are dropped.
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "n/a"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest:02d} s"
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"


def progress_bar(console: Console) -> Progress:
    """A rich :class:`Progress` with one line per task, printing to ``console``.

    A task may carry a ``stage`` field (words shown after the ETA).
    """
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        _StageColumn(),
        console=console,
    )


class _StageColumn(ProgressColumn):
    """The task's ``stage`` field, if it has one."""

    def render(self, task: Task) -> Text:
        return Text(str(task.fields.get("stage", "")))
