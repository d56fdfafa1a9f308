"""Live benchmark: does ``saywho live`` keep up on 2 cores, how fast do words appear, and how
good is what is shown live next to an offline run of the same audio?

Run it from the repository root, with the shared evaluation data next to the repository
(``../shared/eval``) and the eval extra installed (``pip install -e '.[eval]'``)::

    python benchmarks/live.py [--models tiny.en,base] [--stream-minutes 30]
                              [--realtime-models tiny.en] [--skip-quality] [--skip-realtime]
                              [--only real,mixture,enrolled] [--eval-dir DIR] [--out FILE]

Two parts, each per Whisper model:

- **quality** (``--models``): every item is streamed through the live engine on the injected
  clock (:func:`saywho.live.run_simulated`: the engine decides exactly as it would live, as fast
  as the machine runs), then transcribed offline by the pipeline with the same models. We
  score what was shown live, the files written when the stream ended (the final pass) and the
  offline run: DER collar 0 (pyannote.metrics, overlap scored) and cpWER (meeteval), and the
  delay from a word's end to its committed appearance on the stream clock (compute not
  counted: that is the real-time part's). Items: the real development recordings of trust A and
  A- (``INDEX.tsv``; only ``sample`` has a timed transcript, for cpWER), two generated
  conversations of transcribed English clips (exact words and speakers), and a conversation of
  LibriSpeech speakers whose voices are enrolled from clips held out of it (the share of their
  committed words shown with the right name).
- **keeps up** (``--realtime-models``): the items above played back to back, repeated up to
  ``--stream-minutes``, at their natural pace on the wall clock, as ``saywho live FILE
  --realtime`` does (a feeding thread, the engine stepping when due). We report the engine's
  compute time and the process's CPU time as shares of the elapsed time, the delay over the
  stream (first and last five minutes), and the latency from the end of a word to its committed
  appearance with a speaker (p50, p95), and score the stream piece by piece.

The markdown report is printed and written to ``--out`` (``benchmarks/results/live.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from diarization import TARGET_TRUST, load_real_items
from provenance import git_state
from saywho import PipelineConfig, models
from saywho.atomic import atomic_text_file
from saywho.audio import decode
from saywho.config import EMBEDDING_MODEL, LiveConfig, RecognizeConfig
from saywho.evaluation.files import StmLine, read_stm, stm_text
from saywho.evaluation.mixtures import Clip, Mixture, MixtureSpec, build_conversation, load_clips
from saywho.evaluation.score import (
    DiarizationPair,
    TextPair,
    score_diarization,
    score_text,
)
from saywho.identify.enroll import Enroller
from saywho.identify.naming import Identification, VoicePrint
from saywho.live import (
    Committed,
    FedClock,
    LiveEngine,
    LiveModels,
    LiveUpdate,
    open_engine,
    run_simulated,
)
from saywho.live.session import stream_paced
from saywho.types import SAMPLE_RATE, Audio, Span, Transcript, Turn, Utterance
from saywho.vad.silero import SileroVad
from who_said_what import spoken

REPO = Path(__file__).resolve().parent.parent
NPROC = len(os.sched_getaffinity(0))
TEXT_MIXTURES = ((2, 0.1, 61, 2.0), (3, 0.1, 62, 2.0))  # speakers, overlap, seed, minutes
ENROLLED = (3, 0.05, 63, 2.0)
ENROL_CLIPS = 2  # clips of each LibriSpeech speaker held out of the conversation to enrol it
TARGETS = {"compute": 0.80, "p50": 2.5, "p95": 5.0, "cpwer_gap": 0.05, "der_gap": 0.08}


@dataclass(frozen=True, slots=True)
class Item:
    """One recording: its samples, reference turns (and scoring region), words if known,
    enrolled voices (speaker → name) if any."""

    uri: str
    kind: str
    samples: npt.NDArray[np.float32]
    turns: tuple[Turn, ...]
    uem: tuple[Span, ...] | None
    words: tuple[StmLine, ...] = ()
    speakers: int = 0
    voices: tuple[VoicePrint, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / SAMPLE_RATE


@dataclass(slots=True)
class Row:
    """One item under one model: the live, final and offline results."""

    item: Item
    model: str
    live: Transcript
    final: Transcript
    offline: Transcript
    committed: tuple[Committed, ...]
    live_compute_s: float
    offline_s: float
    named: tuple[int, int] = (0, 0)  # words of enrolled speakers named right, of all of them


@dataclass(slots=True)
class Stream:
    """The real-time run of one model."""

    model: str
    minutes: float
    elapsed_s: float
    compute_s: float
    cpu_s: float
    committed: tuple[Committed, ...]
    updates: list[tuple[float, LiveUpdate]] = field(default_factory=list)
    live: Transcript | None = None
    pieces: tuple[tuple[Item, float], ...] = ()


# -- items --------------------------------------------------------------------------------


def load_items(eval_dir: Path) -> list[Item]:
    """The real items, the transcribed conversations and the enrolled conversation."""
    items = []
    sample_words = read_stm(eval_dir / "pyannote_sample" / "sample.stm")["sample"]
    for real in load_real_items(eval_dir):
        if real.trust not in TARGET_TRUST:
            continue
        words = sample_words if real.uri == "sample" else ()
        items.append(
            Item(
                real.uri,
                "real",
                decode(real.path).samples.copy(),
                real.references[0].turns,
                real.uem,
                words,
                real.n_speakers,
            )
        )
    vad = SileroVad()
    clips = load_clips(eval_dir, languages=("en",), vad=vad)
    texts = [c for c in clips if c.text]
    for speakers, overlap, seed, minutes in TEXT_MIXTURES:
        spec = MixtureSpec(n_speakers=speakers, duration_s=60 * minutes, overlap_share=overlap)
        uri = f"mix-{speakers}spk-{round(60 * minutes)}s-seed{seed}"
        items.append(_mixture(uri, "mixture", build_conversation(texts, spec, seed)))
    items.append(_enrolled(clips))
    return items


def _mixture(uri: str, kind: str, mixture: Mixture) -> Item:
    turns = tuple(mixture.turns)
    lines = tuple(StmLine(uri, turn.label, turn.span, text) for turn, text in mixture.texts if text)
    return Item(uri, kind, mixture.samples, turns, None, lines, len({t.label for t in turns}))


def _enrolled(clips: Sequence[Clip]) -> Item:
    """A conversation of LibriSpeech speakers, each enrolled from clips kept out of it."""
    speakers, overlap, seed, minutes = ENROLLED
    by_speaker: dict[str, list[Clip]] = {}
    for clip in clips:
        if clip.speaker.startswith("librispeech_"):
            by_speaker.setdefault(clip.speaker, []).append(clip)
    chosen = sorted(by_speaker)[:speakers]
    held = {name: by_speaker[name][:ENROL_CLIPS] for name in chosen}
    used = [clip for name in chosen for clip in by_speaker[name][ENROL_CLIPS:]]
    spec = MixtureSpec(n_speakers=speakers, duration_s=60 * minutes, overlap_share=overlap)
    mixture = build_conversation(used, spec, seed)
    uri = f"enrolled-{speakers}spk-{round(60 * minutes)}s-seed{seed}"
    return replace(_mixture(uri, "enrolled", mixture), voices=_enrol(held))


def _enrol(held: dict[str, list[Clip]]) -> tuple[VoicePrint, ...]:
    """Each speaker's print from its held-out clips, as ``saywho voices enroll`` makes it."""
    enroller = Enroller()
    return tuple(
        VoicePrint(
            name,
            enroller.enroll(
                Audio(np.concatenate([c.samples for c in clips]), SAMPLE_RATE)
            ).embedding,
        )
        for name, clips in held.items()
    )


