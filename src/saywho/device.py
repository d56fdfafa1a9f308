"""Which device runs the models: ``auto``, ``cpu`` or ``cuda`` resolved to ``cpu`` or ``cuda``.

:func:`select_device` is the pure rule; :func:`resolve_device` asks CTranslate2 how many
CUDA GPUs it sees and applies it. :func:`onnx_providers` is the same choice for the
diarization models (where onnxruntime has its CUDA provider, e.g. onnxruntime-gpu).
"""

from __future__ import annotations

from typing import Literal

from saywho.config import Device
from saywho.errors import ConfigError

__all__ = ["Resolved", "onnx_providers", "resolve_device", "select_device"]

Resolved = Literal["cpu", "cuda"]


def select_device(requested: Device, cuda_devices: int) -> Resolved:
    """``requested`` given ``cuda_devices`` usable GPUs; CUDA asked for and absent is an error."""
    if requested == "cpu":
        return "cpu"
    if cuda_devices > 0:
        return "cuda"
    if requested == "auto":
        return "cpu"
    raise ConfigError(
        "--device cuda: no CUDA GPU found (CTranslate2 sees none); "
        "use --device cpu or auto, or check the NVIDIA driver and CUDA libraries"
    )


def resolve_device(requested: Device) -> Resolved:
    """:func:`select_device` with the number of GPUs CTranslate2 sees on this machine."""
    if requested == "cpu":
        return "cpu"
    import ctranslate2

    return select_device(requested, ctranslate2.get_cuda_device_count())


def onnx_providers(device: Resolved, available: tuple[str, ...]) -> list[str]:
    """onnxruntime providers for ``device``: CUDA first where onnxruntime has it, CPU always."""
    if device == "cuda" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
