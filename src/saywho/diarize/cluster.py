"""Global speaker clustering of local-speaker embeddings, and the per-window assignment.

Pure numpy/scipy: embeddings in, cluster indices and centroids out.

1. Agglomerative clustering (average linkage, cosine distance) of the *reliable*
   embeddings (enough clean speech behind them), cut at a distance threshold. Two local
   speakers of one window are two people, so their distance is raised (a soft cannot-link):
   a codec or a phone line that pulls every voice print together no longer merges them.
2. Clusters with too little speech in total are phantoms: their members join the nearest
   real cluster, unless a cluster is far from every heavier one (a short but distinct voice,
   such as someone who only says a few words); a light cluster that segmentation heard
   beside the speaker it would join, in one window, needs to be less far from that speaker
   to stay. So are blends: a lighter cluster close to two speakers who are not close to
   each other holds prints of both at once.
3. Speaker-count hints adjust that result instead of replacing it: too many clusters, and
   the lightest join their nearest neighbours; too few, and the voice prints the clusters
   explain worst found new ones, taking along only prints closer to them than to their own
   centroid. Re-cutting the tree instead splits a big speaker in two whenever the tree's
   next branch is inside one person, which doubled the error on our data. A split whose two
   halves are no farther apart than one voice's own spread is one person cut in two; then a
   short print (a stretch too short to found a cluster) that is far from every speaker
   founds the new one instead: someone heard only in short bursts.
4. Every local speaker of every window (reliable or not, so short replies are kept) is then
   matched to a centroid with the Hungarian algorithm, one window at a time, so two local
   speakers of one window never share a cluster.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import pdist

from saywho.config import SpeakerHints

__all__ = [
    "Clustering",
    "assign_to_centroids",
    "closer_elsewhere",
    "cluster_embeddings",
    "cosine_distances",
    "same_window_pairs",
]

UNASSIGNED = -1
ONE_VOICE_SPREAD = 0.3
"""Cosine distance between two stretches of one person's speech, typically (measured 0.2-0.35,
median of each recording's same-person pairs); halves of a split closer than this are one voice."""


@dataclass(frozen=True, slots=True, eq=False)
class Clustering:
    """Cluster index of each input embedding and the L2-normalised centroids, shape (k, dim).

    A speaker-count hint can add speakers founded by a short print alone: their centroids
    come after those of the labelled clusters, and no input embedding carries their index.
    """

    labels: npt.NDArray[np.int64]
    centroids: npt.NDArray[np.float32]


def cluster_embeddings(
    embeddings: npt.NDArray[np.float32],
    weights_s: npt.NDArray[np.float64],
    *,
    threshold: float,
    min_cluster_s: float,
    hints: SpeakerHints,
    windows: npt.NDArray[np.int64] | None = None,
    cannot_link: float = 0.0,
    distinct: float | None = None,
    witnessed: float | None = None,
    short_prints: npt.NDArray[np.float32] | None = None,
    short_s: npt.NDArray[np.float64] | None = None,
) -> Clustering:
    """Cluster ``embeddings`` (n, dim), each backed by ``weights_s`` (n,) seconds of speech.

    ``threshold`` is the cosine distance at which the tree is cut; clusters holding less than
    ``min_cluster_s`` seconds are folded into their nearest neighbour, unless ``distinct``
    from every heavier one (``witnessed`` instead, when ``windows`` put one of its prints
    beside one of the nearest heavy cluster's; see :func:`_fold_small`). ``hints`` then
    adjust the count (see the module notes and :func:`_add_speakers`); when the count found
    meets them, they change nothing.
    """
    n = embeddings.shape[0]
    if n == 0:
        return Clustering(
            np.zeros(0, dtype=np.int64), np.zeros((0, embeddings.shape[1]), np.float32)
        )
    unit = _normalise(embeddings)
    short_unit = (
        np.zeros((0, unit.shape[1]), dtype=np.float32)
        if short_prints is None
        else _normalise(short_prints)
    )
    if n == 1:
        wanted = min(hints.clamp(1), 1 + short_unit.shape[0])
        return _add_speakers(unit, weights_s, np.zeros(1, np.int64), wanted, short_unit, threshold)
    distances = cosine_distances(unit, windows, cannot_link)
    tree = linkage(distances, method="average")
    labels = fcluster(tree, t=threshold, criterion="distance") - 1  # (n,) from 0
    labels = _fold_small(
        unit,
        weights_s,
        labels,
        min_cluster_s,
        keep_at_least=1,
        distinct=distinct,
        windows=windows,
        witnessed=witnessed,
        short=None if short_prints is None or short_s is None else (short_unit, short_s),
    )
    labels = _fold_blends(unit, weights_s, labels, threshold)
    found = int(labels.max()) + 1
    wanted = min(hints.clamp(found), n + short_unit.shape[0])
    if wanted < found:
        heaviest = np.argsort(-np.bincount(labels, weights=weights_s), kind="stable")[:wanted]
        labels = _fold_into(unit, weights_s, labels, np.sort(heaviest))
    return _add_speakers(unit, weights_s, labels, wanted, short_unit, threshold)


