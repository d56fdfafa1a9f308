"""Diarization benchmark: saywho against pyAudioAnalysis, side by side, in one run.

Run it from the repository root, with the shared evaluation data next to the repository
(``../shared/eval``) and the eval extra installed (``pip install -e '.[eval]'``)::

    python benchmarks/diarization.py [--eval-dir ../shared/eval] [--out FILE]
                                     [--skip-peer] [--skip-long]

The peer, pyAudioAnalysis, is not a dependency of saywho; install it (and the imports it does
not declare) into the environment that runs the benchmark only::

    pip install pyAudioAnalysis scikit-learn hmmlearn matplotlib imbalanced-learn plotly \\
        eyed3 pydub tqdm

Its speaker models ship inside its sdist (``pyAudioAnalysis/data/models``) and
``speaker_diarization`` finds them next to its own source. Those are scikit-learn 0.24 pickles;
newer scikit-learn loads them with a version warning, which is silenced here. Its k-means has
no seed of its own, so the global NumPy seed is set to 0 before each call. If it is missing or
fails on a file, that file's peer cells say ``n/a`` and why.

Data: every item of ``INDEX.tsv`` (AMI clips scored against both ``X.rttm`` and the
word-aligned ``X.only_words.rttm``, inside ``X.uem``; other items over the whole file), and six
conversations built in this run with :func:`saywho.evaluation.mixtures.build_conversation`
(2, 3, 4 speakers x overlap share 0 and 0.1, 1 to 3 minutes, fixed seeds) in a temporary folder.
Unless ``--skip-long``, a one-hour conversation is decoded and diarized in a child process whose
peak RSS (``VmHWM``) is reported, with its DER against the exact reference.

Systems, per file: saywho with its defaults (speakers counted automatically), saywho told the
true speaker count (``DiarizeConfig(num_speakers=n)``), and pyAudioAnalysis
``audioSegmentation.speaker_diarization(path, n)`` given the true count (it needs one; it has no
speech detection, so it labels silence too). saywho's time is the wall clock of
``Diarizer.diarize(audio)`` alone (decoded audio, models loaded before, one untimed warm-up);
the peer's is its whole call (it reads the file and loads its SVMs each time).

Scores come from :mod:`saywho.evaluation.score` (pyannote.metrics): DER with overlap scored and
JER, at collar 0 and 0.25 s. The collar is md-eval's (seconds forgiven on each side of a
reference boundary, i.e. pyannote.metrics ``collar=0.5``). Totals accumulate every component
over the files (time-weighted); a real-time factor total is total seconds over total audio.
The markdown report is printed and written to ``--out``.
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
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import numpy.typing as npt

from provenance import git_state
from saywho.audio.decode import decode
from saywho.config import DiarizeConfig
from saywho.diarize.diarizer import Diarizer
from saywho.evaluation.files import read_rttm, read_uem
from saywho.evaluation.mixtures import (
    Clip,
    MixtureSpec,
    build_conversation,
    load_clips,
    write_mixture,
)
from saywho.evaluation.score import DiarizationPair, DiarizationScore, score_diarization
from saywho.types import Audio, Span, Turn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "diarization.md"

COLLARS_S = (0.0, 0.25)
TARGET_TRUST = frozenset({"A", "A-"})
DER_TARGET = 0.20
COUNT_TARGET = 0.80
COUNT_MIN_SPEECH_S = 10.0
RTF_TARGET = 0.05
RSS_TARGET_BYTES = 1.5e9

# (speakers, overlap share, target seconds, seed) of each generated conversation.
MIXTURES = (
    (2, 0.0, 60.0, 11),
    (2, 0.1, 60.0, 12),
    (3, 0.0, 120.0, 13),
    (3, 0.1, 120.0, 14),
    (4, 0.0, 180.0, 15),
    (4, 0.1, 180.0, 16),
)
LONG_MIXTURE = (4, 0.1, 3600.0, 17)

# pyAudioAnalysis speaker_diarization defaults, passed explicitly: a class id per mid-term
# step of PEER_MID_STEP_S seconds; id i covers [i * step, (i + 1) * step).
PEER_MID_WINDOW_S = 1.0
PEER_MID_STEP_S = 0.1
PEER_SHORT_WINDOW_S = 0.1

AUTO, ORACLE, PEER = "saywho", "saywho, true count", "pyAudioAnalysis, true count"
SYSTEMS = (AUTO, ORACLE, PEER)


# --- values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference of an item: its kind (``rttm``, ``words``, ``exact``) and its turns."""

    kind: str
    turns: tuple[Turn, ...]

    @property
    def n_speakers(self) -> int:
        """Distinct speaker labels in the reference."""
        return len({turn.label for turn in self.turns})

    @property
    def speech_s(self) -> float:
        """Seconds during which anyone speaks (overlap counted once)."""
        return union_s([turn.span for turn in self.turns])


