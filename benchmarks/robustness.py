"""Robustness benchmark: saywho and the pyannote.audio peer on clean and damaged audio, one run.

Run it from the repository root, with the shared evaluation data next to the repository
(``../shared/eval``) and the eval extra installed (``pip install -e '.[eval]'``)::

    python benchmarks/robustness.py [--sets real,mixtures,long] [--variants clean,mp3-24,...]
                                    [--skip-peer] [--peer-on SET:VARIANT,...]
                                    [--limit-long N] [--eval-dir DIR]
                                    [--cache-dir DIR] [--out FILE]

The default runs every set, every variant and both systems (on two cores: hours, mostly the
peer's). The markdown report is printed and written to ``--out``
(``benchmarks/results/robustness.md``).

Sets:

- ``real``: the development set's real items of trust A and A- (``INDEX.tsv``), loaded and
  scored exactly as ``benchmarks/diarization.py`` does with their ``X.rttm`` reference (AMI
  inside ``X.uem``).
- ``mixtures``: the six generated conversations of ``benchmarks/diarization.py`` (1-3 min).
- ``long``: :data:`LONG` conversations of 10-20 minutes built with
  :func:`saywho.evaluation.mixtures.build_conversation` (2, 3, 4 and 6 speakers, backchannels
  of 0.3-1.2 s, overlapped speech 5-15 % of all speech: the share is in the report).

Variants (:data:`VARIANTS`), each made deterministically from the clean 16 kHz samples (seeds
from the item's name and the variant's): ``clean``; codec round trips through PyAV's encoders
in memory (:mod:`saywho.audio.codec`: MP3 24/32/64 kbit/s, Opus 16 kbit/s, AAC 32 kbit/s,
G.711 μ-law at 8 kHz); ``babble-10db``: eight voices at once (speakers of the clip corpus
that are not the item's own, each once before any twice), added at 10 dB SNR over the whole
file; ``level-35dbfs``: scaled to -35 dBFS RMS over the whole file; ``reverb``: convolved with
a synthetic room (RT60 drawn from 0.4-0.6 s, direct path at lag 0, direct-to-reverberant ratio
0 dB). The damage itself is :mod:`saywho.evaluation.degrade`. A codec's delay is found by
cross-correlating the clean and the decoded signal and undone, so the reference still lines up;
the delay found for each codec is in the report (``tests/integration/test_codec.py`` checks
that what is left is within 1 ms).

Systems: saywho with its defaults (``Diarizer(DiarizeConfig())``, speakers counted
automatically; time = wall clock of ``diarize(audio)`` on decoded audio, one untimed warm-up)
and the pyannote.audio peer (``benchmarks/pyannote_peer.py``: its own virtual environment,
run in a subprocess, results cached by the audio's sha256), also left to count the speakers
itself. With ``--told`` both are told each file's true speaker count instead
(``DiarizeConfig(num_speakers=n)``; the peer's ``num_speakers``): the hints' promise, measured.
pyAudioAnalysis, the classic baseline, needs the true count and has no speech detection:
it stays in ``benchmarks/diarization.py``.

Cost: the damaged wavs and the generated conversations are cached under ``--cache-dir``
(``benchmarks/.cache/robustness``, about 1.5 GB for everything: 16-bit wavs, which the peer
reads too), named by what they are made from, so a rerun reuses them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from diarization import (
    DEFAULT_EVAL_DIR,
    FILE_HEADER,
    MIXTURES,
    REPO,
    TARGET_TRUST,
    TOTAL_HEADER,
    Item,
    Run,
    Scored,
    Total,
    exact_item,
    file_row,
    load_real_items,
    machine,
    met,
    mixture_uri,
    package_version,
    parse_arguments,
    pct,
    reference_pairs,
    score_rows,
    total,
    total_row,
)
from provenance import git_state
from saywho.atomic import atomic_binary_file, atomic_text_file
from saywho.audio.codec import CODECS, roundtrip
from saywho.audio.decode import decode
from saywho.config import DiarizeConfig
from saywho.diarize.diarizer import Diarizer
from saywho.evaluation import degrade
from saywho.evaluation.files import read_rttm
from saywho.evaluation.mixtures import (
    Clip,
    MixtureSpec,
    build_conversation,
    load_clips,
    overlap_s,
    write_mixture,
    write_wav,
)
from saywho.types import Audio

DEFAULT_OUT = REPO / "benchmarks" / "results" / "robustness.md"
DEFAULT_CACHE = REPO / "benchmarks" / ".cache" / "robustness"

SETS = ("real", "mixtures", "long")
VARIANTS = (
    "clean",
    "mp3-24",
    "mp3-32",
    "mp3-64",
    "opus-16",
    "aac-32",
    "ulaw-8k",
    "babble-10db",
    "level-35dbfs",
    "reverb",
)
# Bump when a variant is made differently: the cached wavs' names change with it.
RECIPE = "2"

BABBLE_STREAMS = 8  # voices at once; a speaker may come twice, from another point of their talk
BABBLE_SNR_DB = 10.0
LEVEL_DBFS = -35.0
RT60_RANGE_S = (0.4, 0.6)
REVERB_DRR_DB = 0.0
MAX_CODEC_LAG_S = 0.5

# (speakers, target seconds, seed) of the long conversations. Half the turn changes overlap
# (MixtureSpec.overlap_share) and half the turns get a 0.3-1.2 s backchannel: with our clip
# corpus that puts 6.7-8.8 % of the speech in overlap.
LONG = ((2, 600.0, 21), (3, 720.0, 22), (4, 900.0, 23), (6, 1200.0, 24))
LONG_OVERLAP_SHARE = 0.5
LONG_BACKCHANNEL_SHARE = 0.5
LONG_BACKCHANNEL_S = (0.3, 1.2)

SAYWHO, PEER = "saywho", "pyannote.audio peer"
SYSTEMS = (SAYWHO, PEER)

# Targets of issue 12 (saywho defaults).
DEGRADED_MARGIN = 0.03
REAL_DER_TARGET = 0.26
REAL_COUNT_TARGET = 4
LONG_DER_TARGET = 0.10
LONG_COUNT_TARGET = 0.80
RTF_TARGET = 0.03


# --- values ------------------------------------------------------------------------------

Key = tuple[str, str, str]
"""(set, variant, system) of a pooled total."""


@dataclass(frozen=True, slots=True)
class Case:
    """One item of one set in one variant.

    ``item`` is the source item with its ``uri`` made ``<uri>@<variant>`` and its ``path``
    the variant's 16 kHz mono wav. ``lag_s`` is the codec delay that was undone (``None`` for
    variants that are not a codec).
    """

    set_name: str
    variant: str
    source_uri: str
    item: Item
    lag_s: float | None


class Clips:
    """The clip corpus, loaded (decode + Silero VAD) only when something not cached needs it."""

    def __init__(self, eval_dir: Path) -> None:
        self._eval_dir = eval_dir
        self._clips: list[Clip] | None = None

    def get(self) -> list[Clip]:
        """Every English clip of the corpus, trimmed to speech."""
        if self._clips is None:
            self._clips = load_clips(self._eval_dir)
        return self._clips

    def talkers(self, exclude: frozenset[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Each speaker's clips end to end (shape (n,)), speakers in ``exclude`` left out."""
        grouped: dict[str, list[npt.NDArray[np.float32]]] = {}
        for clip in self.get():
            if clip.speaker not in exclude:
                grouped.setdefault(clip.speaker, []).append(clip.samples)
        return {name: np.concatenate(parts) for name, parts in sorted(grouped.items())}


