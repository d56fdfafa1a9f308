"""Pull one person's speech out of a recording, or everything but theirs (pure).

:func:`extract_spans` chooses the stretches from the diarization turns: for a speaker, the
times they talk and nobody else does; with ``exclude``, the whole recording minus every
moment they talk. :func:`render` cuts those stretches out of the samples with short fades
(so a cut does not click), either back to back or in place with silence between them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from saywho.errors import VoiceLibraryError
from saywho.types import Span, Transcript, Turn

__all__ = ["extract_spans", "render", "resolve_speaker", "subtract", "union"]

MIN_PIECE_S = 0.05  # shorter stretches are dropped: they would be all fade


def resolve_speaker(transcript: Transcript, who: str) -> str:
    """The label of ``who``: a speaker label (``SPEAKER_01``) or an enrolled name."""
    for speaker in transcript.speakers:
        if who in (speaker.label, speaker.name):
            return speaker.label
    known = ", ".join(s.display for s in transcript.speakers) or "none"
    raise VoiceLibraryError(f"{transcript.source}: no speaker {who!r}; speakers: {known}")


def union(spans: Sequence[Span]) -> tuple[Span, ...]:
    """The sorted union of ``spans`` (touching or overlapping spans merged)."""
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return tuple(merged)


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> tuple[Span, ...]:
    """The parts of ``spans`` outside every span of ``holes``."""
    result: list[Span] = []
    cut = union(holes)
    for span in union(spans):
        start = span.start
        for hole in cut:
            if hole.end <= start or hole.start >= span.end:
                continue
            if hole.start > start:
                result.append(Span(start, hole.start))
            start = max(start, hole.end)
        if start < span.end:
            result.append(Span(start, span.end))
    return tuple(result)


def extract_spans(
    turns: Sequence[Turn], label: str, duration_s: float, *, exclude: bool = False
) -> tuple[Span, ...]:
    """Where ``label`` talks alone, or (``exclude``) everything outside ``label``'s turns."""
    own = [t.span for t in turns if t.label == label]
    if exclude:
        spans = subtract([Span(0.0, duration_s)], own)
    else:
        spans = subtract(own, [t.span for t in turns if t.label != label])
    return tuple(s for s in spans if s.duration >= MIN_PIECE_S)


def render(
    samples: npt.NDArray[np.float32],
    sample_rate: int,
    spans: Sequence[Span],
    *,
    keep_timing: bool,
    fade_s: float = 0.01,
) -> npt.NDArray[np.float32]:
    """The samples (n,) of ``spans`` with ``fade_s`` fades at each cut.

    ``keep_timing``: the result is as long as the input, silent outside ``spans``; else the
    stretches follow one another. Returns a new float32 array.
    """
    pieces = []
    output = np.zeros_like(samples) if keep_timing else None
    for span in spans:
        first = max(0, round(span.start * sample_rate))
        last = min(samples.shape[0], round(span.end * sample_rate))
        if last <= first:
            continue
        piece = _faded(samples[first:last], round(fade_s * sample_rate))
        if output is not None:
            output[first:last] = piece
        else:
            pieces.append(piece)
    if output is not None:
        return output
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def _faded(piece: npt.NDArray[np.float32], fade: int) -> npt.NDArray[np.float32]:
    fade = min(fade, piece.shape[0] // 2)
    result = piece.astype(np.float32, copy=True)
    if fade > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)  # 0 → 1
        result[:fade] *= ramp
        result[-fade:] *= ramp[::-1]
    return result