@dataclass(frozen=True, slots=True)
class Item:
    """One recording to diarize: its audio file, references and the region to score.

    ``n_speakers`` is the true count (INDEX.tsv, or the mixture's), given to the oracle
    run and the peer. ``group`` is ``real`` or ``mixture``; ``trust`` is INDEX.tsv's grade.
    """

    uri: str
    path: Path
    references: tuple[Reference, ...]
    uem: tuple[Span, ...]
    duration_s: float
    n_speakers: int
    trust: str
    group: str


@dataclass(frozen=True, slots=True)
class Run:
    """One system's answer on one item: turns and seconds, or why there is none."""

    system: str
    uri: str
    turns: tuple[Turn, ...] | None
    seconds: float | None
    error: str | None = None

    @property
    def n_speakers(self) -> int | None:
        """Distinct labels in the answer, or ``None`` without one."""
        return None if self.turns is None else len({turn.label for turn in self.turns})


@dataclass(frozen=True, slots=True)
class Scored:
    """One system on one item against one reference, at both collars."""

    item: Item
    reference: Reference
    run: Run
    collar0: DiarizationScore | None
    collar25: DiarizationScore | None


@dataclass(frozen=True, slots=True)
class Total:
    """One system over a set of items: accumulated scores, counting, speed."""

    name: str
    system: str
    files: int
    ran: int
    collar0: DiarizationScore | None
    collar25: DiarizationScore | None
    count_exact: int
    count_files: int
    seconds: float
    audio_s: float

    @property
    def rtf(self) -> float | None:
        """Total processing seconds over total audio seconds."""
        return self.seconds / self.audio_s if self.audio_s > 0 and self.ran else None


@dataclass(frozen=True, slots=True)
class LongRun:
    """The one-hour conversation, diarized in a child process."""

    duration_s: float
    n_speakers: int
    est_speakers: int
    diarize_s: float
    peak_rss_bytes: int
    loaded_rss_bytes: int
    collar0: DiarizationScore
    collar25: DiarizationScore


# --- small helpers -----------------------------------------------------------------------


def union_s(spans: Sequence[Span]) -> float:
    """Seconds covered by at least one of ``spans``."""
    total, reach = 0.0, 0.0
    for span in sorted(spans, key=lambda s: s.start):
        start = max(span.start, reach)
        if span.end > start:
            total += span.end - start
            reach = span.end
    return total


def labels_to_turns(
    labels: npt.NDArray[np.float64], step_s: float, duration_s: float
) -> tuple[Turn, ...]:
    """Turns of per-step class ids (shape (n,)): runs of one id, id i at [i*step, (i+1)*step)."""
    turns: list[Turn] = []
    first = 0
    for index in range(1, len(labels) + 1):
        if index == len(labels) or labels[index] != labels[first]:
            start, end = first * step_s, min(index * step_s, duration_s)
            if end > start:
                turns.append(Turn(Span(start, end), f"peer_{int(labels[first])}"))
            first = index
    return tuple(turns)


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """CPU model, usable cores and platform, for a report's header."""
    return f"{_cpu_model()}, nproc {_nproc()}, {platform.platform()}"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# --- data --------------------------------------------------------------------------------


