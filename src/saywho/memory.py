"""Keep resident memory close to the memory in use, on long recordings (an adapter over glibc).

A long recording is recognized block after block. Between blocks, glibc's allocator keeps the
freed memory of the last block (Whisper's features, beam-search buffers, numpy temporaries)
in its heap instead of giving it back, and it raises its mmap threshold after each large
free, so ever larger buffers land in that heap. On the 3-hour benchmark the heap alone grew
to 2.7 GB of freed memory. Two calls bound it:

* :func:`bound_heap` fixes the mmap threshold, so buffers of 1 MiB and more always come from
  the OS and go back to it when freed (once per process);
* :func:`release_free_memory` asks glibc to return the free pages of its heap (after a block).

On a system without glibc (macOS, musl) both do nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["bound_heap", "release_free_memory"]

_M_MMAP_THRESHOLD = -3  # mallopt parameter, from glibc's malloc.h
_MMAP_THRESHOLD_BYTES = 1 << 20


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


@functools.cache
def bound_heap() -> None:
    """Serve allocations of 1 MiB and more with mmap for the rest of the process."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def release_free_memory() -> None:
    """Give the allocator's free memory back to the OS (cheap: milliseconds)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