def assign_to_centroids(
    embeddings: npt.NDArray[np.float32],
    window_of: npt.NDArray[np.int64],
    centroids: npt.NDArray[np.float32],
) -> npt.NDArray[np.int64]:
    """Match each embedding to a centroid, one-to-one within each window.

    ``window_of`` (n,) says which window each embedding (n, dim) comes from. Returns (n,)
    cluster indices, ``UNASSIGNED`` where a window has more local speakers than clusters.
    """
    result = np.full(embeddings.shape[0], UNASSIGNED, dtype=np.int64)
    if embeddings.shape[0] == 0 or centroids.shape[0] == 0:
        return result
    similarity = _normalise(embeddings) @ centroids.T  # (n, k) cosine
    for window in np.unique(window_of):
        rows = np.flatnonzero(window_of == window)
        local, cluster = linear_sum_assignment(similarity[rows], maximize=True)
        result[rows[local]] = cluster
    return result


def _add_speakers(
    unit: npt.NDArray[np.float32],
    weights_s: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    wanted: int,
    short: npt.NDArray[np.float32],
    threshold: float,
) -> Clustering:
    """Grow the clusters of ``unit`` (n, dim; ``labels`` (n,)) to ``wanted`` speakers.

    Each new speaker is the split of the print worst explained by its cluster
    (:func:`_split_worst_explained`) when the two halves are farther apart than
    :data:`ONE_VOICE_SPREAD`. Otherwise the ``short`` print (unit vectors, (m, dim)) farthest
    from every speaker founds it, when that is farther than ``threshold``: a voice heard only
    in short bursts, not one person cut in two. Otherwise the split stands all the same (the
    caller asked for that many), and with nothing left to split the farthest short print.
    """
    founded: list[npt.NDArray[np.float32]] = []  # centroids of speakers founded by a short print
    left = short
    while int(labels.max()) + 1 + len(founded) < wanted:
        split = _split_worst_explained(unit, weights_s, labels)
        if split is not None and _halves_apart(unit, weights_s, labels, split) > ONE_VOICE_SPREAD:
            labels = split
            continue
        if left.shape[0] > 0:
            centroids = np.concatenate([_centroids(unit, weights_s, labels), *founded])
            farthest = 1.0 - np.max(left @ centroids.T, axis=1)  # (m,) to the nearest speaker
            best = int(np.argmax(farthest))
            if split is None or farthest[best] > threshold:
                founded.append(left[best : best + 1])
                left = np.delete(left, best, axis=0)
                continue
        if split is None:
            break
        labels = split
    centroids = np.concatenate([_centroids(unit, weights_s, labels), *founded])
    return Clustering(labels, centroids.astype(np.float32))


def _halves_apart(
    unit: npt.NDArray[np.float32],
    weights_s: npt.NDArray[np.float64],
    before: npt.NDArray[np.int64],
    after: npt.NDArray[np.int64],
) -> float:
    """Cosine distance between the new cluster of ``after`` (its last) and the cluster of
    ``before`` that gave it most of its prints, as that one stands after the split."""
    new = int(after.max())
    source = int(np.argmax(np.bincount(before[after == new])))
    centroids = _centroids(unit, weights_s, after)
    return 1.0 - float(centroids[new] @ centroids[source])