def load_real_items(eval_dir: Path) -> tuple[Item, ...]:
    """Every row of ``INDEX.tsv``, with its references (two for AMI) and scoring region."""
    with (eval_dir / "INDEX.tsv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    return tuple(_real_item(eval_dir, row) for row in rows)


def _real_item(eval_dir: Path, row: dict[str, str]) -> Item:
    uri, rttm = row["uri"], eval_dir / row["rttm"]
    references = [Reference("rttm", _turns_of(rttm, uri))]
    words = rttm.with_name(f"{uri}.only_words.rttm")
    if words.is_file():
        references.append(Reference("words", _turns_of(words, uri)))
    duration_s = decode(eval_dir / row["audio"]).duration_s
    uem_path = rttm.with_name(f"{uri}.uem")
    uem = read_uem(uem_path)[uri] if uem_path.is_file() else (Span(0.0, duration_s),)
    return Item(
        uri=uri,
        path=eval_dir / row["audio"],
        references=tuple(references),
        uem=uem,
        duration_s=duration_s,
        n_speakers=int(row["n_speakers"]),
        trust=row["trust"],
        group="real",
    )


def _turns_of(rttm: Path, uri: str) -> tuple[Turn, ...]:
    return read_rttm(rttm).get(uri, ())


def build_mixtures(clips: Sequence[Clip], out_dir: Path) -> tuple[Item, ...]:
    """The generated conversations of :data:`MIXTURES`, written to ``out_dir``."""
    return tuple(_mixture_item(clips, out_dir, *params) for params in MIXTURES)


def _mixture_item(
    clips: Sequence[Clip],
    out_dir: Path,
    n_speakers: int,
    overlap_share: float,
    duration_s: float,
    seed: int,
) -> Item:
    spec = MixtureSpec(n_speakers=n_speakers, duration_s=duration_s, overlap_share=overlap_share)
    mixture = build_conversation(clips, spec, seed)
    uri = mixture_uri(n_speakers, overlap_share, duration_s, seed)
    wav = write_mixture(mixture, out_dir, uri)[0]
    return exact_item(uri, wav, mixture.turns, mixture.duration_s, "mixture")


def mixture_uri(n_speakers: int, overlap_share: float, duration_s: float, seed: int) -> str:
    """The name of one generated conversation of :data:`MIXTURES`."""
    return f"mix-{n_speakers}spk-{round(duration_s)}s-ov{round(100 * overlap_share)}-seed{seed}"


def exact_item(uri: str, wav: Path, turns: tuple[Turn, ...], duration_s: float, group: str) -> Item:
    """A generated conversation: exact reference ``turns``, scored over the whole file."""
    return Item(
        uri=uri,
        path=wav,
        references=(Reference("exact", turns),),
        uem=(Span(0.0, duration_s),),
        duration_s=duration_s,
        n_speakers=len({turn.label for turn in turns}),
        trust="exact",
        group=group,
    )


# --- the systems -------------------------------------------------------------------------


class SaywhoRunner:
    """saywho's diarizers: the default one, and one per true speaker count (loaded once each)."""

    def __init__(self) -> None:
        self._auto = Diarizer(DiarizeConfig())
        self._oracle: dict[int, Diarizer] = {}

    def warm_up(self, audio: Audio) -> None:
        """One untimed call, so that the first timed file does not pay for first-run setup."""
        self._auto.diarize(audio)

    def auto(self, item: Item, audio: Audio) -> Run:
        """The default configuration: the speaker count is found automatically."""
        return _timed(AUTO, item.uri, lambda: self._auto.diarize(audio).turns)

    def oracle(self, item: Item, audio: Audio) -> Run:
        """Told the true speaker count."""
        diarizer = self._oracle.get(item.n_speakers)
        if diarizer is None:
            diarizer = Diarizer(DiarizeConfig(num_speakers=item.n_speakers))
            diarizer.diarize(audio)  # warm-up, untimed
            self._oracle[item.n_speakers] = diarizer
        return _timed(ORACLE, item.uri, lambda: diarizer.diarize(audio).turns)


def _timed(system: str, uri: str, call: Callable[[], tuple[Turn, ...]]) -> Run:
    start = time.perf_counter()
    turns = call()
    return Run(system, uri, turns, time.perf_counter() - start)


def run_peer(item: Item) -> Run:
    """pyAudioAnalysis on ``item`` with the true speaker count, or ``n/a`` and why."""
    try:
        from pyAudioAnalysis import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            audioSegmentation,
        )
    except ImportError as error:
        return Run(PEER, item.uri, None, None, f"not installed ({error})")
    np.random.seed(0)  # its KMeans draws from the global generator
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn-0.24 pickles; pydub without ffmpeg
            labels = audioSegmentation.speaker_diarization(
                str(item.path),
                item.n_speakers,
                mid_window=PEER_MID_WINDOW_S,
                mid_step=PEER_MID_STEP_S,
                short_window=PEER_SHORT_WINDOW_S,
                plot_res=False,
            )[0]
    except Exception as error:  # a peer's crash is a result to report, not a reason to stop
        return Run(PEER, item.uri, None, None, f"{type(error).__name__}: {error}")
    seconds = time.perf_counter() - start
    turns = labels_to_turns(np.asarray(labels), PEER_MID_STEP_S, item.duration_s)
    return Run(PEER, item.uri, turns, seconds)


