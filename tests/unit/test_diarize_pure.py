"""Pure diarization maths: powerset decoding, clustering with hints, frame reconstruction."""

from __future__ import annotations

import numpy as np
import pytest

from saywho.config import SpeakerHints
from saywho.diarize.cluster import (
    UNASSIGNED,
    Clustering,
    assign_to_centroids,
    cluster_embeddings,
)
from saywho.diarize.powerset import POWERSET, expected_count, to_multilabel
from saywho.diarize.reconstruct import (
    FrameActivity,
    FrameGrid,
    exclusive,
    frame_activity,
    said_over,
    to_turns,
)
from saywho.errors import ConfigError


def voices(
    centres: list[int], per: int, seed: int = 0, dim: int = 16, noise: float = 0.15
) -> np.ndarray:
    """Noisy embeddings around orthogonal axes: ``per`` of each voice in ``centres``."""
    rng = np.random.default_rng(seed)
    rows = [np.eye(dim)[c] + noise * rng.standard_normal(dim) for c in centres for _ in range(per)]
    return np.array(rows, dtype=np.float32)


def test_powerset_classes_and_decoding() -> None:
    assert POWERSET == ((), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
    logp = np.log(np.full((2, 7), 0.01, dtype=np.float32))
    logp[0, 4] = 0.0  # speakers 0 and 1 together
    logp[1, 0] = 0.0  # nobody
    assert to_multilabel(logp).tolist() == [[1, 1, 0], [0, 0, 0]]


def test_expected_count_weighs_each_class_by_its_speakers() -> None:
    logp = np.log(np.array([[0.1, 0.3, 0, 0, 0.6, 0, 0], [1, 0, 0, 0, 0, 0, 0]]) + 1e-12)
    assert np.allclose(expected_count(logp.astype(np.float32)), [0.3 + 1.2, 0.0], atol=1e-4)


def test_a_hesitant_overlap_counts_past_the_count_threshold() -> None:
    # One window, two local speakers both active; the network thinks 1.45 people talk.
    local = np.zeros((1, 4, 3), dtype=np.float32)
    local[0, :, 0:2] = 1
    count = np.full((1, 4), 1.45, dtype=np.float32)
    assignment = np.array([[0, 1, UNASSIGNED]])
    strict = frame_activity(local, np.array([0]), assignment, 2, 4, local_count=count)
    eager = frame_activity(
        local, np.array([0]), assignment, 2, 4, local_count=count, count_threshold=0.4
    )
    assert strict.active.sum(axis=1).tolist() == [1, 1, 1, 1]
    assert eager.active.sum(axis=1).tolist() == [2, 2, 2, 2]


def test_three_voices_are_found_without_a_hint() -> None:
    x = voices([0, 1, 2], per=6)
    result = cluster_embeddings(
        x, np.full(18, 3.0), threshold=0.5, min_cluster_s=5.0, hints=SpeakerHints()
    )
    assert len(set(result.labels.tolist())) == 3
    assert all(len(set(result.labels[i * 6 : i * 6 + 6].tolist())) == 1 for i in range(3))
    assert np.allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)


def test_a_phantom_cluster_with_little_speech_is_folded() -> None:
    x = np.concatenate([voices([0, 1], per=6), voices([5], per=1, seed=3)])
    weights = np.array([3.0] * 12 + [1.0])
    result = cluster_embeddings(x, weights, threshold=0.5, min_cluster_s=2.0, hints=SpeakerHints())
    assert len(set(result.labels.tolist())) == 2


def blends(weight: float, count: int) -> np.ndarray:
    """Prints of stretches where voices 0 and 1 mix (with something of their own, axis 2):
    each is far from both voices, their centroid is near both."""
    rng = np.random.default_rng(1)
    axes = np.eye(16)
    rows = [
        weight * (axes[0] + axes[1]) + 0.6 * axes[2] + 0.2 * rng.standard_normal(16)
        for _ in range(count)
    ]
    return np.array(rows, dtype=np.float32)


