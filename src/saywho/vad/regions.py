"""Speech regions from frame probabilities, and the map between kept speech and real time.

Pure functions: numpy arrays and typed values in, typed values out.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saywho.config import VadConfig
from saywho.types import Span, Utterance, Word

__all__ = ["TimeMap", "recognition_blocks", "restore_times", "speech_regions"]

_HYSTERESIS = 0.15
_MIN_NEG_THRESHOLD = 0.01


def speech_regions(
    probabilities: npt.NDArray[np.float32], frame_s: float, duration_s: float, config: VadConfig
) -> tuple[Span, ...]:
    """Turn per-frame speech probabilities into padded speech regions.

    ``probabilities`` has shape (n_frames,), one value in [0, 1] per ``frame_s`` seconds.
    Speech starts where the probability reaches ``config.threshold`` and ends after
    ``config.min_silence_s`` below a lower threshold (hysteresis); regions shorter than
    ``min_speech_s`` are dropped; each region is padded by ``pad_s`` (half the gap when two
    regions are closer than twice that) and clipped to ``[0, duration_s]``.
    """
    raw = _hysteresis_regions(probabilities, frame_s, config)
    raw = [r for r in raw if r.duration > config.min_speech_s]
    if config.max_speech_s is not None:
        raw = [piece for r in raw for piece in _split_long(r, config.max_speech_s)]
    clipped = [Span(min(r.start, duration_s), min(r.end, duration_s)) for r in raw]
    return _pad(clipped, config.pad_s, duration_s)


def _hysteresis_regions(
    probabilities: npt.NDArray[np.float32], frame_s: float, config: VadConfig
) -> list[Span]:
    low = max(config.threshold - _HYSTERESIS, _MIN_NEG_THRESHOLD)
    regions: list[Span] = []
    start: float | None = None
    silence_since: float | None = None
    for index, probability in enumerate(probabilities.tolist()):
        now = index * frame_s
        if probability >= config.threshold:
            silence_since = None
            if start is None:
                start = now
        elif start is not None and probability < low:
            if silence_since is None:
                silence_since = now
            if now - silence_since >= config.min_silence_s:
                regions.append(Span(start, silence_since))
                start, silence_since = None, None
    if start is not None:
        regions.append(Span(start, probabilities.shape[0] * frame_s))
    return regions


def _split_long(region: Span, max_s: float) -> list[Span]:
    count = int(np.ceil(region.duration / max_s))
    edges = np.linspace(region.start, region.end, count + 1)  # (count + 1,) seconds
    return [Span(float(a), float(b)) for a, b in itertools.pairwise(edges)]


def _pad(regions: Sequence[Span], pad_s: float, duration_s: float) -> tuple[Span, ...]:
    padded: list[Span] = []
    for index, region in enumerate(regions):
        start = region.start - pad_s
        end = region.end + pad_s
        if index > 0:
            gap = region.start - regions[index - 1].end
            start = region.start - min(pad_s, gap / 2)
        if index + 1 < len(regions):
            gap = regions[index + 1].start - region.end
            end = region.end + min(pad_s, gap / 2)
        padded.append(Span(max(0.0, start), min(duration_s, end)))
    return tuple(padded)


def recognition_blocks(regions: Sequence[Span], max_block_s: float) -> tuple[tuple[Span, ...], ...]:
    """Group consecutive speech ``regions`` into blocks of at most ``max_block_s`` of speech.

    The recognizer gets one block at a time, so a long recording never has to be held
    (with its spectrogram) as one piece. Blocks break between regions, at silence; a region
    longer than a block alone is cut into equal pieces.
    """
    blocks: list[tuple[Span, ...]] = []
    current: list[Span] = []
    current_s = 0.0
    for region in regions:
        for piece in _split_long(region, max_block_s):
            if current and current_s + piece.duration > max_block_s:
                blocks.append(tuple(current))
                current, current_s = [], 0.0
            current.append(piece)
            current_s += piece.duration
    if current:
        blocks.append(tuple(current))
    return tuple(blocks)


@dataclass(frozen=True, slots=True)
class TimeMap:
    """Maps times in the concatenation of speech regions back to times in the recording.

    Build it with :meth:`of`; ``ends`` are the cumulative region lengths in seconds.
    """

    regions: tuple[Span, ...]
    ends: tuple[float, ...]

    @classmethod
    def of(cls, regions: Sequence[Span]) -> TimeMap:
        """The map for speech ``regions`` (sorted, not overlapping) laid end to end."""
        ends = np.cumsum([r.duration for r in regions]).tolist() if regions else []
        return cls(tuple(regions), tuple(ends))

    @property
    def kept_s(self) -> float:
        """Seconds of audio kept (the length of the concatenated timeline)."""
        return self.ends[-1] if self.ends else 0.0

    def to_original(self, time_s: float, region_index: int) -> float:
        """Map a concatenated time to the recording, as part of region ``region_index``."""
        region = self.regions[region_index]
        return time_s - (self.ends[region_index] - region.duration) + region.start

    def region_of(self, time_s: float) -> int:
        """Index of the region that contains concatenated time ``time_s`` (clamped)."""
        return min(bisect.bisect_right(self.ends, time_s), len(self.ends) - 1)


def restore_times(utterances: Sequence[Utterance], time_map: TimeMap) -> tuple[Utterance, ...]:
    """Move utterances recognized on concatenated speech back onto the recording's clock.

    Each word is placed by the region that holds its middle, so no word straddles a cut;
    an utterance spans its first to last timed word.
    """
    if not time_map.regions:
        return tuple(utterances)
    return tuple(_restore_utterance(u, time_map) for u in utterances)


def _restore_utterance(utterance: Utterance, time_map: TimeMap) -> Utterance:
    words = tuple(_restore_word(w, time_map) for w in utterance.words)
    timed = [w.span for w in words if w.span is not None]
    if timed:
        span = Span(timed[0].start, max(timed[-1].end, timed[0].start))
    else:
        index = time_map.region_of(utterance.span.start)
        span = Span(
            time_map.to_original(utterance.span.start, index),
            time_map.to_original(utterance.span.end, index),
        )
    return Utterance(span, utterance.text, words, utterance.speaker)


def _restore_word(word: Word, time_map: TimeMap) -> Word:
    if word.span is None:
        return word
    index = time_map.region_of((word.span.start + word.span.end) / 2)
    span = Span(
        time_map.to_original(word.span.start, index), time_map.to_original(word.span.end, index)
    )
    return dataclasses.replace(word, span=span)