def run_all(items: Sequence[Item], *, skip_peer: bool) -> dict[tuple[str, str], Run]:
    """Every system on every item, keyed by (system, uri)."""
    runner = SaywhoRunner()
    runner.warm_up(decode(items[0].path))
    runs: dict[tuple[str, str], Run] = {}
    for item in items:
        audio = decode(item.path)
        found = [runner.auto(item, audio), runner.oracle(item, audio)]
        if skip_peer:
            found.append(Run(PEER, item.uri, None, None, "skipped (--skip-peer)"))
        else:
            found.append(run_peer(item))
        for run in found:
            runs[run.system, item.uri] = run
        print(_progress(item, found), file=sys.stderr, flush=True)
    return runs


def _progress(item: Item, runs: Sequence[Run]) -> str:
    parts = [
        f"{run.system}: {run.n_speakers} spk in {run.seconds:.2f} s"
        if run.seconds is not None
        else f"{run.system}: n/a"
        for run in runs
    ]
    return f"{item.uri} ({item.duration_s:.0f} s, {item.n_speakers} spk): " + "; ".join(parts)


# --- scoring -----------------------------------------------------------------------------


def score_rows(
    pairs: Sequence[tuple[Item, Reference]],
    runs: dict[tuple[str, str], Run],
    systems: Sequence[str] = SYSTEMS,
) -> list[Scored]:
    """Each system on each (item, reference) pair, at both collars."""
    rows = []
    for item, reference in pairs:
        for system in systems:
            run = runs[system, item.uri]
            scores = [_score_one(item, reference, run, collar) for collar in COLLARS_S]
            rows.append(Scored(item, reference, run, scores[0], scores[1]))
    return rows


def _score_one(
    item: Item, reference: Reference, run: Run, collar_s: float
) -> DiarizationScore | None:
    if run.turns is None:
        return None
    pair = DiarizationPair(item.uri, reference.turns, run.turns, item.uem)
    return score_diarization([pair], collar_s=collar_s).files[0]


def total(name: str, system: str, rows: Sequence[Scored]) -> Total:
    """``system`` over ``rows`` (one reference per item): accumulated scores and counting."""
    mine = [row for row in rows if row.run.system == system]
    ran = [row for row in mine if row.run.turns is not None]
    counted = [row for row in ran if row.reference.speech_s >= COUNT_MIN_SPEECH_S]
    return Total(
        name=name,
        system=system,
        files=len(mine),
        ran=len(ran),
        collar0=_accumulated(ran, 0.0),
        collar25=_accumulated(ran, 0.25),
        count_exact=sum(row.run.n_speakers == row.reference.n_speakers for row in counted),
        count_files=len(counted),
        seconds=sum(row.run.seconds or 0.0 for row in ran),
        audio_s=sum(row.item.duration_s for row in ran),
    )


def _accumulated(rows: Sequence[Scored], collar_s: float) -> DiarizationScore | None:
    if not rows:
        return None
    pairs = [
        DiarizationPair(row.item.uri, row.reference.turns, row.run.turns or (), row.item.uem)
        for row in rows
    ]
    return score_diarization(pairs, collar_s=collar_s).total


# --- the one-hour run (child process) ----------------------------------------------------