def test_a_cluster_of_blends_between_two_voices_is_folded_into_them() -> None:
    x = np.concatenate([voices([0, 1], per=8), blends(0.4, 6)])
    result = cluster_embeddings(
        x, np.full(22, 3.0), threshold=0.6, min_cluster_s=5.0, hints=SpeakerHints()
    )
    assert len(set(result.labels.tolist())) == 2
    assert len(set(result.labels[:8].tolist())) == len(set(result.labels[8:16].tolist())) == 1
    # Held in check: a cluster in between with more speech than one of the two stays.
    heavy = np.array([3.0] * 16 + [10.0] * 6)
    kept = cluster_embeddings(x, heavy, threshold=0.6, min_cluster_s=5.0, hints=SpeakerHints())
    assert len(set(kept.labels.tolist())) == 3


def test_a_higher_count_hint_never_splits_a_clean_speaker() -> None:
    # Two clean voices and one stray print: asked for three, the stray one becomes the
    # third speaker and both real voices stay whole.
    x = np.concatenate([voices([0, 1], per=6), voices([5], per=1, seed=3)])
    weights = np.array([3.0] * 12 + [0.5])
    auto = cluster_embeddings(x, weights, threshold=0.5, min_cluster_s=2.0, hints=SpeakerHints())
    assert auto.centroids.shape[0] == 2
    three = cluster_embeddings(
        x, weights, threshold=0.5, min_cluster_s=2.0, hints=SpeakerHints(num_speakers=3)
    )
    labels = three.labels.tolist()
    assert len(set(labels[:6])) == 1 and len(set(labels[6:12])) == 1
    assert len({labels[0], labels[6], labels[12]}) == 3


def told(x: np.ndarray, short: np.ndarray, count: int, threshold: float = 0.5) -> Clustering:
    """``x`` (3 s of speech each) clustered beside ``short`` prints (0.5 s each), told
    that ``count`` people speak."""
    return cluster_embeddings(
        x,
        np.full(x.shape[0], 3.0),
        threshold=threshold,
        min_cluster_s=2.0,
        hints=SpeakerHints(num_speakers=count),
        short_prints=short,
        short_s=np.full(short.shape[0], 0.5),
    )


def test_a_count_hint_takes_a_distinct_short_voice_before_cutting_one_voice_in_two() -> None:
    # Two voices with long prints, a third heard only in short prints: asked for three,
    # the short voice becomes the third speaker; neither long voice is cut in two.
    short = np.concatenate([voices([0], per=3, seed=4), voices([5], per=1, seed=5)])
    result = told(voices([0, 1], per=6), short, 3)
    labels = result.labels.tolist()
    assert labels[:6] == [labels[0]] * 6 and labels[6:] == [labels[6]] * 6
    assert result.centroids.shape[0] == 3 and labels[0] != labels[6]
    third = ({0, 1, 2} - {labels[0], labels[6]}).pop()
    assert int(np.argmax(np.abs(result.centroids[third]))) == 5
    matched = assign_to_centroids(short, np.arange(4), result.centroids)
    assert matched.tolist() == [labels[0]] * 3 + [third]


def test_a_count_hint_splits_two_voices_merged_into_one_cluster() -> None:
    # A threshold so loose that two voices share one cluster: asked for two, the split of
    # that cluster (two halves far apart) wins over a short print far from everything.
    x = voices([0, 1], per=6)
    merged = cluster_embeddings(
        x, np.full(12, 3.0), threshold=1.5, min_cluster_s=2.0, hints=SpeakerHints()
    )
    assert merged.centroids.shape[0] == 1
    two = told(x, voices([5], per=1, seed=5), 2, threshold=1.5)
    labels = two.labels.tolist()
    assert two.centroids.shape[0] == 2
    assert labels[:6] == [labels[0]] * 6 and labels[6:] == [labels[6]] * 6
    assert labels[0] != labels[6]


def test_a_count_hint_is_kept_by_a_split_when_no_short_voice_stands_apart() -> None:
    # Only short prints of the same voice: the one voice is split, to keep the count.
    result = told(voices([0], per=8), voices([0], per=2, seed=6), 2)
    assert result.centroids.shape[0] == 2 and set(result.labels.tolist()) == {0, 1}


