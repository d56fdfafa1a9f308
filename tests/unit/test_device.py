"""Device selection: auto, cpu and cuda resolved against the GPUs found (none here)."""

from __future__ import annotations

from pathlib import Path

import ctranslate2
import pytest

from saywho.cli import main
from saywho.config import Device, RecognizeConfig
from saywho.device import onnx_providers, resolve_device, select_device
from saywho.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "interview.wav"


def _gpus() -> int:
    return int(ctranslate2.get_cuda_device_count())


@pytest.mark.parametrize(
    ("requested", "gpus", "chosen"),
    [
        ("cpu", 0, "cpu"),
        ("cpu", 2, "cpu"),
        ("auto", 0, "cpu"),
        ("auto", 1, "cuda"),
        ("cuda", 1, "cuda"),
    ],
)
def test_select_device(requested: Device, gpus: int, chosen: str) -> None:
    assert select_device(requested, gpus) == chosen


def test_cuda_without_a_gpu_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no CUDA GPU found"):
        select_device("cuda", 0)


def test_resolve_device_asks_ctranslate2() -> None:
    gpus = _gpus()
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if gpus else "cpu")


def test_onnx_providers() -> None:
    both = ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert onnx_providers("cuda", both) == list(both)
    assert onnx_providers("cuda", ("CPUExecutionProvider",)) == ["CPUExecutionProvider"]
    assert onnx_providers("cpu", both) == ["CPUExecutionProvider"]


def test_unknown_device_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"recognize\.device must be one of auto, cpu, cuda"):
        RecognizeConfig(device="tpu")  # type: ignore[arg-type]


@pytest.mark.integration
@pytest.mark.skipif(_gpus() > 0, reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_fails_before_any_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["transcribe", str(EXAMPLE), "-o", str(tmp_path / "o"), "--device", "cuda"])
    assert code == 2
    assert "no CUDA GPU found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
