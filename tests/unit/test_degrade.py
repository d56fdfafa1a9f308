"""Pure degradations on hand-made arrays: levels, SNR, babble, reverberation, lag and shift."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from saywho.evaluation.degrade import (
    add_noise_at_snr,
    babble,
    estimate_lag,
    reverberate,
    room_impulse_response,
    set_rms_dbfs,
    shift,
)

RATE = 16_000


def noise(n: int, seed: int, scale: float = 0.1) -> npt.NDArray[np.float32]:
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(np.float32)


def rms_db(samples: npt.NDArray[np.float32]) -> float:
    return float(10 * np.log10(np.mean(np.square(samples, dtype=np.float64))))


def test_level_is_set_as_rms_over_the_whole_array() -> None:
    signal = np.concatenate([np.zeros(RATE, np.float32), noise(RATE, 1)])
    quiet = set_rms_dbfs(signal, -35.0)
    assert rms_db(quiet) == pytest.approx(-35.0, abs=1e-3)
    assert np.all(quiet[:RATE] == 0)
    np.testing.assert_allclose(quiet[RATE:] / signal[RATE:], quiet[-1] / signal[-1], rtol=1e-5)


def test_level_leaves_silence_alone_and_its_argument_untouched() -> None:
    silent = np.zeros(100, np.float32)
    assert np.all(set_rms_dbfs(silent, -35.0) == 0)
    signal = noise(1000, 2)
    before = signal.copy()
    set_rms_dbfs(signal, -10.0)
    np.testing.assert_array_equal(signal, before)


def test_noise_is_added_at_the_snr_asked_for() -> None:
    signal, hiss = noise(RATE, 3), noise(RATE, 4, scale=0.5)
    mixed = add_noise_at_snr(signal, hiss, 10.0)
    added = mixed - signal
    assert rms_db(signal) - rms_db(added) == pytest.approx(10.0, abs=1e-3)
    gain = np.sqrt(
        np.mean(np.square(signal, dtype=np.float64))
        / 10
        / np.mean(np.square(hiss, dtype=np.float64))
    )
    np.testing.assert_allclose(added, gain * hiss, atol=1e-6)  # the noise itself, scaled


def test_noise_of_another_length_or_silent_is_refused() -> None:
    with pytest.raises(ValueError, match="differ"):
        add_noise_at_snr(noise(10, 1), noise(11, 2), 10.0)
    with pytest.raises(ValueError, match="silent"):
        add_noise_at_snr(noise(10, 1), np.zeros(10, np.float32), 10.0)


def test_babble_sums_every_talker_at_equal_weight_and_is_seeded() -> None:
    loud = np.full(300, 0.5, np.float32)  # RMS 0.5
    quiet = np.tile(np.array([0.01, -0.01], np.float32), 50)  # RMS 0.01, 100 samples
    first = babble([loud, quiet], 1000, np.random.default_rng(7))
    again = babble([loud, quiet], 1000, np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (1000,)
    assert np.sqrt(np.mean(np.square(first, dtype=np.float64))) == pytest.approx(0.1, rel=1e-4)
    # each talker at unit RMS before the sum: the constant and the ±1 square wave, so the sum
    # takes exactly the two values 1 + 1 and 1 - 1, scaled alike
    assert len(np.unique(np.round(first, 5))) == 2


def test_babble_needs_a_talker_who_talks() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least one"):
        babble([], 10, rng)
    with pytest.raises(ValueError, match="silent"):
        babble([np.zeros(5, np.float32)], 10, rng)


def test_room_impulse_response_decays_by_60_db_in_rt60_with_the_direct_path_first() -> None:
    rir = room_impulse_response(0.5, RATE, np.random.default_rng(1), drr_db=0.0)
    assert rir.shape == (RATE // 2,)
    assert rir[0] == 1.0
    tail = rir[1:].astype(np.float64)
    assert np.sum(np.square(tail)) == pytest.approx(1.0, rel=1e-4)  # DRR 0 dB
    tenth = len(tail) // 10
    early, late = np.mean(tail[:tenth] ** 2), np.mean(tail[-tenth:] ** 2)
    # over 0.45 s between the two tenths' centres the energy falls by 54 dB (60 dB per 0.5 s)
    assert 10 * np.log10(early / late) == pytest.approx(54.0, abs=3.0)


def test_reverberation_keeps_timing_and_level() -> None:
    click = np.zeros(RATE, np.float32)
    click[4000] = 0.5
    rir = room_impulse_response(0.4, RATE, np.random.default_rng(2))
    wet = reverberate(click, rir)
    assert wet.shape == click.shape
    assert np.max(np.abs(wet[:4000])) < 1e-6  # nothing before the direct sound (FFT rounding)
    assert int(np.argmax(np.abs(wet))) == 4000
    assert rms_db(wet) == pytest.approx(rms_db(click), abs=1e-3)


@pytest.mark.parametrize("lag", [0, 1, 37, 1024, -25])
def test_lag_is_found_and_undone_to_the_sample(lag: int) -> None:
    clean = noise(8000, 5)
    late = np.concatenate([np.zeros(max(lag, 0), np.float32), clean[max(-lag, 0) :]])
    degraded = late + noise(late.shape[0], 6, scale=0.03)  # ~10 dB of noise on top
    found = estimate_lag(clean, degraded, max_lag=2000)
    assert found == lag
    aligned = shift(degraded, found, clean.shape[0])
    assert aligned.shape == clean.shape
    assert estimate_lag(clean, aligned, max_lag=2000) == 0
    both = slice(max(-lag, 0), clean.shape[0] - max(lag, 0))
    assert np.corrcoef(clean[both], aligned[both])[0, 1] > 0.9


def test_lag_search_stays_within_max_lag() -> None:
    clean = noise(4000, 8)
    degraded = np.concatenate([np.zeros(500, np.float32), clean])
    assert estimate_lag(clean, degraded, max_lag=500) == 500
    assert abs(estimate_lag(clean, degraded, max_lag=100)) <= 100


def test_shift_pads_and_cuts_without_touching_its_argument() -> None:
    samples = np.arange(1, 6, dtype=np.float32)
    np.testing.assert_array_equal(shift(samples, 2, 5), [3, 4, 5, 0, 0])
    np.testing.assert_array_equal(shift(samples, -2, 4), [0, 0, 1, 2])
    np.testing.assert_array_equal(samples, [1, 2, 3, 4, 5])
