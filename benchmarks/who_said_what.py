"""Who said what: the three strategies side by side, and each attribution rule's effect.

Run it from the repository root, with the shared evaluation data next to the repository
(``../shared/eval``) and the eval extra installed (``pip install -e '.[eval]'``)::

    python benchmarks/who_said_what.py [--eval-dir ../shared/eval] [--out FILE]
                                       [--model base] [--minutes 1,1.5,1.5]

Data: ``pyannote_sample`` (30 s, real telephone-style talk, timed transcript with speakers) and
three conversations built in this run with :func:`saywho.evaluation.mixtures.build_conversation`
from the transcribed English clips of ``single_speaker_utterances`` (2, 2 and 3 speakers,
overlap share 0, 0.1, 0.1, fixed seeds): exact words and speakers.

For every file and strategy (``attribute``, ``per-turn``, ``spacer``) the whole pipeline runs on
the file (decode + VAD + ASR + diarization + attribution, models loaded once before, one
untimed warm-up), and we report WER and cpWER (:mod:`saywho.evaluation.score`: jiwer and
meeteval, Whisper-style normalisation), WDER (defined in the report) and the real-time factor.
For ``attribute`` the recognition and diarization of that same run are attributed again with
each set of boundary rules, so the rule table isolates attribution.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from provenance import git_state
from saywho import Pipeline, PipelineConfig
from saywho.atomic import atomic_binary_file, atomic_text_file
from saywho.attribute import RULES, attribute
from saywho.audio import decode
from saywho.config import STRATEGIES, AttributeConfig, DiarizeConfig, RecognizeConfig
from saywho.evaluation.files import SpokenText, StmLine, read_stm, stm_text, transcript_text
from saywho.evaluation.mixtures import (
    Clip,
    Mixture,
    MixtureSpec,
    build_conversation,
    load_clips,
    speech_clip,
    write_wav,
)
from saywho.evaluation.score import TextPair, normalize_text, score_text
from saywho.types import Diarization, Recognition, Transcript
from saywho.vad.silero import SileroVad

REPO = Path(__file__).resolve().parent.parent
MIXTURES = (  # (speakers, overlap share, seed); durations from --minutes
    (2, 0.0, 41),
    (2, 0.1, 42),
    (3, 0.1, 43),
)
NPROC = len(os.sched_getaffinity(0))
# Synthetic voices (eSpeak NG) that CAM++ tells apart, each with long lines and short replies:
# the only clips we have with transcribed short replies, so the only test of the reply rule.
VOICES = ("en+croak", "en-029+f2", "en-gb-scotland+m7")
LINES = (
    "Good morning everyone, thank you for joining the weekly planning meeting today.",
    "I have three items on the agenda that I want to go through before lunch.",
    "The release went out on Tuesday, two days late, because the tests kept failing.",
    "Could somebody summarise what happened with the customer reports last week?",
    "We moved the servers to the new building, and the network was down for an hour.",
    "Next quarter we should hire two more people for the support team.",
)
REPLIES = ("Yes.", "Okay.", "Right.", "Sure.", "No.")
SYNTHETIC = (3, 0.05, 0.6, 44)  # speakers, overlap share, backchannel share, seed
RTF_TARGET, WDER_TARGET, CP_GAP_TARGET = 0.25, 0.03, 0.02


@dataclass(frozen=True, slots=True)
class Item:
    """One recording and its reference words (STM lines)."""

    uri: str
    path: Path
    kind: str  # "real", "mixture" or "synthetic"
    reference: tuple[StmLine, ...]
    speakers: int
    hint: bool = False  # diarization told the true speaker count


@dataclass(frozen=True, slots=True)
class Row:
    """One file under one system."""

    uri: str
    kind: str
    system: str
    duration_s: float
    seconds: float | None
    cpu_s: float | None
    groups: int | None
    retried: int | None
    ref_words: int
    errors: int
    cp_errors: int | None
    matched: int
    wrong_speaker: int
    speakers: int
    true_speakers: int


# -- WDER ---------------------------------------------------------------------------------


def reference_tokens(lines: Sequence[StmLine]) -> list[tuple[str, str | None]]:
    """Normalised reference words with their speakers, in order of line start."""
    return [
        (token, line.speaker)
        for line in sorted(lines, key=lambda line: line.span.start)
        for token in normalize_text(line.text).split()
    ]


def hypothesis_tokens(transcript: Transcript) -> list[tuple[str, str | None]]:
    """Normalised hypothesis words with their speakers, in transcript order."""
    return [
        (token, word.speaker)
        for word in transcript.words
        for token in normalize_text(word.text).split()
    ]


def align(reference: Sequence[str], hypothesis: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of equal words on a minimum-edit-distance (Levenshtein) alignment."""
    n, m = len(reference), len(hypothesis)
    cost = np.zeros((n + 1, m + 1), dtype=np.int64)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i, j] = min(
                cost[i - 1, j - 1] + (0 if same else 1), cost[i - 1, j] + 1, cost[i, j - 1] + 1
            )
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        same = reference[i - 1] == hypothesis[j - 1]
        if cost[i, j] == cost[i - 1, j - 1] + (0 if same else 1):
            if same:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def wrong_speakers(
    reference: Sequence[tuple[str, str | None]],
    hypothesis: Sequence[tuple[str, str | None]],
    pairs: Sequence[tuple[int, int]],
) -> int:
    """Matched words whose hypothesis speaker maps to another reference speaker.

    The mapping is one-to-one and maximises the matched words it gets right (Hungarian);
    a word without a speaker, or whose speaker maps to nobody, is wrong.
    """
    refs = sorted({str(reference[i][1]) for i, _ in pairs})
    hyps = sorted({h for _, j in pairs if (h := hypothesis[j][1]) is not None})
    if not pairs:
        return 0
    counts = np.zeros((len(hyps), len(refs)), dtype=np.int64)
    for i, j in pairs:
        speaker = hypothesis[j][1]
        if speaker is not None:
            counts[hyps.index(speaker), refs.index(str(reference[i][1]))] += 1
    rows, cols = linear_sum_assignment(-counts)
    right = int(counts[rows, cols].sum())
    return len(pairs) - right