# --- items -------------------------------------------------------------------------------


def real_items(eval_dir: Path) -> tuple[Item, ...]:
    """The trust A and A- items of ``INDEX.tsv``, as ``benchmarks/diarization.py`` loads them."""
    return tuple(item for item in load_real_items(eval_dir) if item.trust in TARGET_TRUST)


def mixture_items(clips: Clips, folder: Path) -> tuple[Item, ...]:
    """The six generated conversations of ``benchmarks/diarization.py``, cached in ``folder``."""
    return tuple(
        cached_conversation(
            clips,
            folder,
            mixture_uri(n, overlap, duration_s, seed),
            MixtureSpec(n_speakers=n, duration_s=duration_s, overlap_share=overlap),
            seed,
            "mixture",
        )
        for n, overlap, duration_s, seed in MIXTURES
    )


def long_items(clips: Clips, folder: Path, limit: int | None) -> tuple[Item, ...]:
    """The 10-20 minute conversations of :data:`LONG` (the first ``limit``), cached."""
    low_s, high_s = LONG_BACKCHANNEL_S
    return tuple(
        cached_conversation(
            clips,
            folder,
            f"long-{n}spk-{round(duration_s)}s-ov{round(100 * LONG_OVERLAP_SHARE)}"
            f"-bc{round(100 * LONG_BACKCHANNEL_SHARE)}-seed{seed}",
            MixtureSpec(
                n_speakers=n,
                duration_s=duration_s,
                overlap_share=LONG_OVERLAP_SHARE,
                backchannel_share=LONG_BACKCHANNEL_SHARE,
                min_backchannel_s=low_s,
                max_backchannel_s=high_s,
            ),
            seed,
            "long",
        )
        for n, duration_s, seed in LONG[:limit]
    )


