"""Subtitles on real recordings: the broadcast rules before and after, measured on the files.

Run it from the repository root, with the shared evaluation data next to the repository::

    python benchmarks/subtitles.py [--eval-dir ../shared/eval] [--model tiny.en]
                                   [--before REV] [--out FILE]

Every multi-speaker item of the development set (``INDEX.tsv``) is transcribed once, with
diarization, by the code of ``--before`` (default: the commit this branch left ``main`` at),
and the transcript is cached as JSON under ``benchmarks/.cache/subtitles/``: a second run
only writes and measures. From that same transcript both sides write an SRT file: BEFORE
with the writers of ``--before`` (run from a ``git archive`` of it, in a subprocess), AFTER
with the writers of this checkout. pysubs2 reads both files back and we tabulate what a
viewer sees: line lengths (speaker label included), lines a cue, cue durations, reading
speed, words a cue, gaps between cues, and the breaks of the broadcast rules (see
``RULES`` below) that the words allowed us to avoid.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pysubs2

from provenance import git_state
from saywho.atomic import atomic_text_file
from saywho.config import WriteConfig
from saywho.formats import write
from saywho.formats.json import read_json

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "benchmarks" / ".cache" / "subtitles"
RULES = WriteConfig()  # the defaults: the BBC / Netflix guides
RULE_TEXT = (
    f"line ≤ {RULES.max_line_width} characters (label included; a single word may be longer), "
    f"≤ {RULES.max_line_count} lines, cue {RULES.min_cue_s} to {RULES.max_cue_s} s (shorter only "
    f"where the next cue starts {RULES.cue_gap_s} s later), ≤ {RULES.max_chars_per_s:g} "
    f"characters/s (unless the cue is at its longest or the next one starts), "
    f"≥ {RULES.cue_gap_s} s between cues (2 frames at 25 fps)"
)

# Runs in a subprocess with PYTHONPATH set to the old code: transcribe, or write SRT.
TRANSCRIBE = """
import sys
from saywho import transcribe
from saywho.formats.json import write_json
transcript = transcribe(sys.argv[1], model=sys.argv[2])
with open(sys.argv[3], "w", encoding="utf-8") as stream:
    write_json(transcript, stream)
"""
WRITE_SRT = """
import sys
from saywho.formats import write
from saywho.formats.json import read_json
with open(sys.argv[1], encoding="utf-8") as stream:
    transcript = read_json(stream)
