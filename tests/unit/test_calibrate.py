"""The per-recording merge threshold, on hand-made voice prints and window activity."""

from __future__ import annotations

import numpy as np
import pytest

from saywho.config import DiarizeConfig, SpeakerHints
from saywho.diarize.calibrate import MIN_PAIRS, calibrated_threshold, same_speaker_pairs
from saywho.diarize.cluster import cluster_embeddings
from saywho.errors import ConfigError

DIM = 16


def damaged_voices(
    n_windows: int, spread: float = 0.08, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two voices pulled together by a shared component (as a codec does).

    Each of the first ``n_windows`` windows holds both voices; as many windows after them hold
    one local speaker whose print leans to one voice but carries a fifth of the other (what
    segmentation gives when it folds a reply into the main speaker). Returns the prints
    (3 * n_windows, DIM), each print's window, and the voice it leans to (1 or 2).
    """
    rng = np.random.default_rng(seed)
    shared, voices = np.eye(DIM)[0] * 0.75, np.eye(DIM)[1:3]
    rows, windows, voice = [], [], []
    for window in range(n_windows):
        for who in (1, 2):
            rows.append(shared + voices[who - 1] + spread * rng.standard_normal(DIM))
            windows.append(window)
            voice.append(who)
    for window in range(n_windows, 2 * n_windows):
        who = 1 + window % 2
        blend = 0.8 * voices[who - 1] + 0.2 * voices[2 - who]
        rows.append(shared + blend + spread * rng.standard_normal(DIM))
        windows.append(window)
        voice.append(who)
    return np.array(rows, np.float32), np.array(windows), np.array(voice)


def pairs_of(
    voice: np.ndarray, windows: np.ndarray, n_windows: int, hop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Same-voice pairs ``hop`` windows apart among the first ``n_windows`` windows (what
    following a local speaker across windows gives)."""
    first = np.flatnonzero(windows + hop < n_windows)
    second = [
        int(np.flatnonzero((windows == windows[i] + hop) & (voice == voice[i]))[0]) for i in first
    ]
    return first.astype(np.int64), np.array(second, np.int64)


def distance(prints: np.ndarray, a: int, b: int) -> float:
    unit = prints / np.linalg.norm(prints, axis=1, keepdims=True)
    return float(1.0 - unit[a] @ unit[b])


def test_a_damaged_recording_gets_a_lower_threshold_that_keeps_its_two_voices() -> None:
    prints, windows, voice = damaged_voices(n_windows=20)
    same = pairs_of(voice, windows, n_windows=20, hop=4)
    # Two voices of one window are 0.6-0.7 apart, yet the default threshold merges them.
    assert 0.6 < distance(prints, 0, 1) < 0.7
    hints = SpeakerHints(None, None, None)
    weights = np.full(prints.shape[0], 2.0)
    options = {"min_cluster_s": 3.0, "hints": hints, "windows": windows, "cannot_link": 1.0}
    fixed = cluster_embeddings(prints, weights, threshold=0.6, **options)
    assert fixed.centroids.shape[0] == 1

    threshold = calibrated_threshold(prints, windows, same, default=0.6, floor=0.5)
    assert 0.5 <= threshold < 0.6
    calibrated = cluster_embeddings(prints, weights, threshold=threshold, **options)
    assert calibrated.centroids.shape[0] == 2
    assert len(set(zip(calibrated.labels.tolist(), voice.tolist(), strict=True))) == 2


def test_the_threshold_is_the_midpoint_of_the_two_medians_within_its_bounds() -> None:
    prints, windows, voice = damaged_voices(n_windows=20)
    same = pairs_of(voice, windows, n_windows=20, hop=4)
    unit = prints / np.linalg.norm(prints, axis=1, keepdims=True)
    different = np.median(1.0 - np.sum(unit[0:40:2] * unit[1:40:2], axis=1))
    alike = np.median(1.0 - np.sum(unit[same[0]] * unit[same[1]], axis=1))
    found = calibrated_threshold(prints, windows, same, default=0.6, floor=0.1)
    assert found == pytest.approx((different + alike) / 2, abs=1e-5)
    assert found < 0.5
    assert calibrated_threshold(prints, windows, same, default=0.6, floor=0.55) == 0.55
    assert calibrated_threshold(prints, windows, same, default=0.6, floor=0.7) == 0.6


def test_one_voice_split_by_segmentation_keeps_the_default() -> None:
    # Segmentation gave one voice two local speakers in every window: the "different" pairs
    # are one person, so they must not lower the threshold.
    rng = np.random.default_rng(3)
    prints = (np.eye(DIM)[1] + 0.25 * rng.standard_normal((40, DIM))).astype(np.float32)
    windows = np.repeat(np.arange(20), 2)
    same = (np.arange(0, 32, 2), np.arange(8, 40, 2))
    assert calibrated_threshold(prints, windows, same, default=0.6, floor=0.5) == 0.6


def test_too_few_pairs_keep_the_default() -> None:
    few = MIN_PAIRS - 1
    prints, windows, voice = damaged_voices(n_windows=few)
    same = pairs_of(voice, windows, n_windows=few, hop=1)
    assert calibrated_threshold(prints, windows, same, default=0.6, floor=0.5) == 0.6
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    prints, windows, _ = damaged_voices(n_windows=20)
    assert calibrated_threshold(prints, windows, none, default=0.6, floor=0.5) == 0.6


def test_a_local_speaker_is_followed_across_windows_whatever_its_slot() -> None:
    # Windows of 4 frames every 2 frames: window w+2 shares no frame with window w. One person
    # talks all the time and takes slot w % 3 of window w; another talks only in window 1.
    n_windows, frames = 6, 4
    activity = np.zeros((n_windows, frames, 3), np.float32)
    for window in range(n_windows):
        activity[window, :, window % 3] = 1
    activity[1, 2:, (1 + 1) % 3] = 1  # a second voice at the end of window 1 only
    window_start = np.arange(n_windows, dtype=np.int64) * 2
    windows = np.array([0, 1, 1, 2, 3, 4, 5], np.int64)
    speakers = np.array([0, 1, 2, 2, 0, 1, 2], np.int64)
    first, second = same_speaker_pairs(activity, window_start, windows, speakers, hop=2)
    # the person's print of window w pairs with theirs of window w + 2; the second voice
    # (print 2) ties with the person in window 2 and is left out
    pairs = sorted(zip(first.tolist(), second.tolist(), strict=True))
    assert pairs == [(0, 3), (1, 4), (3, 5), (4, 6)]


def test_same_speaker_pairs_of_a_recording_shorter_than_the_hop() -> None:
    activity = np.ones((2, 4, 3), np.float32)
    first, second = same_speaker_pairs(
        activity, np.array([0, 2]), np.array([0, 1]), np.array([0, 0]), hop=4
    )
    assert first.shape == second.shape == (0,)


def test_threshold_floor_is_checked() -> None:
    assert DiarizeConfig(threshold_floor=None).threshold_floor is None
    assert DiarizeConfig(cluster_threshold=0.4).threshold_floor == 0.5  # then: fixed at 0.4
    with pytest.raises(ConfigError, match="threshold_floor"):
        DiarizeConfig(threshold_floor=0.0)
    with pytest.raises(ConfigError, match="threshold_floor"):
        DiarizeConfig(threshold_floor=2.0)