def cached_conversation(
    clips: Clips, folder: Path, uri: str, spec: MixtureSpec, seed: int, group: str
) -> Item:
    """A generated conversation read back from ``folder``, built and written there first if new."""
    wav, rttm = folder / f"{uri}.wav", folder / f"{uri}.rttm"
    if not (wav.is_file() and rttm.is_file()):
        write_mixture(build_conversation(clips.get(), spec, seed), folder, uri)
    turns = read_rttm(rttm)[uri]
    return exact_item(uri, wav, turns, decode(wav).duration_s, group)


def _code_key() -> str:
    """What the generated conversations are made by: the mixture builder's source."""
    source = (REPO / "src" / "saywho" / "evaluation" / "mixtures.py").read_bytes()
    return hashlib.sha256(source).hexdigest()[:10]


# --- variants ----------------------------------------------------------------------------


def make_cases(
    set_name: str, items: Sequence[Item], variants: Sequence[str], clips: Clips, folder: Path
) -> list[Case]:
    """Every item in every variant, each variant's wav made (or found) in ``folder``."""
    cases = []
    for item in items:
        clean = decode(item.path)
        clean_key = hashlib.sha256(clean.samples.tobytes()).hexdigest()[:12]
        speakers = frozenset(turn.label for ref in item.references for turn in ref.turns)
        for variant in variants:
            wav = folder / f"{item.uri}.{variant}.r{RECIPE}-{clean_key}.wav"
            lag_s = _cached_variant(wav, clean, item.uri, variant, speakers, clips)
            case_item = replace(item, uri=f"{item.uri}@{variant}", path=wav)
            cases.append(Case(set_name, variant, item.uri, case_item, lag_s))
    return cases


def _cached_variant(
    wav: Path, clean: Audio, uri: str, variant: str, speakers: frozenset[str], clips: Clips
) -> float | None:
    """Write ``wav`` (and its lag in a sidecar ``.json``) unless already there; the lag in s."""
    sidecar = wav.with_suffix(".json")
    if wav.is_file() and sidecar.is_file():
        lag: float | None = json.loads(sidecar.read_text(encoding="utf-8"))["lag_s"]
        return lag
    samples, lag = degraded(clean, uri, variant, speakers, clips)
    wav.parent.mkdir(parents=True, exist_ok=True)
    with atomic_binary_file(wav) as stream:
        write_wav(samples, clean.sample_rate, stream)
    with atomic_text_file(sidecar) as text:
        json.dump({"lag_s": lag, "variant": variant, "uri": uri}, text)
    return lag


