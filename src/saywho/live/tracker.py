"""Incremental speaker tracking for a stream: local speakers of each window to speakers (pure).

Each diarization step sees one 10 s window with up to three local speakers and a voice print
for each. :class:`SpeakerTracker` matches them to the speakers met so far, one-to-one (two
local speakers of one window are two people), by cosine distance with the Hungarian
algorithm. A local speaker close to no one becomes a new speaker only once it has enough clean
speech behind it (a cough or a blend of two voices founds no one). A speaker's centroid moves
only with prints backed by enough clean speech. Enrolled voices are speakers from the start,
with fixed centroids and their names. Speakers are numbered in order of appearance and never
renumbered, so a label shown live keeps meaning the same person. Segmentation now and then
holds one voice in two local speakers of a window, and the second founds a speaker of its
own; once the two centroids come as close as one person's prints are, the younger speaker
joins the older (:attr:`SpeakerTracker.merged`) and is never matched again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from saywho.identify.match import unit
from saywho.identify.naming import VoicePrint

__all__ = ["SpeakerTracker", "TrackedSpeaker", "TrackerSettings"]

_NO = 1e6


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """``threshold_distance``: the cosine distance under which a local speaker is a speaker
    already met; ``enrolled_distance``: the same for an enrolled voice (1 minus the library's
    similarity threshold); ``new_speaker_s``: the clean speech a stranger needs to become a
    speaker; ``update_s``: the clean speech a print needs to move a centroid;
    ``max_speakers``: no new speaker past this many (``None``: no limit);
    ``merge_distance``: two speakers whose centroids come closer than this are one person
    (``None``: never merged)."""

    threshold_distance: float = 0.6
    enrolled_distance: float = 0.5
    new_speaker_s: float = 1.5
    update_s: float = 1.0
    max_speakers: int | None = None
    merge_distance: float | None = 0.2


@dataclass(frozen=True, slots=True)
class TrackedSpeaker:
    """A speaker of the stream: index (its label's number), name (enrolled voices), centroid."""

    index: int
    name: str | None
    centroid: npt.NDArray[np.float32]
    enrolled: bool


class SpeakerTracker:
    """The speakers of one stream so far; :meth:`assign` places each window's local speakers."""

    def __init__(self, settings: TrackerSettings, enrolled: Sequence[VoicePrint] = ()) -> None:
        self.settings = settings
        self._sums: list[npt.NDArray[np.float64]] = [
            unit(v.embedding).astype(np.float64) for v in enrolled
        ]
        self._names: list[str | None] = [v.name for v in enrolled]
        self._enrolled = len(enrolled)
        self._seen = [False] * len(enrolled)
        self._merged: dict[int, int] = {}  # younger speaker -> the older one it joined

    @property
    def merged(self) -> dict[int, int]:
        """Each speaker that joined an older one (the same person heard twice) → that one."""
        return dict(self._merged)

    @property
    def speakers(self) -> tuple[TrackedSpeaker, ...]:
        """Every speaker met so far, enrolled ones included once they have spoken."""
        if not self._sums:
            return ()
        centroids = self._centroids()
        return tuple(
            TrackedSpeaker(i, self._names[i], centroids[i], i < self._enrolled)
            for i in range(len(self._sums))
            if (i >= self._enrolled or self._seen[i]) and i not in self._merged
        )

    def assign(
        self, prints: npt.NDArray[np.float32], clean_s: npt.NDArray[np.float64]
    ) -> tuple[int | None, ...]:
        """The speaker of each local speaker, from its voice print, shape (n, dim), and the
        clean speech behind it (n,) seconds; ``None`` where it is no one yet."""
        n = prints.shape[0]
        if n == 0:
            return ()
        found: list[int | None] = [None] * n
        if self._sums:
            distance = 1.0 - unit(prints) @ self._centroids().T  # (n, speakers)
            limits = np.array(
                [self._limit(i) for i in range(len(self._sums))], dtype=np.float64
            )  # (speakers,)
            cost = np.where(distance <= limits[None, :], distance, _NO)
            rows, cols = linear_sum_assignment(cost)
            for row, col in zip(rows, cols, strict=True):
                if cost[row, col] < _NO:
                    found[int(row)] = int(col)
        for row in np.argsort(-clean_s, kind="stable"):  # the best-heard founds first
            index = found[int(row)]
            if index is None and clean_s[row] >= self.settings.new_speaker_s:
                index = self._found(prints[row], clean_s[row], taken=found)
                found[int(row)] = index
            elif index is not None:
                self._learn(index, prints[row], clean_s[row])
        for index in {i for i in found if i is not None}:
            self._merge_into_older(index)
        return tuple(self._merged.get(i, i) if i is not None else None for i in found)

    def closer(
        self,
        print_: npt.NDArray[np.float32],
        current: int,
        taken: Sequence[int | None],
        margin: float,
    ) -> int | None:
        """The speaker ``print_`` sounds like when that is not ``current`` (nor one ``taken``
        by another local speaker of its window): the nearest speaker, within its limit and
        closer than ``current`` by more than ``margin`` (cosine); else ``None``."""
        if not self._sums or not np.any(print_):
            return None
        distance = 1.0 - self._centroids() @ unit(print_)  # (speakers,)
        for index in (int(i) for i in np.argsort(distance, kind="stable")):
            if index == current:
                return None
            if index in taken or index in self._merged:
                continue
            if distance[index] <= self._limit(index) and (
                distance[index] < distance[current] - margin
            ):
                self._seen[index] = True
                return index
            return None
        return None

    def _limit(self, index: int) -> float:
        settings = self.settings
        if index in self._merged:
            return -1.0
        return settings.enrolled_distance if index < self._enrolled else settings.threshold_distance

    def _found(
        self, print_: npt.NDArray[np.float32], clean_s: float, taken: Sequence[int | None]
    ) -> int | None:
        strangers = len(self._sums) - self._enrolled - len(self._merged)
        limit = self.settings.max_speakers
        if limit is not None and strangers >= limit:
            return self._nearest_free(print_, taken)
        self._sums.append(unit(print_).astype(np.float64) * clean_s)
        self._names.append(None)
        self._seen.append(True)
        return len(self._sums) - 1

    def _nearest_free(
        self, print_: npt.NDArray[np.float32], taken: Sequence[int | None]
    ) -> int | None:
        """At the speaker limit a stranger is the nearest speaker no one of its window took."""
        free = [
            i
            for i in range(self._enrolled, len(self._sums))
            if i not in taken and i not in self._merged
        ]
        if not free:
            return None
        centroids = self._centroids()[free]
        return free[int(np.argmax(centroids @ unit(print_)))]

    def _learn(self, index: int, print_: npt.NDArray[np.float32], clean_s: float) -> None:
        self._seen[index] = True
        if index < self._enrolled or clean_s < self.settings.update_s:
            return
        self._sums[index] = self._sums[index] + unit(print_).astype(np.float64) * clean_s

    def _merge_into_older(self, index: int) -> None:
        """``index`` and the nearest other speaker are one person when their centroids are
        within ``merge_distance``: the younger joins the older (an enrolled voice keeps its
        fixed centroid; a stranger's adds the younger's prints)."""
        limit = self.settings.merge_distance
        if limit is None or index in self._merged or len(self._sums) < 2:
            return
        centroids = self._centroids()
        distance = 1.0 - centroids @ centroids[index]  # (speakers,)
        distance[index] = np.inf
        distance[list(self._merged)] = np.inf
        nearest = int(np.argmin(distance))
        if distance[nearest] >= limit:
            return
        older, younger = min(index, nearest), max(index, nearest)
        if younger < self._enrolled:  # two enrolled voices keep their two names
            return
        if older >= self._enrolled:
            self._sums[older] = self._sums[older] + self._sums[younger]
        self._seen[older] = True
        self._merged[younger] = older
        for joined, into in self._merged.items():  # who had joined the younger joins the older
            if into == younger:
                self._merged[joined] = older

    def _centroids(self) -> npt.NDArray[np.float32]:
        return unit(np.stack(self._sums))  # (speakers, dim)
