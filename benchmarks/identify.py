"""Speaker identification benchmark: enrol, then name speakers inside generated conversations.

Run it from the repository root with the shared evaluation data next to the repository::

    python benchmarks/identify.py [--eval-dir ../shared/eval] [--out FILE] [--mixtures N]

Data: the five LibriSpeech speakers of ``librispeech_test-other_resemblyzer`` (10 utterances
each) can be enrolled; the twelve speakers of ``single_speaker_utterances`` (5 English, 7 other
languages, one clip each) are never enrolled. Each LibriSpeech speaker is enrolled with
:class:`saywho.identify.Enroller` (the real diarizer + CAM++) from their longest utterance, and
again from their two longest; those utterances never appear in a conversation.

Conversations: ``--mixtures`` seeded conversations of 60 to 120 s from
:func:`saywho.evaluation.mixtures.build_conversation` (pauses, 10 % overlapped turn changes,
backchannels), each with 2 to 4 speakers drawn from the other LibriSpeech utterances and the
never-enrolled speakers. Each is diarized once with saywho's defaults; each reference speaker is
mapped to the diarized speaker who covers most of their speech (one-to-one).

Trials: for every 3-of-5 subset of the LibriSpeech speakers (10 subsets), those three are the
library and everyone else in every conversation is a stranger; the library is matched against
each conversation's speakers with :func:`saywho.identify.match.match` (Hungarian, open set).
Reported at each threshold: correct names for enrolled speakers with at least 10 s of speech,
strangers given a name (false accepts), and the score-level ROC/EER of (speaker centroid, voice
print) pairs. The default threshold is chosen from these trials: the one with the most correct
names among those with at most 1 % false accepts (ties: the middle one).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from provenance import git_state
from saywho.config import DiarizeConfig
from saywho.diarize.diarizer import Diarizer
from saywho.evaluation.mixtures import Clip, MixtureSpec, build_conversation, load_clips
from saywho.identify.enroll import Enroller
from saywho.identify.match import DEFAULT_THRESHOLD, cosine, match
from saywho.types import Audio, Diarization, Turn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "identify.md"
MIN_SPEECH_S = 10.0
THRESHOLDS = np.round(np.arange(0.20, 0.801, 0.025), 3)
RATE = 16_000


@dataclass(frozen=True, slots=True, eq=False)
class Heard:
    """A reference speaker of one conversation: speech seconds and their diarized centroid."""

    mixture: int
    speaker: str
    speech_s: float
    centroid: npt.NDArray[np.float32] | None


@dataclass(frozen=True, slots=True, eq=False)
class Conversation:
    heard: tuple[Heard, ...]
    extra: tuple[npt.NDArray[np.float32], ...]  # diarized speakers matched to no one
    duration_s: float


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    clips = load_clips(args.eval_dir, languages=None)
    by_speaker: dict[str, list[Clip]] = {}
    for clip in clips:
        by_speaker.setdefault(clip.speaker, []).append(clip)
    for own in by_speaker.values():  # the longest two utterances are for enrolment
        own.sort(key=lambda clip: -clip.duration_s)
    enrollable = sorted(s for s, own in by_speaker.items() if len(own) >= 5)
    strangers = sorted(s for s in by_speaker if s not in enrollable)
    print(f"{len(enrollable)} enrollable speakers, {len(strangers)} never enrolled", flush=True)

    enroller = Enroller()
    prints = {n: _enrol(enroller, by_speaker, enrollable, n) for n in (1, 2)}
    pool = [c for s in enrollable for c in by_speaker[s][2:]] + [
        c for s in strangers for c in by_speaker[s]
    ]
    diarizer = Diarizer(DiarizeConfig())
    conversations = []
    diarize_s, audio_s = 0.0, 0.0
    for index in range(args.mixtures):
        conversation, seconds = _conversation(diarizer, pool, enrollable, strangers, index)
        conversations.append(conversation)
        diarize_s += seconds
        audio_s += conversation.duration_s
        print(f"conversation {index}: {conversation.duration_s:.0f} s", flush=True)

    report = _report(args, conversations, prints, enrollable, diarize_s, audio_s, started)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--mixtures", type=int, default=24)
    return parser


def _enrol(
    enroller: Enroller, by_speaker: dict[str, list[Clip]], speakers: list[str], count: int
) -> dict[str, npt.NDArray[np.float32]]:
    prints = {}
    for speaker in speakers:
        gap = np.zeros(RATE // 2, dtype=np.float32)
        parts = [p for clip in by_speaker[speaker][:count] for p in (clip.samples, gap)]
        enrolment = enroller.enroll(Audio(np.concatenate(parts), RATE), source=speaker)
        prints[speaker] = enrolment.embedding
    return prints


def _conversation(
    diarizer: Diarizer,
    pool: list[Clip],
    enrollable: list[str],
    strangers: list[str],
    index: int,
) -> tuple[Conversation, float]:
    rng = np.random.default_rng(1000 + index)
    n_enrolled = int(rng.integers(1, 4))  # 1 to 3 LibriSpeech speakers
    n_strangers = int(rng.integers(0 if n_enrolled > 1 else 1, 3 if n_enrolled < 3 else 2))
    chosen = [
        *rng.choice(enrollable, n_enrolled, replace=False),
        *rng.choice(strangers, n_strangers, replace=False),
    ]
    clips = [c for c in pool if c.speaker in chosen]
    spec = MixtureSpec(
        n_speakers=len(chosen),
        duration_s=float(rng.uniform(60, 120)),
        overlap_share=0.1,
        backchannel_share=0.1,
    )
    mixture = build_conversation(clips, spec, seed=index)
    audio = Audio(np.array(mixture.samples), mixture.sample_rate)
    started = time.perf_counter()
    result = diarizer.diarize(audio)
    seconds = time.perf_counter() - started
    return _map(index, mixture.turns, result, audio.duration_s), seconds


def _map(
    index: int, truth: tuple[Turn, ...], result: Diarization, duration_s: float
) -> Conversation:
    """Each reference speaker to the diarized label that covers most of their speech."""
    speakers = sorted({t.label for t in truth})
    labels = sorted(result.centroids)
    shared = np.zeros((len(speakers), len(labels)))
    for ref in truth:
        for hyp in result.exclusive_turns:
            if hyp.label not in labels:
                continue
            overlap = min(ref.span.end, hyp.span.end) - max(ref.span.start, hyp.span.start)
            if overlap > 0:
                shared[speakers.index(ref.label), labels.index(hyp.label)] += overlap
    rows, cols = linear_sum_assignment(shared, maximize=True)
    owner = {int(r): labels[c] for r, c in zip(rows, cols, strict=True) if shared[r, c] > 0}
    heard = tuple(
        Heard(
            index,
            speaker,
            sum(t.span.duration for t in truth if t.label == speaker),
            result.centroids[owner[i]] if i in owner else None,
        )
        for i, speaker in enumerate(speakers)
    )
    used = set(owner.values())
    extra = tuple(result.centroids[label] for label in labels if label not in used)
    return Conversation(heard, extra, duration_s)


@dataclass(frozen=True, slots=True)
class Scores:
    enrolled: int
    correct: int
    strangers: int
    accepted: int
    extra_named: int


def _trials(
    conversations: list[Conversation],
    prints: dict[str, npt.NDArray[np.float32]],
    enrollable: list[str],
    threshold: float,
) -> Scores:
    enrolled = correct = strangers = accepted = extra_named = 0
    for library in itertools.combinations(enrollable, 3):
        voices = np.stack([prints[s] for s in library])
        for conversation in conversations:
            heard = [h for h in conversation.heard if h.centroid is not None]
            rows = [h.centroid for h in heard] + list(conversation.extra)
            if not rows:
                continue
            found = match(np.stack(rows), voices, threshold)
            named = {m.speaker: library[m.voice] for m in found}
            extra_named += sum(1 for m in found if m.speaker >= len(heard))
            for h in conversation.heard:
                row = heard.index(h) if h in heard else None
                name = named.get(row) if row is not None else None
                if h.speaker in library:
                    if h.speech_s >= MIN_SPEECH_S:
                        enrolled += 1
                        correct += name == h.speaker
                else:
                    strangers += 1
                    accepted += name is not None
    return Scores(enrolled, correct, strangers, accepted, extra_named)


def _pair_scores(
    conversations: list[Conversation], prints: dict[str, npt.NDArray[np.float32]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Cosine of every heard speaker with every voice print: (target scores, non-target)."""
    names = sorted(prints)
    voices = np.stack([prints[n] for n in names])
    target, other = [], []
    for conversation in conversations:
        for h in conversation.heard:
            if h.centroid is None:
                continue
            similarity = cosine(h.centroid[None], voices)[0]
            for name, score in zip(names, similarity, strict=True):
                (target if name == h.speaker else other).append(float(score))
    return np.array(target), np.array(other)