def degraded(
    clean: Audio, uri: str, variant: str, speakers: frozenset[str], clips: Clips
) -> tuple[npt.NDArray[np.float32], float | None]:
    """``clean`` in ``variant`` (shape (n,), lined up with it) and the codec delay undone, s."""
    samples, rate = clean.samples, clean.sample_rate
    rng = np.random.default_rng(_seed(uri, variant))
    if variant == "clean":
        return samples, None
    if variant in CODECS:
        decoded = roundtrip(samples, rate, variant)
        lag = degrade.estimate_lag(samples, decoded, round(MAX_CODEC_LAG_S * rate))
        return degrade.shift(decoded, lag, samples.shape[0]), lag / rate
    if variant == "babble-10db":
        speech = list(clips.talkers(exclude=speakers).values())
        order = rng.permutation(len(speech))  # every other speaker once before any twice
        streams = [speech[order[i % len(speech)]] for i in range(BABBLE_STREAMS)]
        noise = degrade.babble(streams, samples.shape[0], rng)
        return degrade.add_noise_at_snr(samples, noise, BABBLE_SNR_DB), None
    if variant == "level-35dbfs":
        return degrade.set_rms_dbfs(samples, LEVEL_DBFS), None
    if variant == "reverb":
        rt60_s = float(rng.uniform(*RT60_RANGE_S))
        rir = degrade.room_impulse_response(rt60_s, rate, rng, drr_db=REVERB_DRR_DB)
        return degrade.reverberate(samples, rir), None
    raise ValueError(f"unknown variant {variant!r}")


