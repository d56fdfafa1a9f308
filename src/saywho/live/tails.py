"""A local speaker's newest stretch, re-checked on its own (pure numpy).

For the first windows that hear a new voice, segmentation often holds it in the local speaker
of the voice before, and the words waiting for a speaker are there. So a local speaker with
enough clean speech also gets a print of its newest stretch, its *tail*; when the tail sounds
like another speaker, the tail's frames go to that speaker, and so does each stretch before
it that sounds like them too (the new voice began before the tail).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["Closer", "PrintBefore", "recheck_tails"]

Closer = Callable[[npt.NDArray[np.float32], int, Sequence[int | None]], int | None]
"""(a print, the speaker it is given now, the speakers others of its window are) → the
speaker it sounds like instead, or ``None`` (:meth:`SpeakerTracker.closer`)."""
PrintBefore = Callable[[int, int], tuple[int, npt.NDArray[np.float32]] | None]
"""(local speaker, window frame) → the first frame of that local speaker's clean stretch
before the frame and a print of it; ``None`` when it has too little there."""


def recheck_tails(
    activity: npt.NDArray[np.float32],
    placed: Sequence[int | None],
    tail_first: npt.NDArray[np.int64],
    tail_prints: npt.NDArray[np.float32],
    closer: Closer,
    print_before: PrintBefore,
) -> tuple[npt.NDArray[np.float32], list[int | None]]:
    """``activity`` (frames, k) of a window's local speakers, placed as ``placed[k]``; the
    tail of local speaker k starts at window frame ``tail_first[k]`` (-1: none) and has the
    print ``tail_prints[k]``. Returns the activity with one column more for each tail given
    to another speaker (its frames gone from the local speaker's column), and the speaker of
    every column."""
    columns = [activity[:, k] for k in range(activity.shape[1])]
    owners = list(placed)
    talking = activity > 0
    for k, first in enumerate(int(f) for f in tail_first):
        owner = placed[k]
        if first < 0 or owner is None:
            continue
        # Another local speaker talking during the tail is someone else; one silent there may
        # be the same voice, held in two local speakers of this window.
        during = talking[first:] & talking[first:, k : k + 1]  # (tail frames, k)
        over = [
            owners[j] if j < len(placed) and during[:, j].any() else None
            for j in range(len(owners))
        ]
        over[k] = owner
        other = closer(tail_prints[k], owner, over)
        if other is None:
            continue
        while (earlier := print_before(k, first)) is not None:
            if closer(earlier[1], owner, over) != other:
                break
            first = earlier[0]
        head, tail = columns[k].copy(), columns[k].copy()
        head[first:] = 0.0
        tail[:first] = 0.0
        columns[k] = head
        columns.append(tail)
        owners.append(other)
    return np.stack(columns, axis=1), owners
