"""Our PyTorch definition of CAM++ (3D-Speaker), for export to ONNX.

Mean-normalised 80-dim fbank (batch, frames, 80) -> 2-D residual front end over
(frequency, time) -> strided TDNN -> three densely connected TDNN stages whose layers gate
their output with context-aware masks -> mean and standard deviation over time -> 192-dim
embedding (linear projection + batch norm without affine parameters, no activation).
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

NUM_MEL_BINS = 80
EMBEDDING_DIM = 192
FRONT_CHANNELS = 32
TDNN_CHANNELS = 128
GROWTH = 32  # channels each dense layer adds
BOTTLENECK = 128
CONTEXT_SEGMENT_FRAMES = 100  # the masks see the utterance mean plus a local 100-frame mean
# (layers, kernel, dilation) of each dense stage
DENSE_STAGES = ((12, 3, 1), (24, 3, 2), (16, 3, 2))


class ResidualBlock2d(nn.Module):
    """Two 3x3 convs with batch norm and a skip path; ``stride`` subsamples frequency only."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(channels, channels, 3, stride=(stride, 1), padding=1, bias=False)
        self.norm_a = nn.BatchNorm2d(channels)
        self.conv_b = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm_b = nn.BatchNorm2d(channels)
        self.skip: nn.Module = nn.Identity()
        if stride != 1:
            self.skip = nn.Sequential(
                nn.Conv2d(channels, channels, 1, stride=(stride, 1), bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, freq, time) -> (batch, channels, freq / stride, time)."""
        y = F.relu(self.norm_a(self.conv_a(x)))
        return F.relu(self.norm_b(self.conv_b(y)) + self.skip(x))


class FrontEnd2d(nn.Module):
    """Treats the fbank as an image; returns 320 channels (32 maps x 10 bands) per frame."""

    def __init__(self) -> None:
        super().__init__()
        c = FRONT_CHANNELS
        self.stem_conv = nn.Conv2d(1, c, 3, padding=1, bias=False)
        self.stem_norm = nn.BatchNorm2d(c)
        self.stages = nn.ModuleList(
            [nn.Sequential(ResidualBlock2d(c, 2), ResidualBlock2d(c, 1)) for _ in range(2)]
        )
        self.out_conv = nn.Conv2d(c, c, 3, stride=(2, 1), padding=1, bias=False)
        self.out_norm = nn.BatchNorm2d(c)

    @property
    def out_channels(self) -> int:
        """Channels per frame after flattening maps and bands."""
        return FRONT_CHANNELS * (NUM_MEL_BINS // 8)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        """(batch, 80, frames) -> (batch, 320, frames)."""
        x = F.relu(self.stem_norm(self.stem_conv(fbank.unsqueeze(1))))
        for stage in self.stages:
            x = stage(x)
        x = F.relu(self.out_norm(self.out_conv(x)))  # (batch, 32, 10, frames)
        return x.flatten(1, 2)


def segment_means(x: torch.Tensor, segment: int) -> torch.Tensor:
    """Mean of each run of ``segment`` frames, repeated over the run; shape kept (B, C, T).

    The last run may be shorter and is averaged over the frames it has. Written with pad and
    reshape (not avg_pool with ceil_mode) so the ONNX graph is exact for any T.
    """
    frames = x.shape[-1]
    runs = (frames + segment - 1) // segment
    padded = F.pad(x, (0, runs * segment - frames))  # (B, C, runs * segment)
    sums = padded.unflatten(-1, (runs, segment)).sum(-1)  # (B, C, runs)
    ends = torch.arange(1, runs + 1, device=x.device) * segment
    counts = torch.clamp(frames - ends + segment, max=segment).to(x.dtype)  # (runs,)
    means = (sums / counts).unsqueeze(-1).expand(-1, -1, -1, segment)  # (B, C, runs, segment)
    return means.flatten(2)[..., :frames]


class ContextMask(nn.Module):
    """Local dilated conv, gated by a sigmoid mask computed from utterance and segment means."""

    def __init__(self, channels: int, out_channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        padding = (kernel - 1) // 2 * dilation
        self.local = nn.Conv1d(
            channels, out_channels, kernel, padding=padding, dilation=dilation, bias=False
        )
        self.squeeze = nn.Conv1d(channels, channels // 2, 1)
        self.excite = nn.Conv1d(channels // 2, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, frames) -> (batch, out_channels, frames)."""
        context = x.mean(-1, keepdim=True) + segment_means(x, CONTEXT_SEGMENT_FRAMES)
        mask = torch.sigmoid(self.excite(F.relu(self.squeeze(context))))
        return self.local(x) * mask


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 bottleneck, BN-ReLU, context mask: adds ``GROWTH`` channels."""

    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.in_norm = nn.BatchNorm1d(channels)
        self.bottleneck = nn.Conv1d(channels, BOTTLENECK, 1, bias=False)
        self.mid_norm = nn.BatchNorm1d(BOTTLENECK)
        self.mask = ContextMask(BOTTLENECK, GROWTH, kernel, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, frames) -> (batch, GROWTH, frames)."""
        y = self.bottleneck(F.relu(self.in_norm(x)))
        return self.mask(F.relu(self.mid_norm(y)))


class DenseStage(nn.Module):
    """Dense layers, each fed the concatenation of the stage input and all earlier outputs."""

    def __init__(self, channels: int, num_layers: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [DenseLayer(channels + i * GROWTH, kernel, dilation) for i in range(num_layers)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, frames) -> (batch, channels + layers * GROWTH, frames)."""
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class Transition(nn.Module):
    """BN-ReLU then a 1x1 conv that halves the channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(channels)
        self.conv = nn.Conv1d(channels, channels // 2, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, frames) -> (batch, channels / 2, frames)."""
        return self.conv(F.relu(self.norm(x)))


def mean_and_std(x: torch.Tensor) -> torch.Tensor:
    """(batch, channels, frames) -> (batch, 2 * channels): time mean, unbiased time std."""
    mean = x.mean(-1)
    variance = (x - mean.unsqueeze(-1)).pow(2).sum(-1) / (x.shape[-1] - 1)
    return torch.cat([mean, variance.sqrt()], dim=-1)


class CamPlusPlus(nn.Module):
    """CAM++: mean-normalised fbank (batch, frames, 80) -> embedding (batch, 192)."""

    def __init__(self) -> None:
        super().__init__()
        self.front = FrontEnd2d()
        self.tdnn = nn.Conv1d(
            self.front.out_channels, TDNN_CHANNELS, 5, stride=2, padding=2, bias=False
        )
        self.tdnn_norm = nn.BatchNorm1d(TDNN_CHANNELS)
        stages, transitions = [], []
        channels = TDNN_CHANNELS
        for num_layers, kernel, dilation in DENSE_STAGES:
            stages.append(DenseStage(channels, num_layers, kernel, dilation))
            channels += num_layers * GROWTH
            transitions.append(Transition(channels))
            channels //= 2
        self.stages = nn.ModuleList(stages)
        self.transitions = nn.ModuleList(transitions)
        self.out_norm = nn.BatchNorm1d(channels)
        self.projection = nn.Conv1d(2 * channels, EMBEDDING_DIM, 1, bias=False)
        self.embedding_norm = nn.BatchNorm1d(EMBEDDING_DIM, affine=False)

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        """(batch, frames, 80) float32 -> (batch, 192) float32 (not L2-normalised)."""
        x = self.front(fbank.transpose(1, 2))  # (batch, 320, frames)
        x = F.relu(self.tdnn_norm(self.tdnn(x)))  # (batch, 128, frames / 2)
        for stage, transition in zip(self.stages, self.transitions, strict=True):
            x = transition(stage(x))
        x = F.relu(self.out_norm(x))  # (batch, 512, frames / 2)
        pooled = mean_and_std(x).unsqueeze(-1)  # (batch, 1024, 1)
        return self.embedding_norm(self.projection(pooled)).squeeze(-1)


# Checkpoint key pattern (3D-Speaker's names) -> ours, tried in order.
_RENAMES = (
    (r"^head\.conv1\.", "front.stem_conv."),
    (r"^head\.bn1\.", "front.stem_norm."),
    (r"^head\.conv2\.", "front.out_conv."),
    (r"^head\.bn2\.", "front.out_norm."),
    (r"^head\.layer(\d)\.", lambda m: f"front.stages.{int(m[1]) - 1}."),
    (r"^xvector\.tdnn\.linear\.", "tdnn."),
    (r"^xvector\.tdnn\.nonlinear\.batchnorm\.", "tdnn_norm."),
    (
        r"^xvector\.block(\d)\.tdnnd(\d+)\.",
        lambda m: f"stages.{int(m[1]) - 1}.layers.{int(m[2]) - 1}.",
    ),
    (r"^xvector\.transit(\d)\.", lambda m: f"transitions.{int(m[1]) - 1}."),
    (r"^xvector\.out_nonlinear\.batchnorm\.", "out_norm."),
    (r"^xvector\.dense\.linear\.", "projection."),
    (r"^xvector\.dense\.nonlinear\.batchnorm\.", "embedding_norm."),
)

# Names inside a block, applied after the prefix rules above.
_INNER_RENAMES = (
    (r"\.conv1\.", ".conv_a."),
    (r"\.bn1\.", ".norm_a."),
    (r"\.conv2\.", ".conv_b."),
    (r"\.bn2\.", ".norm_b."),
    (r"\.shortcut\.", ".skip."),
    (r"\.nonlinear1\.batchnorm\.", ".in_norm."),
    (r"^(stages\.\d\.layers\.\d+)\.linear1\.", r"\1.bottleneck."),
    (r"\.nonlinear2\.batchnorm\.", ".mid_norm."),
    (r"\.cam_layer\.linear_local\.", ".mask.local."),
    (r"\.cam_layer\.linear1\.", ".mask.squeeze."),
    (r"\.cam_layer\.linear2\.", ".mask.excite."),
    (r"^(transitions\.\d)\.nonlinear\.batchnorm\.", r"\1.norm."),
    (r"^(transitions\.\d)\.linear\.", r"\1.conv."),
)


def _rename(key: str) -> str:
    """Our name for one checkpoint key (unchanged if no rule matches, so strict load fails)."""
    for pattern, replacement in _RENAMES:
        if re.match(pattern, key):
            key = re.sub(pattern, replacement, key, count=1)
            break
    if key.startswith(("front.stages.", "stages.", "transitions.")):
        for pattern, replacement in _INNER_RENAMES:
            key = re.sub(pattern, replacement, key)
    return key


def convert_state(checkpoint: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map 3D-Speaker's state dict onto ours (same tensors, our names)."""
    return {_rename(key): value for key, value in checkpoint.items()}


def build(checkpoint: dict[str, torch.Tensor]) -> CamPlusPlus:
    """Our CAM++ in eval mode with the checkpoint's weights (strict load)."""
    model = CamPlusPlus()
    model.load_state_dict(convert_state(checkpoint), strict=True)
    return model.eval()
