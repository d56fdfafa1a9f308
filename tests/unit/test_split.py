"""Splitting a local speaker that holds two voices: hand-made activity and voice prints."""

from __future__ import annotations

import numpy as np
import pytest

from saywho.config import DiarizeConfig
from saywho.diarize.split import (
    LocalRun,
    apply_splits,
    inside,
    other_voice,
    recording_groups,
    run_candidates,
    second_voices,
    shared_stretches,
    two_voices,
)
from saywho.errors import ConfigError


def prints(axes: list[int], seed: int = 0, noise: float = 0.1, dim: int = 16) -> np.ndarray:
    """One noisy print per entry of ``axes``, around that unit axis."""
    rng = np.random.default_rng(seed)
    rows = [np.eye(dim)[axis] + noise * rng.standard_normal(dim) for axis in axes]
    return np.array(rows, dtype=np.float32)


def test_runs_are_cut_at_pauses_and_overlap_and_short_ones_dropped() -> None:
    activity = np.zeros((2, 30, 3), dtype=np.float32)
    activity[0, 0:5, 0] = 1  # run of 5
    activity[0, 7:9, 0] = 1  # run of 2: too short
    activity[0, 10:20, 0] = 1  # 10 frames, of which 14-15 overlap speaker 1: runs 4 and 4
    activity[0, 14:16, 1] = 1
    activity[1, 0:10, 0] = 1  # one run only: not a candidate
    (runs,) = run_candidates(activity, min_run_frames=4)
    assert runs == (LocalRun(0, 0, 0, 5), LocalRun(0, 0, 10, 14), LocalRun(0, 0, 16, 20))


def test_no_candidate_without_a_free_slot() -> None:
    activity = np.zeros((1, 30, 3), dtype=np.float32)
    activity[0, 0:5, 0] = activity[0, 10:15, 0] = 1
    activity[0, 20:25, 1] = activity[0, 25:30, 2] = 1
    assert run_candidates(activity, min_run_frames=4) == ()


def test_two_voices_are_told_apart_and_the_lighter_group_moves() -> None:
    every = np.ones(5, dtype=bool)  # every run clear of the window's edges
    second = two_voices(prints([0, 3, 0, 0, 3]), every, threshold=0.8)
    assert second is not None
    assert second.tolist() == [False, True, False, False, True]
    # One voice, however many runs: no split.
    assert two_voices(prints([2, 2, 2, 2]), every[:4], threshold=0.8) is None
    # Two voices that are not far enough apart for the threshold: no split.
    close = prints([0, 0, 0], seed=1, noise=0.02)
    close[2] = close[0] + 0.6 * np.eye(16, dtype=np.float32)[5]
    assert two_voices(close, every[:3], threshold=0.8) is None
    assert two_voices(close, every[:3], threshold=0.1) is not None
    # A tie moves the group without the first run.
    tied = two_voices(prints([1, 4]), every[:2], threshold=0.8)
    assert tied is not None
    assert tied.tolist() == [False, True]


def test_a_voice_heard_only_at_window_edges_is_no_second_voice() -> None:
    x = prints([0, 0, 0, 9])  # run 3, at a window's edge, sounds like someone else
    edge_last = np.array([True, True, True, False])
    assert two_voices(x, edge_last, threshold=0.8) is None
    assert two_voices(x, np.ones(4, dtype=bool), threshold=0.8) is not None
    # A second voice with one inner run and one edge run is split off, edge run included.
    both = two_voices(prints([0, 9, 0, 9]), edge_last, threshold=0.8)
    assert both is not None
    assert both.tolist() == [False, True, False, True]


def test_runs_at_a_window_edge_are_not_decisive() -> None:
    assert inside(LocalRun(0, 0, 1, 588), frames_per_window=589)
    assert not inside(LocalRun(0, 0, 0, 100), frames_per_window=589)
    assert not inside(LocalRun(0, 0, 200, 589), frames_per_window=589)


