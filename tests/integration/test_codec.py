"""Codec round trips in memory (PyAV): every benchmark codec, and its delay undone to 1 ms."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy import signal as sps

from saywho.audio.codec import CODECS, CodecSpec, roundtrip
from saywho.errors import ConfigError
from saywho.evaluation.degrade import estimate_lag, shift

RATE = 16_000
ONE_MS = RATE // 1000
ONSETS_S = (0.3, 0.9, 1.5, 2.1, 2.7, 3.3)


def bursts() -> npt.NDArray[np.float32]:
    """Telephone-band noise bursts (300-3400 Hz, 250 ms) with sharp onsets at ONSETS_S."""
    rng = np.random.default_rng(0)
    band = sps.butter(4, [300, 3400], btype="band", fs=RATE, output="sos")
    samples = np.zeros(4 * RATE, np.float32)
    for onset_s in ONSETS_S:
        first, n = round(onset_s * RATE), RATE // 4
        samples[first : first + n] = 0.3 * sps.sosfilt(band, rng.standard_normal(n))
    return samples


def onsets(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """Where each burst's 1 ms RMS envelope first reaches half its steady level (samples).

    A measure independent of the cross-correlation that aligned the signal.
    """
    envelope = np.sqrt(
        np.convolve(np.square(samples, dtype=np.float64), np.ones(ONE_MS) / ONE_MS, "same")
    )
    found = []
    for onset_s in ONSETS_S:
        first = round(onset_s * RATE)
        steady = float(np.median(envelope[first + RATE // 50 : first + RATE // 5]))
        look = envelope[first - RATE // 20 : first + RATE // 10]
        found.append(first - RATE // 20 + int(np.argmax(look >= 0.5 * steady)))
    return np.array(found)


@pytest.mark.parametrize("name", sorted(CODECS))
def test_every_codec_round_trips_and_its_delay_is_undone_within_1_ms(name: str) -> None:
    clean = bursts()
    degraded = roundtrip(clean, RATE, name)
    assert abs(degraded.shape[0] - clean.shape[0]) < RATE // 5
    assert degraded.dtype == np.float32
    lag = estimate_lag(clean, degraded, max_lag=RATE // 5)
    aligned = shift(degraded, lag, clean.shape[0])
    residual = onsets(aligned) - onsets(clean)
    assert np.max(np.abs(residual)) <= ONE_MS, residual
    assert np.corrcoef(clean, aligned)[0, 1] > 0.8  # damaged, but the same signal


def test_aac_keeps_its_priming_delay_for_the_caller_to_undo() -> None:
    clean = bursts()
    degraded = roundtrip(clean, RATE, "aac-32")
    assert estimate_lag(clean, degraded, max_lag=RATE // 5) == 1024  # one AAC frame
    assert np.max(np.abs(onsets(shift(degraded, 0, clean.shape[0])) - onsets(clean))) > ONE_MS


def test_telephone_band_is_cut_above_4_khz() -> None:
    rng = np.random.default_rng(1)
    white = (0.1 * rng.standard_normal(2 * RATE)).astype(np.float32)
    phone = roundtrip(white, RATE, "ulaw-8k")
    freqs, power = sps.welch(phone, fs=RATE, nperseg=1024)
    below, above = power[(freqs > 500) & (freqs < 3000)].mean(), power[freqs > 4500].mean()
    assert 10 * np.log10(below / above) > 30


def test_lower_bit_rates_damage_more() -> None:
    clean = bursts()
    errors = [
        float(np.mean(np.square(shift(roundtrip(clean, RATE, name), 0, clean.shape[0]) - clean)))
        for name in ("mp3-24", "mp3-64")
    ]
    assert errors[0] > errors[1]


def test_a_spec_of_our_own_and_an_unknown_name() -> None:
    flac = CodecSpec("flac", "flac", "s16")
    clean = bursts()
    lossless = roundtrip(clean, RATE, flac)
    np.testing.assert_allclose(lossless[: clean.shape[0]], clean, atol=1 / 32767 + 1e-6)
    with pytest.raises(ConfigError, match="unknown codec"):
        roundtrip(clean, RATE, "opus-6")