write(transcript, "srt", sys.stdout)
"""


@dataclass(frozen=True, slots=True)
class Stats:
    """What a viewer sees in one SRT file."""

    cues: int
    max_line: int
    long_lines: int
    max_lines: int
    min_cue_s: float
    short_cues: int
    max_cps: float
    fast_cues: int
    words_per_cue: float
    min_gap_s: float
    rule_breaks: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--before", default=None, help="git revision (default: merge-base main)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/subtitles.md")
    args = parser.parse_args()
    before = args.before or _git("merge-base", "HEAD", "main")
    items = _items(args.eval_dir)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old_src = _archive(before, Path(tmp))
        for uri, audio, seconds in items:
            cached = _transcribed(uri, audio, args.model, old_src)
            old_srt = _run(old_src, WRITE_SRT, str(cached))
            new_srt = _written(cached, "srt")
            rows.append((uri, seconds, _stats(old_srt), _stats(new_srt)))
            print(f"{uri}: done", file=sys.stderr)
    sample = CACHE / args.model / "sample.json"
    report = _report(rows, args, before, sample if sample.exists() else None)
    with atomic_text_file(args.out) as stream:
        stream.write(report)
    print(report)


def _items(eval_dir: Path) -> list[tuple[str, Path, float]]:
    with (eval_dir / "INDEX.tsv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    return [(r["uri"], eval_dir / r["audio"], float(r["duration_s"])) for r in rows]


def _transcribed(uri: str, audio: Path, model: str, old_src: Path) -> Path:
    """The cached transcript of ``audio`` (made once, by the old code)."""
    path = CACHE / model / f"{uri}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        _run(old_src, TRANSCRIBE, str(audio), model, str(partial))
        partial.replace(path)
    return path


def _written(cached: Path, fmt: str) -> str:
    with cached.open(encoding="utf-8") as stream:
        transcript = read_json(stream)
    out = io.StringIO()
    write(transcript, fmt, out)
    return out.getvalue()


def _stats(srt: str) -> Stats:
    events = pysubs2.SSAFile.from_string(srt, format_="srt").events
    if not events:
        return Stats(0, 0, 0, 0, 0.0, 0, 0.0, 0, 0.0, 0.0, 0)
    lines = [e.plaintext.split("\n") for e in events]
    durations = [(e.end - e.start) / 1000 for e in events]
    chars = [sum(len(line) for line in cue) for cue in lines]
    speeds = [c / max(d, 1e-3) for c, d in zip(chars, durations, strict=True)]
    gaps = [(b.start - a.end) / 1000 for a, b in itertools.pairwise(events)]
    width, short_s, fast = RULES.max_line_width, RULES.min_cue_s, RULES.max_chars_per_s
    breaks = 0
    for index, cue in enumerate(lines):
        blocked = index < len(gaps) and gaps[index] <= RULES.cue_gap_s + 0.0015
        longest = durations[index] >= RULES.max_cue_s - 0.0015
        breaks += sum(len(line) > width and " " in line for line in cue)
        breaks += len(cue) > RULES.max_line_count
        breaks += durations[index] > RULES.max_cue_s + 0.0015
        breaks += durations[index] < short_s - 0.0015 and not blocked
        breaks += speeds[index] > fast + 0.1 and not (blocked or longest)
        breaks += index < len(gaps) and gaps[index] < RULES.cue_gap_s - 0.0015
    return Stats(
        cues=len(events),
        max_line=max(len(line) for cue in lines for line in cue),
        long_lines=sum(len(line) > width for cue in lines for line in cue),
        max_lines=max(len(cue) for cue in lines),
        min_cue_s=min(durations),
        short_cues=sum(d < short_s - 0.0015 for d in durations),
        max_cps=max(speeds),
        fast_cues=sum(s > fast + 0.1 for s in speeds),
        words_per_cue=statistics.fmean(len(" ".join(cue).split()) for cue in lines),
        min_gap_s=min(gaps, default=0.0),
        rule_breaks=breaks,
    )


def _report(
    rows: list[tuple[str, float, Stats, Stats]],
    args: argparse.Namespace,
    before: str,
    sample: Path | None,
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Subtitles: broadcast rules on the development set, before and after",
        "",
        f"- machine: {platform.machine()}, nproc {len(os.sched_getaffinity(0))}, "
        f"Python {platform.python_version()}",
        f"- date: {now}",
        "- command: `python benchmarks/subtitles.py`"
        + (f" `--model {args.model}`" if args.model != "tiny.en" else ""),
        f"- code: AFTER = {git_state()}; BEFORE = the writers of `{before[:7]}` (main)",
        f"- versions: pysubs2 {version('pysubs2')}, faster-whisper {version('faster-whisper')}",
        f"- transcripts: `{args.model}` with diarization, made once by the BEFORE code and cached "
        "(`benchmarks/.cache/subtitles/`); both sides write SRT from the same transcript",
        f"- rules (defaults of `[write]`): {RULE_TEXT}",
        f"- eval data: `{args.eval_dir}` (`INDEX.tsv`, {len(rows)} files)",
        "",
        "Columns: cues; longest line (characters, label included) and lines over "
        f"{RULES.max_line_width}; most lines in a cue; shortest cue (s) and cues under "
        f"{RULES.min_cue_s} s; fastest cue (characters/s) and cues over "
        f"{RULES.max_chars_per_s:g}/s; mean words a cue; smallest gap between cues (s, "
        "negative: overlap); rule breaks the words allowed us to avoid (see rules).",
        "",
        "| file | audio s | side | cues | max line | > width | max lines | min cue s "
        "| < min | max cps | > cps | words/cue | min gap s | rule breaks |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for uri, seconds, old, new in rows:
        for side, s in (("before", old), ("after", new)):
            out.append(
                f"| {uri} | {seconds:.1f} | {side} | {s.cues} | {s.max_line} | {s.long_lines} "
                f"| {s.max_lines} | {s.min_cue_s:.3f} | {s.short_cues} | {s.max_cps:.1f} "
                f"| {s.fast_cues} | {s.words_per_cue:.1f} | {s.min_gap_s:.3f} | {s.rule_breaks} |"
            )
    for side, stats in (
        ("before", [old for _, _, old, _ in rows if old.cues]),
        ("after", [new for _, _, _, new in rows if new.cues]),
    ):
        out.append(
            f"| **all** | {sum(r[1] for r in rows):.1f} | {side} | {sum(s.cues for s in stats)} "
            f"| {max(s.max_line for s in stats)} | {sum(s.long_lines for s in stats)} "
            f"| {max(s.max_lines for s in stats)} | {min(s.min_cue_s for s in stats):.3f} "
            f"| {sum(s.short_cues for s in stats)} | {max(s.max_cps for s in stats):.1f} "
            f"| {sum(s.fast_cues for s in stats)} "
            f"| {sum(s.words_per_cue * s.cues for s in stats) / sum(s.cues for s in stats):.1f} "
            f"| {min(s.min_gap_s for s in stats):.3f} | {sum(s.rule_breaks for s in stats)} |"
        )
    if sample is not None:
        srt = _written(sample, "srt").split("\n\n")
        out += [
            "",
            "## pyannote_sample, after",
            "",
            "`sample.txt`:",
            "",
            "```",
            _written(sample, "txt").rstrip("\n"),
            "```",
            "",
            "The first 10 cues of `sample.srt`:",
            "",
            "```",
            "\n\n".join(srt[:10]).rstrip("\n"),
            "```",
        ]
    return "\n".join(out) + "\n"


def _archive(revision: str, into: Path) -> Path:
    """The ``src/`` of ``revision``, unpacked under ``into``; returns that ``src``."""
    data = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _run(src: Path, script: str, *argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the old code failed on {argv}:\n{done.stderr}")
    return done.stdout


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    main()