def test_the_second_voice_moves_to_a_free_slot_and_the_input_is_kept() -> None:
    activity = np.zeros((2, 20, 3), dtype=np.float32)
    activity[0, 0:5, 0] = activity[0, 10:15, 0] = 1
    activity[0, 5:10, 1] = 1  # slot 1 is taken: the second voice goes to slot 2
    activity[1, 0:20, :] = 1  # no free slot: nothing moves
    before = activity.copy()
    moved = apply_splits(
        activity, (LocalRun(0, 0, 10, 15), LocalRun(1, 0, 0, 5), LocalRun(0, 0, 0, 2))
    )
    assert np.array_equal(activity, before)
    assert moved[0, :, 0].tolist() == [0] * 2 + [1] * 3 + [0] * 15
    assert moved[0, :, 2].tolist() == [1] * 2 + [0] * 8 + [1] * 5 + [0] * 5
    assert np.array_equal(moved[0, :, 1], before[0, :, 1])
    assert np.array_equal(moved[1], before[1])


def test_one_turn_seen_by_overlapping_windows_is_embedded_once() -> None:
    window_start = np.array([0, 10, 20], dtype=np.int64)
    runs = (
        LocalRun(0, 0, 12, 30),  # recording frames 12-30, cut to its middle 10: 16-26
        LocalRun(1, 1, 3, 20),  # 13-30 -> 16-26 (within tolerance of the first at both ends)
        LocalRun(2, 0, 0, 5),  # 20-25: another stretch
        LocalRun(2, 1, 0, 30),  # 20-50 -> 30-40: far at both ends
    )
    stretches, index = shared_stretches(runs, window_start, max_frames=10, tolerance_frames=1)
    assert stretches == ((16, 26), (20, 25), (30, 40))
    assert index.tolist() == [0, 0, 1, 2]


def test_split_threshold_is_checked() -> None:
    assert DiarizeConfig(split_threshold=None).split_threshold is None
    for bad in (0.0, 2.0):
        with pytest.raises(ConfigError, match="split_threshold"):
            DiarizeConfig(split_threshold=bad)


def test_runs_of_the_whole_recording_group_by_voice() -> None:
    groups = recording_groups(prints([0, 1, 0, 1, 0], noise=0.05), threshold=0.6)
    assert groups[0] == groups[2] == groups[4]
    assert groups[1] == groups[3] != groups[0]
    assert recording_groups(prints([0]), threshold=0.6).tolist() == [0]


def test_a_local_speaker_across_two_recording_groups_holds_two_voices() -> None:
    every = np.ones(4, dtype=bool)
    second = other_voice(np.array([3, 5, 3, 3]), every)
    assert second is not None and second.tolist() == [False, True, False, False]
    tied = other_voice(np.array([5, 3]), every[:2])  # a tie: the first run's group stays
    assert tied is not None and tied.tolist() == [False, True]
    assert other_voice(np.array([2, 2, 2]), every[:3]) is None
    edge_only = np.array([True, True, False])  # the other group's one run is at an edge
    assert other_voice(np.array([1, 1, 2]), edge_only) is None


def test_voices_too_close_for_one_window_are_split_by_the_whole_recording() -> None:
    # Two voices 0.3 apart (cosine): within one window's threshold of 0.8, so no window
    # splits alone; across the recording, cut at 0.2, each voice is its own group.
    voice_a, voice_b = np.zeros(16), np.zeros(16)
    voice_a[0] = 1.0
    voice_b[0], voice_b[1] = 0.7, np.sqrt(1 - 0.7**2)
    rng = np.random.default_rng(0)
    by_stretch = [voice_a, voice_b, voice_a, voice_b, voice_a, voice_b]
    all_prints = np.array(
        [v + 0.01 * rng.standard_normal(16) for v in by_stretch], dtype=np.float32
    )
    # Three windows 30 frames apart, each with one local speaker of two inner runs.
    candidates = tuple((LocalRun(w, 0, 2, 10), LocalRun(w, 0, 15, 25)) for w in range(3))
    window_start = np.array([0, 30, 60], dtype=np.int64)

    def embed(stretches: tuple[tuple[int, int], ...]) -> np.ndarray:
        assert len(stretches) == 6
        return all_prints

    def moved(recording_threshold: float | None) -> tuple[LocalRun, ...]:
        return second_voices(
            candidates,
            window_start,
            90,
            embed,
            threshold=0.8,
            frames_per_window=30,
            max_frames=20,
            tolerance_frames=1,
            recording_threshold=recording_threshold,
        )

    assert moved(None) == ()
    assert moved(0.2) == tuple(LocalRun(w, 0, 15, 25) for w in range(3))