def test_a_count_hint_above_the_reliable_prints_founds_speakers_on_short_ones() -> None:
    # One reliable print, two distinct short ones, asked for four: three speakers, no more.
    result = told(voices([0], per=1), voices([3, 7], per=1, seed=7), 4)
    assert result.labels.tolist() == [0]
    assert sorted(int(np.argmax(np.abs(c))) for c in result.centroids) == [0, 3, 7]


def test_a_lower_count_hint_folds_the_lightest_speaker() -> None:
    x = voices([0, 1, 2], per=6)
    weights = np.array([3.0] * 12 + [1.0] * 6)  # the third voice has the least speech
    two = cluster_embeddings(
        x, weights, threshold=0.5, min_cluster_s=2.0, hints=SpeakerHints(max_speakers=2)
    )
    labels = two.labels.tolist()
    assert labels[:6] == [labels[0]] * 6 and labels[6:12] == [labels[6]] * 6
    assert labels[0] != labels[6] and set(labels[12:]) <= {labels[0], labels[6]}


def test_hints_adjust_the_found_count() -> None:
    x = voices([0, 1, 2, 3], per=5)
    weights = np.full(20, 2.0)
    auto = cluster_embeddings(x, weights, threshold=0.5, min_cluster_s=3.0, hints=SpeakerHints())
    assert auto.centroids.shape[0] == 4
    two = cluster_embeddings(
        x, weights, threshold=0.5, min_cluster_s=3.0, hints=SpeakerHints(num_speakers=2)
    )
    assert two.centroids.shape[0] == 2
    at_most = cluster_embeddings(
        x, weights, threshold=0.5, min_cluster_s=3.0, hints=SpeakerHints(max_speakers=3)
    )
    assert at_most.centroids.shape[0] == 3
    at_least = cluster_embeddings(
        x, weights, threshold=0.5, min_cluster_s=3.0, hints=SpeakerHints(min_speakers=4)
    )
    assert at_least.centroids.shape[0] == 4
    same = cluster_embeddings(
        x, weights, threshold=0.5, min_cluster_s=3.0, hints=SpeakerHints(num_speakers=4)
    )
    assert np.array_equal(same.labels, auto.labels)


def test_one_voice_stays_one() -> None:
    result = cluster_embeddings(
        voices([0], per=10),
        np.full(10, 2.0),
        threshold=0.5,
        min_cluster_s=3.0,
        hints=SpeakerHints(),
    )
    assert result.centroids.shape[0] == 1


def test_bad_hints_are_clear() -> None:
    with pytest.raises(ConfigError, match="min-speakers 5 is more than max-speakers 2"):
        SpeakerHints(min_speakers=5, max_speakers=2)
    with pytest.raises(ConfigError, match="num-speakers must be at least 1"):
        SpeakerHints(num_speakers=0)


def test_assignment_is_one_to_one_within_a_window() -> None:
    centroids = np.eye(4, dtype=np.float32)[:2]
    x = np.array([[1, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 1, 0, 0]], dtype=np.float32)
    window = np.array([0, 0, 1])
    assert assign_to_centroids(x, window, centroids).tolist() == [0, 1, 1]
    crowded = np.array([[1, 0, 0, 0], [0.8, 0.2, 0, 0], [0.9, 0, 0.1, 0]], dtype=np.float32)
    labels = assign_to_centroids(crowded, np.array([0, 0, 0]), centroids)
    assert sorted(labels.tolist()) == [UNASSIGNED, 0, 1]


def test_overlapping_windows_average_into_turns() -> None:
    # Two windows of 10 frames, the second starting at frame 5; local speaker 0 of window 0
    # and local speaker 1 of window 1 are the same person (cluster 0).
    local = np.zeros((2, 10, 3), dtype=np.float32)
    local[0, 0:8, 0] = 1  # frames 0..7 cluster 0
    local[1, 0:3, 1] = 1  # frames 5..7 cluster 0 again
    local[1, 5:10, 0] = 1  # frames 10..14 cluster 1
    assignment = np.array([[0, UNASSIGNED, UNASSIGNED], [1, 0, UNASSIGNED]])
    active = frame_activity(local, np.array([0, 5]), assignment, n_clusters=2, n_frames=15).active
    assert np.flatnonzero(active[:, 0]).tolist() == list(range(8))
    assert np.flatnonzero(active[:, 1]).tolist() == list(range(10, 15))
    grid = FrameGrid(step_s=0.1, offset_s=0.05)
    turns = to_turns(active, grid, ["A", "B"], min_turn_s=0.0, min_gap_s=0.0)
    assert [(t.label, round(t.span.start, 6), round(t.span.end, 6)) for t in turns] == [
        ("A", 0.0, 0.8),
        ("B", 1.0, 1.5),
    ]


