"""The core value types as a library user meets them: times that print as times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saywho.types import Audio, Span, Turn, Word


def test_a_span_prints_as_a_clock() -> None:
    assert str(Span(10.904, 11.884)) == "00:10.904 → 00:11.884"
    assert str(Span(3725.5, 3726.0)) == "01:02:05.500 → 01:02:06.000"
    assert repr(Span(1.0, 2.0)) == "Span(start=1.0, end=2.0)"


def test_a_span_no_clock_can_show_still_prints() -> None:
    assert str(Span(-1.0, 0.5)) == "-1.0 s → 00:00.500"
    assert str(Span(0.0, math.inf)) == "00:00.000 → inf s"


def test_a_turn_prints_its_span_and_label() -> None:
    assert str(Turn(Span(0.0, 1.25), "SPEAKER_01")) == "00:00.000 → 00:01.250 SPEAKER_01"


def test_word_start_and_end_read_the_span() -> None:
    word = Word("Hello,", Span(1.5, 1.75), 0.9)
    assert (word.start, word.end) == (1.5, 1.75)


def test_an_untimed_word_says_so_when_asked_for_its_time() -> None:
    word = Word("uh", None, 0.4)
    with pytest.raises(ValueError, match="'uh' has no time"):
        _ = word.start
    with pytest.raises(ValueError, match="no time"):
        _ = word.end


def test_audio_is_read_only_and_leaves_the_callers_array_alone() -> None:
    samples = np.zeros(16, dtype=np.float32)
    audio = Audio(samples, 16_000)
    with pytest.raises(ValueError, match="read-only"):
        audio.samples[0] = 1.0
    samples[0] = 0.5  # still the caller's to change
    assert samples.flags.writeable and audio.samples[0] == 0.5
