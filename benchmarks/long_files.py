"""Long recordings: peak memory over time and DER of the whole pipeline on hours of audio.

Run it from the repository root with the shared evaluation data next to the repository
(``../shared/eval``) and the eval extra installed::

    python benchmarks/long_files.py [--hours 3] [--real-hours 1] [--model tiny.en]
                                    [--eval-dir ../shared/eval] [--out FILE]

Two recordings, each processed by ``Pipeline.transcribe`` (decode, VAD, Whisper, diarization,
attribution) in a child process whose resident memory is sampled every second from
``/proc/PID/status`` (``VmRSS``; the peak is ``VmHWM``):

1. a generated conversation of ``--hours`` (4 speakers, 10 % overlap, seed 21) built by
   :func:`saywho.evaluation.mixtures.build_conversation` from the single-speaker clips, with
   its exact reference turns;
2. the real recordings of ``INDEX.tsv`` laid end to end, again and again, up to
   ``--real-hours``. Each repetition of a file brings back the same people, so a speaker
   must keep one label across the whole file. AMI labels are participant ids (the same
   person in two meetings has one id), so they are kept; other files' labels become
   ``uri/label``.

DER is scored with :mod:`saywho.evaluation.score` (pyannote.metrics, overlap scored), at
collar 0 and 0.25 s (md-eval convention). The markdown report is printed and written to
``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from provenance import git_commit
from saywho.audio.decode import decode
from saywho.evaluation.files import read_rttm
from saywho.evaluation.mixtures import MixtureSpec, build_conversation, load_clips, write_mixture
from saywho.evaluation.score import DiarizationPair, DiarizationScore, score_diarization
from saywho.types import Span, Turn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "long_files.md"
RATE = 16_000
RSS_TARGET_BYTES = 2e9
SAMPLE_EVERY_S = 1.0
MIXTURE = (4, 0.1, 21)  # speakers, overlap share, seed


@dataclass(frozen=True, slots=True)
class LongFile:
    """A long recording to run: its wav and exact reference turns."""

    name: str
    wav: Path
    duration_s: float
    reference: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class LongRun:
    """What one child process did: turns, stage start times, memory samples, wall time."""

    file: LongFile
    turns: tuple[Turn, ...]
    words: int
    stages: tuple[tuple[str, float], ...]
    rss: tuple[tuple[float, int], ...]  # (seconds since start, bytes)
    peak_rss_bytes: int
    wall_s: float
    collar0: DiarizationScore
    collar25: DiarizationScore


# --- inputs ------------------------------------------------------------------------------


def build_long_mixture(eval_dir: Path, hours: float, out_dir: Path) -> LongFile:
    """A generated conversation of ``hours`` with exact reference turns."""
    n_speakers, overlap_share, seed = MIXTURE
    spec = MixtureSpec(
        n_speakers=n_speakers, duration_s=hours * 3600.0, overlap_share=overlap_share
    )
    mixture = build_conversation(load_clips(eval_dir), spec, seed)
    wav = write_mixture(mixture, out_dir, f"long-mixture-{hours:g}h")[0]
    return LongFile(f"mixture {hours:g} h", wav, mixture.duration_s, mixture.turns)


def build_real_concatenation(eval_dir: Path, hours: float, out_dir: Path) -> LongFile:
    """The real recordings end to end, repeated up to ``hours``, with global labels."""
    with (eval_dir / "INDEX.tsv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    pieces = [_real_piece(eval_dir, row) for row in rows]
    target = round(hours * 3600.0 * RATE)
    parts: list[npt.NDArray[np.float32]] = []
    turns: list[Turn] = []
    at = 0
    while at < target:
        for samples, piece_turns in pieces:
            offset_s = at / RATE
            turns.extend(Turn(t.span.shift(offset_s), t.label) for t in piece_turns)
            parts.append(samples)
            at += samples.shape[0]
            if at >= target:
                break
    wav = out_dir / f"long-real-{hours:g}h.wav"
    _write_wav(wav, np.concatenate(parts))
    return LongFile(f"real recordings {hours:g} h", wav, at / RATE, tuple(turns))


def _real_piece(
    eval_dir: Path, row: dict[str, str]
) -> tuple[npt.NDArray[np.float32], tuple[Turn, ...]]:
    uri = row["uri"]
    samples = decode(eval_dir / row["audio"]).samples
    turns = read_rttm(eval_dir / row["rttm"]).get(uri, ())
    ami = row["audio"].startswith("ami_")  # AMI labels are participant ids, global
    return samples, tuple(Turn(t.span, t.label if ami else f"{uri}/{t.label}") for t in turns)


def _write_wav(path: Path, samples: npt.NDArray[np.float32]) -> None:
    import wave

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(RATE)
        stream.writeframes(pcm.tobytes())


# --- the child ---------------------------------------------------------------------------

# The child imports only saywho; it prints one JSON line at the end. Stage starts are
# seconds since the child's start, from the pipeline's progress hook.
CHILD = """
import json, sys, time
from saywho import Pipeline, PipelineConfig, RecognizeConfig

started = time.perf_counter()
stages = []
def hook(stage, done_s, total_s):
    if not stages or stages[-1][0] != stage:
        stages.append((stage, time.perf_counter() - started))
        print(stage, file=sys.stderr, flush=True)
