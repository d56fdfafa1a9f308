"""``scripts/make_example.py --help`` explains itself and leaves the example alone."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "interview.wav"


def test_help_prints_help_and_writes_nothing() -> None:
    before = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    changed = EXAMPLE.stat().st_mtime_ns
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_example.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: make_example.py" in result.stdout
    assert "espeak-ng" in result.stdout
    assert "wrote" not in result.stdout
    assert hashlib.sha256(EXAMPLE.read_bytes()).hexdigest() == before
    assert EXAMPLE.stat().st_mtime_ns == changed
