"""From per-window local speakers to who spoke when on the recording's clock.

Pure numpy. Windows overlap; each frame of the recording is seen by several windows, so
we average: a cluster's activation is the mean, over the windows that see the frame, of
the activity of the local speaker matched to it; the number of people talking is the mean
of each window's (expected) local count, rounded up past ``count_threshold``. In each
frame the ``count`` most activated clusters speak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saywho.diarize.cluster import UNASSIGNED
from saywho.types import Span, Turn

__all__ = [
    "FrameGrid",
    "exclusive",
    "frame_activity",
    "move_runs",
    "said_over",
    "short_runs",
    "to_turns",
]


@dataclass(frozen=True, slots=True)
class FrameGrid:
    """Frame ``j`` of the recording is centred at ``j * step_s + offset_s`` seconds; no
    span reaches past ``end_s`` (the end of the recording), if given."""

    step_s: float
    offset_s: float
    end_s: float | None = None

    def span(self, first: int, last: int) -> Span:
        """The time covered by frames ``first`` up to (not including) ``last``."""
        half = self.step_s / 2
        start = max(0.0, first * self.step_s + self.offset_s - half)
        end = (last - 1) * self.step_s + self.offset_s + half
        if self.end_s is not None:
            start, end = min(start, self.end_s), min(end, self.end_s)
        return Span(start, max(start, end))


@dataclass(frozen=True, slots=True, eq=False)
class FrameActivity:
    """Per recording frame and cluster: mean activation in [0, 1] and who is judged active,
    both (n_frames, n_clusters); and how many people segmentation hears in each frame, the
    mean over the windows that see it, ``talking`` (n_frames,)."""

    activation: npt.NDArray[np.float64]
    active: npt.NDArray[np.bool_]
    talking: npt.NDArray[np.float64]


def frame_activity(
    local: npt.NDArray[np.float32],
    window_start: npt.NDArray[np.int64],
    assignment: npt.NDArray[np.int64],
    n_clusters: int,
    n_frames: int,
    *,
    local_count: npt.NDArray[np.float32] | None = None,
    count_threshold: float = 0.5,
) -> FrameActivity:
    """Who speaks in each frame of the recording, overlap kept.

    ``local`` (windows, frames_per_window, 3) is each window's local speaker activity (0/1),
    ``window_start`` (windows,) the recording frame where each window starts, ``assignment``
    (windows, 3) the cluster of each local speaker (``UNASSIGNED`` if none).
    ``local_count`` (windows, frames_per_window) is how many talk in each window's frame
    (default: the local speakers active there); a frame's mean count ``c`` means
    ``floor(c + 1 - count_threshold)`` people (0.5: ordinary rounding).
    """
    _, per_window, n_local = local.shape
    frames = window_start[:, None] + np.arange(per_window)[None, :]  # (windows, per_window)
    inside = frames < n_frames
    seen = np.zeros(n_frames, dtype=np.float64)
    np.add.at(seen, frames[inside], 1.0)
    spoken = np.zeros(n_frames, dtype=np.float64)
    talking = local.sum(axis=2) if local_count is None else local_count  # (windows, per_window)
    np.add.at(spoken, frames[inside], talking[inside])
    activation = np.zeros((n_frames, n_clusters), dtype=np.float64)
    for speaker in range(n_local):
        cluster = assignment[:, speaker]  # (windows,)
        valid = (cluster != UNASSIGNED)[:, None] & inside
        target = np.broadcast_to(cluster[:, None], frames.shape)
        np.add.at(activation, (frames[valid], target[valid]), local[:, :, speaker][valid])
    seen = np.maximum(seen, 1.0)
    talking_mean = spoken / seen
    count = np.floor(talking_mean + 1.0 - count_threshold).astype(np.int64)  # (n_frames,)
    activation /= seen[:, None]
    return FrameActivity(activation, _top_clusters(activation, count), talking_mean)


def _top_clusters(
    activation: npt.NDArray[np.float64], count: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    _n_frames, n_clusters = activation.shape
    order = np.argsort(-activation, axis=1, kind="stable")  # (n_frames, k) most active first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n_clusters), order.shape), axis=1)
    result: npt.NDArray[np.bool_] = (rank < count[:, None]) & (activation > 0)
    return result


def exclusive(activity: FrameActivity) -> npt.NDArray[np.bool_]:
    """One speaker per frame: where several are active, the most activated one.

    Returns (n_frames, k) booleans with at most one True per row.
    """
    active = activity.active
    result = np.zeros_like(active)
    if active.shape[1] == 0:
        return result
    best = np.argmax(np.where(active, activity.activation, -np.inf), axis=1)  # (n_frames,)
    speaking = np.flatnonzero(active.any(axis=1))
    result[speaking, best[speaking]] = True
    return result


def to_turns(
    active: npt.NDArray[np.bool_],
    grid: FrameGrid,
    labels: Sequence[str],
    *,
    min_turn_s: float,
    min_gap_s: float,
) -> tuple[Turn, ...]:
    """Turns from frame activity (n_frames, k): runs of frames, gaps shorter than
    ``min_gap_s`` bridged, turns shorter than ``min_turn_s`` dropped; sorted by time."""
    turns: list[Turn] = []
    for cluster, label in enumerate(labels):
        spans = [grid.span(a, b) for a, b in _runs(active[:, cluster])]
        turns.extend(
            Turn(span, label) for span in _bridge(spans, min_gap_s) if span.duration >= min_turn_s
        )
    return tuple(sorted(turns))


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))  # starts at even, ends at odd positions
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _bridge(spans: list[Span], min_gap_s: float) -> list[Span]:
    merged: list[Span] = []
    for span in spans:
        if merged and span.start - merged[-1].end < min_gap_s:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def short_runs(
    active: npt.NDArray[np.bool_], min_frames: int, max_frames: int
) -> list[tuple[int, int, int]]:
    """``(cluster, first, last)`` for each run of a cluster's activity of ``min_frames`` up
    to ``max_frames`` frames (a short turn whose speaker is worth checking again)."""
    found = []
    for cluster in range(active.shape[1]):
        for first, last in _runs(active[:, cluster]):
            if min_frames <= last - first <= max_frames:
                found.append((cluster, first, last))
    return found


def move_runs(activity: FrameActivity, moves: Sequence[tuple[int, int, int, int]]) -> FrameActivity:
    """A copy of ``activity`` where each ``(cluster, first, last, new_cluster)`` run's frames
    belong to ``new_cluster`` instead (activation moved with them)."""
    active = activity.active.copy()
    activation = activity.activation.copy()
    for cluster, first, last, new in moves:
        rows = slice(first, last)
        active[rows, new] |= active[rows, cluster]
        activation[rows, new] = np.maximum(activation[rows, new], activation[rows, cluster])
        active[rows, cluster] = False
        activation[rows, cluster] = 0.0
    return FrameActivity(activation, active, activity.talking)


def said_over(
    activity: FrameActivity, first: int, last: int, other: int, *, count_threshold: float
) -> bool:
    """Whether frames ``first`` to ``last`` (a short turn) were said over ``other``'s speech:
    ``other`` is active in most of them and segmentation hears two people there (the mean
    count over them reaches ``2 - count_threshold``, the bar :func:`frame_activity` counts
    two people at)."""
    rows = slice(first, last)
    return bool(
        activity.active[rows, other].mean() > 0.5
        and activity.talking[rows].mean() >= 2.0 - count_threshold
    )
