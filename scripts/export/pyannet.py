"""Our PyTorch definition of pyannote segmentation-3.0 (PyanNet), for export to ONNX.

Waveform (batch, 1, samples) at 16 kHz -> SincNet front end -> 4-layer bidirectional LSTM
-> two dense layers -> log-probabilities of the 7 powerset classes, one row per frame.

The learned sinc filterbank is evaluated once, at load time, from its band parameters and
kept as a constant convolution kernel: the exported graph is a plain Conv.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

SAMPLE_RATE = 16000
NUM_SINC_FILTERS = 80  # 40 cosine (even) + 40 sine (odd) band-pass filters
SINC_TAPS = 251
SINC_STRIDE = 10
MIN_LOW_HZ = 50.0
MIN_BAND_HZ = 50.0
POOL = 3
CONV_CHANNELS = 60
CONV_TAPS = 5
LSTM_HIDDEN = 128
LSTM_LAYERS = 4
DENSE_WIDTH = 128
NUM_POWERSET_CLASSES = 7  # {}, {0}, {1}, {2}, {0,1}, {0,2}, {1,2}

# (kernel, stride) of every layer that changes the frame rate, first to last.
_STRIDED_LAYERS = (
    (SINC_TAPS, SINC_STRIDE),
    (POOL, POOL),
    (CONV_TAPS, 1),
    (POOL, POOL),
    (CONV_TAPS, 1),
    (POOL, POOL),
)


def num_frames(num_samples: int) -> int:
    """Number of output frames for a waveform of ``num_samples`` (589 for 10 s)."""
    frames = num_samples
    for kernel, stride in _STRIDED_LAYERS:
        frames = (frames - kernel) // stride + 1
    return frames


def receptive_field(num_output_frames: int) -> int:
    """Samples seen by ``num_output_frames`` consecutive output frames."""
    samples = num_output_frames
    for kernel, stride in reversed(_STRIDED_LAYERS):
        samples = kernel + (samples - 1) * stride
    return samples


def frame_step_samples() -> int:
    """Samples between the starts of two consecutive output frames (270 = 16.875 ms)."""
    return receptive_field(2) - receptive_field(1)


def sinc_kernel(
    low_hz: torch.Tensor, band_hz: torch.Tensor, half_time: torch.Tensor, half_window: torch.Tensor
) -> torch.Tensor:
    """The parametrised band-pass filterbank as a conv1d weight, shape (80, 1, 251).

    low_hz, band_hz: learned parameters, shape (40, 1), Hz (used through ``abs``).
    half_time: ``2 pi t / sample_rate`` for t = -125 .. -1, shape (1, 125).
    half_window: the first half of a 251-point Hamming window, shape (125,).
    Filters 0-39 are the even (cosine) band-passes, 40-79 their odd (sine) counterparts; each
    is divided by twice its bandwidth, as in training.
    """
    low = MIN_LOW_HZ + low_hz.abs()  # (40, 1)
    high = torch.clamp(low + MIN_BAND_HZ + band_hz.abs(), MIN_LOW_HZ, SAMPLE_RATE / 2)
    bandwidth = (high - low)[:, 0]  # (40,)
    phase_low = low @ half_time  # (40, 125)
    phase_high = high @ half_time
    scale = half_window / (half_time / 2)  # (1, 125)
    even_left = (torch.sin(phase_high) - torch.sin(phase_low)) * scale
    odd_left = (torch.cos(phase_low) - torch.cos(phase_high)) * scale
    even = torch.cat([even_left, 2 * bandwidth[:, None], even_left.flip(1)], dim=1)
    odd = torch.cat([odd_left, torch.zeros_like(bandwidth)[:, None], -odd_left.flip(1)], dim=1)
    kernel = torch.cat([even, odd], dim=0) / (2 * bandwidth.repeat(2)[:, None])  # (80, 251)
    return kernel[:, None, :]


class SincFrontEnd(nn.Module):
    """Normalised waveform -> |sinc filterbank| -> two conv blocks, 60 features per frame."""

    def __init__(self) -> None:
        super().__init__()
        self.waveform_norm = nn.InstanceNorm1d(1, affine=True)
        self.register_buffer("sinc_kernel", torch.zeros(NUM_SINC_FILTERS, 1, SINC_TAPS))
        self.convs = nn.ModuleList(
            [
                nn.Conv1d(NUM_SINC_FILTERS, CONV_CHANNELS, CONV_TAPS),
                nn.Conv1d(CONV_CHANNELS, CONV_CHANNELS, CONV_TAPS),
            ]
        )
        self.norms = nn.ModuleList(
            [
                nn.InstanceNorm1d(NUM_SINC_FILTERS, affine=True),
                nn.InstanceNorm1d(CONV_CHANNELS, affine=True),
                nn.InstanceNorm1d(CONV_CHANNELS, affine=True),
            ]
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, 60, frames)."""
        features = self.waveform_norm(waveform)
        features = F.conv1d(features, self.sinc_kernel, stride=SINC_STRIDE).abs()
        features = F.leaky_relu(self.norms[0](F.max_pool1d(features, POOL)))
        for conv, norm in zip(self.convs, self.norms[1:], strict=True):
            features = F.leaky_relu(norm(F.max_pool1d(conv(features), POOL)))
        return features


