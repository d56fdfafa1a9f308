"""Which code a benchmark measured, for the header of its report (shared by the scripts here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["git_commit", "git_state"]

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return ""
    return done.stdout if done.returncode == 0 else ""


def git_commit() -> str:
    """The short hash of the checked-out commit, or ``unknown``."""
    return _git("rev-parse", "--short", "HEAD").strip() or "unknown"


def _state() -> str:
    changed = _git("status", "--porcelain", "--", "src").splitlines()
    dirty = ", ".join(line[3:] for line in changed if line)
    suffix = f", with uncommitted changes in {dirty}" if dirty else ", clean src/"
    return f"git {git_commit()}{suffix}"


_AT_START = _state()  # a benchmark imports this module when it starts, before it loads src/


def git_state() -> str:
    """The commit measured, and the source files that differ from it: as they were when the
    benchmark started (its process had loaded them then), and as they are now if that differs
    (commits made during a long run)."""
    now = _state()
    if now == _AT_START:
        return _AT_START
    return f"{_AT_START} when the run started ({now} when this report was written)"