# -- quality (injected clock) -------------------------------------------------------------


def quality(items: Sequence[Item], model: str, threads: int) -> list[Row]:
    config = PipelineConfig(recognize=RecognizeConfig(model=model, threads=threads))
    live_models = LiveModels(config)
    pipeline = live_models.pipeline
    rows = []
    for item in items:
        voices = _identification(item)
        clock = FedClock()
        engine = open_engine(live_models, LiveConfig(final_pass=True), clock=clock, voices=voices)
        final = run_simulated(engine, clock, [item.samples])
        assert engine.shown is not None
        started = time.perf_counter()
        offline = pipeline.transcribe_audio(
            Audio(item.samples, SAMPLE_RATE), source=item.uri, voices=voices
        )
        offline_s = time.perf_counter() - started
        row = Row(
            item, model, engine.shown, final, offline, engine.committed, engine.compute_s, offline_s
        )
        row.named = _named(item, engine)
        rows.append(row)
        print(f"  {model} {item.uri}: done", file=sys.stderr, flush=True)
    return rows


def _identification(item: Item) -> Identification | None:
    if not item.voices:
        return None
    return Identification(item.voices, 0.5, models.spec(EMBEDDING_MODEL).sha256)


def _named(item: Item, engine: LiveEngine) -> tuple[int, int]:
    """Committed words inside an enrolled speaker's turns shown with that speaker's name."""
    if not item.voices:
        return (0, 0)
    names = {s.label: s.name for s in engine.last_update().speakers}
    right = total = 0
    for committed in engine.committed:
        word = committed.word
        middle = (word.start + word.end) / 2
        truth = [t.label for t in item.turns if t.span.start <= middle < t.span.end]
        if len(truth) != 1:
            continue
        total += 1
        right += names.get(word.speaker) == truth[0]
    return (right, total)