def measure_long(clips: Sequence[Clip], out_dir: Path) -> LongRun:
    """Build the one-hour conversation; decode + diarize it in a child; score its answer."""
    n_speakers, overlap_share, duration_s, seed = LONG_MIXTURE
    spec = MixtureSpec(n_speakers=n_speakers, duration_s=duration_s, overlap_share=overlap_share)
    mixture = build_conversation(clips, spec, seed)
    wav = write_mixture(mixture, out_dir, f"long-{n_speakers}spk-seed{seed}")[0]
    command = [sys.executable, "-c", RSS_CHILD, str(wav)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    turns = tuple(Turn(Span(start, end), label) for start, end, label in answer["turns"])
    pair = DiarizationPair("long", mixture.turns, turns, (Span(0.0, mixture.duration_s),))
    return LongRun(
        duration_s=mixture.duration_s,
        n_speakers=len(mixture.speakers),
        est_speakers=len({turn.label for turn in turns}),
        diarize_s=answer["diarize_s"],
        peak_rss_bytes=answer["peak_rss_kib"] * 1024,
        loaded_rss_bytes=answer["loaded_rss_kib"] * 1024,
        collar0=score_diarization([pair], collar_s=0.0).total,
        collar25=score_diarization([pair], collar_s=0.25).total,
    )


# The child imports only what decoding and diarizing need, so that its peak RSS is what a
# program that diarizes would pay. The peak is VmHWM of /proc/self/status (KiB), read after
# the model load and at the end: ru_maxrss would not do, since Linux carries the parent's
# high-water mark across fork/vfork + exec into the child's.
RSS_CHILD = """
import json, sys, time
from pathlib import Path
from saywho.audio.decode import decode
from saywho.config import DiarizeConfig
from saywho.diarize.diarizer import Diarizer

def peak_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")

diarizer = Diarizer(DiarizeConfig())
loaded_kib = peak_kib()
audio = decode(sys.argv[1])
start = time.perf_counter()
turns = diarizer.diarize(audio).turns
diarize_s = time.perf_counter() - start
print(json.dumps({
    "loaded_rss_kib": loaded_kib,
    "peak_rss_kib": peak_kib(),
    "diarize_s": diarize_s,
    "turns": [[t.span.start, t.span.end, t.label] for t in turns],
}))
"""


# --- report ------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def file_row(row: Scored) -> str:
    item, run, c0, c25 = row.item, row.run, row.collar0, row.collar25
    head = (
        f"| {item.uri} | {item.trust} | {row.reference.kind} | {item.duration_s:.1f} "
        f"| {row.reference.speech_s:.1f} | {row.reference.n_speakers} | {run.system} "
    )
    if run.turns is None or c0 is None or c25 is None:
        return head + f"| n/a | n/a: {run.error} | | | | | | |"
    rtf = f"{run.seconds / item.duration_s:.3f}" if run.seconds is not None else "n/a"
    return head + (
        f"| {run.n_speakers} | {pct(c0.der)} | {pct(c0.miss)} | {pct(c0.false_alarm)} "
        f"| {pct(c0.confusion)} | {pct(c25.der)} | {pct(c0.jer)} | {rtf} |"
    )


FILE_HEADER = (
    "| file | trust | ref | dur s | speech s | true spk | system | est spk | DER c0 % "
    "| miss % | FA % | conf % | DER c0.25 % | JER % | RTF |\n"
    "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)
TOTAL_HEADER = (
    "| set | system | files scored | DER c0 % | miss % | FA % | conf % | DER c0.25 % | JER % "
    "| count exact (speech ≥ 10 s) | RTF |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def total_row(t: Total) -> str:
    rtf = "n/a" if t.rtf is None else f"{t.rtf:.3f}"
    count = f"{t.count_exact}/{t.count_files}" if t.count_files else "n/a"
    if t.collar0 is None or t.collar25 is None:
        scores = "| n/a " * 6
    else:
        c0 = t.collar0
        scores = (
            f"| {pct(c0.der)} | {pct(c0.miss)} | {pct(c0.false_alarm)} "
            f"| {pct(c0.confusion)} | {pct(t.collar25.der)} | {pct(c0.jer)} "
        )
    return f"| {t.name} | {t.system} | {t.ran}/{t.files} {scores}| {count} | {rtf} |"


def header(argv: Sequence[str]) -> str:
    """Title, machine, date, command and versions."""
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("saywho", "onnxruntime", "pyannote.metrics", "pyAudioAnalysis", "scikit-learn")
    )
    return "\n".join(
        [
            "# Diarization benchmark",
            "",
            f"- machine: {machine()}",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- command: `python {shlex.join(argv)}`",
            f"- code: {git_state()}",
            f"- versions: {versions}, Python {platform.python_version()}",
            "- saywho: `Diarizer(DiarizeConfig())` defaults; 'true count' = "
            "`DiarizeConfig(num_speakers=n)`. Time = wall clock of `diarize(audio)` only.",
            "- pyAudioAnalysis: `audioSegmentation.speaker_diarization(path, n)` **given the "
            "true speaker count** (mid-term step 0.1 s, no speech detection: it labels "
            "silence too); time = its whole call.",
            "- DER: pyannote.metrics, overlap scored; collar 0.25 s on each side of reference "
            "boundaries (md-eval convention). Totals accumulate components over files "
            "(time-weighted). JER at collar 0. AMI: `rttm` = pyannote reference, `words` = "
            "word-aligned `only_words.rttm`, both inside `X.uem`.",
        ]
    )


def _nproc() -> int:
    return len(os.sched_getaffinity(0))


def targets_table(
    totals: dict[tuple[str, str], Total],
    oracle_worse: Sequence[tuple[str, float, float]],
    long_run: LongRun | None,
) -> str:
    """Each target: met or missed, with the numbers."""
    target = totals["A/A- (rttm)", AUTO]
    words = totals["A/A- (AMI words)", AUTO]
    counted = [totals["all real (rttm)", AUTO], totals["mixtures", AUTO]]
    exact = sum(t.count_exact for t in counted)
    of = sum(t.count_files for t in counted)
    seconds = sum(t.seconds for t in counted)
    audio_s = sum(t.audio_s for t in counted)
    der = target.collar0.der if target.collar0 else float("nan")
    der_words = words.collar0.der if words.collar0 else float("nan")
    rows = [
        "| target | value | met |",
        "|---|---|---|",
        f"| DER collar 0 on trust A/A- ≤ 20 % | {100 * der:.1f} % (AMI word-aligned refs: "
        f"{100 * der_words:.1f} %) | {met(der <= DER_TARGET)} |",
        f"| speaker count exact on files with ≥ 10 s speech ≥ 80 % | {exact}/{of} = "
        f"{100 * exact / max(of, 1):.0f} % (real + mixtures) "
        f"| {met(exact >= COUNT_TARGET * of)} |",
        f"| saywho RTF ≤ 0.05 | {seconds / audio_s:.3f} ({seconds:.1f} s / {audio_s:.0f} s, "
        f"real + mixtures) | {met(seconds / audio_s <= RTF_TARGET)} |",
        _long_target(long_run),
        _oracle_target(oracle_worse, totals),
    ]
    return "\n".join(rows)


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _long_target(long_run: LongRun | None) -> str:
    if long_run is None:
        return "| peak RSS diarizing 1 h ≤ 1.5 GB | not measured (--skip-long) | n/a |"
    peak = long_run.peak_rss_bytes
    return (
        f"| peak RSS diarizing 1 h ≤ 1.5 GB | {peak / 1e9:.2f} GB "
        f"({long_run.duration_s / 60:.1f} min; after imports + model load "
        f"{long_run.loaded_rss_bytes / 1e9:.2f} GB) | {met(peak <= RSS_TARGET_BYTES)} |"
    )


def _oracle_target(
    worse: Sequence[tuple[str, float, float]], totals: dict[tuple[str, str], Total]
) -> str:
    listed = "; ".join(f"{name}: {100 * a:.1f} → {100 * o:.1f}" for name, a, o in worse)
    sets = ", ".join(
        f"{name} {pct(_der(totals[name, AUTO]))} → {pct(_der(totals[name, ORACLE]))}"
        for name in ("A/A- (rttm)", "all real (rttm)", "mixtures")
    )
    files = f"{len(worse)} files worse (DER c0 auto → true count): {listed}" if worse else "none"
    return (
        f"| true count never worse than automatic (DER c0 per file) | {files}; "
        f"totals {sets} | {met(not worse)} |"
    )


def _der(t: Total) -> float | None:
    return t.collar0.der if t.collar0 else None


def long_table(long_run: LongRun) -> str:
    """The one-hour conversation's row."""
    return (
        "| conversation | dur min | true spk | est spk | DER c0 % | miss % | FA % | conf % "
        "| DER c0.25 % | RTF | peak RSS GB |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {LONG_MIXTURE[0]} speakers, overlap share {LONG_MIXTURE[1]}, seed {LONG_MIXTURE[3]} "
        f"| {long_run.duration_s / 60:.1f} | {long_run.n_speakers} | {long_run.est_speakers} "
        f"| {pct(long_run.collar0.der)} | {pct(long_run.collar0.miss)} "
        f"| {pct(long_run.collar0.false_alarm)} | {pct(long_run.collar0.confusion)} "
        f"| {pct(long_run.collar25.der)} | {long_run.diarize_s / long_run.duration_s:.3f} "
        f"| {long_run.peak_rss_bytes / 1e9:.2f} |"
    )


# --- main --------------------------------------------------------------------------------


def reference_pairs(items: Sequence[Item], kind: str) -> list[tuple[Item, Reference]]:
    """(item, reference) for items that have a reference of ``kind`` (``first``: the first)."""
    pairs = []
    for item in items:
        found = [r for r in item.references if kind in ("first", r.kind)]
        if found:
            pairs.append((item, found[0]))
    return pairs


def words_or_first(items: Sequence[Item]) -> list[tuple[Item, Reference]]:
    """The word-aligned reference where there is one, else the first."""
    return [(item, item.references[-1]) for item in items]


def oracle_worse(rows: Sequence[Scored]) -> list[tuple[str, float, float]]:
    """(file / ref, auto DER c0, true-count DER c0) where the true count scored worse."""
    by_key = {(row.item.uri, row.reference.kind, row.run.system): row for row in rows}
    worse = []
    for (uri, kind, system), row in by_key.items():
        other = by_key.get((uri, kind, ORACLE))
        if system != AUTO or other is None or row.collar0 is None or other.collar0 is None:
            continue
        if other.collar0.der > row.collar0.der + 1e-9:
            worse.append((f"{uri} ({kind})", row.collar0.der, other.collar0.der))
    return worse


def compute_totals(
    real: Sequence[Item], mixtures: Sequence[Item], runs: dict[tuple[str, str], Run]
) -> dict[tuple[str, str], Total]:
    """Every set's total, for every system, keyed by (set, system)."""
    trusted = [item for item in real if item.trust in TARGET_TRUST]
    sets = {
        "A/A- (rttm)": score_rows(reference_pairs(trusted, "first"), runs),
        "A/A- (AMI words)": score_rows(words_or_first(trusted), runs),
        "all real (rttm)": score_rows(reference_pairs(real, "first"), runs),
        "mixtures": score_rows(reference_pairs(mixtures, "first"), runs),
    }
    return {
        (name, system): total(name, system, rows)
        for name, rows in sets.items()
        for system in SYSTEMS
    }


def report(
    argv: Sequence[str],
    real: Sequence[Item],
    mixtures: Sequence[Item],
    runs: dict[tuple[str, str], Run],
    long_run: LongRun | None,
) -> str:
    """The whole markdown report."""
    real_rows = score_rows([*reference_pairs(real, "first"), *reference_pairs(real, "words")], runs)
    mixture_rows = score_rows(reference_pairs(mixtures, "first"), runs)
    totals = compute_totals(real, mixtures, runs)
    worse = oracle_worse([*real_rows, *mixture_rows])
    parts = [
        header(argv),
        "## Targets (saywho defaults)\n\n" + targets_table(totals, worse, long_run),
        "## Totals\n\n" + TOTAL_HEADER + "\n" + "\n".join(total_row(t) for t in totals.values()),
        "## Real recordings\n\n" + FILE_HEADER + "\n" + "\n".join(map(file_row, real_rows)),
        "## Generated conversations\n\n"
        + FILE_HEADER
        + "\n"
        + "\n".join(map(file_row, mixture_rows)),
    ]
    if long_run is not None:
        parts.append("## One hour (child process: decode + diarize)\n\n" + long_table(long_run))
    return "\n\n".join(parts) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/diarization.py",
        description="saywho diarization vs pyAudioAnalysis on the eval set and mixtures.",
    )
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report")
    parser.add_argument("--skip-peer", action="store_true", help="do not run pyAudioAnalysis")
    parser.add_argument("--skip-long", action="store_true", help="skip the one-hour RSS run")
    return parser


def parse_arguments(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> tuple[list[str], argparse.Namespace]:
    """The arguments as given and as parsed; a usage error unless ``--eval-dir`` has INDEX.tsv."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    if not (args.eval_dir / "INDEX.tsv").is_file():
        parser.error(f"{args.eval_dir}: no INDEX.tsv there; pass --eval-dir (../shared/eval)")
    return arguments, args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report and write it to ``--out``."""
    arguments, args = parse_arguments(_parser(), argv)
    started = time.perf_counter()
    real = load_real_items(args.eval_dir)
    clips = load_clips(args.eval_dir)
    with tempfile.TemporaryDirectory(prefix="saywho-diarization-bench-") as folder:
        mixtures = build_mixtures(clips, Path(folder))
        runs = run_all([*real, *mixtures], skip_peer=args.skip_peer)
        long_run = None if args.skip_long else measure_long(clips, Path(folder))
    command = ["benchmarks/diarization.py", *arguments]
    text = report(command, real, mixtures, runs, long_run)
    text += f"\nWhole run: {time.perf_counter() - started:.0f} s.\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
