"""Deterministic ways to damage audio for robustness measurements, and to line it up again.

Pure DSP on numpy arrays (shape (n,), float32 in [-1, 1], one sample rate throughout): babble
noise built from other people's speech, noise added at a chosen signal-to-noise ratio, a level
change to a chosen RMS, a synthetic room reverberation, and the lag between a clean signal and
its degraded copy (a codec's delay) found by cross-correlation and undone. Every random draw
comes from the ``numpy.random.Generator`` passed in; nothing here reads files or calls a codec
(the codec round trip is the adapter :mod:`saywho.audio.codec`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

__all__ = [
    "add_noise_at_snr",
    "babble",
    "estimate_lag",
    "reverberate",
    "room_impulse_response",
    "set_rms_dbfs",
    "shift",
]

_DECAY_60_DB = np.log(1000.0)  # amplitude falls by 60 dB when exp(-t * this / rt60) = 1e-3
_TINY_POWER = 1e-20


def _power(samples: npt.NDArray[np.floating[Any]]) -> float:
    """Mean square of ``samples`` (shape (n,)), in float64."""
    return float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0


def _clipped(samples: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    """``samples`` clipped to [-1, 1], as float32 (a new array)."""
    out: npt.NDArray[np.float32] = np.clip(samples, -1.0, 1.0).astype(np.float32)
    return out


def set_rms_dbfs(samples: npt.NDArray[np.float32], level_dbfs: float) -> npt.NDArray[np.float32]:
    """A copy of ``samples`` (shape (n,)) scaled so its RMS over the whole array is ``level_dbfs``.

    0 dBFS is the RMS of a full-scale square wave (1.0). Silence stays silence. The result is
    clipped to [-1, 1] (only a level near 0 dBFS can reach full scale).
    """
    power = _power(samples)
    if power <= _TINY_POWER:
        return samples.astype(np.float32, copy=True)
    gain = 10.0 ** (level_dbfs / 20.0) / np.sqrt(power)
    return _clipped(samples * gain)


def add_noise_at_snr(
    samples: npt.NDArray[np.float32], noise: npt.NDArray[np.float32], snr_db: float
) -> npt.NDArray[np.float32]:
    """``samples`` plus ``noise`` scaled so that signal power / noise power is ``snr_db`` dB.

    Both have shape (n,); powers are mean squares over the whole arrays (pauses included).
    The sum is clipped to [-1, 1]. Raises :class:`ValueError` for arrays of different lengths
    or a silent noise.
    """
    if samples.shape != noise.shape:
        raise ValueError(f"signal {samples.shape} and noise {noise.shape} differ in length")
    noise_power = _power(noise)
    if noise_power <= _TINY_POWER:
        raise ValueError("the noise is silent")
    gain = np.sqrt(_power(samples) / noise_power / 10.0 ** (snr_db / 10.0))
    return _clipped(samples.astype(np.float64) + gain * noise.astype(np.float64))


def babble(
    talkers: Sequence[npt.NDArray[np.float32]], n_samples: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Several people talking at once: the sum of ``talkers``, each at the same RMS.

    Each talker's speech (shape (m,), e.g. their clips end to end) is repeated as often as it
    takes to fill ``n_samples`` from a random starting point, so the talkers do not pause
    together. Returns shape (n_samples,) float32 with RMS 0.1 (unclipped). Raises
    :class:`ValueError` without talkers or with a silent one.
    """
    if not talkers:
        raise ValueError("babble needs at least one talker")
    total = np.zeros(n_samples, dtype=np.float64)
    for speech in talkers:
        power = _power(speech)
        if power <= _TINY_POWER:
            raise ValueError("a babble talker is silent")
        start = int(rng.integers(speech.shape[0]))
        looped = np.resize(np.roll(speech, -start), n_samples)  # (n_samples,), repeats speech
        total += looped / np.sqrt(power)
    scaled: npt.NDArray[np.float32] = (total * (0.1 / np.sqrt(_power(total)))).astype(np.float32)
    return scaled


def room_impulse_response(
    rt60_s: float, sample_rate: int, rng: np.random.Generator, *, drr_db: float = 0.0
) -> npt.NDArray[np.float32]:
    """A synthetic room: a direct path at lag 0, then exponentially decaying Gaussian noise.

    The tail decays by 60 dB in ``rt60_s`` seconds and lasts that long; its energy is
    ``drr_db`` below the direct path's (direct-to-reverberant ratio; 0 dB: as much reflected as
    direct sound, a talker a metre or two away in a meeting room). Returns shape
    (round(rt60_s * sample_rate),) float32 with ``h[0] == 1``.
    """
    if rt60_s <= 0:
        raise ValueError(f"rt60_s must be positive, got {rt60_s}")
    n = max(2, round(rt60_s * sample_rate))
    t_s = np.arange(1, n) / sample_rate
    tail = rng.standard_normal(n - 1) * np.exp(-_DECAY_60_DB * t_s / rt60_s)  # (n - 1,)
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / float(np.sum(np.square(tail))))
    return np.concatenate([[1.0], tail]).astype(np.float32)


def reverberate(
    samples: npt.NDArray[np.float32], impulse_response: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``samples`` (shape (n,)) convolved with ``impulse_response``, cut to n, same RMS.

    With the direct path at lag 0 (as :func:`room_impulse_response` makes it) nothing moves
    in time, so a reference still lines up. Clipped to [-1, 1].
    """
    wet = sps.fftconvolve(samples.astype(np.float64), impulse_response)[: samples.shape[0]]
    power = _power(wet)
    if power <= _TINY_POWER:
        return samples.astype(np.float32, copy=True)
    return _clipped(wet * np.sqrt(_power(samples) / power))


def estimate_lag(
    clean: npt.NDArray[np.float32], degraded: npt.NDArray[np.float32], max_lag: int
) -> int:
    """How many samples ``degraded`` runs behind ``clean`` (negative: ahead), at most ``max_lag``.

    The lag maximises the cross-correlation of the two (shapes (n,) and (m,), one sample
    rate), computed by FFT over the common length. A codec's delay is a whole number of
    samples at the rate it ran at, so whole samples are what is needed to undo it here.
    """
    if max_lag < 0:
        raise ValueError(f"max_lag must not be negative, got {max_lag}")
    n = int(min(clean.shape[0], degraded.shape[0]))
    if n == 0:
        return 0
    a = clean[:n].astype(np.float64)
    b = degraded[:n].astype(np.float64)
    corr = sps.correlate(b, a, mode="full", method="fft")  # (2n - 1,); index n - 1 is lag 0
    window = min(max_lag, n - 1)
    centre = n - 1
    best = int(np.argmax(corr[centre - window : centre + window + 1]))
    return best - window


def shift(samples: npt.NDArray[np.float32], lag: int, n_samples: int) -> npt.NDArray[np.float32]:
    """Undo a lag: ``samples[lag:]`` (zeros first for a negative lag), padded or cut to n_samples.

    After :func:`estimate_lag` said ``degraded`` runs ``lag`` samples behind ``clean``,
    ``shift(degraded, lag, len(clean))`` lines it up with ``clean`` sample for sample.
    Returns a new float32 array of shape (n_samples,).
    """
    if lag >= 0:
        moved = samples[lag:]
    else:
        moved = np.concatenate([np.zeros(-lag, dtype=np.float32), samples])
    out = np.zeros(n_samples, dtype=np.float32)
    count = min(n_samples, moved.shape[0])
    out[:count] = moved[:count]
    return out