def _split_worst_explained(
    unit: npt.NDArray[np.float32], weights_s: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64] | None:
    """One more cluster: seeded by the print least like its own centroid, joined by the prints
    more like that seed than like their own centroid (never emptying a cluster); ``None``
    when every cluster holds a single print."""
    sizes = np.bincount(labels)
    movable = sizes[labels] > 1  # a print alone in its cluster stays
    if not movable.any():
        return None
    centroids = _centroids(unit, weights_s, labels)
    own = np.sum(unit * centroids[labels], axis=1)  # (n,) cosine to own centroid
    seed = int(np.argmin(np.where(movable, own, np.inf)))
    moving = movable & (unit @ unit[seed] > own)
    moving[seed] = True
    for cluster in np.unique(labels[moving]):
        members = labels == cluster
        if np.all(moving[members]):  # keep the member, other than the seed, that fits best
            members[seed] = False
            moving[np.flatnonzero(members)[np.argmax(own[members])]] = False
    result = labels.copy()
    result[moving] = int(labels.max()) + 1
    return result


def cosine_distances(
    unit: npt.NDArray[np.float32],
    windows: npt.NDArray[np.int64] | None = None,
    cannot_link: float = 0.0,
) -> npt.NDArray[np.float64]:
    """Condensed cosine distances, raised by ``cannot_link`` between two prints of one window
    (two local speakers of one window are two people). Memory: one condensed matrix."""
    condensed: npt.NDArray[np.float64] = pdist(unit.astype(np.float64), metric="cosine")
    np.clip(condensed, 0.0, 2.0, out=condensed)
    if windows is not None and cannot_link > 0.0:
        first, second = same_window_pairs(windows)
        n = unit.shape[0]
        condensed[n * first - first * (first + 1) // 2 + (second - first - 1)] += cannot_link
    return condensed


def same_window_pairs(
    windows: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Index pairs ``(i, j)``, ``i < j``, of prints from the same window."""
    order = np.argsort(windows, kind="stable")
    sorted_windows = windows[order]
    firsts, seconds = [], []
    for offset in range(1, 3):  # a window has at most three local speakers
        same = sorted_windows[offset:] == sorted_windows[:-offset]
        a, b = order[:-offset][same], order[offset:][same]
        firsts.append(np.minimum(a, b))
        seconds.append(np.maximum(a, b))
    return np.concatenate(firsts).astype(np.int64), np.concatenate(seconds).astype(np.int64)


def _fold_small(
    unit: npt.NDArray[np.float32],
    weights_s: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    min_cluster_s: float,
    keep_at_least: int,
    distinct: float | None = None,
    windows: npt.NDArray[np.int64] | None = None,
    witnessed: float | None = None,
    short: tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]] | None = None,
) -> npt.NDArray[np.int64]:
    """Fold clusters lighter than ``min_cluster_s`` into their nearest neighbour.

    With ``distinct``, a light cluster whose centroid is farther than ``distinct`` (cosine
    distance) from every heavy one stays when the ``short`` prints (unit vectors and their
    seconds: stretches too short to found a cluster) that sound most like it bring its
    speech to ``min_cluster_s``: a voice heard only in short bursts, not one stray print.

    ``witnessed`` is a lower bar: a light cluster with a print in the same window (``windows``,
    (n,) per print) as a print of its nearest heavy cluster (segmentation heard two people
    there) needs only to be farther than that.
    """
    mass = np.bincount(labels, weights=weights_s)
    large = np.flatnonzero(mass >= min_cluster_s)
    if large.shape[0] < keep_at_least:
        large = np.argsort(-mass, kind="stable")[:keep_at_least]
    if distinct is not None and large.shape[0] > 0:
        centroids = _centroids(unit, weights_s, labels)  # (k, dim)
        similarity = centroids @ centroids[large].T  # (k, heavy)
        nearest = 1.0 - np.max(similarity, axis=1)  # (k,) to the nearest heavy one
        bar = np.full(mass.shape[0], distinct)
        if windows is not None and witnessed is not None:
            beside = _seen_beside(labels, windows, large[np.argmax(similarity, axis=1)])
            bar[beside] = min(distinct, witnessed)
        support = mass.copy()
        if short is not None and short[0].shape[0] > 0:
            closest = np.argmax(short[0] @ centroids.T, axis=1)  # (m,) cluster of each
            support += np.bincount(closest, weights=short[1], minlength=mass.shape[0])
        keep = (support >= min_cluster_s) & (nearest > bar)
        large = np.union1d(large, np.flatnonzero(keep))
    return _fold_into(unit, weights_s, labels, large)


def _seen_beside(
    labels: npt.NDArray[np.int64], windows: npt.NDArray[np.int64], partner: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """For each cluster ``k``, whether one window holds a print of ``k`` and one of
    ``partner[k]`` (``labels`` and ``windows``: (n,) per print; ``partner``: (k,))."""
    first, second = same_window_pairs(windows)
    a, b = labels[first], labels[second]
    seen = np.zeros(partner.shape[0], dtype=np.bool_)
    seen[a[partner[a] == b]] = True
    seen[b[partner[b] == a]] = True
    return seen


def _fold_blends(
    unit: npt.NDArray[np.float32],
    weights_s: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    threshold: float,
) -> npt.NDArray[np.int64]:
    """Fold each cluster that lies between two others into the nearest one.

    Prints of stretches where two people talk at once, or where segmentation mixed them up,
    are blends of the two voices. Each is far from everything (it does not join either
    speaker's cluster), but many of them together make a cluster whose centroid sits between
    the two speakers': within ``threshold`` (cosine distance) of both, while those two are
    farther apart than ``threshold``. Such a cluster is a blend, not a third person, when it
    also holds less speech than either speaker.
    """
    mass = np.bincount(labels, weights=weights_s)
    if mass.shape[0] < 3:
        return labels
    centroids = _centroids(unit, weights_s, labels)  # (k, dim)
    near = (1.0 - centroids @ centroids.T) < threshold  # (k, k)
    np.fill_diagonal(near, False)
    blends = [
        k
        for k in range(mass.shape[0])
        if any(
            not near[i, j] and mass[k] < min(mass[i], mass[j])
            for i, j in itertools.combinations(np.flatnonzero(near[k]), 2)
        )
    ]
    if not blends:
        return labels
    return _fold_into(unit, weights_s, labels, np.setdiff1d(np.arange(mass.shape[0]), blends))


def _fold_into(
    unit: npt.NDArray[np.float32],
    weights_s: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    keep: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Relabel so that only clusters ``keep`` remain (numbered 0..), by nearest centroid."""
    centroids = _centroids(unit, weights_s, labels)[keep]  # (len(keep), dim)
    renumber = {int(old): new for new, old in enumerate(keep)}
    nearest = np.argmax(unit @ centroids.T, axis=1)  # (n,)
    return np.array(
        [renumber.get(int(old), int(near)) for old, near in zip(labels, nearest, strict=True)],
        dtype=np.int64,
    )


def _centroids(
    unit: npt.NDArray[np.float32], weights_s: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:
    count = int(labels.max()) + 1
    sums = np.zeros((count, unit.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, unit * weights_s[:, None])  # (k, dim) weighted sums
    return _normalise(sums.astype(np.float32))


def _normalise(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def closer_elsewhere(
    embeddings: npt.NDArray[np.float32],
    current: npt.NDArray[np.int64],
    centroids: npt.NDArray[np.float32],
    margin: float,
) -> npt.NDArray[np.int64]:
    """For each embedding (n, dim) now in cluster ``current`` (n,), the cluster it belongs
    to: another one only if its cosine similarity beats the current one's by ``margin``."""
    if embeddings.shape[0] == 0:
        return current.copy()
    similarity = _normalise(embeddings) @ centroids.T  # (n, k)
    best = np.argmax(similarity, axis=1)
    own = similarity[np.arange(current.shape[0]), current]
    gain = similarity[np.arange(current.shape[0]), best] - own
    return np.where(gain > margin, best, current).astype(np.int64)
