"""Who talks when, as a sorted list of pieces: the one structure attribution asks (pure).

Every turn start and end is a breakpoint; between two neighbouring breakpoints the set of
speakers does not change. Built in O(m log m) for m turns; :meth:`Timeline.talk` visits only
the pieces a span touches, so asking it for n short words costs O(n log m) plus the pieces
they cover.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from saywho.types import Span, Turn

__all__ = ["Timeline"]


@dataclass(frozen=True, slots=True)
class Timeline:
    """Piece ``i`` is ``[bounds[i], bounds[i + 1])`` and ``active[i]`` talk there (sorted).

    ``len(active) == len(bounds) - 1``; with no turns both are empty.
    """

    bounds: tuple[float, ...]
    active: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, turns: Sequence[Turn]) -> Timeline:
        """The timeline of ``turns`` (they may overlap; a speaker's overlapping turns merge)."""
        events = sorted(
            [(t.span.start, 1, t.label) for t in turns if t.span.duration > 0]
            + [(t.span.end, -1, t.label) for t in turns if t.span.duration > 0]
        )
        bounds: list[float] = []
        active: list[tuple[str, ...]] = []
        talking: Counter[str] = Counter()
        for index, (time_s, change, label) in enumerate(events):
            talking[label] += change
            if index + 1 < len(events) and events[index + 1][0] == time_s:
                continue  # apply every event at one instant before recording the piece
            bounds.append(time_s)
            active.append(tuple(sorted(label for label, count in talking.items() if count > 0)))
        return cls(tuple(bounds), tuple(active[:-1]))

    def talk(self, span: Span) -> dict[str, float]:
        """Seconds each speaker talks inside ``span`` (speakers who do not talk are absent)."""
        seconds: dict[str, float] = {}
        index = max(0, bisect.bisect_right(self.bounds, span.start) - 1)
        while index < len(self.active) and self.bounds[index] < span.end:
            shared = min(span.end, self.bounds[index + 1]) - max(span.start, self.bounds[index])
            if shared > 0:
                for label in self.active[index]:
                    seconds[label] = seconds.get(label, 0.0) + shared
            index += 1
        return seconds

    def nearest(self, span: Span) -> tuple[str, float] | None:
        """The speaker of the talk nearest to ``span`` and its distance in seconds.

        ``None`` when nobody talks at all. Ties go to the earlier talk.
        """
        if not self.active:
            return None
        index = bisect.bisect_right(self.bounds, span.start) - 1
        before = _talking_piece(self, min(index, len(self.active) - 1), -1)
        after = _talking_piece(self, max(index + 1, 0), 1)
        found = []
        if before is not None:
            found.append((max(0.0, span.start - self.bounds[before + 1]), self.active[before][0]))
        if after is not None:
            found.append((max(0.0, self.bounds[after] - span.end), self.active[after][0]))
        if not found:
            return None
        distance, label = min(found, key=lambda pair: pair[0])
        return label, distance


def _talking_piece(timeline: Timeline, index: int, step: int) -> int | None:
    """The first piece from ``index`` in direction ``step`` where someone talks.

    Pieces alternate between talk and silence, so this looks at two pieces at most.
    """
    while 0 <= index < len(timeline.active):
        if timeline.active[index]:
            return index
        index += step
    return None
