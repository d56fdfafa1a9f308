"""Who talks when on a stream, accumulated window by window (pure numpy).

Each diarization step adds one window's local-speaker activity, its local speakers already
placed (:mod:`saywho.live.tracker`). A frame's score for a speaker is that speaker's mean
activity over the windows that saw the frame, so a frame heard by ten windows is as settled as
an offline run's, and one heard by a single window is a first guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from saywho.diarize.reconstruct import FrameGrid, to_turns
from saywho.types import Span, Turn

__all__ = ["SpeakerTimeline"]

_SPEAKING = 0.5
"""A frame's speaker talks when its mean activity reaches this."""
_TIE = 0.05
"""Two speakers' mean talk over a span within this much per frame of each other is a tie."""
_NEAR_S = 1.0
"""A word no speaker covers goes to the nearest speaker talking within this many seconds."""


class SpeakerTimeline:
    """Mean activity per frame and speaker, growing as windows arrive."""

    def __init__(self, grid: FrameGrid) -> None:
        self.grid = grid
        self._score = np.zeros((0, 0), dtype=np.float32)  # (frames, speakers): summed activity
        self._seen = np.zeros(0, dtype=np.int32)  # (frames,): windows that saw each frame
        self._frames = 0
        # The latest window's talk by local speakers placed and not placed yet, per frame.
        self._latest_first = 0
        self._latest_placed = np.zeros(0, dtype=np.float32)
        self._latest_unplaced = np.zeros(0, dtype=np.float32)

    @property
    def covered_s(self) -> float:
        """The time up to which some window has seen the stream."""
        return self._frames * self.grid.step_s + self.grid.offset_s - self.grid.step_s / 2

    def add(
        self,
        first_frame: int,
        activity: npt.NDArray[np.float32],
        speakers: Sequence[int | None],
        heard_frames: int,
    ) -> None:
        """Add one window starting at stream frame ``first_frame``: ``activity`` (frames, k)
        of its local speakers, ``speakers[k]`` the speaker each one is (``None``: no one
        yet); only its first ``heard_frames`` frames held audio."""
        frames = min(activity.shape[0], heard_frames)
        if frames <= 0:
            return
        last = first_frame + frames
        columns = max((s for s in speakers if s is not None), default=-1) + 1
        self._grow(last, columns)
        self._seen[first_frame:last] += 1
        for local, speaker in enumerate(speakers):
            if speaker is not None:
                self._score[first_frame:last, speaker] += activity[:frames, local]
        self._frames = max(self._frames, last)
        placed = np.array([s is not None for s in speakers], dtype=bool)  # (k,)
        self._latest_first = first_frame
        self._latest_placed = activity[:frames, placed].sum(axis=1)  # (frames,)
        self._latest_unplaced = activity[:frames, ~placed].sum(axis=1)  # (frames,)

    def fold(self, speaker: int, into: int) -> None:
        """``speaker`` is ``into`` heard twice: its activity so far becomes ``into``'s."""
        if speaker >= self._score.shape[1]:
            return
        self._score[:, into] += self._score[:, speaker]
        self._score[:, speaker] = 0.0

    def settled(self, span: Span) -> bool:
        """Whether the latest window knows who talks during ``span``: it is not mostly a voice
        not placed yet (a new voice before it has enough clean speech to be a speaker)."""
        first, last = self._frame_range(span)
        first, last = first - self._latest_first, last - self._latest_first
        if last <= 0 or first >= self._latest_placed.shape[0]:
            return True
        first = max(0, first)
        unplaced = float(self._latest_unplaced[first:last].sum())
        return unplaced <= float(self._latest_placed[first:last].sum())

    def contested(self, span: Span) -> bool:
        """Whether the windows that heard ``span`` split evenly between two speakers there
        (each heard by half of them, not both talking at once): one more window decides."""
        first, last = self._frame_range(span)
        if last <= first or self._score.shape[1] < 2:
            return False
        talk = np.sort(self._mean(first, last).sum(axis=0))[::-1]  # (speakers,)
        top, second = float(talk[0]), float(talk[1])
        frames = last - first
        return second > 0 and top - second <= _TIE * frames and top + second <= (1 + _TIE) * frames

    def speaker_of(self, span: Span) -> int | None:
        """The speaker who talks most during ``span``; else the nearest one talking within a
        second; ``None`` if no one."""
        first, last = self._frame_range(span)
        if last > first:
            talk = self._mean(first, last).sum(axis=0)  # (speakers,)
            if talk.size and talk.max() > 0:
                return int(talk.argmax())
        near = self._frame_range(Span(max(0.0, span.start - _NEAR_S), span.end + _NEAR_S))
        window = self._mean(*near)  # (frames, speakers)
        if window.size == 0 or window.max() < _SPEAKING:
            return None
        middle = (first + last) // 2 - near[0]
        frames, speakers = np.nonzero(window >= _SPEAKING)
        nearest = int(np.argmin(np.abs(frames - middle)))
        return int(speakers[nearest])

    def turns(self, labels: Mapping[int, str]) -> tuple[Turn, ...]:
        """The turns so far of the speakers in ``labels`` (speaker index → label), overlap
        kept."""
        columns = [i for i in sorted(labels) if i < self._score.shape[1]]
        active = self._mean(0, self._frames)[:, columns] >= _SPEAKING
        return to_turns(
            active, self.grid, [labels[i] for i in columns], min_turn_s=0.1, min_gap_s=0.1
        )

    def _mean(self, first: int, last: int) -> npt.NDArray[np.float32]:
        """Mean activity of frames ``first`` to ``last``: (frames, speakers)."""
        seen = np.maximum(self._seen[first:last], 1)[:, None].astype(np.float32)
        mean: npt.NDArray[np.float32] = self._score[first:last] / seen
        return mean

    def _frame_range(self, span: Span) -> tuple[int, int]:
        step, offset = self.grid.step_s, self.grid.offset_s
        first = max(0, int(np.ceil((span.start - offset) / step - 0.5)))
        last = min(self._frames, int(np.floor((span.end - offset) / step + 0.5)))
        return first, max(first, last)

    def _grow(self, frames: int, columns: int) -> None:
        rows, cols = self._score.shape
        if frames <= rows and columns <= cols:
            return
        new_rows = max(frames, 2 * rows, 1024) if frames > rows else rows
        new_cols = max(columns, cols)
        score = np.zeros((new_rows, new_cols), dtype=np.float32)
        score[:rows, :cols] = self._score
        seen = np.zeros(new_rows, dtype=np.int32)
        seen[:rows] = self._seen
        self._score, self._seen = score, seen
