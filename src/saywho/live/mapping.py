"""The end-of-stream pass keeps the labels the user saw live (pure).

The final pass reclusters the whole recording; its speakers are matched one-to-one to the live
speakers by the seconds they share (Hungarian algorithm on the overlap of their turns). A final
speaker that shares no time with any live one gets the next unused label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from saywho.types import Turn

__all__ = ["live_labels"]

_BIN_S = 0.02
"""Turns are compared on a grid of this step."""


def live_labels(
    final: Sequence[Turn], live: Sequence[Turn], *, label_format: str = "SPEAKER_{:02d}"
) -> dict[str, str]:
    """A live label for every label of the ``final`` turns, from the time they share with the
    ``live`` turns; unmatched final labels are numbered on after the live ones."""
    final_labels = _in_order(final)
    live_labels_ = _in_order(live)
    end_s = max((t.span.end for t in (*final, *live)), default=0.0)
    bins = int(np.ceil(end_s / _BIN_S)) + 1
    shared = (
        _raster(final, final_labels, bins).T @ _raster(live, live_labels_, bins) * _BIN_S
    )  # (final, live) seconds
    mapping: dict[str, str] = {}
    if shared.size:
        rows, cols = linear_sum_assignment(shared, maximize=True)
        for row, col in zip(rows, cols, strict=True):
            if shared[row, col] > 0:
                mapping[final_labels[int(row)]] = live_labels_[int(col)]
    used = set(live_labels_) | set(mapping.values())
    number = 0
    for label in final_labels:
        if label in mapping:
            continue
        while label_format.format(number) in used:
            number += 1
        mapping[label] = label_format.format(number)
        used.add(mapping[label])
    return mapping


def _in_order(turns: Sequence[Turn]) -> list[str]:
    """Labels by first appearance."""
    seen: dict[str, None] = {}
    for turn in sorted(turns, key=lambda t: t.span.start):
        seen.setdefault(turn.label)
    return list(seen)


def _raster(turns: Sequence[Turn], labels: Sequence[str], bins: int) -> npt.NDArray[np.float64]:
    """Which label talks in each bin: (bins, labels) of 0/1."""
    column = {label: i for i, label in enumerate(labels)}
    grid = np.zeros((bins, len(labels)))
    for turn in turns:
        first, last = round(turn.span.start / _BIN_S), round(turn.span.end / _BIN_S)
        grid[first:last, column[turn.label]] = 1.0
    return grid