pipeline = Pipeline(PipelineConfig(recognize=RecognizeConfig(model=sys.argv[2])))
stages.append(("models loaded", time.perf_counter() - started))
transcript = pipeline.transcribe(sys.argv[1], progress=hook)
print(json.dumps({
    "stages": stages,
    "words": len(transcript.words),
    "turns": [[t.span.start, t.span.end, t.label] for t in transcript.turns],
}))
"""


def run_child(file: LongFile, model: str) -> LongRun:
    """Transcribe ``file`` in a child process, sampling its memory every second."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(file.wav), model],
        stdout=subprocess.PIPE,
        text=True,
    )
    samples: list[tuple[float, int]] = []
    peak = [0]
    sampler = threading.Thread(target=_sample, args=(child, started, samples, peak), daemon=True)
    sampler.start()
    stdout, _ = child.communicate()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"the child failed on {file.wav} (exit {child.returncode})")
    answer = json.loads(stdout.strip().splitlines()[-1])
    turns = tuple(Turn(Span(a, b), label) for a, b, label in answer["turns"])
    pair = DiarizationPair(file.name, file.reference, turns, (Span(0.0, file.duration_s),))
    return LongRun(
        file=file,
        turns=turns,
        words=int(answer["words"]),
        stages=tuple((str(name), float(at)) for name, at in answer["stages"]),
        rss=tuple(samples),
        peak_rss_bytes=peak[0],
        wall_s=time.perf_counter() - started,
        collar0=score_diarization([pair], collar_s=0.0).total,
        collar25=score_diarization([pair], collar_s=0.25).total,
    )


def _sample(
    child: subprocess.Popen[str], started: float, samples: list[tuple[float, int]], peak: list[int]
) -> None:
    status = Path(f"/proc/{child.pid}/status")
    while child.poll() is None:
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            break
        if "VmRSS" in fields:
            samples.append((time.perf_counter() - started, _kib(fields["VmRSS"]) * 1024))
            peak[0] = max(peak[0], _kib(fields.get("VmHWM", "0 kB")) * 1024)
        time.sleep(SAMPLE_EVERY_S)


def _kib(value: str) -> int:
    return int(value.split()[0])


# --- report ------------------------------------------------------------------------------


def report(runs: Sequence[LongRun], argv: Sequence[str], model: str) -> str:
    """The markdown report: a summary table, then memory over time for each run."""
    lines = [
        "# Long recordings: memory and DER of the whole pipeline",
        "",
        f"- machine: {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
        f"{platform.platform()}",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `{shlex.join(['python', 'benchmarks/long_files.py', *argv])}`",
        f"- code: git {git_commit()}",
        f"- pipeline: `Pipeline(PipelineConfig(recognize=RecognizeConfig(model={model!r})))`, "
        "everything else default (VAD, Whisper in blocks of at most 300 s of speech, diarization, "
        "attribution); one child process per file; RSS sampled every second, peak = VmHWM.",
        "",
        "| file | audio h | words | true spk | est spk | DER c0 % | miss % | FA % | conf % "
        "| DER c0.25 % | wall s | RTF | peak RSS GB | ≤ 2 GB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        c0 = run.collar0
        lines.append(
            f"| {run.file.name} | {run.file.duration_s / 3600:.2f} | {run.words} "
            f"| {len({t.label for t in run.file.reference})} | {len({t.label for t in run.turns})} "
            f"| {100 * c0.der:.1f} | {100 * c0.miss:.1f} | {100 * c0.false_alarm:.1f} "
            f"| {100 * c0.confusion:.1f} | {100 * run.collar25.der:.1f} | {run.wall_s:.0f} "
            f"| {run.wall_s / run.file.duration_s:.3f} | {run.peak_rss_bytes / 1e9:.2f} "
            f"| {'met' if run.peak_rss_bytes <= RSS_TARGET_BYTES else '**missed**'} |"
        )
    for run in runs:
        lines += ["", f"## Memory over time: {run.file.name}", "", _memory_table(run)]
    return "\n".join(lines) + "\n"


def _memory_table(run: LongRun, rows: int = 24) -> str:
    """RSS at evenly spaced moments, with the stage running then."""
    lines = ["| t s | stage | RSS GB |", "|---:|---|---:|"]
    if not run.rss:
        return "\n".join([*lines, "| n/a | n/a | n/a |"])
    picks = np.unique(np.linspace(0, len(run.rss) - 1, rows).round().astype(int))
    for index in picks:
        at, rss = run.rss[int(index)]
        lines.append(f"| {at:.0f} | {_stage_at(run.stages, at)} | {rss / 1e9:.2f} |")
    return "\n".join(lines)


def _stage_at(stages: Sequence[tuple[str, float]], at: float) -> str:
    current = "start"
    for name, since in stages:
        if since <= at:
            current = name
    return current


def main(argv: Sequence[str] | None = None) -> int:
    """Build both recordings, run them, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--hours", type=float, default=3.0, help="generated conversation")
    parser.add_argument("--real-hours", type=float, default=1.0, help="real recordings, repeated")
    parser.add_argument("--model", default="tiny.en", help="Whisper model (default tiny.en)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        files = [build_long_mixture(args.eval_dir, args.hours, Path(tmp))]
        if args.real_hours > 0:
            files.append(build_real_concatenation(args.eval_dir, args.real_hours, Path(tmp)))
        runs = [run_child(file, args.model) for file in files]
    text = report(runs, sys.argv[1:] if argv is None else argv, args.model)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
