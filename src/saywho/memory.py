"""Keep resident memory close to the memory in use, on long recordings (an adapter over glibc).

A long recording is recognized block after block. glibc's allocator keeps freed memory in its
heap instead of giving it back to the OS, and it raises its mmap threshold after each large
free, so ever larger buffers land in that heap. On the 3-hour benchmark the heap grew to
2.7 GB while the memory in use stayed near 1 GB. :func:`release_free_memory` asks glibc to
return the heap's free pages; the pipeline calls it after VAD, after each Whisper block and
after diarization. (Fixing the mmap threshold at 1 MiB also bounds the heap, but made Whisper
15-25 % slower; returning the free pages now and then costs milliseconds.)

On a system without glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["release_free_memory"]


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


def release_free_memory() -> None:
    """Give the allocator's free memory back to the OS (cheap: milliseconds)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
