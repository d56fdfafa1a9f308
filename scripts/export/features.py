"""Audio reading and the CAM++ input features (Kaldi fbank via kaldi-native-fbank)."""

from __future__ import annotations

import wave
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000
Samples = npt.NDArray[np.float32]


def read_wav(path: Path) -> Samples:
    """16 kHz mono 16-bit PCM WAV -> float32 samples in [-1, 1], shape (samples,)."""
    with wave.open(str(path), "rb") as stream:
        if stream.getframerate() != SAMPLE_RATE or stream.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16 kHz mono")
        if stream.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit samples")
        pcm = np.frombuffer(stream.readframes(stream.getnframes()), dtype="<i2")
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


def fbank_options() -> knf.FbankOptions:
    """``torchaudio.compliance.kaldi.fbank`` defaults with 80 bins at 16 kHz and no dither.

    That is what 3D-Speaker trains and runs CAM++ with: povey window, pre-emphasis 0.97,
    DC offset removed, snip_edges, 25 ms frames every 10 ms, mel bins from 20 Hz to
    Nyquist, log of the power spectrum. kaldi-native-fbank's own default dither is not 0.
    """
    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.frame_length_ms = 25.0
    options.frame_opts.frame_shift_ms = 10.0
    options.frame_opts.dither = 0.0
    options.frame_opts.preemph_coeff = 0.97
    options.frame_opts.remove_dc_offset = True
    options.frame_opts.window_type = "povey"
    options.frame_opts.round_to_power_of_two = True
    options.frame_opts.snip_edges = True
    options.mel_opts.num_bins = 80
    options.mel_opts.low_freq = 20.0
    options.mel_opts.high_freq = 0.0  # 0 = Nyquist
    options.use_energy = False
    options.use_log_fbank = True
    options.use_power = True
    return options


def fbank(samples: Samples) -> npt.NDArray[np.float32]:
    """Mean-normalised log-mel fbank, shape (frames, 80), frames = 1 + (samples - 400) // 160.

    samples: float32 in [-1, 1] at 16 kHz, at least 400 of them (one 25 ms frame).
    The mean over time of each bin is subtracted, as CAM++ expects.
    """
    computer = knf.OnlineFbank(fbank_options())
    computer.accept_waveform(SAMPLE_RATE, samples.tolist())
    computer.input_finished()
    frames = np.stack([computer.get_frame(i) for i in range(computer.num_frames_ready)])
    return (frames - frames.mean(axis=0, keepdims=True)).astype(np.float32)