# -- data ---------------------------------------------------------------------------------


def synthetic_clips(tmp: Path, vad: SileroVad) -> list[Clip]:
    """Every voice reading every line and every reply (eSpeak NG), trimmed to its speech."""
    clips = []
    for v, voice in enumerate(VOICES):
        for t, text in enumerate((*LINES, *REPLIES)):
            path = tmp / f"voice{v}-{t}.wav"
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", "160", "-w", str(path), text],
                check=True,
                capture_output=True,
            )
            clip = speech_clip(decode(path), vad, f"voice{v}", text)
            if clip is not None:
                clips.append(clip)
    return clips


def write_item(
    mixture: Mixture, uri: str, kind: str, speakers: int, tmp: Path, *, hint: bool = False
) -> Item:
    """Write ``mixture`` as ``tmp/<uri>.wav``; its item with the reference words."""
    path = tmp / f"{uri}.wav"
    with atomic_binary_file(path) as stream:
        write_wav(mixture.samples, mixture.sample_rate, stream)
    lines = tuple(StmLine(uri, turn.label, turn.span, text) for turn, text in mixture.texts)
    return Item(uri, path, kind, lines, speakers, hint)


def load_items(eval_dir: Path, tmp: Path, minutes: Sequence[float]) -> list[Item]:
    """pyannote_sample and the generated conversations (written as WAV into ``tmp``)."""
    sample = eval_dir / "pyannote_sample"
    items = [
        Item("sample", sample / "sample.wav", "real", read_stm(sample / "sample.stm")["sample"], 2)
    ]
    vad = SileroVad()
    clips = [clip for clip in load_clips(eval_dir, languages=("en",), vad=vad) if clip.text]
    for (speakers, overlap, seed), length in zip(MIXTURES, minutes, strict=True):
        spec = MixtureSpec(n_speakers=speakers, duration_s=60 * length, overlap_share=overlap)
        uri = f"mix-{speakers}spk-{round(60 * length)}s-ov{round(100 * overlap)}-seed{seed}"
        mixture = build_conversation(clips, spec, seed)
        items.append(write_item(mixture, uri, "mixture", speakers, tmp))
    speakers, overlap, backchannels, seed = SYNTHETIC
    spec = MixtureSpec(
        n_speakers=speakers,
        duration_s=60 * minutes[-1],
        overlap_share=overlap,
        backchannel_share=backchannels,
    )
    mixture = build_conversation(synthetic_clips(tmp, vad), spec, seed)
    uri = f"espeak-{speakers}spk-replies-seed{seed}"
    items.append(write_item(mixture, uri, "synthetic", speakers, tmp, hint=True))
    return items


