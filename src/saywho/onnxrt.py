"""Loading our ONNX speaker models with onnxruntime, with errors a user can act on, and
running many small calls of them side by side."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import onnxruntime

from saywho.device import Resolved, onnx_providers
from saywho.errors import ModelError

__all__ = ["in_order", "load_session", "side_by_side"]

Item = TypeVar("Item")
Result = TypeVar("Result")


def load_session(
    path: Path,
    threads: int,
    *,
    memory_arena: bool = True,
    device: Resolved = "cpu",
    spinning: bool = True,
) -> Any:
    """An onnxruntime session for ``path`` using ``threads`` CPU threads (0: all cores), on
    the GPU too with ``device`` ``cuda`` where onnxruntime has its CUDA provider.

    Without ``memory_arena`` the session returns its working memory after each call
    instead of keeping its high-water mark for the next one. Without ``spinning`` its idle
    threads sleep instead of spinning for the next task: the cores go to whatever runs
    beside it (Whisper, while the diarizer works on a thread of its own).
    """
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = memory_arena
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(
            str(path),
            sess_options=options,
            providers=onnx_providers(device, tuple(onnxruntime.get_available_providers())),
        )
    except Exception as error:  # onnxruntime raises its own untyped errors
        raise ModelError(f"cannot load the model {path.name}: {error}") from error


def side_by_side(threads: int, device: Resolved) -> tuple[int, int]:
    """How to run small model calls on ``threads`` CPU threads (0: all cores): as
    ``(workers, session_threads)``. On the CPU, one call per core at a time, each call on a
    single thread (a call too small to share well between cores goes faster that way); on
    the GPU, one call at a time with all the threads.
    """
    if device == "cpu":
        return threads or os.cpu_count() or 1, 1
    return 1, threads


def in_order(
    call: Callable[[Item], Result], items: Iterable[Item], workers: int, name: str
) -> Iterator[Result]:
    """``call`` on each item, ``workers`` at a time on threads called ``name``; the results
    come in the order of ``items``. If the caller stops early (an error, Ctrl-C), the calls
    not yet started are cancelled."""
    if workers <= 1:
        yield from map(call, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        yield from pool.map(call, items)  # closing map's iterator cancels the calls left
