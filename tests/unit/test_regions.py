"""Speech regions from probabilities, and mapping recognized times back to the recording."""

from __future__ import annotations

import numpy as np
import pytest

from saywho.config import VadConfig
from saywho.types import Span, Utterance, Word
from saywho.vad.regions import TimeMap, recognition_blocks, restore_times, speech_regions

FRAME_S = 0.032


def probs(*runs: tuple[float, float]) -> np.ndarray:
    """Probabilities from (seconds, value) runs."""
    return np.concatenate([np.full(round(s / FRAME_S), v, dtype=np.float32) for s, v in runs])


def test_no_speech_gives_no_regions() -> None:
    assert speech_regions(probs((5.0, 0.01)), FRAME_S, 5.0, VadConfig()) == ()


def test_one_region_is_padded_and_clipped() -> None:
    p = probs((1.0, 0.0), (2.0, 0.9), (3.0, 0.0))
    (region,) = speech_regions(p, FRAME_S, 6.0, VadConfig(pad_s=0.4))
    assert region.start == pytest.approx(1.0 - 0.4, abs=FRAME_S)
    assert region.end == pytest.approx(3.0 + 0.4, abs=FRAME_S)


def test_short_silence_does_not_split_but_long_silence_does() -> None:
    config = VadConfig(min_silence_s=1.0, pad_s=0.0)
    short_gap = probs((1.0, 0.9), (0.5, 0.0), (1.0, 0.9))
    long_gap = probs((1.0, 0.9), (1.5, 0.0), (1.0, 0.9))
    assert len(speech_regions(short_gap, FRAME_S, 2.5, config)) == 1
    assert len(speech_regions(long_gap, FRAME_S, 3.5, config)) == 2


def test_hysteresis_keeps_speech_between_thresholds() -> None:
    config = VadConfig(threshold=0.5, min_silence_s=0.1, pad_s=0.0)
    wobble = probs((1.0, 0.9), (1.0, 0.4), (1.0, 0.9))  # 0.4 is above 0.5 - 0.15
    assert len(speech_regions(wobble, FRAME_S, 3.0, config)) == 1


def test_min_speech_drops_blips_and_max_speech_splits() -> None:
    blip = probs((1.0, 0.0), (0.1, 0.9), (3.0, 0.0))
    assert speech_regions(blip, FRAME_S, 4.1, VadConfig(min_speech_s=0.25)) == ()
    long = probs((10.0, 0.9))
    regions = speech_regions(long, FRAME_S, 10.0, VadConfig(max_speech_s=3.0, pad_s=0.0))
    assert len(regions) == 4
    assert all(r.duration <= 3.0 + 1e-9 for r in regions)


def test_close_regions_share_the_gap_instead_of_overlapping() -> None:
    p = probs((1.0, 0.9), (2.1, 0.0), (1.0, 0.9))
    first, second = speech_regions(p, FRAME_S, 4.1, VadConfig(min_silence_s=2.0, pad_s=2.0))
    assert first.end <= second.start


def test_time_map_round_trip() -> None:
    time_map = TimeMap.of([Span(2.0, 4.0), Span(10.0, 11.0)])
    assert time_map.kept_s == pytest.approx(3.0)
    assert time_map.region_of(0.5) == 0
    assert time_map.region_of(2.5) == 1
    assert time_map.region_of(99.0) == 1
    assert time_map.to_original(0.5, 0) == pytest.approx(2.5)
    assert time_map.to_original(2.5, 1) == pytest.approx(10.5)


def test_restore_times_places_each_word_by_its_middle() -> None:
    time_map = TimeMap.of([Span(2.0, 4.0), Span(10.0, 11.0)])
    words = (
        Word("hello", Span(0.1, 0.5), 0.9),
        Word("there", Span(1.9, 2.3), 0.9),  # middle 2.1 is in the second region
        Word("untimed", None, 0.5),
    )
    (restored,) = restore_times([Utterance(Span(0.1, 2.3), "hello there untimed", words)], time_map)
    spans = [(w.span.start, w.span.end) for w in restored.words[:2] if w.span is not None]
    assert spans == [pytest.approx((2.1, 2.5)), pytest.approx((9.9, 10.3))]
    assert restored.words[2].span is None
    assert restored.span.start == pytest.approx(2.1)
    assert restored.span.end == pytest.approx(10.3)
    assert restored.text == "hello there untimed"


def test_restore_times_without_regions_changes_nothing() -> None:
    utterance = Utterance(Span(0.0, 1.0), "a", (Word("a", Span(0.0, 1.0), 1.0),))
    assert restore_times([utterance], TimeMap.of([])) == (utterance,)


def test_recognition_blocks_break_between_regions_and_cut_only_overlong_ones() -> None:
    regions = [Span(0.0, 4.0), Span(5.0, 9.0), Span(10.0, 13.0), Span(20.0, 45.0)]
    blocks = recognition_blocks(regions, max_block_s=10.0)
    assert blocks == (
        (Span(0.0, 4.0), Span(5.0, 9.0)),
        (Span(10.0, 13.0),),
        (Span(20.0, 20.0 + 25 / 3),),
        (Span(20.0 + 25 / 3, 20.0 + 50 / 3),),
        (Span(20.0 + 50 / 3, 45.0),),
    )
    assert all(sum(r.duration for r in block) <= 10.0 + 1e-9 for block in blocks)
    kept = [r for block in blocks for r in block]
    assert sum(r.duration for r in kept) == pytest.approx(sum(r.duration for r in regions))
    assert recognition_blocks([], max_block_s=10.0) == ()