# -- keeps up (wall clock) ----------------------------------------------------------------


def realtime(items: Sequence[Item], model: str, minutes: float, threads: int) -> Stream:
    """The items back to back at their natural pace until ``minutes`` of stream."""
    pieces: list[tuple[Item, float]] = []
    at = 0.0
    while at < 60 * minutes:
        for item in items:
            if at >= 60 * minutes:
                break
            pieces.append((item, at))
            at += item.duration_s
    samples = np.concatenate([item.samples for item, _ in pieces])
    config = PipelineConfig(recognize=RecognizeConfig(model=model, threads=threads))
    live_models = LiveModels(config)
    started = time.monotonic()
    engine = open_engine(
        live_models,
        LiveConfig(final_pass=False),
        clock=lambda: time.monotonic() - started,
        recording=Path(tempfile.mkdtemp()) / "stream.wav",
    )
    stream = Stream(model, samples.shape[0] / SAMPLE_RATE / 60, 0.0, 0.0, 0.0, ())
    cpu = time.process_time()

    def record(update: LiveUpdate) -> None:
        stream.updates.append((time.monotonic() - started, update))

    stream_paced(engine, _paced(samples, started), on_update=record)
    stream.elapsed_s = time.monotonic() - started
    stream.cpu_s = time.process_time() - cpu
    stream.compute_s = engine.compute_s
    engine.finish()
    stream.live = engine.shown
    stream.committed = engine.committed
    stream.pieces = tuple(pieces)
    return stream


def _paced(samples: npt.NDArray[np.float32], started: float) -> Iterator[npt.NDArray[np.float32]]:
    chunk = SAMPLE_RATE // 10
    for first in range(0, samples.shape[0], chunk):
        wait_s = started + first / SAMPLE_RATE - time.monotonic()
        if wait_s > 0:
            time.sleep(wait_s)
        yield samples[first : first + chunk]


# -- scoring ------------------------------------------------------------------------------


def der(item: Item, transcript: Transcript, window: Span | None = None) -> tuple[float, float]:
    """Collar-0 DER parts of ``transcript`` (shifted into ``window`` of a stream if given):
    (errors in seconds, reference speech in seconds)."""
    turns = transcript.turns
    if window is not None:
        turns = tuple(
            Turn(Span(max(0.0, t.span.start - window.start), t.span.end - window.start), t.label)
            for t in turns
            if t.span.end > window.start and t.span.start < window.end
        )
        turns = tuple(
            Turn(Span(t.span.start, min(t.span.end, window.duration)), t.label)
            for t in turns
            if t.span.start < window.duration
        )
    scores = score_diarization(
        [DiarizationPair(item.uri, item.turns, turns, item.uem)], collar_s=0.0
    ).total
    wrong = scores.miss_s + scores.false_alarm_s + scores.confusion_s
    return wrong, scores.reference_speech_s