def _seed(uri: str, variant: str) -> int:
    """A seed of the item's and the variant's names (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(f"{uri}/{variant}".encode()).digest()[:8], "little")


# --- the systems -------------------------------------------------------------------------


def run_saywho(cases: Sequence[Case], *, told: bool = False) -> dict[tuple[str, str], Run]:
    """saywho's defaults on every case (``told``: given each file's true speaker count):
    turns and the wall clock of ``diarize(audio)``."""
    runs: dict[tuple[str, str], Run] = {}
    if not cases:
        return runs
    diarizer = Diarizer(DiarizeConfig())
    diarizer.diarize(decode(cases[0].item.path))  # warm-up, untimed
    for case in cases:
        audio = decode(case.item.path)
        if told:
            diarizer.config = DiarizeConfig(num_speakers=case.item.n_speakers)
        start = time.perf_counter()
        turns = diarizer.diarize(audio).turns
        run = Run(SAYWHO, case.item.uri, turns, time.perf_counter() - start)
        runs[SAYWHO, case.item.uri] = run
        print(_progress(case, run), file=sys.stderr, flush=True)
    return runs


def run_peer(
    cases: Sequence[Case],
    cache_dir: Path,
    *,
    skip: bool,
    where: Sequence[tuple[str, str]] = (("*", "*"),),
    told: bool = False,
) -> dict[tuple[str, str], Run]:
    """The pyannote.audio peer (speakers counted by itself, or ``told`` each file's true
    count) on every case whose (set, variant) matches one of ``where`` (``*`` matches any),
    or why not."""
    chosen = [case for case in cases if _matches(case, where)]
    why = "not run (--peer-on)"
    left_out = {
        (PEER, c.item.uri): Run(PEER, c.item.uri, None, None, why)
        for c in cases
        if not _matches(c, where)
    }
    return left_out | _run_peer(chosen, cache_dir, skip=skip, told=told)


def _matches(case: Case, where: Sequence[tuple[str, str]]) -> bool:
    return any(s in ("*", case.set_name) and v in ("*", case.variant) for s, v in where)


def parse_where(text: str) -> tuple[tuple[str, str], ...]:
    """``real:*,long:clean`` as ((set, variant), ...); ``*`` matches any."""
    pairs = []
    for part in text.split(","):
        set_name, _, variant = part.strip().partition(":")
        variant = variant or "*"
        if set_name not in ("*", *SETS) or variant not in ("*", *VARIANTS):
            raise argparse.ArgumentTypeError(f"not SET:VARIANT of {SETS} x {VARIANTS}: {part!r}")
        pairs.append((set_name, variant))
    return tuple(pairs)


def _run_peer(
    cases: Sequence[Case], cache_dir: Path, *, skip: bool, told: bool
) -> dict[tuple[str, str], Run]:
    why = "skipped (--skip-peer)" if skip else None
    if why is None:
        try:
            from pyannote_peer import run_pyannote  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            why = "peer not set up (benchmarks/pyannote_peer.py)"
    if why is not None:
        return {(PEER, c.item.uri): Run(PEER, c.item.uri, None, None, why) for c in cases}
    jobs = [
        (case.item.uri, case.item.path, case.item.n_speakers if told else None) for case in cases
    ]
    try:
        results = run_pyannote(jobs, cache_dir)
    except Exception as error:  # a peer's crash is a result to report, not a reason to stop
        why = f"peer failed: {type(error).__name__}: {error}"
        return {(PEER, c.item.uri): Run(PEER, c.item.uri, None, None, why) for c in cases}
    runs = {}
    for case in cases:
        uri = case.item.uri
        found = results.get(uri)
        if found is None:
            runs[PEER, uri] = Run(PEER, uri, None, None, "no result")
        elif found.error is not None:
            runs[PEER, uri] = Run(PEER, uri, None, None, found.error)
        else:
            runs[PEER, uri] = Run(PEER, uri, tuple(found.turns), found.seconds)
    return runs


def _progress(case: Case, run: Run) -> str:
    seconds = f"{run.seconds:.2f} s" if run.seconds is not None else "n/a"
    return (
        f"{case.item.uri} ({case.item.duration_s:.0f} s, {case.item.n_speakers} spk): "
        f"{run.system} {run.n_speakers} spk in {seconds}"
    )


# --- scoring -----------------------------------------------------------------------------


def scored(cases: Sequence[Case], runs: dict[tuple[str, str], Run]) -> list[Scored]:
    """Both systems on every case against its first reference, at both collars."""
    return score_rows(reference_pairs([case.item for case in cases], "first"), runs, SYSTEMS)


def pooled(cases: Sequence[Case], rows: Sequence[Scored]) -> dict[Key, Total]:
    """Totals per (set, variant, system), in the order the cases came."""
    variant_of = {case.item.uri: (case.set_name, case.variant) for case in cases}
    groups: dict[tuple[str, str], list[Scored]] = {}
    for row in rows:
        groups.setdefault(variant_of[row.item.uri], []).append(row)
    return {
        (set_name, variant, system): total(f"{set_name} · {variant}", system, group)
        for (set_name, variant), group in groups.items()
        for system in SYSTEMS
    }


# --- report ------------------------------------------------------------------------------


def header(argv: Sequence[str], cases: Sequence[Case], load: str, *, told: bool = False) -> str:
    """Title, machine, date, command, code, versions, and how each variant was made."""
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("saywho", "onnxruntime", "av", "pyannote.metrics")
    )
    return "\n".join(
        [
            "# Robustness benchmark: clean and damaged audio",
            "",
            f"- machine: {machine()}",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- command: `python {shlex.join(argv)}`",
            f"- code: {git_state()}",
            f"- versions: {versions}, Python {platform.python_version()} (pyannote.audio: "
            "in the peer's own environment)",
            f"- load average (1 min) at the start and the end: {load}",
            "- saywho: `Diarizer(DiarizeConfig())` defaults"
            + (", **told each file's true speaker count** (`num_speakers`)" if told else "")
            + "; time = wall clock of `diarize(audio)` only. Peer: `benchmarks/pyannote_peer.py` "
            "(pyannote.audio speaker-diarization-3.1 recipe on our two models), "
            + ("**told the same count**" if told else "speakers counted by itself")
            + ", time = its wall clock on this machine.",
            "- variants: codecs are PyAV round trips in memory (MP3 = libmp3lame CBR, Opus = "
            "libopus in Ogg, AAC = FFmpeg's aac in ADTS, all at 16 kHz; μ-law = G.711 at 8 kHz, "
            "resampled there and back); babble = "
            f"{BABBLE_STREAMS} voices at equal level from the clip corpus's speakers other than "
            "the item's (each at least once before any twice, from random points of their talk), "
            f"{BABBLE_SNR_DB:.0f} dB SNR (mean power over the whole file); level = "
            f"{LEVEL_DBFS:.0f} dBFS **RMS** over the whole file; reverb = exponentially "
            f"decaying Gaussian noise, RT60 uniform in {RT60_RANGE_S[0]}-{RT60_RANGE_S[1]} s, "
            f"direct path at lag 0, DRR {REVERB_DRR_DB:.0f} dB. Seeds from the item's name.",
            f"- codec delay found by cross-correlation and undone: {codec_delays(cases)}",
            "- DER: pyannote.metrics, overlap scored; collar 0.25 s on each side of reference "
            "boundaries (md-eval convention). JER at collar 0. Totals accumulate components "
            "over files (time-weighted). Real items: trust A/A-, `X.rttm`, AMI inside `X.uem`.",
        ]
    )


def codec_delays(cases: Sequence[Case]) -> str:
    """Per codec: the delays (ms) found over the items, e.g. ``aac-32 64.0 ms (14 items)``."""
    found: dict[str, list[float]] = {}
    for case in cases:
        if case.lag_s is not None:
            found.setdefault(case.variant, []).append(1000 * case.lag_s)
    if not found:
        return "no codec variant in this run"
    parts = []
    for variant, lags_ms in found.items():
        low, high = min(lags_ms), max(lags_ms)
        spread = f"{low:.1f} ms" if low == high else f"{low:.1f} to {high:.1f} ms"
        items = f"{len(lags_ms)} item" + ("s" if len(lags_ms) > 1 else "")
        parts.append(f"{variant} {spread} ({items})")
    return "; ".join(parts)


def sets_table(cases: Sequence[Case]) -> str:
    """What each set holds: files, minutes, speakers, overlapped share of speech."""
    lines = [
        "| set | files | minutes | speakers | overlap % of speech |",
        "|---|---:|---:|---|---:|",
    ]
    sources: dict[str, dict[str, Item]] = {}
    for case in cases:
        sources.setdefault(case.set_name, {})[case.source_uri] = case.item
    for set_name, items in sources.items():
        speech = sum(item.references[0].speech_s for item in items.values())
        overlap = sum(overlap_s(item.references[0].turns) for item in items.values())
        minutes = sum(item.duration_s for item in items.values()) / 60
        counts = ", ".join(str(item.n_speakers) for item in items.values())
        lines.append(
            f"| {set_name} | {len(items)} | {minutes:.1f} | {counts} "
            f"| {100 * overlap / max(speech, 1e-9):.1f} |"
        )
    return "\n".join(lines)


def targets_table(rows: Sequence[Scored], totals: dict[Key, Total]) -> str:
    """Each target of issue 12 for saywho's defaults: met, missed, or not measured."""
    lines = [
        "| target | value | met |",
        "|---|---|---|",
        _collapse_target(rows),
        _degraded_target(totals),
        _peer_target(totals),
        _clean_target(
            totals,
            "real",
            REAL_DER_TARGET,
            f"≥ {REAL_COUNT_TARGET} of the files with ≥ 10 s speech",
            lambda t: REAL_COUNT_TARGET,
        ),
        _clean_target(
            totals,
            "long",
            LONG_DER_TARGET,
            f"≥ {100 * LONG_COUNT_TARGET:.0f} % of the files",
            lambda t: LONG_COUNT_TARGET * t.count_files,
        ),
        _rtf_target(totals),
    ]
    return "\n".join(lines)