class PyanNet(nn.Module):
    """segmentation-3.0: waveform -> per-frame powerset log-probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.front = SincFrontEnd()
        self.recurrent = nn.LSTM(
            CONV_CHANNELS,
            LSTM_HIDDEN,
            num_layers=LSTM_LAYERS,
            bidirectional=True,
            batch_first=True,
        )
        self.dense = nn.ModuleList(
            [nn.Linear(2 * LSTM_HIDDEN, DENSE_WIDTH), nn.Linear(DENSE_WIDTH, DENSE_WIDTH)]
        )
        self.classifier = nn.Linear(DENSE_WIDTH, NUM_POWERSET_CLASSES)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) float32 in [-1, 1] -> (batch, frames, 7) log-probabilities."""
        features = self.front(waveform).transpose(1, 2)  # (batch, frames, 60)
        features, _ = self.recurrent(features)  # (batch, frames, 256)
        for layer in self.dense:
            features = F.leaky_relu(layer(features))
        return F.log_softmax(self.classifier(features), dim=-1)


_SINC_PREFIX = "sincnet.conv1d.0.filterbank."

# Checkpoint key prefix (pyannote's names) -> our key prefix, tried in order.
_RENAMES = (
    (r"^sincnet\.wav_norm1d\.", "front.waveform_norm."),
    (r"^sincnet\.conv1d\.1\.", "front.convs.0."),
    (r"^sincnet\.conv1d\.2\.", "front.convs.1."),
    (r"^sincnet\.norm1d\.(\d)\.", r"front.norms.\1."),
    (r"^lstm\.", "recurrent."),
    (r"^linear\.", "dense."),
    (r"^classifier\.", "classifier."),
)


def _rename(key: str) -> str:
    """Our name for one checkpoint key (unchanged if no rule matches, so strict load fails)."""
    for pattern, replacement in _RENAMES:
        if re.match(pattern, key):
            return re.sub(pattern, replacement, key)
    return key


def convert_state(checkpoint: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map pyannote's state dict onto ours, baking the sinc filterbank into one kernel."""
    sinc = {k[len(_SINC_PREFIX) :]: v for k, v in checkpoint.items() if k.startswith(_SINC_PREFIX)}
    state = {_rename(k): v for k, v in checkpoint.items() if not k.startswith(_SINC_PREFIX)}
    with torch.no_grad():
        state["front.sinc_kernel"] = sinc_kernel(
            sinc["low_hz_"], sinc["band_hz_"], sinc["n_"], sinc["window_"]
        )
    return state


def build(checkpoint: dict[str, torch.Tensor]) -> PyanNet:
    """Our PyanNet in eval mode with the checkpoint's weights (strict load)."""
    model = PyanNet()
    model.load_state_dict(convert_state(checkpoint), strict=True)
    return model.eval()
