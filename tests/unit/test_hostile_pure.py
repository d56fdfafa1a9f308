"""The pure parts of the hostile-input fixes: channel weights, durations, grouped writes."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from saywho.atomic import write_together
from saywho.audio.decode import _better_weights, check_sample_rate
from saywho.options import parse_duration_s


def covariance(planar: np.ndarray) -> np.ndarray:
    return planar.astype(np.float64) @ planar.T.astype(np.float64)  # (channels, channels)


def test_the_plain_average_is_kept_when_it_loses_nothing() -> None:
    rng = np.random.default_rng(0)
    voice = rng.normal(size=1000)
    assert _better_weights(covariance(np.stack([voice, voice]))) is None  # the same on both
    other = rng.normal(size=1000)
    assert _better_weights(covariance(np.stack([voice, other]))) is None  # two people
    assert _better_weights(np.zeros((0, 0))) is None  # mono
    assert _better_weights(np.zeros((2, 2))) is None  # digital silence


def test_an_inverted_channel_is_flipped_and_a_lone_channel_taken_alone() -> None:
    voice = np.random.default_rng(1).normal(size=1000)
    weights = _better_weights(covariance(np.stack([voice, -voice])))
    assert weights is not None
    assert weights @ np.stack([voice, -voice]) == pytest.approx(voice, abs=1e-6)
    eight = np.zeros((8, 1000))
    eight[3] = voice
    weights = _better_weights(covariance(eight))
    assert weights is not None
    assert weights.tolist() == [0, 0, 0, 1, 0, 0, 0, 0]


@pytest.mark.parametrize(("rate", "ok"), [(1, False), (999, False), (1000, True), (8000, True),
                                          (768_000, True), (768_001, False)])  # fmt: skip
def test_sample_rates_outside_what_recorders_make_are_refused(rate: int, ok: bool) -> None:
    assert (check_sample_rate(rate) is None) == ok


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("45m", 2700.0),
                                               ("4h", 14400.0), ("0.5h", 1800.0)])  # fmt: skip
def test_durations_read_with_units(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "soon", "-1", "0", "nan", "inf", "3d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration_s(text)


def test_files_written_together_appear_together_or_not_at_all(tmp_path: Path) -> None:
    write_together([(tmp_path / "a.txt", b"one"), (tmp_path / "b.txt", b"two")])
    assert (tmp_path / "a.txt").read_bytes() == b"one"
    assert (tmp_path / "b.txt").read_bytes() == b"two"
    with pytest.raises(FileNotFoundError):
        write_together([(tmp_path / "a.txt", b"new"), (tmp_path / "gone" / "c.txt", b"three")])
    assert (tmp_path / "a.txt").read_bytes() == b"one"  # the old result stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]  # no temporaries
