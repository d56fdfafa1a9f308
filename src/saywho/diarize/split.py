"""Split a local speaker that holds two voices (pure).

Segmentation sometimes gives two people who take turns one local speaker for a whole window
(on a generated 2-person conversation, in 20 of its 21 windows): every voice print of it is
then a blend of both, and no clustering threshold can tell them apart. The pauses inside that
local speaker still fall between the two people's turns, so its *runs* (stretches where it
talks alone, from pause to pause) are each mostly one voice. Each run of at least
``min_run_s`` is embedded on its own; when the runs form two groups farther apart than a
threshold (average linkage, cosine distance), the lighter group's runs move to a free local
speaker slot of that window, and the two become a cannot-link pair for the global clustering.

A codec or a phone line pulls the two voices' runs closer together than one window can tell
from one voice, but the whole recording holds many runs of each: grouped across the
recording (average linkage, cut at the threshold the speakers themselves are clustered at),
they fall into one group per voice. So a local speaker whose runs land in two of those
groups also holds two voices (:func:`other_voice`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage

from saywho.diarize.cluster import cosine_distances
from saywho.diarize.requests import alone

__all__ = [
    "LocalRun",
    "Stretches",
    "apply_splits",
    "inside",
    "other_voice",
    "recording_groups",
    "run_candidates",
    "second_voices",
    "shared_stretches",
    "two_voices",
]

EmbedStretches = Callable[[tuple[tuple[int, int], ...]], npt.NDArray[np.float32]]
"""Voice prints, shape (n, dim), of n stretches of recording frames ``(first, last)``."""


@dataclass(frozen=True, slots=True)
class LocalRun:
    """Frames ``first`` to ``last`` (exclusive) of ``window``: local ``speaker`` talks alone."""

    window: int
    speaker: int
    first: int
    last: int


def run_candidates(
    activity: npt.NDArray[np.float32], min_run_frames: int
) -> tuple[tuple[LocalRun, ...], ...]:
    """For every local speaker that has a free slot beside it in its window and at least two
    runs of ``min_run_frames`` or more, those runs (one tuple per local speaker).

    ``activity`` is (windows, frames, speakers) of 0/1.
    """
    active = activity > 0.5  # (windows, frames, speakers)
    clean = alone(activity)
    used = np.any(active, axis=1)  # (windows, speakers)
    candidates = []
    for window, speaker in zip(*np.nonzero(used), strict=True):
        if used[window].all():  # no slot to move a second voice to
            continue
        runs = tuple(
            LocalRun(int(window), int(speaker), first, last)
            for first, last in _runs(clean[window, :, speaker])
            if last - first >= min_run_frames
        )
        if len(runs) >= 2:
            candidates.append(runs)
    return tuple(candidates)


def second_voices(
    candidates: tuple[tuple[LocalRun, ...], ...],
    window_start: npt.NDArray[np.int64],
    n_frames: int,
    embed: EmbedStretches,
    *,
    threshold: float,
    frames_per_window: int,
    max_frames: int,
    tolerance_frames: int,
    recording_threshold: float | None = None,
) -> tuple[LocalRun, ...]:
    """The runs of ``candidates`` (from :func:`run_candidates`) that belong to a second voice.

    A local speaker's runs are two voices when they split within their window
    (:func:`two_voices` at ``threshold``) or, with ``recording_threshold``, when they fall
    into two groups of every run of the recording (:func:`recording_groups`).

    Runs past the recording's ``n_frames`` (a last window padded with silence) are left out.
    Each voice needs a run clear of its window's edges (see :func:`two_voices`): a local
    speaker with fewer than two such runs can never split, so it is not embedded at all. The
    others' runs are embedded by ``embed``, each stretch once (:func:`shared_stretches`).
    """
    kept_runs = tuple(
        kept
        for runs in candidates
        if len(kept := tuple(r for r in runs if window_start[r.window] + r.last <= n_frames)) >= 2
        and sum(inside(r, frames_per_window) for r in kept) >= 2
    )
    if not kept_runs:
        return ()
    flat = tuple(run for runs in kept_runs for run in runs)
    stretches, index = shared_stretches(flat, window_start, max_frames, tolerance_frames)
    prints = embed(stretches)
    groups = None if recording_threshold is None else recording_groups(prints, recording_threshold)
    moves: list[LocalRun] = []
    first = 0
    for runs in kept_runs:
        inner = np.array([inside(run, frames_per_window) for run in runs])
        used = index[first : first + len(runs)]
        second = two_voices(prints[used], inner, threshold)
        if second is None and groups is not None:
            second = other_voice(groups[used], inner)
        first += len(runs)
        if second is not None:
            moves += [run for run, move in zip(runs, second, strict=True) if move]
    return tuple(moves)


def two_voices(
    prints: npt.NDArray[np.float32], inner: npt.NDArray[np.bool_], threshold: float
) -> npt.NDArray[np.bool_] | None:
    """The runs (prints, shape (m, dim), m ≥ 2) of the second voice, or ``None`` for one voice.

    The runs are split in two by average linkage; they are two voices when the two groups are
    farther apart than ``threshold`` (cosine distance) and each group holds an ``inner`` run
    (m,): a run at a window's edge is often cut or odd, and one alone is no second voice.
    The second voice is the group holding fewer runs (on a tie, the one without the first).
    """
    if prints.shape[0] < 2:
        return None
    tree = _average_linkage(prints)
    if float(tree[-1, 2]) <= threshold:
        return None
    groups = fcluster(tree, t=2, criterion="maxclust")  # (m,) in {1, 2}
    second: npt.NDArray[np.bool_] = groups != groups[0]
    if not (inner[second].any() and inner[~second].any()):
        return None
    if int(second.sum()) > prints.shape[0] - int(second.sum()):
        second = ~second
    return second


def recording_groups(prints: npt.NDArray[np.float32], threshold: float) -> npt.NDArray[np.int64]:
    """A group number for each run's print (n, dim) of the whole recording: average linkage
    of cosine distances, cut at ``threshold``."""
    if prints.shape[0] < 2:
        return np.zeros(prints.shape[0], dtype=np.int64)
    tree = _average_linkage(prints)
    groups: npt.NDArray[np.int64] = fcluster(tree, t=threshold, criterion="distance").astype(
        np.int64
    )
    return groups


def other_voice(
    groups: npt.NDArray[np.int64], inner: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_] | None:
    """The runs of one local speaker (m,) outside the recording-wide group most of them are
    in (on a tie, the first run's), or ``None`` when they are all in one group or either side
    has no ``inner`` run (see :func:`two_voices`)."""
    values, counts = np.unique(groups, return_counts=True)
    if values.shape[0] < 2:
        return None
    main = max(zip(counts, values == groups[0], values, strict=True))[2]
    second: npt.NDArray[np.bool_] = groups != main
    if not (inner[second].any() and inner[~second].any()):
        return None
    return second


def inside(run: LocalRun, frames_per_window: int) -> bool:
    """Whether ``run`` stays clear of its window's edges, where a turn is cut and
    segmentation is least sure (a neighbouring window sees that turn whole)."""
    return run.first > 0 and run.last < frames_per_window


def apply_splits(
    activity: npt.NDArray[np.float32], moves: tuple[LocalRun, ...]
) -> npt.NDArray[np.float32]:
    """A copy of ``activity`` (windows, frames, speakers) where each run of ``moves`` belongs
    to a free local speaker of its window (one new slot per (window, speaker) moved from)."""
    result = activity.copy()
    slot: dict[tuple[int, int], int] = {}
    for run in moves:
        key = (run.window, run.speaker)
        if key not in slot:
            free = np.flatnonzero(~(result[run.window] > 0.5).any(axis=0))
            if free.shape[0] == 0:
                continue
            slot[key] = int(free[0])
        frames = slice(run.first, run.last)
        result[run.window, frames, slot[key]] = result[run.window, frames, run.speaker]
        result[run.window, frames, run.speaker] = 0.0
    return result


def shared_stretches(
    runs: tuple[LocalRun, ...],
    window_start: npt.NDArray[np.int64],
    max_frames: int,
    tolerance_frames: int,
) -> tuple[tuple[tuple[int, int], ...], npt.NDArray[np.int64]]:
    """The stretches of recording frames to embed for ``runs``, and which one each run uses.

    Each run is cut to its middle ``max_frames`` and put on the recording's frame clock
    (``window_start``: each window's first frame). Overlapping windows see one turn several
    times; a run whose stretch starts and ends within ``tolerance_frames`` of one already
    listed reuses it, so a turn is embedded about once rather than once per window.
    Returns ``(first, last)`` pairs (last exclusive) and (len(runs),) indices into them.
    """
    listed = Stretches(tolerance_frames)
    index = np.zeros(len(runs), dtype=np.int64)
    for position, run in enumerate(runs):
        start = int(window_start[run.window])
        first, last = start + run.first, start + run.last
        if last - first > max_frames:
            first += (last - first - max_frames) // 2
            last = first + max_frames
        index[position] = listed.find(first, last)
        if index[position] < 0:
            index[position] = listed.add(first, last)
    return listed.all, index


class Stretches:
    """Stretches of recording frames ``(first, last)``, found again within ``tolerance``
    frames at both ends (one turn, as two overlapping windows each see it)."""

    def __init__(self, tolerance: int) -> None:
        self.tolerance = tolerance
        self._stretches: list[tuple[int, int]] = []
        self._by_first: dict[int, list[int]] = {}

    @property
    def all(self) -> tuple[tuple[int, int], ...]:
        """Every stretch listed, in the order they were added."""
        return tuple(self._stretches)

    def find(self, first: int, last: int) -> int:
        """The index of a listed stretch within the tolerance at both ends, or -1."""
        tolerance = self.tolerance
        for near in range(first - tolerance, first + tolerance + 1):
            for candidate in self._by_first.get(near, ()):
                if abs(self._stretches[candidate][1] - last) <= tolerance:
                    return candidate
        return -1

    def add(self, first: int, last: int) -> int:
        """List a stretch; its index."""
        self._by_first.setdefault(first, []).append(len(self._stretches))
        self._stretches.append((first, last))
        return len(self._stretches) - 1


def _average_linkage(prints: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """The average-linkage tree of ``prints`` (n ≥ 2, dim) under cosine distance (which
    scales each print to unit length itself)."""
    tree: npt.NDArray[np.float64] = linkage(cosine_distances(prints), method="average")
    return tree


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``(first, last)`` (last exclusive) of each run of True in ``flags``."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    change = np.diff(padded)
    return [
        (int(a), int(b))
        for a, b in zip(np.flatnonzero(change == 1), np.flatnonzero(change == -1), strict=True)
    ]