# -- runs ---------------------------------------------------------------------------------


def score(
    item: Item,
    system: str,
    transcript: Transcript,
    timing: tuple[float, float] | None = None,
    found: dict[str, Any] | None = None,
) -> Row:
    """One file's row: WER/cpWER by saywho.evaluation.score, WDER here.

    ``timing``: wall and CPU seconds; ``found``: the pipeline's artifacts.
    """
    text = score_text([TextPair(item.uri, stm_text(item.reference), spoken(transcript))])
    result = text.files[0]
    reference, hypothesis = reference_tokens(item.reference), hypothesis_tokens(transcript)
    pairs = align([t for t, _ in reference], [t for t, _ in hypothesis])
    return Row(
        uri=item.uri,
        kind=item.kind,
        system=system,
        duration_s=transcript.duration_s,
        seconds=None if timing is None else timing[0],
        cpu_s=None if timing is None else timing[1],
        groups=len(found["groups"]) if found and "groups" in found else None,
        retried=len(found["retried"]) if found and "retried" in found else None,
        ref_words=result.reference_words,
        errors=result.errors,
        cp_errors=result.cp_errors,
        matched=len(pairs),
        wrong_speaker=wrong_speakers(reference, hypothesis, pairs),
        speakers=len({w.speaker for w in transcript.words if w.speaker is not None}),
        true_speakers=item.speakers,
    )


def spoken(transcript: Transcript) -> SpokenText:
    """The transcript's text by speaker; words without a speaker count as one more speaker
    (cpWER needs every word to have one), so that leaving a word unattributed costs."""
    plain = transcript_text(transcript)
    by_speaker: dict[str, list[str]] = {}
    for word in transcript.words:
        by_speaker.setdefault(word.speaker or "(nobody)", []).append(word.text)
    pairs = tuple((speaker, " ".join(words)) for speaker, words in sorted(by_speaker.items()))
    return SpokenText(plain.text, pairs)


def rule_variants() -> list[tuple[str, tuple[str, ...]]]:
    """No rule, each rule alone, all but each rule, all rules."""
    names = tuple(RULES)
    return [
        ("no rule (plain vote)", ()),
        *[(f"only {name}", (name,)) for name in names],
        *[(f"all but {name}", tuple(n for n in names if n != name)) for name in names],
        ("all rules (default)", names),
    ]