def test_short_gaps_are_bridged_and_blips_dropped() -> None:
    flags = np.zeros((30, 1), dtype=bool)
    flags[0:10, 0] = True
    flags[11:20, 0] = True  # one-frame gap
    flags[25, 0] = True  # a one-frame blip
    turns = to_turns(flags, FrameGrid(0.1, 0.05), ["A"], min_turn_s=0.15, min_gap_s=0.15)
    assert [(round(t.span.start, 2), round(t.span.end, 2)) for t in turns] == [(0.0, 2.0)]


def test_exclusive_keeps_the_most_activated_speaker() -> None:
    active = np.ones((4, 2), dtype=bool)
    active[3, 0] = False
    activation = np.array([[0.9, 0.5], [0.4, 0.6], [0.5, 0.5], [0.0, 0.2]])
    one = exclusive(FrameActivity(activation, active, active.sum(axis=1).astype(np.float64)))
    assert one.tolist() == [[True, False], [False, True], [True, False], [False, True]]


def test_two_local_speakers_of_one_window_stay_apart() -> None:
    # Two similar voices (cosine distance ~0.3 < threshold 0.5): plain clustering merges
    # them; heard together in the same windows, they are two people.
    rng = np.random.default_rng(4)
    base = np.eye(16)[0]
    other = np.cos(0.8) * base + np.sin(0.8) * np.eye(16)[1]  # about 0.3 apart
    a = np.array([base + 0.05 * rng.standard_normal(16) for _ in range(4)], dtype=np.float32)
    b = np.array([other + 0.05 * rng.standard_normal(16) for _ in range(4)], dtype=np.float32)
    x = np.concatenate([a, b])
    windows = np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.int64)
    options = {"threshold": 0.5, "min_cluster_s": 2.0, "hints": SpeakerHints()}
    plain = cluster_embeddings(x, np.full(8, 2.0), **options)  # type: ignore[arg-type]
    linked = cluster_embeddings(
        x,
        np.full(8, 2.0),
        windows=windows,
        cannot_link=1.0,
        **options,  # type: ignore[arg-type]
    )
    assert len(set(plain.labels.tolist())) == 1
    assert linked.labels[:4].tolist() == [linked.labels[0]] * 4
    assert linked.labels[4:].tolist() == [linked.labels[4]] * 4
    assert linked.labels[0] != linked.labels[4]


def test_a_light_voice_heard_beside_its_neighbour_needs_less_distance_to_stay() -> None:
    # One talker in windows 0-5 (3 s each) and a 1.3 s print of another voice, about 0.65
    # from the talker: under the distinct bar (0.7), over the witnessed one (0.6).
    rng = np.random.default_rng(7)
    talker = voices([0], per=6, noise=0.05)
    other = np.eye(16, dtype=np.float32)[0] * 0.35 + np.eye(16, dtype=np.float32)[1] * 0.94
    x = np.concatenate([talker, other[None, :] + 0.01 * rng.standard_normal((1, 16))])
    x = x.astype(np.float32)
    distance = 1.0 - float(x[-1] @ x[:6].mean(0)) / float(
        np.linalg.norm(x[-1]) * np.linalg.norm(x[:6].mean(0))
    )
    assert 0.6 < distance < 0.7
    weights = np.array([3.0] * 6 + [1.3])
    bursts = (other[None, :] + 0.05 * rng.standard_normal((4, 16))).astype(np.float32)
    options = {
        "threshold": 0.5,
        "min_cluster_s": 3.0,
        "hints": SpeakerHints(),
        "distinct": 0.7,
        "witnessed": 0.6,
        "cannot_link": 1.0,
        "short_prints": bursts,
        "short_s": np.full(4, 0.5),
    }
    # Segmentation heard it beside the talker in window 3: a second person.
    beside = cluster_embeddings(x, weights, windows=np.array([0, 1, 2, 3, 4, 5, 3]), **options)  # type: ignore[arg-type]
    assert len(set(beside.labels.tolist())) == 2
    # Heard only in a window of its own: the distinct bar holds and it is folded.
    apart = cluster_embeddings(x, weights, windows=np.array([0, 1, 2, 3, 4, 5, 9]), **options)  # type: ignore[arg-type]
    assert len(set(apart.labels.tolist())) == 1
    # Without the lower bar, the witness changes nothing.
    plain = cluster_embeddings(
        x, weights, windows=np.array([0, 1, 2, 3, 4, 5, 3]), **(options | {"witnessed": None})
    )  # type: ignore[arg-type]
    assert len(set(plain.labels.tolist())) == 1