def _collapse_target(rows: Sequence[Scored]) -> str:
    ours = [row for row in rows if row.run.system == SAYWHO and row.run.turns is not None]
    multi = [row for row in ours if row.reference.n_speakers >= 2]
    collapsed = [row.item.uri for row in multi if (row.run.n_speakers or 0) <= 1]
    listed = ", ".join(collapsed) if collapsed else "none"
    return (
        f"| no file with ≥ 2 speakers collapses to ≤ 1 speaker, any variant "
        f"| {len(collapsed)} of {len(multi)}: {listed} | {met(not collapsed)} |"
    )


def _der(t: Total | None) -> float | None:
    return None if t is None or t.collar0 is None else t.collar0.der


def _degraded_target(totals: dict[Key, Total]) -> str:
    worse, compared = [], 0
    for (set_name, variant, system), t in totals.items():
        clean, der = _der(totals.get((set_name, "clean", system))), _der(t)
        if system != SAYWHO or variant == "clean" or clean is None or der is None:
            continue
        compared += 1
        if der > clean + DEGRADED_MARGIN:
            worse.append(f"{set_name} · {variant} {pct(der)} vs clean {pct(clean)}")
    name = "pooled DER c0 of each degraded variant ≤ clean + 3 points, per set"
    if not compared:
        return f"| {name} | not measured (needs clean and a damaged variant) | n/a |"
    listed = "; ".join(worse) if worse else "none"
    return f"| {name} | {len(worse)} of {compared} rows above: {listed} | {met(not worse)} |"


