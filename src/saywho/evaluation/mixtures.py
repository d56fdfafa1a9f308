"""Seeded, deterministic conversations built from single-speaker clips, with exact ground truth.

Clips of k speakers are laid end to end the way people take turns: a pause (or, now and then,
an overlap of up to about a second) before each turn, the next speaker never the one who just
spoke, and short backchannels ("yeah", "mm-hmm") over or between turns. Since we place every
sample ourselves, the speaker turns are known exactly, overlaps included; a silence of
:data:`REFERENCE_PAUSE_S` or more inside a clip (found by Silero VAD when the corpus is read)
is a pause, not speech.

The same clips, spec and seed give the same samples byte for byte: every random draw comes from
one ``numpy.random.default_rng(seed)`` in a fixed order, and nothing depends on set or dict
ordering that the inputs do not fix.

Layers: :func:`build_conversation` is pure (arrays in, a :class:`Mixture` out);
:func:`load_clips` reads the eval corpus (decode + Silero VAD); the writers and the command line
(``python -m saywho.evaluation.mixtures``) sit on top.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import sys
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

import numpy as np
import numpy.typing as npt

from saywho.atomic import atomic_binary_file, atomic_text_file
from saywho.audio.decode import decode
from saywho.config import VadConfig
from saywho.errors import ConfigError, OutputError, SaywhoError
from saywho.types import SAMPLE_RATE, Audio, Span, Turn
from saywho.vad.silero import SileroVad

__all__ = [
    "REFERENCE_PAUSE_S",
    "SAMPLE_RATE",
    "Clip",
    "Mixture",
    "MixtureSpec",
    "build_conversation",
    "load_clips",
    "main",
    "overlap_s",
    "speech_clip",
    "write_mixture",
    "write_rttm",
    "write_stm",
    "write_wav",
]

log = logging.getLogger(__name__)

"""Sample rate of clips and mixtures, Hz."""

_TALKATIVENESS = 4.0  # Dirichlet concentration: some speakers talk more, none is silenced
_BETWEEN_SHARE = 0.5  # of backchannels, the share tried in the pause rather than over a turn
_BACKCHANNEL_MARGIN_S = 0.1  # a backchannel keeps this far from other talk in its window
_EXCERPT_CANDIDATES = 8  # random cuts tried for a backchannel; the loudest one wins
_FRAME_S = 0.01  # frame length for trimming quiet edges off a cut
_QUIET_DB = -20.0  # frames this far below the loudest frame are quiet edges
_FADE_S = 0.005  # raised-cosine fade on cut edges, so a cut does not click
REFERENCE_PAUSE_S = 0.3
"""A silence this long inside a clip is a pause in the reference turns, not speech (the NIST
RT convention: speech is bridged across shorter pauses only)."""


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Clip:
    """One utterance of one speaker, trimmed to its speech.

    ``samples``: shape (n,), n > 0, float32 in [-1, 1] at 16 kHz; never modified here.
    ``speaker``: a name without whitespace (it becomes an RTTM field).
    ``text``: the transcript, or ``None`` when unknown.
    ``pauses``: the silences inside the clip, as sorted, disjoint ``(first, last)`` sample
    ranges (``last`` exclusive) strictly inside ``samples``; nobody talks there, so the
    reference turns leave them out. ``()``: the clip is speech from end to end.
    """

    speaker: str
    samples: npt.NDArray[np.float32]
    text: str | None = None
    pauses: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if not self.speaker or any(char.isspace() for char in self.speaker):
            raise ValueError(f"Clip speaker {self.speaker!r} must be non-empty, without spaces")
        if self.samples.ndim != 1 or self.samples.dtype != np.float32:
            raise ValueError("Clip samples must be a 1-D float32 array")
        if self.samples.shape[0] == 0:
            raise ValueError(f"Clip of {self.speaker} has no samples")
        edges = [edge for pause in self.pauses for edge in pause]
        if edges and not (
            edges[0] > 0
            and edges[-1] < self.samples.shape[0]
            and all(a < b for a, b in itertools.pairwise(edges))
        ):
            raise ValueError(
                f"Clip of {self.speaker}: pauses must be sorted, disjoint and inside the clip"
            )

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return int(self.samples.shape[0]) / SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class MixtureSpec:
    """What kind of conversation to build.

    ``n_speakers``: how many distinct speakers talk (each at least once).
    ``duration_s``: target length; the result lands within about half a clip of it.
    ``min_pause_s`` / ``max_pause_s``: silence before a turn, right-skewed like measured
    turn-taking gaps (Beta(2, 5) over the range: short pauses common, long ones rare).
    ``overlap_share``: the share of turn changes where the next speaker starts before the
    previous turn ends, by up to ``max_overlap_s`` (mostly a few hundred ms) and never by more
    than half of either turn.
    ``backchannel_share``: the share of turns that get a short reply from another speaker,
    ``min_backchannel_s`` to ``max_backchannel_s`` long: a whole short clip of that speaker
    when one exists, else an excerpt cut from one of their clips.
    ``gain_jitter_db``: each placed clip is scaled by a gain uniform in ±this many dB.
    ``level_dbfs``: every clip is first brought to this RMS level (``None``: left as it is).
    """

    n_speakers: int = 2
    duration_s: float = 120.0
    min_pause_s: float = 0.2
    max_pause_s: float = 1.5
    overlap_share: float = 0.0
    max_overlap_s: float = 1.0
    backchannel_share: float = 0.0
    min_backchannel_s: float = 0.3
    max_backchannel_s: float = 0.8
    gain_jitter_db: float = 3.0
    level_dbfs: float | None = -26.0

    def __post_init__(self) -> None:
        if self.n_speakers < 1:
            raise ConfigError(f"n_speakers must be at least 1, got {self.n_speakers}")
        if self.duration_s <= 0:
            raise ConfigError(f"duration_s must be positive, got {self.duration_s}")
        if not 0 <= self.min_pause_s <= self.max_pause_s:
            raise ConfigError("pauses need 0 <= min_pause_s <= max_pause_s")
        for name in ("overlap_share", "backchannel_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.max_overlap_s <= 0:
            raise ConfigError(f"max_overlap_s must be positive, got {self.max_overlap_s}")
        if not 0 < self.min_backchannel_s <= self.max_backchannel_s:
            raise ConfigError("backchannels need 0 < min_backchannel_s <= max_backchannel_s")
        if self.gain_jitter_db < 0:
            raise ConfigError(f"gain_jitter_db must not be negative, got {self.gain_jitter_db}")
        if self.level_dbfs is not None and self.level_dbfs >= 0:
            raise ConfigError(f"level_dbfs must be below 0, got {self.level_dbfs}")


@dataclass(frozen=True, slots=True, eq=False)
class Mixture:
    """A built conversation and its exact ground truth.

    ``samples``: shape (n,), float32 in [-1, 1] at ``sample_rate`` Hz, read-only.
    ``turns``: the reference, who speaks when: the speech of every placed clip, labelled with
    the clip's speaker (a clip with pauses gives a turn per stretch between them), sorted,
    overlaps kept.
    ``placed``: every placed clip as one turn, pauses included, sorted. ``texts``: the placed
    clips that have a transcript, with that transcript.
    """

    samples: npt.NDArray[np.float32]
    sample_rate: int
    turns: tuple[Turn, ...]
    texts: tuple[tuple[Turn, str], ...]
    placed: tuple[Turn, ...]

    def __post_init__(self) -> None:
        view = self.samples.view()  # the caller's array stays as it was
        view.flags.writeable = False
        object.__setattr__(self, "samples", view)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return int(self.samples.shape[0]) / self.sample_rate

    @property
    def speakers(self) -> tuple[str, ...]:
        """Every speaker label, sorted."""
        return tuple(sorted({turn.label for turn in self.turns}))

    @property
    def overlap_s(self) -> float:
        """Seconds during which two or more speakers talk."""
        return overlap_s(self.turns)


@dataclass(frozen=True, slots=True, eq=False)
class _Piece:
    """Samples placed at sample index ``first``, already scaled; shape (n,). ``pauses`` are
    sample ranges of ``samples``, as :attr:`Clip.pauses`."""

    speaker: str
    samples: npt.NDArray[np.float32]
    first: int
    text: str | None
    pauses: tuple[tuple[int, int], ...] = ()

    @property
    def last(self) -> int:
        """One past the last sample index."""
        return self.first + int(self.samples.shape[0])


# --- the conversation (pure) -------------------------------------------------------------------


def build_conversation(clips: Sequence[Clip], spec: MixtureSpec, seed: int) -> Mixture:
    """Lay clips of ``spec.n_speakers`` speakers out as a conversation and mix them.

    The speakers are drawn from those of ``clips``; each speaker's clips are used in a shuffled
    order, none twice until all have been used. The main turns are drawn first and backchannels
    after, so turning backchannels on adds turns to the same conversation. Raises
    :class:`ConfigError` when the clips have fewer than ``spec.n_speakers`` speakers.
    """
    rng = np.random.default_rng(seed)
    pools = _speaker_pools(clips, spec.n_speakers, rng)
    main_pieces = _main_turns(pools, spec, rng)
    total = main_pieces[-1].last + _samples(_draw_pause_s(spec, rng))  # trailing silence
    pieces = [*main_pieces, *_backchannels(main_pieces, pools, spec, rng)]
    turns = tuple(sorted(turn for piece in pieces for turn in _speech_turns(piece)))
    texts = tuple(sorted((_turn(piece), piece.text) for piece in pieces if piece.text))
    placed = tuple(sorted(_turn(piece) for piece in pieces))
    return Mixture(_mix(pieces, total), SAMPLE_RATE, turns, texts, placed)


def overlap_s(turns: Sequence[Turn]) -> float:
    """Seconds during which at least two of ``turns`` are active (any labels)."""
    # At equal times an end (-1) sorts before a start (+1): spans are half-open.
    events = sorted(
        [(turn.span.start, 1) for turn in turns] + [(turn.span.end, -1) for turn in turns]
    )
    active, total, previous = 0, 0.0, 0.0
    for time, delta in events:
        if active >= 2:
            total += time - previous
        active += delta
        previous = time
    return total


def _speaker_pools(
    clips: Sequence[Clip], n_speakers: int, rng: np.random.Generator
) -> dict[str, list[Clip]]:
    """The chosen speakers (in name order) with their clips (in input order)."""
    grouped: dict[str, list[Clip]] = {}
    for clip in clips:
        grouped.setdefault(clip.speaker, []).append(clip)
    names = sorted(grouped)
    if len(names) < n_speakers:
        raise ConfigError(
            f"the mixture needs {n_speakers} speakers; "
            f"the clips have {len(names)}: {', '.join(names) or 'none'}"
        )
    chosen = sorted(int(i) for i in rng.choice(len(names), size=n_speakers, replace=False))
    return {names[i]: grouped[names[i]] for i in chosen}


def _main_turns(
    pools: dict[str, list[Clip]], spec: MixtureSpec, rng: np.random.Generator
) -> list[_Piece]:
    """The turns of the conversation, in order, until the target duration is reached.

    Every speaker talks once before the conversation may end. Each turn ends after the previous
    one (an overlap is at most half of either turn), so at most two main turns overlap.
    """
    speakers = list(pools)
    cycles = {speaker: _ClipCycle(pools[speaker], rng) for speaker in speakers}
    target = _samples(spec.duration_s)
    pieces: list[_Piece] = []
    first = _samples(_draw_pause_s(spec, rng))  # leading silence
    sequence = enumerate(_speaker_sequence(speakers, rng))
    while True:
        index, speaker = next(sequence)
        clip = cycles[speaker].next()
        samples = _scaled(clip.samples, clip.samples, spec, rng)
        if pieces:
            first = pieces[-1].last - _draw_overlap(pieces[-1], samples, spec, rng)
        piece = _Piece(speaker, samples, first, clip.text, clip.pauses)
        if index >= len(speakers) and piece.last >= target:
            if piece.last - target < target - pieces[-1].last:
                pieces.append(piece)
            return pieces
        pieces.append(piece)


def _speaker_sequence(speakers: Sequence[str], rng: np.random.Generator) -> Iterator[str]:
    """Who talks next, forever: everyone once in random order, then by talkativeness.

    Nobody follows themselves unless there is only one speaker.
    """
    weights = rng.dirichlet(np.full(len(speakers), _TALKATIVENESS))  # (n_speakers,), sums to 1
    previous = -1
    for index in rng.permutation(len(speakers)):
        previous = int(index)
        yield speakers[previous]
    while True:
        others = weights.copy()
        if len(speakers) > 1:
            others[previous] = 0.0
        previous = int(rng.choice(len(speakers), p=others / others.sum()))
        yield speakers[previous]


class _ClipCycle:
    """One speaker's clips in shuffled order, reshuffled once all have been used."""

    def __init__(self, clips: Sequence[Clip], rng: np.random.Generator) -> None:
        self._clips = clips
        self._rng = rng
        self._order: list[int] = []
        self._last = -1

    def next(self) -> Clip:
        """The next clip; the same clip never comes twice in a row if there are two or more."""
        if not self._order:
            self._order = [int(i) for i in self._rng.permutation(len(self._clips))]
            if len(self._order) > 1 and self._order[0] == self._last:
                self._order[0], self._order[-1] = self._order[-1], self._order[0]
        self._last = self._order.pop(0)
        return self._clips[self._last]