def test_a_short_but_distinct_voice_survives_folding() -> None:
    # Two talkers and a third voice with one 1.2 s print and a few short bursts.
    x = np.concatenate([voices([0, 1], per=6), voices([5], per=1, seed=3)])
    weights = np.array([3.0] * 12 + [1.2])
    bursts = voices([5], per=4, seed=5)
    options = {"threshold": 0.5, "min_cluster_s": 3.0, "hints": SpeakerHints(), "distinct": 0.6}
    kept = cluster_embeddings(x, weights, short_prints=bursts, short_s=np.full(4, 0.5), **options)  # type: ignore[arg-type]
    assert len(set(kept.labels.tolist())) == 3
    # One stray print and nothing else that sounds like it: a phantom, folded.
    alone = cluster_embeddings(x, weights, **options)  # type: ignore[arg-type]
    assert len(set(alone.labels.tolist())) == 2
    # Bursts of someone else do not rescue it.
    others = voices([0], per=4, seed=5)
    rescued = cluster_embeddings(
        x, weights, short_prints=others, short_s=np.full(4, 0.5), **options
    )  # type: ignore[arg-type]
    assert len(set(rescued.labels.tolist())) == 2
    # Close to a real speaker: folded however much sounds like it.
    near = np.concatenate([voices([0, 1], per=6), voices([0], per=1, seed=3, noise=0.4)])
    close = cluster_embeddings(
        near, weights, short_prints=bursts, short_s=np.full(4, 0.5), **options
    )  # type: ignore[arg-type]
    assert len(set(close.labels.tolist())) == 2


def test_a_short_turn_said_over_another_voice_is_told_apart_from_a_doubtful_overlap() -> None:
    # Cluster 0 talks throughout; cluster 1 says something in frames 4-8.
    active = np.zeros((12, 2), dtype=bool)
    active[:, 0] = True
    active[4:8, 1] = True
    activation = active.astype(np.float64)
    sure = FrameActivity(activation, active, np.where(active[:, 1], 1.8, 1.0))
    doubtful = FrameActivity(activation, active, np.where(active[:, 1], 1.5, 1.0))
    assert said_over(sure, 4, 8, 0, count_threshold=0.4)
    # Segmentation is not sure two people talk there: the turn is not protected.
    assert not said_over(doubtful, 4, 8, 0, count_threshold=0.4)
    # The other voice is silent over most of the turn: nothing was said over it.
    quiet = active.copy()
    quiet[3:7, 0] = False
    assert not said_over(
        FrameActivity(activation, quiet, sure.talking), 4, 8, 0, count_threshold=0.4
    )


def test_frame_activity_keeps_how_many_people_each_frame_holds() -> None:
    local = np.zeros((2, 4, 3), dtype=np.float32)
    local[:, :, 0] = 1
    local[0, 2:, 1] = 1
    count = local.sum(axis=2)
    count[1, 2:] = 1.5  # the second window hesitates over the overlap
    result = frame_activity(
        local,
        np.array([0, 0]),
        np.array([[0, 1, -1], [0, 1, -1]]),
        2,
        4,
        local_count=count,
        count_threshold=0.4,
    )
    assert np.allclose(result.talking, [1.0, 1.0, 1.75, 1.75])
    assert result.active[:, 1].tolist() == [False, False, True, True]