def _peer_target(totals: dict[Key, Total]) -> str:
    """saywho against the peer, on the (set, variant) rows where both answered every file."""
    behind, partial, compared = [], [], 0
    for (set_name, variant, system), ours in totals.items():
        theirs = totals.get((set_name, variant, PEER))
        if system != SAYWHO or theirs is None or _der(theirs) is None or _der(ours) is None:
            continue
        if ours.ran < ours.files or theirs.ran < theirs.files:
            partial.append(f"{set_name} · {variant}")
            continue
        compared += 1
        if (_der(ours) or 0.0) > (_der(theirs) or 0.0) + 1e-9:
            behind.append(f"{set_name} · {variant} {pct(_der(ours))} vs {pct(_der(theirs))}")
    name = "saywho pooled DER c0 ≤ peer's, every (set, variant)"
    left_out = f" (not compared, a system failed on some file: {', '.join(partial)})"
    note = left_out if partial else ""
    if not compared:
        return f"| {name} | peer not measured{note} | n/a |"
    listed = "; ".join(behind) if behind else "none"
    ok = not behind and not partial
    return f"| {name} | behind on {len(behind)} of {compared}: {listed}{note} | {met(ok)} |"


def _clean_target(
    totals: dict[Key, Total],
    set_name: str,
    der_target: float,
    wanted: str,
    needed: Callable[[Total], float],
) -> str:
    """DER c0 at most ``der_target`` and at least ``needed(total)`` files counted exactly."""
    name = f"{set_name} clean: DER c0 ≤ {100 * der_target:.0f} %, count exact on {wanted}"
    t = totals.get((set_name, "clean", SAYWHO))
    if t is None or t.collar0 is None:
        return f"| {name} | not measured | n/a |"
    ok = t.collar0.der <= der_target and t.count_exact >= needed(t)
    return (
        f"| {name} | DER {pct(t.collar0.der)} %, count exact {t.count_exact}/{t.count_files} "
        f"| {met(ok)} |"
    )


def _rtf_target(totals: dict[Key, Total]) -> str:
    ours = [t for (_, _, system), t in totals.items() if system == SAYWHO and t.ran]
    seconds, audio_s = sum(t.seconds for t in ours), sum(t.audio_s for t in ours)
    if audio_s <= 0:
        return f"| saywho RTF ≤ {RTF_TARGET} | not measured | n/a |"
    rtf = seconds / audio_s
    return (
        f"| saywho RTF ≤ {RTF_TARGET} (every case of this run) | {rtf:.3f} "
        f"({seconds:.0f} s / {audio_s:.0f} s) | {met(rtf <= RTF_TARGET)} |"
    )


