"""The merge threshold of one recording, from the recording's own same/different pairs (pure).

A codec or a phone line pulls the voice prints of different people together (MP3 at 24 kbit/s
or G.711 μ-law: the median distance between two local speakers of one window drops from about
1.0 to 0.7-0.8 on our generated conversations) while prints of one person stay about as close as
before, so a fixed threshold merges people on damaged audio. Each recording hands us pairs of
both kinds:

- *different*: two local speakers of one window are two people;
- *same*: a local speaker followed from window to window (in each step, the local speaker of the
  next window that is active in the same frames) until the windows no longer share audio, so
  that the two prints are not made of the same samples.

When there are enough of both and the different pairs do look different (their median is at
least the default threshold), the threshold is the midpoint of the two medians, never above
the default and never below ``floor`` (a floor at or above the default keeps the default).
Otherwise the default stands: in a one-speaker recording the "different" pairs are one voice
that segmentation split in two, and lowering the threshold there would split the speaker.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from saywho.diarize.cluster import same_window_pairs

__all__ = ["MIN_PAIRS", "calibrated_threshold", "same_speaker_pairs"]

MIN_PAIRS = 10  # of each kind; a median of fewer pairs is mostly noise

Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def calibrated_threshold(
    embeddings: npt.NDArray[np.float32],
    windows: npt.NDArray[np.int64],
    same: Pairs,
    *,
    default: float,
    floor: float,
) -> float:
    """The cosine-distance threshold for clustering ``embeddings`` (n, dim).

    ``windows`` (n,) says which window each print comes from (different pairs); ``same`` holds
    index pairs of prints of one speaker (see :func:`same_speaker_pairs`).
    """
    different = same_window_pairs(windows)
    if min(different[0].shape[0], same[0].shape[0]) < MIN_PAIRS:
        return default
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    different_median = float(np.median(_distances(unit, different)))
    if different_median < default:
        return default
    midpoint = (different_median + float(np.median(_distances(unit, same)))) / 2
    return float(np.clip(midpoint, min(floor, default), default))


def same_speaker_pairs(
    activity: npt.NDArray[np.float32],
    window_start: npt.NDArray[np.int64],
    windows: npt.NDArray[np.int64],
    speakers: npt.NDArray[np.int64],
    hop: int,
) -> Pairs:
    """Index pairs ``(i, j)`` of prints of one local speaker followed over ``hop`` windows.

    ``activity`` is (windows, frames, speakers) of 0/1 and ``window_start`` (windows,) the
    recording frame where each window starts; print ``i`` is local speaker ``speakers[i]`` of
    window ``windows[i]``. A local speaker's successor in the next window is the one active in
    most of the same frames, when that choice is mutual.
    """
    n_windows, _, n_local = activity.shape
    print_of = np.full((n_windows, n_local), -1, dtype=np.int64)
    print_of[windows, speakers] = np.arange(windows.shape[0])
    follow = _successors(activity > 0.5, window_start)  # (n_windows - 1, n_local)
    firsts, seconds = [], []
    for window in range(n_windows - hop):
        for speaker in range(n_local):
            current = speaker
            for step in range(hop):
                if current < 0:
                    break
                current = int(follow[window + step, current])
            first, second = print_of[window, speaker], print_of[window + hop, max(current, 0)]
            if current >= 0 and first >= 0 and second >= 0:
                firsts.append(first)
                seconds.append(second)
    return np.array(firsts, dtype=np.int64), np.array(seconds, dtype=np.int64)


def _successors(
    active: npt.NDArray[np.bool_], window_start: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """For each window but the last and each local speaker, the local speaker of the next
    window that is mutually the most co-active with it, or -1."""
    n_windows, n_frames, n_local = active.shape
    result = np.full((max(n_windows - 1, 0), n_local), -1, dtype=np.int64)
    for window in range(n_windows - 1):
        shift = int(window_start[window + 1] - window_start[window])
        if shift >= n_frames:
            continue
        here = active[window, shift:].astype(np.int64)  # (shared frames, n_local)
        there = active[window + 1, : n_frames - shift].astype(np.int64)
        agree = here.T @ there  # (n_local, n_local) frames active in both
        best_there, best_here = agree.argmax(axis=1), agree.argmax(axis=0)
        for speaker in range(n_local):
            partner = int(best_there[speaker])
            if agree[speaker, partner] > 0 and int(best_here[partner]) == speaker:
                result[window, speaker] = partner
    return result


def _distances(unit: npt.NDArray[np.float32], pairs: Pairs) -> npt.NDArray[np.float32]:
    distance: npt.NDArray[np.float32] = 1.0 - np.sum(unit[pairs[0]] * unit[pairs[1]], axis=1)
    return distance
