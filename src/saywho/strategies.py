"""The maths of the two transcribe-by-turn strategies (pure): grouping turns, the spacer
layout, and mapping times back.

``per-turn``: diarize first, then recognize each group of turns on its own; a group is a run
of one speaker's consecutive turns whose gaps are short (short turns of one speaker merge, so
Whisper hears whole phrases), padded a little into the silence around it.

``spacer``: lay the groups end to end with ``spacer_s`` of silence between them, recognize
once, and map every word back through the layout. Whisper's weak point here is a word whose
time falls on a spacer (or straddles one), or a group that got no words while its words went
to a neighbour: :func:`map_back` names those groups as failed, drops every word that fell on
them, and the caller recognizes each failed group on its own, so that no text is lost or
counted twice.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from saywho.types import Span, Turn, Utterance, Word

__all__ = [
    "Mapped",
    "Placement",
    "group_turns",
    "map_back",
    "on_turn",
    "spacer_chunks",
    "spacer_layout",
]

PLACE_TOLERANCE_S = 0.1
"""A word whose middle is this close to its group's audio, and which touches no other group,
is placed in that group (Whisper often stretches a word's end into the silence after it)."""
MIN_HEARD_S = 1.0
"""A group at least this long that got no words at all is suspected lost to a neighbour."""


@dataclass(frozen=True, slots=True)
class Placement:
    """A group of turns (span on the recording's clock, speaker) and where it starts in the
    joined audio, in seconds."""

    turn: Turn
    offset_s: float

    @property
    def joined(self) -> Span:
        """The group's span on the joined audio's clock."""
        return Span(self.offset_s, self.offset_s + self.turn.span.duration)


@dataclass(frozen=True, slots=True)
class Mapped:
    """Utterances mapped back to the recording (speakers set, in time order) and the indices
    of the groups whose words were dropped and must be recognized on their own."""

    utterances: tuple[Utterance, ...]
    failed: tuple[int, ...]


def group_turns(
    turns: Sequence[Turn], *, max_gap_s: float, pad_s: float, duration_s: float
) -> tuple[Turn, ...]:
    """Exclusive ``turns`` merged into groups to recognize, sorted and disjoint.

    Consecutive turns of one speaker with at most ``max_gap_s`` between them merge (another
    speaker's turn between them keeps them apart). Each group is then padded by up to
    ``pad_s`` on each side, never past half the silence to its neighbour nor outside
    ``[0, duration_s]``, so no two groups share a sample.
    """
    merged: list[Turn] = []
    for turn in sorted(turns, key=lambda t: t.span.start):
        if turn.span.duration <= 0:
            continue
        last = merged[-1] if merged else None
        close = last is not None and turn.span.start - last.span.end <= max_gap_s
        if last is not None and close and last.label == turn.label:
            end = max(last.span.end, turn.span.end)
            merged[-1] = Turn(Span(last.span.start, end), turn.label)
            continue
        merged.append(turn)
    padded = []
    for index, turn in enumerate(merged):
        # Half the silence to a neighbour each; all of it up to the recording's ends.
        room_before = turn.span.start - merged[index - 1].span.end if index > 0 else 2 * pad_s
        room_after = (
            merged[index + 1].span.start - turn.span.end if index + 1 < len(merged) else 2 * pad_s
        )
        start = max(0.0, turn.span.start - min(pad_s, max(0.0, room_before) / 2))
        end = min(duration_s, turn.span.end + min(pad_s, max(0.0, room_after) / 2))
        padded.append(Turn(Span(start, max(start, end)), turn.label))
    return tuple(padded)


def spacer_layout(groups: Sequence[Turn], spacer_s: float) -> tuple[Placement, ...]:
    """Where each group goes in the joined audio: in order, ``spacer_s`` apart."""
    placements = []
    offset = 0.0
    for group in groups:
        placements.append(Placement(group, offset))
        offset += group.span.duration + spacer_s
    return tuple(placements)


def spacer_chunks(
    groups: Sequence[Turn], spacer_s: float, max_s: float
) -> tuple[tuple[int, int], ...]:
    """Consecutive runs ``[first, stop)`` of ``groups`` whose joined audio (spacers included)
    lasts at most ``max_s``, so a long recording is never joined into one piece. A group
    longer than ``max_s`` is a run of its own."""
    chunks: list[tuple[int, int]] = []
    first, length_s = 0, 0.0
    for index, group in enumerate(groups):
        added_s = group.span.duration + spacer_s
        if index > first and length_s + group.span.duration > max_s:
            chunks.append((first, index))
            first, length_s = index, 0.0
        length_s += added_s
    if first < len(groups):
        chunks.append((first, len(groups)))
    return tuple(chunks)


def on_turn(utterances: Sequence[Utterance], turn: Turn) -> tuple[Utterance, ...]:
    """Utterances recognized from ``turn``'s audio alone, moved onto the recording's clock
    (times clipped to the turn) and given its speaker."""
    return tuple(_moved(u, u.words, turn, turn.span.start) for u in utterances if u.words or u.text)


def map_back(
    utterances: Sequence[Utterance], layout: Sequence[Placement], spacer_s: float
) -> Mapped:
    """Words recognized on the joined audio, back on the recording's clock with speakers.

    A word is placed in the group whose joined span holds its middle (give or take
    :data:`PLACE_TOLERANCE_S`) unless it reaches into another group; an untimed word goes with
    the word before it. A word on a spacer, or across one, fails the groups on both sides; a
    group of at least :data:`MIN_HEARD_S` with no word fails with its neighbours. Words of
    failed groups are dropped. Utterances are split where the group changes.
    """
    starts = [p.offset_s for p in layout]
    homes: list[list[int | None]] = []
    failed: set[int] = set()
    for utterance in utterances:
        found, fails = _homes(utterance.words, layout, starts, spacer_s)
        homes.append(found)
        failed.update(fails)
    heard = {home for found in homes for home in found if home is not None}
    for index, placement in enumerate(layout):
        if index not in heard and placement.turn.span.duration >= MIN_HEARD_S:
            failed.update(i for i in (index - 1, index, index + 1) if 0 <= i < len(layout))
    pieces: list[Utterance] = []
    for utterance, found in zip(utterances, homes, strict=True):
        pieces.extend(_pieces(utterance, found, layout, failed))
    pieces.sort(key=lambda u: u.span.start)
    return Mapped(tuple(pieces), tuple(sorted(failed)))


def _homes(
    words: Sequence[Word],
    layout: Sequence[Placement],
    starts: list[float],
    spacer_s: float,
) -> tuple[list[int | None], set[int]]:
    """The group of each word (``None``: on a spacer), and the groups the words fail."""
    found: list[int | None] = []
    failed: set[int] = set()
    previous: int | None = None
    for word in words:
        if word.span is None:
            found.append(previous if previous is not None else (0 if layout else None))
            continue
        middle = (word.span.start + word.span.end) / 2
        index = max(0, bisect.bisect_right(starts, middle) - 1)
        joined = layout[index].joined if layout else None
        if (
            joined is not None
            and joined.start - PLACE_TOLERANCE_S <= middle <= joined.end + PLACE_TOLERANCE_S
            and not _reaches_another(word.span, layout, index)
        ):
            found.append(index)
            previous = index
            continue
        found.append(None)
        reach = Span(word.span.start - spacer_s, word.span.end + spacer_s)
        failed.update(
            i
            for i, p in enumerate(layout[max(0, index - 1) : index + 2], start=max(0, index - 1))
            if p.joined.start < reach.end and p.joined.end > reach.start
        )
    return found, failed


def _reaches_another(span: Span, layout: Sequence[Placement], index: int) -> bool:
    """Whether ``span`` (joined clock) overlaps a group next to group ``index``."""
    neighbours = [layout[i] for i in (index - 1, index + 1) if 0 <= i < len(layout)]
    return any(p.joined.start < span.end and span.start < p.joined.end for p in neighbours)


def _pieces(
    utterance: Utterance,
    homes: Sequence[int | None],
    layout: Sequence[Placement],
    failed: set[int],
) -> list[Utterance]:
    pieces = []
    pairs = zip(utterance.words, homes, strict=True)
    for home, group in itertools.groupby(pairs, key=lambda pair: pair[1]):
        if home is None or home in failed:
            continue
        words = tuple(word for word, _ in group)
        placement = layout[home]
        moved = _moved(
            utterance, words, placement.turn, placement.turn.span.start - placement.offset_s
        )
        pieces.append(moved)
    return pieces


def _moved(utterance: Utterance, words: Sequence[Word], turn: Turn, shift_s: float) -> Utterance:
    """``words`` of ``utterance`` moved by ``shift_s`` seconds onto the recording's clock,
    clipped to ``turn`` and given its speaker; the span is rebuilt from the words."""
    moved = tuple(
        dataclasses.replace(
            word,
            span=None if word.span is None else _clip(word.span, turn, shift_s),
            speaker=turn.label,
        )
        for word in words
    )
    timed = [w.span for w in moved if w.span is not None]
    if timed:
        span = Span(timed[0].start, max(s.end for s in timed))
    else:
        span = Span(turn.span.start, turn.span.start)
    whole = len(words) == len(utterance.words)
    glue = " " if " " in utterance.text.strip() else ""
    text = utterance.text if whole else glue.join(w.text for w in moved)
    return Utterance(span, text, moved, turn.label)


def _clip(span: Span, turn: Turn, shift_s: float) -> Span:
    start = min(max(span.start + shift_s, turn.span.start), turn.span.end)
    end = min(max(span.end + shift_s, start), turn.span.end)
    return Span(start, end)
