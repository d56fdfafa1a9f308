"""Open-set matching of voice embeddings (pure numpy/scipy).

* :func:`voice_print` averages the embeddings of one voice, weighted by the seconds of speech
  behind each, into one L2-normalised print.
* :func:`match` assigns speakers to enrolled voices one-to-one (Hungarian algorithm) and keeps
  only the pairs whose cosine similarity reaches the threshold: a stranger stays unnamed
  rather than being forced onto the nearest known voice.
* :func:`link` clusters speakers of several recordings (average linkage on cosine similarity)
  so the same unknown person gets one label everywhere; two speakers of one recording are
  never put together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

__all__ = ["DEFAULT_THRESHOLD", "Match", "cosine", "link", "match", "unit", "voice_print"]

DEFAULT_THRESHOLD = 0.5
"""Cosine similarity a speaker must reach to get an enrolled name (benchmarks/identify.py)."""


@dataclass(frozen=True, slots=True)
class Match:
    """Speaker row ``speaker`` is enrolled voice row ``voice``, with cosine ``score``."""

    speaker: int
    voice: int
    score: float


def unit(vectors: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """``vectors`` (..., dim) scaled to length 1 (zero vectors stay zero)."""
    array = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    result: npt.NDArray[np.float32] = (array / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def cosine(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Cosine similarity of every row of ``a`` (n, dim) with every row of ``b`` (m, dim): (n, m)."""
    result: npt.NDArray[np.float32] = unit(a) @ unit(b).T
    return result


def voice_print(
    embeddings: npt.NDArray[np.floating], seconds: npt.NDArray[np.floating]
) -> npt.NDArray[np.float32]:
    """One print from ``embeddings`` (n, dim), weighted by ``seconds`` (n,); shape (dim,)."""
    if embeddings.shape[0] == 0:
        raise ValueError("a voice print needs at least one embedding")
    weights = np.maximum(np.asarray(seconds, dtype=np.float64), 1e-6)
    mean = (unit(embeddings).astype(np.float64) * weights[:, None]).sum(axis=0)  # (dim,)
    return unit(mean)


def match(
    speakers: npt.NDArray[np.floating],
    voices: npt.NDArray[np.floating],
    threshold: float,
) -> tuple[Match, ...]:
    """Name speakers (n, dim) after voices (m, dim): one-to-one, score ≥ ``threshold``.

    The assignment maximises the summed similarity of the accepted pairs only (a pair below
    the threshold counts as zero), so an impossible pair never pulls a good one apart.
    Returns the accepted matches in speaker order.
    """
    if speakers.shape[0] == 0 or voices.shape[0] == 0:
        return ()
    similarity = cosine(speakers, voices)  # (n, m)
    gain = np.where(similarity >= threshold, similarity + 1.0, 0.0)  # accepted pairs only
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return tuple(
        Match(int(r), int(c), float(similarity[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if similarity[r, c] >= threshold
    )


def link(
    embeddings: npt.NDArray[np.floating],
    groups: Sequence[int],
    threshold: float,
    *,
    fixed: Sequence[int | None] | None = None,
) -> npt.NDArray[np.int64]:
    """Cluster ``embeddings`` (n, dim) from recordings ``groups`` (n,); returns (n,) ids 0…k-1.

    Average-linkage agglomeration on cosine similarity, merging while the best pair of
    clusters is at least ``threshold`` similar, and never merging two clusters that hold
    speakers of the same recording. ``fixed`` (n,) optionally pins rows into clusters from
    the start (rows with the same non-``None`` value, e.g. an enrolled name, are one cluster).
    Cluster ids are numbered by first appearance.
    """
    n = embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    owner = _initial_clusters(n, fixed)
    members: dict[int, list[int]] = {}
    for row, cluster in enumerate(owner):
        members.setdefault(cluster, []).append(row)
    pair = cosine(embeddings, embeddings).astype(np.float64)  # (n, n)
    while True:
        best = _best_pair(members, pair, groups, threshold)
        if best is None:
            break
        keep, gone = best
        members[keep].extend(members.pop(gone))
    labels = np.zeros(n, dtype=np.int64)
    for cluster, rows in members.items():
        labels[rows] = cluster
    return _by_first_appearance(labels)


def _initial_clusters(n: int, fixed: Sequence[int | None] | None) -> list[int]:
    owner = list(range(n))
    if fixed is None:
        return owner
    first: dict[int, int] = {}
    for row, key in enumerate(fixed):
        if key is not None:
            owner[row] = first.setdefault(key, row)
    return owner


def _best_pair(
    members: dict[int, list[int]],
    pair: npt.NDArray[np.float64],
    groups: Sequence[int],
    threshold: float,
) -> tuple[int, int] | None:
    """The two mergeable clusters with the highest average similarity ≥ ``threshold``."""
    ids = sorted(members)
    found: tuple[int, int] | None = None
    best = threshold
    for i, a in enumerate(ids):
        groups_a = {groups[row] for row in members[a]}
        for b in ids[i + 1 :]:
            if groups_a & {groups[row] for row in members[b]}:
                continue
            score = float(pair[np.ix_(members[a], members[b])].mean())
            if score >= best:
                found, best = (a, b), score
    return found


def _by_first_appearance(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=np.int64)
