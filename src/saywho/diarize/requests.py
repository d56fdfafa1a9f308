"""Which stretch of each window to embed for each local speaker (pure).

A local speaker is embedded from the frames where it talks alone, so the voice print is
not a blend of two people; if it never talks alone for long enough, from all its frames.
An embedding is *reliable* (fit to found a cluster) when enough clean speech is behind it;
shorter ones (a "yes", an "mm-hm") are only matched to clusters that already exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["EmbeddingRequest", "alone", "embedding_requests", "frames_to_samples"]


@dataclass(frozen=True, slots=True, eq=False)
class EmbeddingRequest:
    """Embed local ``speaker`` of ``window`` from ``frames`` (bool, shape (frames_per_window,))."""

    window: int
    speaker: int
    frames: npt.NDArray[np.bool_]
    seconds: float
    reliable: bool


def embedding_requests(
    activity: npt.NDArray[np.float32],
    frame_step_s: float,
    *,
    min_embedding_s: float,
    reliable_s: float,
    max_embedding_s: float,
) -> tuple[EmbeddingRequest, ...]:
    """One request per local speaker with at least ``min_embedding_s`` of speech.

    ``activity`` is (windows, frames, speakers) of 0/1. Requests use at most
    ``max_embedding_s`` of speech (the middle of the chosen frames), to bound the cost.
    """
    active = activity > 0.5  # (windows, frames, speakers)
    clean_frames = alone(activity)
    requests = []
    for window, speaker in zip(*np.nonzero(active.any(axis=1)), strict=True):
        clean = clean_frames[window, :, speaker]
        clean_s = float(clean.sum()) * frame_step_s
        frames = clean if clean_s >= min_embedding_s else active[window, :, speaker]
        seconds = float(frames.sum()) * frame_step_s
        if seconds < min_embedding_s:
            continue
        frames = _middle(frames, round(max_embedding_s / frame_step_s))
        reliable = clean_s >= reliable_s
        requests.append(
            EmbeddingRequest(
                int(window), int(speaker), frames, min(seconds, max_embedding_s), reliable
            )
        )
    return tuple(requests)


def alone(activity: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Where each local speaker talks and no one else does (its clean speech): ``activity``
    (..., frames, speakers) of 0/1, the result of the same shape."""
    active = activity > 0.5
    clean: npt.NDArray[np.bool_] = active & (active.sum(axis=-1, keepdims=True) == 1)
    return clean


def _middle(frames: npt.NDArray[np.bool_], keep: int) -> npt.NDArray[np.bool_]:
    """Keep only the ``keep`` chosen frames nearest the middle of the chosen ones."""
    chosen = np.flatnonzero(frames)
    if chosen.shape[0] <= keep:
        return frames
    first = (chosen.shape[0] - keep) // 2
    result = np.zeros_like(frames)
    result[chosen[first : first + keep]] = True
    return result


def frames_to_samples(
    frames: npt.NDArray[np.bool_], step_samples: int, offset_samples: int, n_samples: int
) -> npt.NDArray[np.bool_]:
    """Expand a frame mask to a sample mask of ``n_samples``: frame ``j`` owns the
    ``step_samples`` samples centred on ``offset_samples + j * step_samples``."""
    mask: npt.NDArray[np.bool_] = frames[
        _sample_frames(step_samples, offset_samples, n_samples, frames.shape[0])
    ]
    return mask


@functools.lru_cache(maxsize=8)
def _sample_frames(
    step_samples: int, offset_samples: int, n_samples: int, n_frames: int
) -> npt.NDArray[np.intp]:
    """The frame that owns each of ``n_samples`` samples (read-only: it is shared)."""
    sample_frame = (np.arange(n_samples) - (offset_samples - step_samples // 2)) // step_samples
    owner: npt.NDArray[np.intp] = np.clip(sample_frame, 0, n_frames - 1).astype(np.intp)
    owner.flags.writeable = False
    return owner