def run(items: Sequence[Item], model: str) -> tuple[list[Row], list[Row], float]:
    """Every strategy on every item, and the rule variants on ``attribute``'s artifacts.

    Returns the strategy rows, the rule rows and the seconds spent attributing (all rules).
    """
    recognize = RecognizeConfig(model=model)
    counted = Pipeline(PipelineConfig(recognize=recognize))
    counted.transcribe(items[0].path)  # warm-up, untimed
    told: dict[int, Pipeline] = {}
    rows, rule_rows, attribute_s = [], [], 0.0
    for item in items:
        pipeline = counted
        if item.hint:
            diarize = DiarizeConfig(num_speakers=item.speakers)
            if item.speakers not in told:
                told[item.speakers] = Pipeline(PipelineConfig(recognize=recognize, diarize=diarize))
            pipeline = told[item.speakers]
        for strategy in STRATEGIES:
            found: dict[str, Any] = {}
            twin = pipeline.with_attribute(AttributeConfig(strategy=strategy))
            started, cpu = time.perf_counter(), time.process_time()
            transcript = twin.transcribe(item.path, artifacts=found.__setitem__)
            seconds = time.perf_counter() - started
            timing = (seconds, time.process_time() - cpu)
            rows.append(score(item, strategy, transcript, timing, found))
            print(f"{item.uri}: {strategy} {seconds:.1f} s", file=sys.stderr, flush=True)
            if strategy == "attribute":
                recognition: Recognition = found["recognition"]
                diarization: Diarization = found["diarization"]
                for name, rules in rule_variants():
                    started = time.perf_counter()
                    utterances = attribute(
                        recognition.utterances,
                        diarization.exclusive_turns,
                        diarization.turns,
                        rules=rules,
                    )
                    if rules == tuple(RULES):
                        attribute_s += time.perf_counter() - started
                    variant = replace(transcript, utterances=utterances)
                    rule_rows.append(score(item, name, variant))
    return rows, rule_rows, attribute_s


# -- report -------------------------------------------------------------------------------


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}" if whole else "n/a"


def total(rows: Sequence[Row]) -> dict[str, float]:
    """Pooled counts: WER and cpWER over all reference words, WDER over all matched words."""
    ref = sum(r.ref_words for r in rows)
    cp = sum(r.cp_errors or 0 for r in rows)
    secs = sum(r.seconds or 0.0 for r in rows)
    cpu = sum(r.cpu_s or 0.0 for r in rows)
    dur = sum(r.duration_s for r in rows)
    matched = sum(r.matched for r in rows)
    return {
        "wer": sum(r.errors for r in rows) / ref if ref else float("nan"),
        "cpwer": cp / ref if ref else float("nan"),
        "wder": sum(r.wrong_speaker for r in rows) / matched if matched else float("nan"),
        "rtf": secs / dur if dur else float("nan"),
        "cpu_rtf": cpu / NPROC / dur if dur else float("nan"),
        "dur": dur,
        "secs": secs,
    }


