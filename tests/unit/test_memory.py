"""The glibc adapter that gives freed heap memory back to the OS."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import pytest

from saywho import memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_free_heap_memory_goes_back_to_the_os() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    chunk, count = 100_000, 2_000  # 200 MB in chunks below the mmap threshold: the heap
    blocks = [libc.malloc(chunk) for _ in range(count)]
    for block in blocks:
        ctypes.memset(block, 1, chunk)
    for block in blocks[:-1]:  # the last one pins the top of the heap: nothing trims itself
        libc.free(block)
    before = resident_bytes()
    memory.release_free_memory()
    after = resident_bytes()
    libc.free(blocks[-1])
    assert before - after > 150e6