def report(
    argv: Sequence[str],
    cases: Sequence[Case],
    runs: dict[tuple[str, str], Run],
    load: str,
    *,
    told: bool = False,
) -> str:
    """The whole markdown report: header, sets, targets, totals, every file."""
    rows = scored(cases, runs)
    totals = pooled(cases, rows)
    by_set: dict[str, list[Scored]] = {}
    set_of = {case.item.uri: case.set_name for case in cases}
    for row in rows:
        by_set.setdefault(set_of[row.item.uri], []).append(row)
    parts = [
        header(argv, cases, load, told=told),
        "## Sets\n\n" + sets_table(cases),
        f"## Targets (saywho {'told the true count' if told else 'defaults'})\n\n"
        + targets_table(rows, totals),
        "## Totals per set and variant (pooled)\n\n"
        + TOTAL_HEADER
        + "\n"
        + "\n".join(map(total_row, totals.values())),
        *(
            f"## Files: {set_name}\n\n" + FILE_HEADER + "\n" + "\n".join(map(file_row, set_rows))
            for set_name, set_rows in by_set.items()
        ),
    ]
    return "\n\n".join(parts) + "\n"


# --- main --------------------------------------------------------------------------------


def _names(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or '(none)'}; choose from {','.join(allowed)}"
            )
        return names

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/robustness.py",
        description="saywho and the pyannote peer on clean and damaged audio.",
    )
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="made audio")
    parser.add_argument("--sets", type=_names(SETS), default=SETS, help=",".join(SETS))
    parser.add_argument(
        "--variants", type=_names(VARIANTS), default=VARIANTS, help=",".join(VARIANTS)
    )
    parser.add_argument("--skip-peer", action="store_true", help="do not run the pyannote peer")
    parser.add_argument(
        "--told",
        action="store_true",
        help="tell both systems each file's true speaker count (num_speakers)",
    )
    parser.add_argument(
        "--peer-on",
        type=parse_where,
        default=(("*", "*"),),
        metavar="SET:VARIANT,...",
        help="run the peer only there, e.g. real:*,long:clean (it is slow: RTF ~0.5 on 2 cores)",
    )
    parser.add_argument(
        "--limit-long",
        type=int,
        choices=range(1, len(LONG) + 1),
        default=None,
        metavar="N",
        help=f"only the first N (1-{len(LONG)}) long conversations",
    )
    return parser


def build_cases(args: argparse.Namespace) -> list[Case]:
    """Every (set, item, variant) asked for, with the audio made or found in the cache."""
    clips = Clips(args.eval_dir)
    generated = args.cache_dir / f"conversations-{_code_key()}"
    loaders: dict[str, Callable[[], tuple[Item, ...]]] = {
        "real": lambda: real_items(args.eval_dir),
        "mixtures": lambda: mixture_items(clips, generated),
        "long": lambda: long_items(clips, generated, args.limit_long),
    }
    cases = []
    for set_name in args.sets:
        items = loaders[set_name]()
        cases += make_cases(set_name, items, args.variants, clips, args.cache_dir / "variants")
        print(f"{set_name}: {len(items)} items ready", file=sys.stderr, flush=True)
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report and write it to ``--out``."""
    arguments, args = parse_arguments(_parser(), argv)
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    cases = build_cases(args)
    runs = run_saywho(cases, told=args.told)
    runs |= run_peer(
        cases,
        args.cache_dir.parent / "pyannote",
        skip=args.skip_peer,
        where=args.peer_on,
        told=args.told,
    )
    load = f"{load_start:.1f} → {os.getloadavg()[0]:.1f}"
    text = report(["benchmarks/robustness.py", *arguments], cases, runs, load, told=args.told)
    text += f"\nWhole run: {time.perf_counter() - started:.0f} s.\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