def cp_errors(item: Item, transcript: Transcript, window: Span | None = None) -> tuple[int, int]:
    """cpWER parts: (errors, reference words); (0, 0) for an item without words."""
    if not item.words:
        return (0, 0)
    if window is not None:  # the words of one piece of a stream
        words = tuple(
            w
            for w in transcript.words
            if w.span is not None and window.start <= w.start < window.end
        )
        transcript = replace(transcript, utterances=(Utterance(window, "", words),))
    result = score_text([TextPair(item.uri, stm_text(item.words), spoken(transcript))]).total
    return (result.cp_errors or 0, result.reference_words)


def latency(committed: Sequence[Committed]) -> tuple[float, float]:
    delays = np.array([c.committed_s - c.word.end for c in committed if c.word.span is not None])
    if delays.size == 0:
        return (float("nan"), float("nan"))
    return (float(np.percentile(delays, 50)), float(np.percentile(delays, 95)))


def _rate(parts: Sequence[tuple[float, float]]) -> float:
    wrong = sum(p[0] for p in parts)
    total = sum(p[1] for p in parts)
    return wrong / total if total else float("nan")


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{100 * value:.1f}"


# -- report -------------------------------------------------------------------------------


def report(
    rows: Sequence[Row], streams: Sequence[Stream], args: argparse.Namespace, started: str
) -> str:
    lines = [
        "# Live benchmark: keeping up, latency and quality of what is shown live",
        "",
        f"- machine: {_cpu()}, nproc {NPROC}, {platform.platform()}",
        f"- date: {started}",
        f"- command: `python benchmarks/live.py {shlex.join(sys.argv[1:])}`",
        f"- code: {git_state()}",
        f"- load average (1 min) at the start and the end: {args.load_start:.1f} → "
        f"{os.getloadavg()[0]:.1f}",
        "- live = the words as committed live (each with the speaker it was shown with, never "
        "changed) and the live diarization's turns; final = the files written when the stream "
        "ended (the final pass over the whole recording, speakers mapped to the live labels); "
        "offline = `Pipeline.transcribe_audio` with the same models. DER collar 0, overlap "
        "scored (pyannote.metrics); cpWER by meeteval after Whisper-style normalisation.",
        "",
    ]
    if streams:
        lines += _stream_section(streams)
    if rows:
        lines += _quality_section(rows)
    return "\n".join(lines) + "\n"