def _draw_pause_s(spec: MixtureSpec, rng: np.random.Generator) -> float:
    """A pause in seconds: Beta(2, 5) over [min_pause_s, max_pause_s], mode near a quarter."""
    return spec.min_pause_s + (spec.max_pause_s - spec.min_pause_s) * float(rng.beta(2.0, 5.0))


def _draw_overlap(
    previous: _Piece, samples: npt.NDArray[np.float32], spec: MixtureSpec, rng: np.random.Generator
) -> int:
    """How many samples the next turn starts before ``previous`` ends; negative for a pause."""
    if rng.random() >= spec.overlap_share:
        return -_samples(_draw_pause_s(spec, rng))
    wanted = _samples(spec.max_overlap_s * float(rng.beta(2.0, 3.0)))
    # Never more than half of either turn: each turn is heard alone for a while, and turns
    # end in order, so no third turn is reached.
    return min(wanted, len(previous.samples) // 2, len(samples) // 2)


def _backchannels(
    main: Sequence[_Piece],
    pools: dict[str, list[Clip]],
    spec: MixtureSpec,
    rng: np.random.Generator,
) -> list[_Piece]:
    """Short replies by listeners, at most one per main turn: over it or in the pause after it."""
    pieces = []
    for index in range(len(main)):
        if rng.random() < spec.backchannel_share:
            piece = _backchannel(main, index, pools, spec, rng)
            if piece is not None:
                pieces.append(piece)
    return pieces


def _backchannel(
    main: Sequence[_Piece],
    index: int,
    pools: dict[str, list[Clip]],
    spec: MixtureSpec,
    rng: np.random.Generator,
) -> _Piece | None:
    """A backchannel for turn ``index``, or ``None`` where there is no room or no listener.

    Over the turn it stays inside the part where that turn is heard alone; in the pause after
    it, it comes from a third speaker, so that no speaker follows themselves.
    """
    windows = [_solo_window(main, index)]
    if index + 1 < len(main) and rng.random() < _BETWEEN_SHARE:
        windows.insert(0, _pause_window(main, index))
    margin = _samples(_BACKCHANNEL_MARGIN_S)
    for (first, last), busy in windows:
        listeners = [speaker for speaker in pools if speaker not in busy]
        if not listeners or first >= last:
            continue
        listener = listeners[int(rng.integers(len(listeners)))]
        samples, text, pauses = _backchannel_samples(pools[listener], spec, rng)
        room = last - first - 2 * margin - samples.shape[0]
        if room >= 0:
            start = first + margin + int(rng.integers(room + 1))
            return _Piece(listener, samples, start, text, pauses)
    return None


def _solo_window(main: Sequence[_Piece], index: int) -> tuple[tuple[int, int], tuple[str, ...]]:
    """Where turn ``index`` is heard alone (sample indices), and who talks there."""
    first = main[index].first if index == 0 else max(main[index].first, main[index - 1].last)
    last = main[index].last
    if index + 1 < len(main):
        last = min(last, main[index + 1].first)
    return (first, last), (main[index].speaker,)


def _pause_window(main: Sequence[_Piece], index: int) -> tuple[tuple[int, int], tuple[str, ...]]:
    """The pause after turn ``index`` (empty after an overlap), and the speakers around it."""
    following = main[index + 1]
    return (main[index].last, following.first), (main[index].speaker, following.speaker)


def _backchannel_samples(
    clips: Sequence[Clip], spec: MixtureSpec, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], str | None, tuple[tuple[int, int], ...]]:
    """A whole short clip of the listener if one fits the range (with its text and pauses),
    else an untranscribed cut of the loudest stretch (taken as speech throughout)."""
    short = [
        clip
        for clip in clips
        if spec.min_backchannel_s <= clip.duration_s <= spec.max_backchannel_s
    ]
    if short:
        clip = short[int(rng.integers(len(short)))]
        return _scaled(clip.samples, clip.samples, spec, rng), clip.text, clip.pauses
    source = clips[int(rng.integers(len(clips)))].samples
    length = min(
        _samples(rng.uniform(spec.min_backchannel_s, spec.max_backchannel_s)), source.shape[0]
    )
    excerpt = _fade(_trim_quiet_edges(_loudest_excerpt(source, length, rng)))
    return _scaled(excerpt, source, spec, rng), None, ()


