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

    Cost: (k, k) matrices of summed and average similarities updated in place, one row and
    column a merge, and one arg-max over them a merge: O(k^2) memory and O(k^3) time at
    worst, in numpy (about a second for a thousand speakers).
    """
    n = embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    owner = np.array(_initial_clusters(n, fixed))  # (n,) initial cluster of each row
    ids, row_cluster = np.unique(owner, return_inverse=True)  # clusters 0…k-1
    k = ids.shape[0]
    member = np.zeros((n, k))
    member[np.arange(n), row_cluster] = 1.0  # (n, k) one-hot
    sums = member.T @ cosine(embeddings, embeddings).astype(np.float64) @ member  # (k, k)
    sizes = member.sum(axis=0)  # (k,)
    _, group_index = np.unique(np.asarray(groups), return_inverse=True)
    heard_in = np.zeros((k, int(group_index.max()) + 1), dtype=bool)  # (k, recordings)
    heard_in[row_cluster, group_index] = True
    # Clusters that share a recording, or a cluster with itself, may never merge.
    blocked = (heard_in.astype(np.int64) @ heard_in.T.astype(np.int64)) > 0  # (k, k)
    score = np.where(blocked, -np.inf, sums / np.outer(sizes, sizes))  # (k, k) mergeable
    while True:
        best = int(np.argmax(score))
        keep, gone = sorted(divmod(best, k))
        if not score[keep, gone] >= threshold:
            break
        sums[keep, :] += sums[gone, :]
        sums[:, keep] += sums[:, gone]
        sizes[keep] += sizes[gone]
        blocked[keep, :] |= blocked[gone, :]
        blocked[:, keep] = blocked[keep, :]
        blocked[gone, :] = blocked[:, gone] = True  # gone for good
        row = np.where(blocked[keep], -np.inf, sums[keep] / (sizes[keep] * sizes))
        score[keep, :] = score[:, keep] = row
        score[gone, :] = score[:, gone] = -np.inf
        row_cluster[row_cluster == gone] = keep
    return _by_first_appearance(row_cluster.astype(np.int64))


def _initial_clusters(n: int, fixed: Sequence[int | None] | None) -> list[int]:
    owner = list(range(n))
    if fixed is None:
        return owner
    first: dict[int, int] = {}
    for row, key in enumerate(fixed):
        if key is not None:
            owner[row] = first.setdefault(key, row)
    return owner


def _by_first_appearance(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=np.int64)