def _stream_section(streams: Sequence[Stream]) -> list[str]:
    lines = [
        "## Keeps up: the development items back to back, in real time (wall clock)",
        "",
        "| model | stream min | engine compute % of elapsed "
        "| process CPU % of elapsed (2 cores: 200 %) | latency p50 s | p95 s "
        "| delay first 5 min s | delay last 5 min s | delay max s "
        "| longest step s | steps slowed | DER c0 % | cpWER % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in streams:
        p50, p95 = latency(s.committed)
        times = np.array([t for t, _ in s.updates])
        delays = np.array([u.delay_s for _, u in s.updates])
        first = delays[times <= 300].mean() if (times <= 300).any() else float("nan")
        last = delays[times >= times.max() - 300].mean() if times.size else float("nan")
        slowed = sum(1 for _, u in s.updates if u.notice)
        steps = max((u.step_s for _, u in s.updates), default=float("nan"))
        ders, cps = [], []
        assert s.live is not None
        for item, at in s.pieces:
            window = Span(at, at + item.duration_s)
            ders.append(der(item, s.live, window))
            cps.append(cp_errors(item, s.live, window))
        lines.append(
            f"| {s.model} | {s.minutes:.1f} | {100 * s.compute_s / s.elapsed_s:.0f} "
            f"| {100 * s.cpu_s / s.elapsed_s:.0f} | {p50:.2f} | {p95:.2f} | {first:.2f} "
            f"| {last:.2f} | {delays.max():.2f} | {steps:.2f} | {slowed} "
            f"| {_pct(_rate(ders))} | {_pct(_rate(cps))} |"
        )
    lines += [
        "",
        f"Targets: engine compute ≤ {100 * TARGETS['compute']:.0f} % of elapsed and a delay "
        f"that does not grow; latency p50 ≤ {TARGETS['p50']} s, p95 ≤ {TARGETS['p95']} s.",
        "",
    ]
    return lines


def _quality_section(rows: Sequence[Row]) -> list[str]:
    lines = [
        "## Quality: each item streamed on the injected clock, next to offline",
        "",
        "| model | item | set | min | true spk | live spk | final spk | offline spk "
        "| DER live % | DER final % | DER offline % | cpWER live % | cpWER final % "
        "| cpWER offline % | latency p50 s (stream clock) | p95 s | named right |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        item = row.item
        p50, p95 = latency(row.committed)
        cps = [cp_errors(item, t) for t in (row.live, row.final, row.offline)]
        named = f"{row.named[0]}/{row.named[1]}" if row.named[1] else ""
        lines.append(
            f"| {row.model} | {item.uri} | {item.kind} | {item.duration_s / 60:.1f} "
            f"| {item.speakers} | {len(row.live.speakers)} | {len(row.final.speakers)} "
            f"| {len(row.offline.speakers)} | "
            + " | ".join(_pct(_rate([der(item, t)])) for t in (row.live, row.final, row.offline))
            + " | "
            + " | ".join(_pct(_rate([c])) if c[1] else "" for c in cps)
            + f" | {p50:.2f} | {p95:.2f} | {named} |"
        )
    lines += ["", "### Totals (pooled over items)", ""]
    lines += [
        "| model | set | DER live % | DER final % | DER offline % | cpWER live % "
        "| cpWER final % | cpWER offline % | named right | live compute ÷ stream |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model in dict.fromkeys(r.model for r in rows):
        for kind in ("real", "mixture", "enrolled", "all"):
            chosen = [
                r for r in rows if r.model == model and (kind == "all" or r.item.kind == kind)
            ]
            if not chosen:
                continue
            ders = [
                _rate([der(r.item, getattr(r, side)) for r in chosen])
                for side in ("live", "final", "offline")
            ]
            cpw = [
                _rate([cp_errors(r.item, getattr(r, side)) for r in chosen])
                for side in ("live", "final", "offline")
            ]
            right = sum(r.named[0] for r in chosen)
            total = sum(r.named[1] for r in chosen)
            compute = sum(r.live_compute_s for r in chosen) / sum(r.item.duration_s for r in chosen)
            lines.append(
                f"| {model} | {kind} | "
                + " | ".join(_pct(v) for v in ders)
                + " | "
                + " | ".join(_pct(v) for v in cpw)
                + f" | {f'{100 * right / total:.1f} %' if total else ''} | {compute:.2f} |"
            )
    lines += [
        "",
        f"Targets: live cpWER ≤ offline + {100 * TARGETS['cpwer_gap']:.0f} points; live DER ≤ "
        f"offline + {100 * TARGETS['der_gap']:.0f} points; the final files as good as offline; "
        "enrolled speakers named in ≥ 95 % of their committed words; no committed word changes "
        "speaker (by construction: a committed word is never rewritten; the final files may "
        "differ, with the same labels).",
        "",
    ]
    return lines


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--realtime-models", default="tiny.en")
    parser.add_argument("--stream-minutes", type=float, default=30.0)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-realtime", action="store_true")
    parser.add_argument("--threads", type=int, default=NPROC)
    parser.add_argument("--limit", type=int, default=0, help="only the first N items (a check)")
    parser.add_argument("--only", help="only these sets: real, mixture, enrolled (comma-separated)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "live.md")
    args = parser.parse_args(argv)
    args.load_start = os.getloadavg()[0]
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    items = load_items(args.eval_dir)
    if args.only:
        items = [item for item in items if item.kind in args.only.split(",")]
    if args.limit:
        items = items[: args.limit]
    streams = []
    if not args.skip_realtime:
        for model in args.realtime_models.split(","):
            print(f"real time: {model}, {args.stream_minutes} min", file=sys.stderr, flush=True)
            streams.append(realtime(items, model, args.stream_minutes, args.threads))
    rows: list[Row] = []
    if not args.skip_quality:
        for model in args.models.split(","):
            rows += quality(items, model, args.threads)
    text = report(rows, streams, args, started)
    print(text)
    with atomic_text_file(args.out) as stream:
        stream.write(text)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "main"
    sys.exit(main())
