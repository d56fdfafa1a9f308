"""Ends the processes of a private Ray instance once the batch that started it is gone.

``saywho batch --ray`` without an address starts Ray inside the coordinator. When the
coordinator dies without cleaning up (``kill -9``, out of memory), Ray's own processes fate-share
with it, but its dashboard and runtime-env agents wait for a GCS that is gone (minutes), and an
actor busy with a file finishes it and writes its results. This watchdog, started by the
coordinator before Ray, notes every process descending from the coordinator while it runs; when
its pipe from the coordinator closes (the batch ended or died), it kills those still alive.

It runs as a plain script (``python reaper.py PID``), not as ``python -m saywho...``, so that it
imports nothing but the standard library: it costs a few MB for the length of the batch. Linux
only (it reads ``/proc``); elsewhere :func:`start_reaper` starts nothing.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["start_reaper", "stop_reaper"]

_PROC = Path("/proc")
_SCAN_EVERY_S = 0.5


def start_reaper() -> subprocess.Popen[bytes] | None:
    """Start the watchdog for this process's descendants (``None`` where there is no /proc)."""
    if not (_PROC / "self" / "stat").exists():
        return None
    return subprocess.Popen(
        [sys.executable, "-I", str(Path(__file__).resolve()), str(os.getpid())],
        stdin=subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C for the batch is not one for its watchdog
    )


def stop_reaper(reaper: subprocess.Popen[bytes] | None) -> None:
    """Say the batch is over: the watchdog ends whatever of Ray is left, then exits."""
    if reaper is None:
        return
    if reaper.stdin is not None:
        with contextlib.suppress(OSError):
            reaper.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        reaper.wait(timeout=30)


def _stat(pid: str) -> tuple[int, int] | None:
    """``(parent pid, start time in clock ticks)`` of a process, ``None`` if it is gone."""
    try:
        text = (_PROC / pid / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (name) ": state, ppid, …
    return int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """Every living descendant of ``root``: ``{pid: start time}``."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(entry.name)) is not None:
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            if pid not in found:
                found[pid] = started
                todo.append(pid)
    return found


def _watch(coordinator: int) -> None:
    known: dict[int, int] = {}
    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([stdin], [], [], _SCAN_EVERY_S)
        if ready and not os.read(stdin.fileno(), 4096):  # the pipe closed: the batch is over
            break
        known.update(_descendants(coordinator))
    known.pop(os.getpid(), None)
    for pid, started in known.items():
        stat = _stat(str(pid))
        if stat is not None and stat[1] == started:  # the same process, not a reused pid
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch(int(sys.argv[1]))