def _eer(target: npt.NDArray[np.float64], other: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Equal error rate and the threshold where it is reached."""
    candidates = np.unique(np.concatenate([target, other]))
    best = (1.0, 0.0)
    gap = np.inf
    for t in candidates:
        miss = float(np.mean(target < t))
        false = float(np.mean(other >= t))
        if abs(miss - false) < gap:
            gap, best = abs(miss - false), ((miss + false) / 2, float(t))
    return best


def _report(
    args: argparse.Namespace,
    conversations: list[Conversation],
    prints: dict[int, dict[str, npt.NDArray[np.float32]]],
    enrollable: list[str],
    diarize_s: float,
    audio_s: float,
    started: float,
) -> str:
    lines = [
        "# Speaker identification benchmark",
        "",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores available "
        f"({platform.processor() or platform.platform()}), shared with other jobs while it ran",
        f"- command: `python benchmarks/identify.py --mixtures {args.mixtures}`",
        f"- code: {git_state()}",
        f"- {len(conversations)} conversations, {audio_s / 60:.1f} min of audio, diarized at "
        f"real-time factor {diarize_s / max(audio_s, 1e-9):.3f}; "
        f"{sum(len(c.heard) for c in conversations)} reference speakers, "
        f"{sum(h.centroid is None for c in conversations for h in c.heard)} not found by "
        f"diarization, {sum(len(c.extra) for c in conversations)} extra diarized speakers",
        f"- library: 3 of the 5 LibriSpeech speakers (all 10 subsets), the rest strangers; "
        f"enrolled speakers count when they talk ≥ {MIN_SPEECH_S:.0f} s in the conversation",
        "",
    ]
    chosen = {}
    for count, voice_prints in sorted(prints.items()):
        target, other = _pair_scores(conversations, voice_prints)
        eer, eer_at = _eer(target, other)
        rows = [(t, _trials(conversations, voice_prints, enrollable, float(t))) for t in THRESHOLDS]
        chosen[count] = _choose(rows)
        lines += [
            f"## Enrolled from {count} utterance{'s' if count > 1 else ''}",
            "",
            f"Score-level EER {100 * eer:.2f} % at cosine {eer_at:.3f} "
            f"({target.shape[0]} target, {other.shape[0]} non-target pairs); target scores "
            f"min {target.min():.3f} / median {np.median(target):.3f}, non-target max "
            f"{other.max():.3f} / median {np.median(other):.3f}.",
            "",
            "| threshold | correct names (enrolled, ≥10 s) | strangers named | "
            "extra diarized speakers named |",
            "|---:|---:|---:|---:|",
        ]
        for t, s in rows:
            mark = " ◀ chosen" if t == chosen[count] else ""
            mark += " (default)" if abs(t - DEFAULT_THRESHOLD) < 1e-9 else ""
            lines.append(
                f"| {t:.3f}{mark} | {_pct(s.correct, s.enrolled)} | "
                f"{_pct(s.accepted, s.strangers)} | {s.extra_named} |"
            )
        lines.append("")
    lines += [
        f"Chosen threshold (most correct names with ≤ 1 % strangers named): "
        f"{chosen[1]:.3f} with one enrolment utterance, {chosen[2]:.3f} with two. "
        f"saywho's default is {DEFAULT_THRESHOLD:.3f}.",
        "",
        f"Run time {time.perf_counter() - started:.0f} s.",
        "",
    ]
    return "\n".join(lines)


def _choose(rows: list[tuple[float, Scores]]) -> float:
    fine = [(t, s) for t, s in rows if s.accepted <= 0.01 * max(s.strangers, 1)]
    if not fine:
        return float(rows[-1][0])
    best = max(s.correct for _, s in fine)
    tied = [t for t, s in fine if s.correct == best]
    return float(tied[len(tied) // 2])


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} % ({part}/{whole})" if whole else "n/a"


if __name__ == "__main__":
    sys.exit(main())
