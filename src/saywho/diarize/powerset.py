"""Powerset decoding: segmentation-3.0 predicts one class per frame out of every set of at
most two of three local speakers; we turn that back into per-speaker activity."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

__all__ = ["LOCAL_SPEAKERS", "POWERSET", "expected_count", "to_multilabel"]

LOCAL_SPEAKERS = 3
MAX_AT_ONCE = 2

POWERSET: tuple[tuple[int, ...], ...] = tuple(
    subset
    for size in range(MAX_AT_ONCE + 1)
    for subset in itertools.combinations(range(LOCAL_SPEAKERS), size)
)
"""The classes in model order: (), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2)."""

_MAPPING = np.array(
    [[1.0 if s in subset else 0.0 for s in range(LOCAL_SPEAKERS)] for subset in POWERSET],
    dtype=np.float32,
)  # (7, 3)


def to_multilabel(log_probabilities: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Hard per-speaker activity from powerset log-probabilities.

    ``log_probabilities`` has shape (..., 7); the result has shape (..., 3) with 1.0 where
    the most likely class contains that local speaker, else 0.0.
    """
    best = np.argmax(log_probabilities, axis=-1)  # (...,)
    result: npt.NDArray[np.float32] = _MAPPING[best]  # (..., 3)
    return result


_SIZES = _MAPPING.sum(axis=1)  # (7,) speakers in each class


def expected_count(log_probabilities: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The expected number of people talking, from powerset log-probabilities (..., 7).

    Softer than counting the most likely class: a frame the network hesitates to call
    overlap (40 % "two speakers") still counts 1.4, so averaging over windows can tip it.
    """
    shifted = log_probabilities - log_probabilities.max(axis=-1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)  # (..., 7)
    result: npt.NDArray[np.float32] = (probabilities @ _SIZES).astype(np.float32)  # (...,)
    return result