def file_table(rows: Sequence[Row]) -> str:
    lines = [
        "| file | strategy | dur s | spk est/true | WER % | cpWER % | cpWER-WER | WDER % "
        "| matched words | groups (retried) | s | RTF | CPU RTF |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cp = r.cp_errors or 0
        lines.append(
            f"| {r.uri} | {r.system} | {r.duration_s:.1f} | {r.speakers}/{r.true_speakers} "
            f"| {pct(r.errors, r.ref_words)} | {pct(cp, r.ref_words)} "
            f"| {pct(cp - r.errors, r.ref_words)} | {pct(r.wrong_speaker, r.matched)} "
            f"| {r.matched} | {_groups(r)} | {r.seconds or 0:.1f} "
            f"| {(r.seconds or 0) / r.duration_s:.3f} "
            f"| {(r.cpu_s or 0) / NPROC / r.duration_s:.3f} |"
        )
    for kind in ("mixture", "synthetic", "real", None):
        for strategy in STRATEGIES:
            chosen = [r for r in rows if r.system == strategy and kind in (None, r.kind)]
            t = total(chosen)
            label = {
                "mixture": "mixtures",
                "synthetic": "eSpeak with replies",
                "real": "pyannote_sample",
                None: "all",
            }[kind]
            lines.append(
                f"| **total {label}** | **{strategy}** | {t['dur']:.1f} | "
                f"| **{100 * t['wer']:.1f}** | **{100 * t['cpwer']:.1f}** "
                f"| {100 * (t['cpwer'] - t['wer']):.1f} | **{100 * t['wder']:.1f}** "
                f"| {sum(r.matched for r in chosen)} | | {t['secs']:.1f} | **{t['rtf']:.3f}** "
                f"| {t['cpu_rtf']:.3f} |"
            )
    return "\n".join(lines)


def _groups(row: Row) -> str:
    if row.groups is None:
        return ""
    return f"{row.groups}" + (f" ({row.retried})" if row.retried is not None else "")


def rule_table(rule_rows: Sequence[Row]) -> str:
    names = [name for name, _ in rule_variants()]
    kinds = ("mixture", "synthetic", "real")
    base = {
        kind: total([r for r in rule_rows if r.system == names[-1] and r.kind == kind])
        for kind in kinds
    }
    lines = [
        "| rules | WDER mixtures % | Δ | cpWER mixtures % | Δ "
        "| WDER eSpeak % | Δ | cpWER eSpeak % | Δ "
        "| WDER sample % | Δ | cpWER sample % | Δ |",
        "|---|" + "---:|" * 12,
    ]
    for name in names:
        cells = []
        for kind in kinds:
            t = total([r for r in rule_rows if r.system == name and r.kind == kind])
            cells += [
                f"{100 * t['wder']:.2f}",
                f"{100 * (t['wder'] - base[kind]['wder']):+.2f}",
                f"{100 * t['cpwer']:.2f}",
                f"{100 * (t['cpwer'] - base[kind]['cpwer']):+.2f}",
            ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets_table(rows: Sequence[Row]) -> str:
    lines = ["| target | strategy | value | met |", "|---|---|---|---|"]
    for strategy in STRATEGIES:
        every = total([r for r in rows if r.system == strategy])
        mix = total([r for r in rows if r.system == strategy and r.kind == "mixture"])
        gap = mix["cpwer"] - mix["wer"]
        for target, value, met in (
            (
                f"RTF ≤ {RTF_TARGET} (wall clock; CPU estimate in brackets)",
                f"{every['rtf']:.3f} ({every['cpu_rtf']:.3f})",
                every["rtf"] <= RTF_TARGET,
            ),
            (
                f"WDER mixtures ≤ {100 * WDER_TARGET:.0f} %",
                f"{100 * mix['wder']:.1f} %",
                mix["wder"] <= WDER_TARGET,
            ),
            (
                f"cpWER - WER mixtures ≤ {100 * CP_GAP_TARGET:.0f} points",
                f"{100 * gap:.1f} points",
                gap <= CP_GAP_TARGET,
            ),
        ):
            lines.append(f"| {target} | {strategy} | {value} | {'met' if met else '**missed**'} |")
    return "\n".join(lines)


WDER_DEFINITION = """\
**WDER** (word diarization error rate) counts, among the words that were recognised correctly,
those given the wrong speaker. Both sides are normalised as for WER (`normalize_text`) and split
into words; each word keeps the speaker of the word it came from (reference: its STM line's
speaker; hypothesis: the saywho word's `speaker`). The hypothesis word sequence (transcript
order) is aligned to the reference word sequence (STM lines in start order) by a
minimum-edit-distance (Levenshtein) alignment; *matched* words are the aligned pairs whose texts
are equal. The hypothesis speakers are mapped one-to-one onto reference speakers by the
assignment that maximises the matched words it gets right (Hungarian algorithm); WDER = matched
words whose hypothesis speaker is not mapped to their reference speaker (a word with no speaker,
or a speaker mapped to nobody, counts as wrong) / matched words. Totals pool the counts over
files. The alignment uses text and order only (the references carry times per line, not per
word)."""


def report(
    rows: Sequence[Row],
    rule_rows: Sequence[Row],
    attribute_s: float,
    args: argparse.Namespace,
    wall_s: float,
) -> str:
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("faster-whisper", "ctranslate2", "onnxruntime", "meeteval", "jiwer")
    )
    words = sum(r.matched for r in rule_rows if r.system == "all rules (default)")
    return "\n".join(
        [
            "# Who said what: strategies and attribution rules",
            "",
            f"- machine: {platform.processor() or 'unknown'}, nproc "
            f"{len(os.sched_getaffinity(0))}, {platform.platform()}; load average at the end "
            f"{os.getloadavg()[0]:.2f} (other work on the machine inflates every time here)",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- command: `python benchmarks/who_said_what.py {' '.join(sys.argv[1:])}`".rstrip(),
            f"- code: {git_state()}",
            f"- versions: saywho {version('saywho')}, {versions}, Python "
            f"{platform.python_version()}",
            f"- model: Whisper {args.model}; everything else at its defaults (speakers counted "
            "automatically, except on the eSpeak conversation). Time = wall clock of "
            "`Pipeline.transcribe(path)`: decode, VAD, ASR, "
            "diarization, attribution; models loaded before, one untimed warm-up.",
            "- mixtures: built in this run from the 5 transcribed English clips of "
            "`single_speaker_utterances` (one clip per speaker, so each speaker repeats a line; "
            "no backchannels, since those clips hold no transcribed short replies).",
            "- eSpeak with replies: three eSpeak NG voices reading six lines each, with "
            'transcribed short replies ("Yes.", "Okay.", …) as backchannels over turns '
            "and in pauses (backchannel share 0.6, overlap share 0.05); synthetic speech, so "
            "its WER says little, but its speakers and words are exact. Diarization is told the "
            "true speaker count there (`num_speakers=3`): counted automatically it merged two "
            "voices (2/3 speakers, WDER 37 %, in the previous run), which would hide what "
            "attribution does.",
            "",
            "## Targets",
            "",
            targets_table(rows),
            "",
            "## Every file, every strategy",
            "",
            file_table(rows),
            "",
            "WER and cpWER: `saywho.evaluation.score` (jiwer, meeteval `cp_word_error_rate`), "
            "Whisper-style normalisation; cpWER - WER is the cost of speaker errors. "
            "spk est/true: speakers that got words / true speakers. groups (retried): turn "
            "groups recognized by `per-turn`/`spacer` (and those `spacer` had to recognize again "
            "on their own). RTF = wall seconds / audio seconds; CPU RTF = process CPU seconds / "
            f"{NPROC} cores / audio seconds, an estimate of the RTF on an unloaded machine "
            "(it assumes the work would spread over every core). Words without a speaker count "
            "as one more speaker for cpWER.",
            "",
            WDER_DEFINITION,
            "",
            "## Attribution rules (strategy `attribute`)",
            "",
            "The recognition and diarization of the `attribute` runs above, attributed again "
            "with each set of boundary rules (`saywho.attribute.rules`); Δ is against all rules. "
            "Words: "
            f"{words} matched. Attribution with all rules took {attribute_s:.3f} s in total "
            "for all files.",
            "",
            rule_table(rule_rows),
            "",
            f"Whole run: {wall_s:.0f} s.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "who_said_what.md"
    )
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", default="1,1.5,1.5", help="length of each generated mixture")
    args = parser.parse_args(argv)
    minutes = [float(m) for m in args.minutes.split(",")]
    if len(minutes) != len(MIXTURES):
        parser.error(f"--minutes needs {len(MIXTURES)} values")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        items = load_items(args.eval_dir, Path(tmp), minutes)
        rows, rule_rows, attribute_s = run(items, args.model)
    text = report(rows, rule_rows, attribute_s, args, time.perf_counter() - started)
    print(text)
    with atomic_text_file(args.out) as stream:
        stream.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