def _loudest_excerpt(
    samples: npt.NDArray[np.float32], length: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Of a few random cuts of ``length`` samples, the one with the most energy (not a pause)."""
    starts = rng.integers(samples.shape[0] - length + 1, size=_EXCERPT_CANDIDATES)
    energies = [_power(samples[start : start + length]) for start in starts]
    start = int(starts[int(np.argmax(energies))])
    return samples[start : start + length]


def _trim_quiet_edges(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``samples`` without leading and trailing 10 ms frames 20 dB below the loudest frame."""
    frame = _samples(_FRAME_S)
    n_frames = samples.shape[0] // frame
    if n_frames < 2:
        return samples
    frames = samples[: n_frames * frame].reshape(n_frames, frame)  # (n_frames, frame)
    energy = np.mean(np.square(frames, dtype=np.float64), axis=1)  # (n_frames,)
    loud = np.flatnonzero(energy >= energy.max() * 10 ** (_QUIET_DB / 10))
    return samples[loud[0] * frame : (loud[-1] + 1) * frame]


def _fade(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A copy of ``samples`` with 5 ms raised-cosine fades at both ends."""
    n = _samples(_FADE_S)
    faded = samples.copy()
    if samples.shape[0] < 2 * n:
        return faded
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)  # (n,)
    faded[:n] *= ramp
    faded[-n:] *= ramp[::-1]
    return faded


def _scaled(
    samples: npt.NDArray[np.float32],
    reference: npt.NDArray[np.float32],
    spec: MixtureSpec,
    rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """``samples`` at ``spec.level_dbfs`` RMS (measured on ``reference``), then jittered."""
    gain_db = float(rng.uniform(-spec.gain_jitter_db, spec.gain_jitter_db))
    if spec.level_dbfs is not None:
        power = _power(reference)
        if power > 0:
            gain_db += spec.level_dbfs - 10 * float(np.log10(power))
    return (samples * np.float32(10 ** (gain_db / 20))).astype(np.float32)


def _mix(pieces: Sequence[_Piece], total: int) -> npt.NDArray[np.float32]:
    """The pieces added into ``total`` samples of silence, clipped to [-1, 1]; shape (total,)."""
    buffer = np.zeros(total, dtype=np.float32)
    for piece in pieces:
        buffer[piece.first : piece.last] += piece.samples
    return np.clip(buffer, -1.0, 1.0, out=buffer)


def _power(samples: npt.NDArray[np.float32]) -> float:
    """Mean square of ``samples`` (shape (n,)), computed in float64."""
    return float(np.mean(np.square(samples, dtype=np.float64)))


def _turn(piece: _Piece) -> Turn:
    return Turn(Span(piece.first / SAMPLE_RATE, piece.last / SAMPLE_RATE), piece.speaker)


def _speech_turns(piece: _Piece) -> list[Turn]:
    """``piece`` as turns of speech: its span without its pauses."""
    edges = [piece.first, *(piece.first + e for pause in piece.pauses for e in pause), piece.last]
    return [
        Turn(Span(first / SAMPLE_RATE, last / SAMPLE_RATE), piece.speaker)
        for first, last in zip(edges[::2], edges[1::2], strict=True)
    ]


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


# --- the eval corpus (decode + VAD) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    path: Path
    speaker: str
    language: str
    text: str | None


# min_silence_s=0: a region then ends where the speech does. With the default 2 s, the last
# region runs on to the end of any clip whose trailing silence is shorter than that.
_TRIM_VAD = VadConfig(pad_s=0.05, min_silence_s=0.0)
_SINGLE = "single_speaker_utterances"
_LIBRISPEECH = "librispeech_test-other_resemblyzer"


def load_clips(
    eval_dir: Path,
    *,
    languages: Sequence[str] | None = ("en",),
    vad: SileroVad | None = None,
) -> list[Clip]:
    """Clips of the eval corpus, each trimmed to its speech, in manifest order.

    Reads ``single_speaker_utterances/manifest.tsv`` (file, speaker, language, source,
    transcript) and ``librispeech_test-other_resemblyzer/manifest.tsv`` (file, speaker; English,
    no transcripts; speakers become ``librispeech_<id>``). ``languages=None`` keeps every
    language. Files in which Silero VAD finds no speech are skipped with a warning. Raises
    :class:`ConfigError` when neither manifest exists.
    """
    rows = [*_single_speaker_rows(eval_dir), *_librispeech_rows(eval_dir)]
    if not rows:
        raise ConfigError(f"{eval_dir}: neither {_SINGLE}/ nor {_LIBRISPEECH}/ has a manifest.tsv")
    vad = vad if vad is not None else SileroVad()
    clips = []
    for row in rows:
        if languages is not None and row.language not in languages:
            continue
        clip = speech_clip(decode(row.path), vad, row.speaker, row.text)
        if clip is None:
            log.warning("%s: no speech found, skipped", row.path)
            continue
        clips.append(clip)
    return clips


def speech_clip(audio: Audio, vad: SileroVad, speaker: str, text: str | None) -> Clip | None:
    """``audio`` as a clip of ``speaker``: a copy from its first speech region's start to its
    last one's end (regions padded by 50 ms), the silences of at least
    :data:`REFERENCE_PAUSE_S` between its regions as the clip's pauses. ``None`` if Silero VAD
    finds no speech.
    """
    regions = vad.detect(audio, _TRIM_VAD)
    if not regions:
        return None
    first = max(0, round(regions[0].start * audio.sample_rate))
    samples = audio.slice(Span(regions[0].start, regions[-1].end)).copy()
    pauses = tuple(
        (round(a.end * audio.sample_rate) - first, round(b.start * audio.sample_rate) - first)
        for a, b in itertools.pairwise(regions)
        if b.start - a.end >= REFERENCE_PAUSE_S
    )
    return Clip(speaker, samples, text, pauses)


def _single_speaker_rows(eval_dir: Path) -> list[_Row]:
    folder = eval_dir / _SINGLE
    return [
        _Row(folder / row["file"], row["speaker"], row["language"], row["transcript"] or None)
        for row in _manifest(folder, ("file", "speaker", "language", "transcript"))
    ]


def _librispeech_rows(eval_dir: Path) -> list[_Row]:
    folder = eval_dir / _LIBRISPEECH
    return [
        _Row(folder / row["file"], f"librispeech_{row['speaker']}", "en", None)
        for row in _manifest(folder, ("file", "speaker"))
    ]


def _manifest(folder: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """The rows of ``folder/manifest.tsv`` (tab-separated, header first); none if it is absent."""
    path = folder / "manifest.tsv"
    if not path.is_file():
        log.warning("%s: not found, skipped", path)
        return []
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [name for name in columns if name not in (reader.fieldnames or ())]
        if missing:
            raise ConfigError(f"{path}: has no column {', '.join(missing)}")
        return [dict(row) for row in reader]


# --- writers -----------------------------------------------------------------------------------


def write_mixture(mixture: Mixture, out_dir: Path, uri: str) -> tuple[Path, ...]:
    """Write ``<uri>.wav``, ``<uri>.rttm`` and (if any turn has text) ``<uri>.stm``, atomically.

    Creates ``out_dir`` if needed; returns the paths written. Raises :class:`OutputError` for a
    ``uri`` that is not a plain file stem.
    """
    if not uri or any(char.isspace() for char in uri) or "/" in uri or "\\" in uri:
        raise OutputError(f"mixture uri {uri!r} must be a file stem without spaces or slashes")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{uri}.wav", out_dir / f"{uri}.rttm"]
    with atomic_binary_file(paths[0]) as stream:
        write_wav(mixture.samples, mixture.sample_rate, stream)
    with atomic_text_file(paths[1]) as text_stream:
        write_rttm(mixture.turns, uri, text_stream)
    if mixture.texts:
        paths.append(out_dir / f"{uri}.stm")
        with atomic_text_file(paths[2]) as text_stream:
            write_stm(mixture.texts, uri, text_stream)
    return tuple(paths)


def write_wav(samples: npt.NDArray[np.float32], sample_rate: int, stream: IO[bytes]) -> None:
    """Write mono ``samples`` (shape (n,), float32 in [-1, 1]) as 16-bit PCM WAV."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")  # (n,)
    with wave.open(stream, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.setnframes(pcm.shape[0])
        wav.writeframes(pcm.tobytes())


def write_rttm(turns: Sequence[Turn], uri: str, stream: TextIO) -> None:
    """Write one RTTM ``SPEAKER`` line per turn (start and duration in seconds)."""
    for turn in turns:
        stream.write(
            f"SPEAKER {uri} 1 {turn.span.start:.3f} {turn.span.duration:.3f} "
            f"<NA> <NA> {turn.label} <NA> <NA>\n"
        )


def write_stm(texts: Sequence[tuple[Turn, str]], uri: str, stream: TextIO) -> None:
    """Write one STM line per transcribed turn: ``<uri> 1 <speaker> <start> <end> <text>``."""
    for turn, text in texts:
        words = " ".join(text.split())
        if words:
            stream.write(
                f"{uri} 1 {turn.label} {turn.span.start:.3f} {turn.span.end:.3f} {words}\n"
            )


# --- command line ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Build and write ``--count`` mixtures (seeds ``--seed`` onwards); return the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        spec = MixtureSpec(
            n_speakers=args.speakers,
            duration_s=args.minutes * 60.0,
            overlap_share=args.overlap,
            backchannel_share=args.backchannel,
            gain_jitter_db=args.gain_jitter_db,
        )
        languages = None if args.all_languages else ("en",)
        clips = load_clips(args.eval_dir, languages=languages)
        print(
            f"{len(clips)} clips of {len({clip.speaker for clip in clips})} speakers",
            file=sys.stderr,
        )
        for seed in range(args.seed, args.seed + args.count):
            mixture = build_conversation(clips, spec, seed)
            uri = _uri(spec, seed)
            write_mixture(mixture, args.out, uri)
            print(_summary(uri, mixture), flush=True)
    except SaywhoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m saywho.evaluation.mixtures",
        description="Build seeded conversations with exact RTTM (and STM) ground truth.",
    )
    parser.add_argument("--eval-dir", type=Path, required=True, help="the eval corpus folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for .wav/.rttm/.stm")
    parser.add_argument("--speakers", type=int, default=3, help="speakers per mixture")
    parser.add_argument("--minutes", type=float, default=2.0, help="target length")
    parser.add_argument("--overlap", type=float, default=0.0, help="share of overlapped changes")
    parser.add_argument("--backchannel", type=float, default=0.0, help="share of turns answered")
    parser.add_argument("--gain-jitter-db", type=float, default=3.0, help="per-clip gain ± dB")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first mixture")
    parser.add_argument("--count", type=_positive_int, default=1, help="how many mixtures")
    parser.add_argument(
        "--all-languages", action="store_true", help="use every language, not only English"
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _uri(spec: MixtureSpec, seed: int) -> str:
    return (
        f"mix-{spec.n_speakers}spk-{round(spec.duration_s)}s-ov{round(100 * spec.overlap_share)}"
        f"-bc{round(100 * spec.backchannel_share)}-seed{seed}"
    )


def _summary(uri: str, mixture: Mixture) -> str:
    return (
        f"{uri}\t{mixture.duration_s:.1f} s\t{len(mixture.speakers)} speakers "
        f"({', '.join(mixture.speakers)})\toverlap {mixture.overlap_s:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
